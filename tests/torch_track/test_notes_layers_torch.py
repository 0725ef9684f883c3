"""The notes' layers against PyTorch: F.dropout2d's mask semantics and statistics, F.rrelu in
evaluation mode and in training mode with the same noise, F.instance_norm forward and backward,
and max-norm against torch.renorm."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")

import torch.nn.functional as F  # noqa: E402
from assertions import assert_close  # noqa: E402

from tinyvision.config import TrainConfig, resolve_config  # noqa: E402
from tinyvision.layers import (  # noqa: E402
    instance_norm_backward,
    instance_norm_forward,
    leaky_relu_forward,
    max_norm_constraint,
    rrelu_backward,
    rrelu_forward,
    spatial_dropout_backward,
    spatial_dropout_forward,
)

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 1e-4, "atol": 1e-5}}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def test_spatial_dropout_has_dropout2d_mask_semantics_and_statistics():
    drop = 0.3
    ones = np.ones((400, 25, 3, 3))
    ours, (_, mask) = spatial_dropout_forward(ones, {"mode": "train", "p": 1 - drop, "seed": 0})
    torch.manual_seed(0)
    theirs = F.dropout2d(torch.from_numpy(ones), p=drop, training=True).numpy()
    for out in (ours, theirs):
        per_channel = out.reshape(400, 25, -1)
        assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # whole channels
        assert set(np.unique(per_channel)) == {0.0, 1 / (1 - drop)}  # same scaling
    # Both keep a fraction 1 - drop of the 10,000 channels: within four standard errors.
    bound = 4 * np.sqrt(drop * (1 - drop) / 10000)
    assert abs(np.mean(ours[:, :, 0, 0] > 0) - (1 - drop)) < bound
    assert abs(np.mean(theirs[:, :, 0, 0] > 0) - (1 - drop)) < bound
    # Given torch's mask, our backward is torch's gradient.
    x = torch.randn(4, 5, 2, 3, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(1)
    out = F.dropout2d(x, p=drop, training=True)
    dout = torch.randn_like(out)
    out.backward(dout)
    torch_mask = (out.detach() / x.detach())[:, :, :1, :1].numpy()
    dx = spatial_dropout_backward(dout.numpy(), ({}, torch_mask))
    assert_close(dx, x.grad.numpy(), **TOL[np.float64])
    eval_out = F.dropout2d(x, p=drop, training=False)
    ours_eval, _ = spatial_dropout_forward(x.detach().numpy(), {"mode": "test", "p": 1 - drop})
    assert_close(ours_eval, eval_out.detach().numpy(), rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rrelu_evaluation_mode_matches_torch(dtype):
    x_np = np.random.default_rng(0).standard_normal((4, 6)).astype(dtype)
    dout = np.random.default_rng(1).standard_normal((4, 6)).astype(dtype)
    x = torch.tensor(x_np, requires_grad=True)
    out = F.rrelu(x, lower=0.1, upper=0.3, training=False)
    out.backward(torch.from_numpy(dout))
    ours, cache = rrelu_forward(x_np, {"mode": "test", "lower": 0.1, "upper": 0.3})
    assert_close(ours, out.detach().numpy(), **TOL[dtype])
    assert_close(rrelu_backward(dout, cache), x.grad.numpy(), **TOL[dtype])


def test_rrelu_training_mode_matches_torch_with_the_same_noise():
    x_np = np.random.default_rng(2).standard_normal((5, 7))
    x = torch.tensor(x_np, requires_grad=True)
    noise = torch.zeros_like(x)
    out = torch.ops.aten.rrelu_with_noise(x, noise, 0.1, 0.3, True)
    dout = torch.randn_like(out)
    out.backward(dout)
    slopes = noise.numpy()
    negative = x_np <= 0
    assert np.all((slopes[negative] >= 0.1) & (slopes[negative] <= 0.3))
    # rrelu_forward applies its drawn slopes with leaky_relu_forward; its cache is (x, slopes).
    ours, cache = leaky_relu_forward(x_np, slopes)
    assert_close(ours, out.detach().numpy(), **TOL[np.float64])
    assert_close(rrelu_backward(dout.numpy(), cache), x.grad.numpy(), **TOL[np.float64])
    # And our own training draw has the same law: slopes in [lower, upper] on the negatives.
    drawn, (_, our_slopes) = rrelu_forward(x_np, {"mode": "train", "lower": 0.1, "upper": 0.3})
    assert np.all((our_slopes >= 0.1) & (our_slopes <= 0.3))
    assert_close(drawn[~negative], x_np[~negative], rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_instance_norm_matches_torch_forward_and_backward(dtype):
    rng = np.random.default_rng(3)
    x_np = rng.normal(2.0, 3.0, (3, 4, 5, 6)).astype(dtype)
    gamma_np, beta_np = rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)
    dout = rng.standard_normal(x_np.shape).astype(dtype)
    x, gamma, beta = (torch.tensor(a, requires_grad=True) for a in (x_np, gamma_np, beta_np))
    out = F.instance_norm(x, weight=gamma, bias=beta, eps=1e-5)
    out.backward(torch.from_numpy(dout))
    ours, cache = instance_norm_forward(x_np, gamma_np, beta_np, {"eps": 1e-5})
    dx, dgamma, dbeta = instance_norm_backward(dout, cache)
    assert ours.dtype == dtype
    assert_close(ours, out.detach().numpy(), **TOL[dtype], name="out")
    assert_close(dx, x.grad.numpy(), **TOL[dtype], name="dx")
    assert_close(dgamma, gamma.grad.numpy(), **TOL[dtype], name="dgamma")
    assert_close(dbeta, beta.grad.numpy(), **TOL[dtype], name="dbeta")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_norm_matches_torch_renorm(dtype):
    rng = np.random.default_rng(4)
    w = (rng.standard_normal((20, 8)) * rng.uniform(0.1, 1.0, 8)).astype(dtype)
    filters = rng.standard_normal((5, 3, 3, 3)).astype(dtype)
    # Affine weights (D, M): one unit per column, torch's dim 1; conv filters: dim 0.
    expected_w = torch.renorm(torch.from_numpy(w), p=2, dim=1, maxnorm=1.5).numpy()
    expected_f = torch.renorm(torch.from_numpy(filters), p=2, dim=0, maxnorm=2.0).numpy()
    # torch divides by norm + 1e-7, so they agree to about 1e-7 relative.
    assert_close(max_norm_constraint(w, 1.5), expected_w, rtol=1e-6, atol=1e-7)
    assert_close(max_norm_constraint(filters, 2.0), expected_f, rtol=1e-6, atol=1e-7)


def test_torch_models_augment_only_with_flips_and_crops():
    assert resolve_config(TrainConfig(model="torch-cnn", augment=True)).augment == ("flip", "crop")
    with pytest.raises(ValueError, match="flip,crop only"):
        resolve_config(TrainConfig(model="torch-cnn", augment=("flip", "crop", "jitter")))
