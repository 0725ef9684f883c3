"""Batch, layer, spatial batch and group normalization: statistics, running averages,
numerical gradients, PyTorch agreement, the two batchnorm backward passes, dtypes, bad input.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from assertions import assert_close
from hypothesis import given, settings
from strategies import batchnorm_cases

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)

# The course accepts ~1e-6 for normalization gradients; on these small, well-scaled inputs the
# centred differences agree to ~1e-8, so the general 1e-7 bound holds.
GRAD_RTOL, GRAD_ATOL = 1e-7, 1e-10
TORCH = {"rtol": 1e-10, "atol": 1e-12}
GRAD_NAMES = ("dx", "dgamma", "dbeta")
EPS = 1e-5


def fc_data(rng, n=6, d=4):
    x = rng.standard_normal((n, d)) * 3 + 2
    return x, rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))


def conv_data(rng, shape=(3, 4, 2, 3), param_shape=(4,)):
    x = rng.standard_normal(shape) * 2 - 1
    gamma = rng.standard_normal(param_shape)
    beta = rng.standard_normal(param_shape)
    return x, gamma, beta, rng.standard_normal(shape)


def numerical_grads(forward, x, gamma, beta, dout):
    f = lambda _: forward(x, gamma, beta)[0]  # noqa: E731 - course-style closure
    return (
        eval_numerical_gradient_array(f, x, dout),
        eval_numerical_gradient_array(f, gamma, dout),
        eval_numerical_gradient_array(f, beta, dout),
    )


def assert_grads_close(analytic, numeric):
    for name, a, n in zip(GRAD_NAMES, analytic, numeric, strict=True):
        assert_close(a, n, rtol=GRAD_RTOL, atol=GRAD_ATOL, name=name)


# --- batchnorm ------------------------------------------------------------------------------


def test_batchnorm_train_output_is_standardised_then_scaled_and_shifted():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3)) * [1.0, 5.0, 0.1] + [10.0, -3.0, 0.5]
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    # eps keeps the std a hair under 1, noticeably so for the low-variance third feature.
    var = x.var(axis=0)
    unit_std = np.sqrt(var / (var + EPS))
    assert np.all(np.abs(out.mean(axis=0)) < 1e-12)
    assert_close(out.std(axis=0), unit_std, rtol=1e-12, atol=1e-14)

    gamma, beta = np.array([2.0, 0.5, -3.0]), np.array([1.0, -2.0, 4.0])
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert_close(out.mean(axis=0), beta, rtol=1e-12, atol=1e-14)
    assert_close(out.std(axis=0), np.abs(gamma) * unit_std, rtol=1e-12, atol=1e-14)


def test_batchnorm_creates_running_stats_and_applies_momentum():
    x, gamma, beta, _ = fc_data(np.random.default_rng(1))
    bn_param = {"mode": "train", "momentum": 0.8}
    batchnorm_forward(x, gamma, beta, bn_param)
    assert bn_param["running_mean"].shape == (4,)
    assert_close(bn_param["running_mean"], 0.2 * x.mean(axis=0), rtol=1e-12, name="running_mean")
    assert_close(bn_param["running_var"], 0.2 * x.var(axis=0), rtol=1e-12, name="running_var")


def test_batchnorm_running_averages_approach_data_statistics():
    rng = np.random.default_rng(2)
    mean, std = np.array([3.0, -1.0, 0.0]), np.array([2.0, 0.5, 4.0])
    bn_param = {"mode": "train"}
    for _ in range(300):
        x = rng.standard_normal((64, 3)) * std + mean
        batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    mean_error = (bn_param["running_mean"] - mean) / std  # in standard deviations
    assert_close(mean_error, 0.0, rtol=0, atol=0.15, name="running_mean")
    assert_close(bn_param["running_var"], std**2, rtol=0.15, name="running_var")


def test_batchnorm_test_mode_uses_running_stats_and_leaves_them_alone():
    x, gamma, beta, _ = fc_data(np.random.default_rng(3))
    running_mean, running_var = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 1.0, 2.0, 4.0])
    bn_param = {"mode": "test", "running_mean": running_mean, "running_var": running_var}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + EPS) + beta
    assert_close(out, expected, rtol=1e-12, atol=1e-14, name="out")
    assert bn_param["running_mean"] is running_mean and bn_param["running_var"] is running_var


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_backward_matches_numerical(mode, backward):
    x, gamma, beta, dout = fc_data(np.random.default_rng(4))
    stats = {"running_mean": np.full(4, 1.5), "running_var": np.full(4, 2.0)}

    def forward(x, gamma, beta):
        return batchnorm_forward(x, gamma, beta, {"mode": mode, **stats})

    _, cache = forward(x, gamma, beta)
    assert_grads_close(backward(dout, cache), numerical_grads(forward, x, gamma, beta, dout))


@pytest.mark.parametrize("shape", [(3, 5), (50, 7), (8, 200)])
def test_batchnorm_backward_and_alt_agree(shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 4 + 1
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    dout = rng.standard_normal(shape)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    staged_grads = batchnorm_backward(dout, cache)
    closed_grads = batchnorm_backward_alt(dout, cache)
    for name, staged, closed in zip(GRAD_NAMES, staged_grads, closed_grads, strict=True):
        assert_close(staged, closed, rtol=1e-10, atol=1e-12, name=name)


@settings(max_examples=25, deadline=None)
@given(batchnorm_cases())
def test_batchnorm_backward_and_alt_agree_on_random_shapes(case):
    n, d, scale, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * scale
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    dout = rng.standard_normal((n, d))
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    staged_grads = batchnorm_backward(dout, cache)
    closed_grads = batchnorm_backward_alt(dout, cache)
    for name, staged, closed in zip(GRAD_NAMES, staged_grads, closed_grads, strict=True):
        # Absolute, relative to the gradient's size: dx can be ~0 where rtol is meaningless.
        atol = 1e-10 * max(1.0, np.max(np.abs(closed)))
        assert_close(staged, closed, rtol=0, atol=atol, name=name)


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_matches_torch(backward):
    x, gamma, beta, dout = fc_data(np.random.default_rng(6))
    bn_param = {"mode": "train", "momentum": 0.9, "eps": 1e-3}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = backward(dout, cache)

    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    running_mean, running_var = torch.zeros(4, dtype=torch.float64), torch.zeros(4).double()
    # torch's momentum weights the new batch, so it is 1 - the course's momentum.
    out_t = F.batch_norm(xt, running_mean, running_var, gt, bt, True, 0.1, 1e-3)
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")
    assert_close(dgamma, gt.grad.numpy(), **TORCH, name="dgamma")
    assert_close(dbeta, bt.grad.numpy(), **TORCH, name="dbeta")
    assert_close(bn_param["running_mean"], running_mean.numpy(), **TORCH, name="running_mean")
    # torch's running variance uses the unbiased batch variance; the course's the biased one.
    n = x.shape[0]
    unbiased = bn_param["running_var"] * n / (n - 1)
    assert_close(unbiased, running_var.numpy(), **TORCH, name="running_var")


def test_batchnorm_test_mode_matches_torch_eval_with_the_same_running_statistics():
    x, gamma, beta, dout = fc_data(np.random.default_rng(9))
    running_mean, running_var = np.linspace(-1.0, 2.0, 4), np.linspace(0.5, 3.0, 4)
    bn_param = {"mode": "test", "eps": 1e-3, "running_mean": running_mean.copy()}
    bn_param["running_var"] = running_var.copy()
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    grads = batchnorm_backward(dout, cache)

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    stats = [torch.from_numpy(running_mean.copy()), torch.from_numpy(running_var.copy())]
    out_t = F.batch_norm(tensors[0], *stats, tensors[1], tensors[2], False, 0.1, 1e-3)
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    for name, ours, t in zip(GRAD_NAMES, grads, tensors, strict=True):
        assert_close(ours, t.grad.numpy(), **TORCH, name=name)
    # Neither side moves the running statistics in test mode.
    np.testing.assert_array_equal(bn_param["running_mean"], running_mean)
    np.testing.assert_array_equal(stats[1].numpy(), running_var)


@pytest.mark.parametrize("params", [{}, {"mode": "eval"}, {"mode": None}])
def test_batchnorm_rejects_a_missing_or_unknown_mode(params):
    with pytest.raises(ValueError, match=r"must be one of \('train', 'test'\)"):
        batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), params)


# --- layernorm ------------------------------------------------------------------------------


def test_layernorm_standardises_each_example():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 300)) * np.array([[1.0], [5.0], [0.2], [3.0]]) + 7
    out, _ = layernorm_forward(x, np.ones(300), np.zeros(300), {})
    assert_close(out.mean(axis=1), 0.0, rtol=0, atol=1e-12, name="mean")
    assert_close(out.std(axis=1), 1.0, rtol=0, atol=1e-3, name="std")


def test_layernorm_backward_matches_numerical():
    x, gamma, beta, dout = fc_data(np.random.default_rng(8), n=4, d=5)

    def forward(x, gamma, beta):
        return layernorm_forward(x, gamma, beta, {"eps": EPS})

    _, cache = forward(x, gamma, beta)
    assert_grads_close(
        layernorm_backward(dout, cache), numerical_grads(forward, x, gamma, beta, dout)
    )


def test_layernorm_matches_torch():
    x, gamma, beta, dout = fc_data(np.random.default_rng(9), n=5, d=6)
    out, cache = layernorm_forward(x, gamma, beta, {"eps": 1e-4})
    grads = layernorm_backward(dout, cache)

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    out_t = F.layer_norm(tensors[0], (6,), tensors[1], tensors[2], eps=1e-4)
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    for name, ours, t in zip(GRAD_NAMES, grads, tensors, strict=True):
        assert_close(ours, t.grad.numpy(), **TORCH, name=name)


# --- spatial batchnorm ----------------------------------------------------------------------


def test_spatial_batchnorm_standardises_each_channel():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((10, 3, 5, 6)) * np.array([1.0, 4.0, 0.3])[:, None, None] + 2
    out, _ = spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    assert out.shape == x.shape
    assert_close(out.mean(axis=(0, 2, 3)), 0.0, rtol=0, atol=1e-12, name="mean")
    assert_close(out.std(axis=(0, 2, 3)), 1.0, rtol=0, atol=1e-3, name="std")


def test_spatial_batchnorm_backward_matches_numerical():
    x, gamma, beta, dout = conv_data(np.random.default_rng(11))

    def forward(x, gamma, beta):
        return spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})

    _, cache = forward(x, gamma, beta)
    assert_grads_close(
        spatial_batchnorm_backward(dout, cache), numerical_grads(forward, x, gamma, beta, dout)
    )


def test_spatial_batchnorm_matches_torch():
    x, gamma, beta, dout = conv_data(np.random.default_rng(12))
    bn_param = {"mode": "train"}
    out, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    grads = spatial_batchnorm_backward(dout, cache)

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    running_mean = torch.zeros(4, dtype=torch.float64)
    running_var = torch.zeros(4, dtype=torch.float64)
    out_t = F.batch_norm(
        tensors[0], running_mean, running_var, tensors[1], tensors[2], True, 0.1, EPS
    )
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    for name, ours, t in zip(GRAD_NAMES, grads, tensors, strict=True):
        assert_close(ours, t.grad.numpy(), **TORCH, name=name)
    assert_close(bn_param["running_mean"], running_mean.numpy(), **TORCH, name="running_mean")


# --- group norm -----------------------------------------------------------------------------


def test_groupnorm_standardises_each_group_of_each_example():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 6, 8, 8)) * 3 + 1
    gamma, beta = np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1))
    out, _ = spatial_groupnorm_forward(x, gamma, beta, 3, {})
    grouped = out.reshape(2, 3, -1)
    assert_close(grouped.mean(axis=2), 0.0, rtol=0, atol=1e-12, name="mean")
    assert_close(grouped.std(axis=2), 1.0, rtol=0, atol=1e-3, name="std")


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_groupnorm_backward_matches_numerical(groups):
    x, gamma, beta, dout = conv_data(np.random.default_rng(14), param_shape=(1, 4, 1, 1))

    def forward(x, gamma, beta):
        return spatial_groupnorm_forward(x, gamma, beta, groups, {"eps": EPS})

    _, cache = forward(x, gamma, beta)
    grads = spatial_groupnorm_backward(dout, cache)
    assert grads[1].shape == (1, 4, 1, 1) and grads[2].shape == (1, 4, 1, 1)
    assert_grads_close(grads, numerical_grads(forward, x, gamma, beta, dout))


def test_groupnorm_matches_torch():
    x, gamma, beta, dout = conv_data(
        np.random.default_rng(15), shape=(2, 6, 3, 3), param_shape=(1, 6, 1, 1)
    )
    out, cache = spatial_groupnorm_forward(x, gamma, beta, 2, {"eps": EPS})
    grads = spatial_groupnorm_backward(dout, cache)

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    out_t = F.group_norm(tensors[0], 2, tensors[1].reshape(6), tensors[2].reshape(6), eps=EPS)
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    for name, ours, t in zip(GRAD_NAMES, grads, tensors, strict=True):
        assert_close(ours, t.grad.numpy(), **TORCH, name=name)


@pytest.mark.parametrize("groups", [0, 4, -2])
def test_groupnorm_rejects_groups_that_do_not_divide_channels(groups):
    x = np.zeros((1, 6, 2, 2))
    with pytest.raises(ValueError, match="positive divisor of the channel count C=6"):
        spatial_groupnorm_forward(x, np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1)), groups, {})


# --- dtypes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_layer_preserves_dtype(dtype):
    rng = np.random.default_rng(16)
    fc = [a.astype(dtype) for a in fc_data(rng)]
    conv = [a.astype(dtype) for a in conv_data(rng)]
    gn = [a.astype(dtype) for a in conv_data(rng, param_shape=(1, 4, 1, 1))]
    bn_param = {"mode": "train"}
    cases = [
        (batchnorm_forward, batchnorm_backward, fc, (bn_param,)),
        (batchnorm_forward, batchnorm_backward_alt, fc, ({"mode": "train"},)),
        (layernorm_forward, layernorm_backward, fc, ({},)),
        (spatial_batchnorm_forward, spatial_batchnorm_backward, conv, ({"mode": "train"},)),
        (spatial_groupnorm_forward, spatial_groupnorm_backward, gn, (2, {})),
    ]
    for forward, backward, (x, gamma, beta, dout), extra in cases:
        out, cache = forward(x, gamma, beta, *extra)
        assert out.dtype == dtype
        assert all(g.dtype == dtype for g in backward(dout, cache))
    assert bn_param["running_mean"].dtype == dtype and bn_param["running_var"].dtype == dtype
    test_out, _ = batchnorm_forward(fc[0], fc[1], fc[2], {**bn_param, "mode": "test"})
    assert test_out.dtype == dtype
