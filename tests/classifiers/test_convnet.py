"""ConvNet: structure, numerical gradients of the loss, modes, state and validation.

Gradient bound: as in test_cnn, every element must satisfy
|analytic - numeric| <= 2e-7 |n| + 1e-8 (float64, h = 1e-5); biases of convolutions
followed by batch norm have a true gradient of 0 and meet the absolute part.
"""

import numpy as np
import pytest
import torch
from assertions import assert_close

from tinyvision import nn
from tinyvision.classifiers.convnet import ConvNet
from tinyvision.gradient_check import eval_numerical_gradient

# |analytic - numeric| <= 2e-7 |numeric| + 1e-8, the bound of the module docstring.
GRAD = {"rtol": 2e-7, "atol": 1e-8}


def tiny_convnet(**kwargs):
    options = {
        "channels": (3, 4),
        "blocks_per_stage": 1,
        "num_classes": 3,
        "input_shape": (2, 4, 4),
        "reg": 0.1,
        "seed": 0,
        "dtype": np.float64,
    }
    options.update(kwargs)
    return ConvNet(**options)


@pytest.mark.parametrize("use_residual", [False, True], ids=["plain", "residual"])
def test_loss_gradients_match_numerical_gradients(use_residual):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((4, 2, 4, 4)), np.array([0, 2, 1, 2])
    model = tiny_convnet(use_residual=use_residual, blocks_per_stage=2 if use_residual else 1)
    for name, value in model.params.items():
        if name.endswith(("gamma", "beta", "b")):
            offset = 1.0 if name.endswith("gamma") else 0.0
            model.params[name] = offset + 0.3 * rng.standard_normal(value.shape)
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False
        )
        assert_close(grads[name], numeric, **GRAD, name=name)


def test_layers_follow_the_stage_recipe():
    model = ConvNet(channels=(8, 16), blocks_per_stage=2, input_shape=(3, 8, 8), dropout=0.5)
    kinds = [type(m).__name__ for m in model]
    stage = ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + ["MaxPool2d"]
    assert kinds == stage * 2 + ["GlobalAvgPool2d", "Dropout", "Linear"]
    assert model[0].params["W"].shape == (8, 3, 3, 3)
    assert model[7].params["W"].shape == (16, 8, 3, 3)
    assert model[-1].params["W"].shape == (16, 10)
    assert model.regularized_names() == ["0.W", "3.W", "7.W", "10.W", "16.W"]
    residual = ConvNet(channels=(8, 16), input_shape=(3, 8, 8), use_residual=True)
    blocks = [m for m in residual if isinstance(m, nn.ResidualBlock)]
    assert [b.projection for b in blocks] == [True, False, True, False]


def test_scores_match_the_same_network_in_torch():
    rng = np.random.default_rng(2)
    model = tiny_convnet(channels=(3, 5), reg=0.0)
    X = rng.standard_normal((3, 2, 4, 4))
    layers = []
    for module in model:
        if isinstance(module, nn.Conv2d):
            conv = torch.nn.Conv2d(module.in_channels, module.out_channels, 3, padding=1).double()
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(module.params["W"]))
                conv.bias.copy_(torch.from_numpy(module.params["b"]))
            layers.append(conv)
        elif isinstance(module, nn.BatchNorm2d):
            layers.append(torch.nn.BatchNorm2d(module.num_features).double())
        elif isinstance(module, nn.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(module, nn.MaxPool2d):
            layers.append(torch.nn.MaxPool2d(2))
        elif isinstance(module, nn.GlobalAvgPool2d):
            layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
        else:
            linear = torch.nn.Linear(*module.params["W"].shape).double()
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(module.params["W"].T))
                linear.bias.copy_(torch.from_numpy(module.params["b"]))
            layers.append(linear)
    theirs = torch.nn.Sequential(*layers).train()
    expected = theirs(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(model.forward(X), expected, rtol=1e-10, atol=1e-12)


def test_scores_use_running_statistics_and_leave_them_unchanged():
    rng = np.random.default_rng(3)
    model = tiny_convnet()
    X, y = rng.standard_normal((6, 2, 4, 4)), rng.integers(0, 3, 6)
    model.loss(X, y)
    before = model.state_dict()
    scores = model.loss(X[:1])
    # Evaluation mode: each example's scores do not depend on the rest of the batch.
    np.testing.assert_allclose(scores, model.loss(X)[:1], rtol=1e-12)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    fresh = tiny_convnet(seed=5)
    fresh.load_state_dict(before)
    np.testing.assert_array_equal(fresh.loss(X), model.loss(X))


def test_float32_model_keeps_float32():
    model = tiny_convnet(dtype=np.float32)
    X = np.random.default_rng(4).standard_normal((2, 2, 4, 4))
    loss, grads = model.loss(X, np.array([0, 1]))
    assert model.loss(X).dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": ()}, r"channels must be a non-empty list.*\(\)"),
        ({"channels": 32}, "channels must be a non-empty list.*32"),
        ({"channels": (4, 0)}, r"channels\[1\] must be a positive integer, got 0"),
        ({"blocks_per_stage": 0}, "blocks_per_stage must be a positive integer, got 0"),
        ({"input_shape": (2, 6, 4)}, r"multiples of 4, got input_shape \(2, 6, 4\)"),
        ({"input_shape": (4, 4)}, r"input_shape must be \(C, H, W\).*\(4, 4\)"),
        ({"dropout": 1.0}, r"probability of dropping a unit, in \[0, 1\); got 1.0"),
        ({"reg": -0.1}, "reg must be a finite number >= 0, got -0.1"),
        ({"dtype": np.int64}, "dtype must be a float type"),
    ],
)
def test_bad_constructor_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_convnet(**kwargs)


def test_images_of_the_wrong_shape_are_rejected_with_the_shapes():
    with pytest.raises(ValueError, match=r"X must be \(N, 2, 4, 4\).*\(3, 4, 4, 2\)"):
        tiny_convnet().loss(np.zeros((3, 4, 4, 2)))
