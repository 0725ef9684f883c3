"""The NumPy U-Net and its up-conv module: gradients of the whole net against numerical ones,
its layer order, bad inputs, and training through the SegmentationSolver until the loss falls."""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from tinyvision.layers import conv_transpose_forward
from tinyvision.nn import ConvTranspose2d, PixelCrossEntropy, UNet
from tinyvision.segmentation_solver import SegmentationSolver, pixel_accuracy


def _close(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Largest difference relative to the gradient's scale (elementwise relative error blows
    up at the few entries that batch norm and ReLU make nearly zero)."""
    return float(np.abs(analytic - numeric).max() / max(np.abs(numeric).max(), 1e-12))


def _tiny(rng, n=2, size=8, classes=4):
    return rng.standard_normal((n, 2, size, size)), rng.integers(-1, classes, (n, size, size))


@pytest.mark.parametrize("batchnorm", [True, False])
def test_every_unet_gradient_matches_the_numerical_one(batchnorm):
    rng = np.random.default_rng(0)
    net = UNet(4, in_channels=2, channels=(2, 3, 4), batchnorm=batchnorm, reg=0.1, seed=0)
    X, y = _tiny(rng)
    loss, grads = net.loss(X, y)
    assert set(grads) == set(net.params)
    for name in net.params:
        numeric = eval_numerical_gradient(
            lambda _: net.loss(X, y)[0], net.params[name], verbose=False, h=1e-6
        )
        assert _close(grads[name], numeric) < 1e-6, name
    dscores = rng.standard_normal((2, 4, 8, 8))
    net.train()
    net.forward(X)
    dx = net.backward(dscores)
    assert _close(dx, eval_numerical_gradient_array(net.forward, X, dscores)) < 1e-6


def test_unet_scores_every_pixel_and_lists_its_layers_in_forward_order():
    net = UNet(5, in_channels=3, channels=(4, 6, 8), seed=1)
    X = np.random.default_rng(1).standard_normal((3, 3, 16, 8))
    scores = net.loss(X)
    assert scores.shape == (3, 5, 16, 8)
    assert net.predict(X).shape == (3, 16, 8)
    names = [name for name, _ in net.layers()]
    stages = [name.split(".")[0] for name in names]
    order = ["enc0", "pool0", "enc1", "pool1", "bottleneck", "up1", "dec1", "up0", "dec0", "head"]
    assert list(dict.fromkeys(stages)) == order
    assert names[:6] == [f"enc0.{i}" for i in range(6)]
    kinds = [type(m).__name__ for _, m in net.layers()]
    assert kinds[:3] == ["Conv2d", "BatchNorm2d", "ReLU"] and kinds[-1] == "Conv2d"
    assert kinds.count("ConvTranspose2d") == 2 and kinds.count("MaxPool2d") == 2
    # Decoders take the skip and the up-sampled map: twice the stage's width.
    assert net.params["dec0.0.W"].shape == (4, 8, 3, 3)
    assert net.params["up1.W"].shape == (8, 6, 2, 2)


def test_unet_refuses_sizes_the_pools_cannot_halve_and_wrong_channels():
    net = UNet(3, in_channels=3, channels=(2, 3, 4), seed=0)
    with pytest.raises(
        ValueError, match=r"multiples of 4 .* got 10x8; crop the images \(e.g. to 8x8\)"
    ):
        net.loss(np.zeros((1, 3, 10, 8)))
    with pytest.raises(
        ValueError, match=r"needs \(N, 3, H, W\) images .* got shape \(1, 1, 8, 8\)"
    ):
        net.loss(np.zeros((1, 1, 8, 8)))
    with pytest.raises(ValueError, match=r"y must be \(N, H, W\) = \(1, 8, 8\)"):
        net.loss(np.zeros((1, 3, 8, 8)), np.zeros((1, 8), dtype=int))
    with pytest.raises(ValueError, match="at least two widths"):
        UNet(3, channels=(4,))


def test_conv_transpose_module_is_the_layer_and_doubles_the_size():
    layer = ConvTranspose2d(3, 2, seed=0)
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    out = layer(x)
    assert out.shape == (2, 2, 8, 10) and layer.params["W"].shape == (3, 2, 2, 2)
    expected, _ = conv_transpose_forward(x, layer.params["W"], layer.params["b"], layer.conv_param)
    np.testing.assert_array_equal(out, expected)
    dx = layer.backward(np.ones_like(out))
    assert dx.shape == x.shape and set(layer.grads) == {"W", "b"}
    with pytest.raises(ValueError, match=r"needs \(N, 3, H, W\)"):
        layer(x[:, :2])


def test_pixel_cross_entropy_object_needs_a_forward_first():
    criterion = PixelCrossEntropy()
    with pytest.raises(ValueError, match="needs a forward pass first"):
        criterion.backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_solver_trains_the_unet_until_the_loss_falls(dtype):
    """Two classes: bright squares (1) on a dark ground (0), with a void border."""
    rng = np.random.default_rng(3)
    labels = np.zeros((24, 8, 8), dtype=np.int64)
    for image in labels:
        top, left = rng.integers(0, 5, size=2)
        image[top : top + 3, left : left + 3] = 1
    labels[:, 0, :] = -1
    X = (labels[:, None] == 1) + 0.3 * rng.standard_normal((24, 1, 8, 8))
    net = UNet(2, in_channels=1, channels=(4, 8), seed=0, dtype=dtype)
    data = {"X_train": X[:16], "y_train": labels[:16], "X_val": X[16:], "y_val": labels[16:]}
    solver = SegmentationSolver(
        net,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        batch_size=8,
        num_epochs=20,
        verbose=False,
        seed=0,
    )
    solver.train()
    first, last = np.mean(solver.loss_history[:2]), np.mean(solver.loss_history[-2:])
    assert last < 0.5 * first
    assert solver.best_val_acc > 0.9
    assert pixel_accuracy(net.predict(X[16:]), labels[16:]) == pytest.approx(solver.best_val_acc)
    assert net.params["head.W"].dtype == dtype


def test_segmentation_solver_refuses_labels_the_model_has_no_score_for():
    net = UNet(2, in_channels=1, channels=(2, 2), seed=0)
    X, y = np.zeros((2, 1, 4, 4)), np.zeros((2, 4, 4), dtype=np.int64)
    bad = y.copy()
    bad[1, 2, 2] = 2
    with pytest.raises(ValueError, match=r"y_train holds the label 2, but the model scores 2"):
        SegmentationSolver(net, {"X_train": X, "y_train": bad, "X_val": X, "y_val": y})
    with pytest.raises(ValueError, match=r"y_val must be \(N, H, W\)"):
        SegmentationSolver(net, {"X_train": X, "y_train": y, "X_val": X, "y_val": y[:, 0]})
