"""Pooling: naive vs numerical gradients, fast vs naive, all vs PyTorch, ties, dtypes, errors."""

import numpy as np
import pytest
import torch
from assertions import assert_close
from hypothesis import given, settings
from strategies import pool_cases

from tinyvision import fast_layers, layers
from tinyvision.fast_layers import max_pool_backward_fast, max_pool_forward_fast
from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import (
    avg_pool_backward,
    avg_pool_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

# Pooling is (piecewise) linear and the max-pool data keeps every window's maximum at least
# 1e-3 above the runner-up (>> h = 1e-5), so centred differences are exact up to rounding,
# about 1e-11 on these O(1) gradients.
GRAD_RTOL, GRAD_ATOL = 1e-7, 1e-10
SAME_RTOL, SAME_ATOL = 1e-10, 1e-12


def distinct_values(rng, shape, dtype=np.float64):
    """Tie-free data: a shuffled grid of values 1e-3 apart."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 1e-3 - 0.5).astype(dtype)


def pool_param(ph, pw, stride):
    return {"pool_height": ph, "pool_width": pw, "stride": stride}


def torch_pool(kind, x, dout, ph=None, pw=None, stride=None):
    xt = torch.tensor(x, requires_grad=True)
    if kind == "max":
        out = torch.nn.functional.max_pool2d(xt, (ph, pw), stride)
    elif kind == "avg":
        out = torch.nn.functional.avg_pool2d(xt, (ph, pw), stride)
    else:
        out = torch.nn.functional.adaptive_avg_pool2d(xt, 1)[:, :, 0, 0]
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), xt.grad.numpy()


MAX_POOLS = {
    "naive": (max_pool_forward_naive, max_pool_backward_naive),
    "fast": (max_pool_forward_fast, max_pool_backward_fast),
}


def test_naive_forward_takes_window_maxima():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = max_pool_forward_naive(x, pool_param(2, 2, 2))
    np.testing.assert_array_equal(out[0, 0], [[5.0, 7.0], [13.0, 15.0]])
    out, _ = max_pool_forward_naive(-x, pool_param(3, 2, 1))
    np.testing.assert_array_equal(out[0, 0], -x[0, 0, :2, :3])


@pytest.mark.parametrize(("ph", "pw", "stride"), [(2, 2, 2), (3, 2, 1), (2, 1, 3)])
def test_naive_max_backward_matches_numerical_gradient(ph, pw, stride):
    rng = np.random.default_rng(0)
    x = distinct_values(rng, (2, 2, 2 * stride + ph, 3 * stride + pw))
    out, cache = max_pool_forward_naive(x, pool_param(ph, pw, stride))
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda _: max_pool_forward_naive(x, pool_param(ph, pw, stride))[0], x, dout
    )
    assert_close(dx, dx_num, rtol=GRAD_RTOL, atol=GRAD_ATOL, name="dx")


@pytest.mark.parametrize(("ph", "pw", "stride"), [(2, 2, 2), (3, 2, 1), (1, 3, 2)])
def test_avg_pool_backward_matches_numerical_gradient(ph, pw, stride):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 3 * stride + ph, 2 * stride + pw))
    out, cache = avg_pool_forward(x, pool_param(ph, pw, stride))
    dout = rng.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(
        lambda _: avg_pool_forward(x, pool_param(ph, pw, stride))[0], x, dout
    )
    assert_close(avg_pool_backward(dout, cache), dx_num, rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_global_avg_pool_backward_matches_numerical_gradient():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 3, 5))
    out, cache = global_avg_pool_forward(x)
    assert out.shape == (3, 4)
    assert_close(out, x.reshape(3, 4, -1).sum(-1) / 15, rtol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda _: global_avg_pool_forward(x)[0], x, dout)
    assert_close(global_avg_pool_backward(dout, cache), dx_num, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@settings(max_examples=40, deadline=None)
@given(pool_cases())
def test_fast_max_pool_matches_naive_including_ties(case):
    shape, ph, pw, stride, with_ties, seed = case
    rng = np.random.default_rng(seed)
    # Small integers make ties frequent; both versions must pick the same (first) maximum.
    x = rng.integers(-2, 3, size=shape).astype(np.float64) if with_ties else rng.random(shape)
    param = pool_param(ph, pw, stride)
    out_naive, cache_naive = max_pool_forward_naive(x, param)
    out_fast, cache_fast = max_pool_forward_fast(x, param)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = rng.standard_normal(out_naive.shape)
    dx_naive = max_pool_backward_naive(dout, cache_naive)
    dx_fast = max_pool_backward_fast(dout, cache_fast)
    assert_close(dx_fast, dx_naive, rtol=SAME_RTOL, atol=SAME_ATOL, name="dx")
    # Every window passes on exactly its own gradient, whatever the ties.
    assert_close(dx_naive.sum(), dout.sum(), rtol=1e-10, atol=1e-10, name="sum of dx")


@pytest.mark.parametrize("impl", list(MAX_POOLS))
@pytest.mark.parametrize("with_ties", [False, True])
def test_max_pool_matches_torch(impl, with_ties):
    forward, backward = MAX_POOLS[impl]
    rng = np.random.default_rng(3)
    shape = (2, 3, 8, 6)
    # ReLU-like data: many windows are all zeros, where torch also picks the first position.
    x = np.maximum(rng.standard_normal(shape), 0.0) if with_ties else distinct_values(rng, shape)
    for ph, pw, stride in [(2, 2, 2), (3, 2, 1), (2, 3, 3), (4, 4, 2)]:
        out, cache = forward(x, pool_param(ph, pw, stride))
        dout = rng.standard_normal(out.shape)
        out_t, dx_t = torch_pool("max", x, dout, ph, pw, stride)
        np.testing.assert_array_equal(out, out_t)
        window = f"dx, window {ph}x{pw} stride {stride}"
        assert_close(backward(dout, cache), dx_t, rtol=SAME_RTOL, atol=SAME_ATOL, name=window)


@pytest.mark.parametrize(("ph", "pw", "stride"), [(2, 2, 2), (3, 2, 1), (2, 3, 3), (1, 1, 1)])
def test_avg_pool_matches_torch(ph, pw, stride):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 6))
    out, cache = avg_pool_forward(x, pool_param(ph, pw, stride))
    dout = rng.standard_normal(out.shape)
    out_t, dx_t = torch_pool("avg", x, dout, ph, pw, stride)
    assert_close(out, out_t, rtol=SAME_RTOL, atol=SAME_ATOL, name="out")
    assert_close(avg_pool_backward(dout, cache), dx_t, rtol=SAME_RTOL, atol=SAME_ATOL, name="dx")


def test_global_avg_pool_matches_torch_adaptive_avg_pool():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 5, 4))
    out, cache = global_avg_pool_forward(x)
    dout = rng.standard_normal(out.shape)
    out_t, dx_t = torch_pool("global", x, dout)
    assert_close(out, out_t, rtol=SAME_RTOL, atol=SAME_ATOL, name="out")
    dx = global_avg_pool_backward(dout, cache)
    assert_close(dx, dx_t, rtol=SAME_RTOL, atol=SAME_ATOL, name="dx")


def run_all_pools(x, dout_scale=1.0):
    """(name, out, dx) for every pooling layer on x, with a 2x2 stride-2 window."""
    param = pool_param(2, 2, 2)
    results = []
    for name, (forward, backward) in MAX_POOLS.items():
        out, cache = forward(x, param)
        results.append((name, out, backward(np.ones_like(out) * dout_scale, cache)))
    out, cache = avg_pool_forward(x, param)
    results.append(("avg", out, avg_pool_backward(np.ones_like(out), cache)))
    out, cache = global_avg_pool_forward(x)
    results.append(("global", out, global_avg_pool_backward(np.ones_like(out), cache)))
    return results


def test_float32_stays_float32():
    x = distinct_values(np.random.default_rng(6), (2, 3, 6, 4), dtype=np.float32)
    reference = {name: (out, dx) for name, out, dx in run_all_pools(x.astype(np.float64))}
    for name, out, dx in run_all_pools(x):
        assert out.dtype == np.float32 and dx.dtype == np.float32, name
        assert_close(out, reference[name][0], rtol=1e-6, name=f"{name} out")
        assert_close(dx, reference[name][1], rtol=1e-6, name=f"{name} dx")


def test_non_contiguous_inputs_work():
    base = distinct_values(np.random.default_rng(7), (2, 3, 6, 8))
    x = base[:, ::-1].transpose(0, 1, 3, 2)[:, :, ::-1]
    assert not x.flags.c_contiguous
    reference = {name: (out, dx) for name, out, dx in run_all_pools(x.copy())}
    for name, out, dx in run_all_pools(x):
        # Only the summation order of the means may differ.
        assert_close(out, reference[name][0], rtol=SAME_RTOL, name=f"{name} out")
        assert_close(dx, reference[name][1], rtol=SAME_RTOL, name=f"{name} dx")


def test_course_max_pool_names_are_aliases_of_the_one_fast_pair():
    # The course's reshape and im2col variants are one implementation here, importable from
    # tinyvision.layers as well as tinyvision.fast_layers; its behaviour is checked above
    # against the naive loops and PyTorch, tiling windows or not.
    for module in (fast_layers, layers):
        assert module.max_pool_forward_fast is max_pool_forward_fast
        assert module.max_pool_forward_reshape is max_pool_forward_fast
        assert module.max_pool_forward_im2col is max_pool_forward_fast
        assert module.max_pool_backward_fast is max_pool_backward_fast
        assert module.max_pool_backward_reshape is max_pool_backward_fast
        assert module.max_pool_backward_im2col is max_pool_backward_fast


ALL_FORWARDS = [max_pool_forward_naive, max_pool_forward_fast, avg_pool_forward]


@pytest.mark.parametrize("forward", ALL_FORWARDS)
@pytest.mark.parametrize(
    ("shape", "param", "message"),
    [
        (
            (1, 1, 7, 8),
            pool_param(2, 2, 2),
            r"\(H - pool_height\) = 7 - 2 = 5 is not divisible by stride 2",
        ),
        ((1, 1, 8, 8), pool_param(3, 2, 2), r"\(H - pool_height\) = 8 - 3 = 5"),
        ((1, 1, 2, 8), pool_param(3, 3, 1), "pool_height = 3 does not fit in H = 2"),
        ((8, 8), pool_param(2, 2, 2), r"x must have 4 dimensions, got shape \(8, 8\)"),
        ((1, 1, 4, 4), pool_param(0, 2, 2), "'pool_height' must be >= 1, got 0"),
        ((1, 1, 4, 4), {"pool_height": 2, "pool_width": 2}, "needs a 'stride' entry"),
    ],
)
def test_bad_shapes_raise_value_error(forward, shape, param, message):
    with pytest.raises(ValueError, match=message):
        forward(np.zeros(shape), param)


def test_global_avg_pool_rejects_non_4d_input():
    with pytest.raises(ValueError, match=r"x must have 4 dimensions, got shape \(2, 3\)"):
        global_avg_pool_forward(np.zeros((2, 3)))
