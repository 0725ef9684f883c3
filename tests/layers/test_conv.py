"""Convolution: naive vs numerical gradients, fast vs naive, both vs PyTorch, dtypes, errors."""

import numpy as np
import pytest
import torch
from assertions import assert_close
from hypothesis import given, settings
from strategies import conv_cases

from tinyvision import fast_layers
from tinyvision.fast_layers import conv_backward_fast, conv_forward_fast
from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import conv_backward_naive, conv_forward_naive

# Convolution is linear in x, w and b, so centred differences are exact up to rounding: about
# 1e-10 absolute on these O(1) values.
GRAD_RTOL, GRAD_ATOL = 1e-8, 1e-9
# Same sums, different summation order: only float64 rounding separates the implementations.
SAME_RTOL, SAME_ATOL = 1e-10, 1e-12
NAMES = ("out", "dx", "dw", "db")


def make_conv(rng, x_shape, w_shape, dtype=np.float64):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b


def torch_conv(x, w, b, stride, pad, dout):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def test_naive_forward_matches_a_hand_computed_pixel():
    rng = np.random.default_rng(0)
    x, w, b = make_conv(rng, (2, 3, 5, 6), (4, 3, 3, 2))
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    assert out.shape == (2, 4, 3, 4)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    # Output (1, 2, 1, 3) reads padded rows 2..4 and columns 6..7.
    expected = np.sum(xp[1, :, 2:5, 6:8] * w[2]) + b[2]
    assert out[1, 2, 1, 3] == pytest.approx(expected, rel=1e-12)
    # Output (0, 0, 0, 0) touches the zero border: only the unpadded part contributes.
    assert out[0, 0, 0, 0] == pytest.approx(np.sum(x[0, :, :2, :1] * w[0, :, 1:, 1:]) + b[0])


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [((2, 3, 5, 5), (3, 3, 3, 3), 2, 1), ((1, 2, 4, 7), (2, 2, 2, 3), 1, 0)],
)
def test_naive_backward_matches_numerical_gradients(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(1)
    x, w, b = make_conv(rng, x_shape, w_shape)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)

    def forward(_):
        return conv_forward_naive(x, w, b, conv_param)[0]

    for name, grad, wrt in (("dx", dx, x), ("dw", dw, w), ("db", db, b)):
        numerical = eval_numerical_gradient_array(forward, wrt, dout)
        assert_close(grad, numerical, rtol=GRAD_RTOL, atol=GRAD_ATOL, name=name)


@settings(max_examples=30, deadline=None)
@given(conv_cases())
def test_fast_matches_naive_on_random_shapes(case):
    x_shape, w_shape, stride, pad, seed = case
    rng = np.random.default_rng(seed)
    x, w, b = make_conv(rng, x_shape, w_shape)
    conv_param = {"stride": stride, "pad": pad}
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    assert_close(out_fast, out_naive, rtol=SAME_RTOL, atol=SAME_ATOL, name="out")
    dout = rng.standard_normal(out_naive.shape)
    fast_grads = conv_backward_fast(dout, cache_fast)
    naive_grads = conv_backward_naive(dout, cache_naive)
    for name, fast, naive in zip(("dx", "dw", "db"), fast_grads, naive_grads, strict=True):
        assert_close(fast, naive, rtol=SAME_RTOL, atol=SAME_ATOL, name=name)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [
        ((2, 3, 7, 7), (4, 3, 3, 3), 1, 1),
        ((2, 2, 9, 8), (3, 2, 3, 2), 2, 0),
        ((1, 3, 7, 4), (2, 3, 1, 1), 3, 3),
        ((3, 1, 5, 5), (2, 1, 5, 5), 1, 2),
        # C >= F with stride 1: the fast backward takes dx by full correlation, not col2im.
        ((2, 4, 6, 5), (3, 4, 3, 2), 1, 1),
        ((2, 5, 6, 7), (2, 5, 4, 3), 1, 0),
    ],
)
@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_matches_torch_forward_and_backward(x_shape, w_shape, stride, pad, impl):
    forward, backward = {
        "naive": (conv_forward_naive, conv_backward_naive),
        "fast": (conv_forward_fast, conv_backward_fast),
    }[impl]
    rng = np.random.default_rng(2)
    x, w, b = make_conv(rng, x_shape, w_shape)
    out, cache = forward(x, w, b, {"stride": stride, "pad": pad})
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    expected = torch_conv(x, w, b, stride, pad, dout)
    for name, ours, theirs in zip(NAMES, (out, *grads), expected, strict=True):
        assert_close(ours, theirs, rtol=SAME_RTOL, atol=SAME_ATOL, name=name)


# (4, 3, ...) filters take the col2im path of the fast backward, (2, 3, ...) the full
# correlation (Winograd's float32 path is in test_winograd.py).
@pytest.mark.parametrize("w_shape", [(4, 3, 3, 3), (2, 3, 3, 3)])
@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_float32_stays_float32(impl, w_shape):
    forward, backward = {
        "naive": (conv_forward_naive, conv_backward_naive),
        "fast": (conv_forward_fast, conv_backward_fast),
    }[impl]
    rng = np.random.default_rng(3)
    x, w, b = make_conv(rng, (2, 3, 6, 6), w_shape, dtype=np.float32)
    out, cache = forward(x, w, b, {"stride": 1, "pad": 1})
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = backward(dout, cache)
    assert out.dtype == np.float32
    assert [g.dtype for g in grads] == [np.float32] * 3
    expected = torch_conv(*(a.astype(np.float64) for a in (x, w, b)), 1, 1, dout.astype(np.float64))
    for name, ours, theirs in zip(NAMES, (out, *grads), expected, strict=True):
        assert_close(ours, theirs, rtol=1e-4, atol=1e-4, name=name)


def test_fast_accepts_non_contiguous_views():
    rng = np.random.default_rng(4)
    base_x, base_w, b = make_conv(rng, (3, 2, 7, 9), (4, 2, 3, 3))
    x = base_x[::-1, :, ::-1].transpose(0, 1, 3, 2)
    w = base_w.transpose(0, 1, 3, 2)[:, :, ::-1]
    assert not x.flags.c_contiguous and not w.flags.c_contiguous
    conv_param = {"stride": 2, "pad": 1}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape[::-1]).T
    assert not dout.flags.c_contiguous
    grads = conv_backward_fast(dout, cache)
    expected = torch_conv(x.copy(), w.copy(), b, 2, 1, dout.copy())
    for name, ours, theirs in zip(NAMES, (out, *grads), expected, strict=True):
        assert_close(ours, theirs, rtol=SAME_RTOL, atol=SAME_ATOL, name=name)


def test_integer_input_is_promoted_to_float():
    rng = np.random.default_rng(5)
    x = rng.integers(-3, 4, size=(1, 2, 4, 4))
    _, w, b = make_conv(rng, (1, 2, 4, 4), (2, 2, 3, 3))
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    expected, _ = conv_forward_naive(x.astype(np.float64), w, b, {"stride": 1, "pad": 0})
    assert out.dtype == np.float64
    assert_close(out, expected, rtol=SAME_RTOL, atol=SAME_ATOL)


def test_course_conv_names_are_aliases_of_the_one_fast_pair():
    # The course's im2col and stride-trick variants are one implementation here; its behaviour
    # is checked above against the naive loops and PyTorch.
    assert fast_layers.conv_forward_im2col is conv_forward_fast
    assert fast_layers.conv_forward_strides is conv_forward_fast
    assert fast_layers.conv_backward_im2col is conv_backward_fast
    assert fast_layers.conv_backward_strides is conv_backward_fast


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward_fast])
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape", "conv_param", "message"),
    [
        (
            (1, 3, 31, 31),
            (2, 3, 7, 7),
            (2,),
            {"stride": 4, "pad": 1},
            r"\(H \+ 2\*pad - HH\) = 33 - 7 = 26 is not divisible by stride 4",
        ),
        (
            (1, 3, 8, 9),
            (2, 3, 3, 3),
            (2,),
            {"stride": 2, "pad": 0},
            r"\(W - WW\) = 9 - 3 = 6|\(H - HH\) = 8 - 3 = 5 is not divisible by stride 2",
        ),
        ((1, 3, 8, 8), (2, 4, 3, 3), (2,), {"stride": 1, "pad": 1}, "x has 3 channels.*expects 4"),
        ((3, 8, 8), (2, 3, 3, 3), (2,), {"stride": 1, "pad": 1}, r"x must have 4 dim.*\(3, 8, 8\)"),
        ((1, 3, 8, 8), (2, 3, 3), (2,), {"stride": 1, "pad": 1}, "w must have 4 dimensions"),
        ((1, 3, 8, 8), (2, 3, 3, 3), (3,), {"stride": 1, "pad": 1}, r"b must have shape \(2,\)"),
        ((1, 3, 4, 4), (2, 3, 7, 7), (2,), {"stride": 1, "pad": 1}, "HH = 7 does not fit in"),
        ((1, 3, 8, 8), (2, 3, 3, 3), (2,), {"stride": 0, "pad": 1}, "'stride' must be >= 1, got 0"),
        ((1, 3, 8, 8), (2, 3, 3, 3), (2,), {"stride": 1, "pad": -1}, "'pad' must be >= 0"),
        (
            (1, 3, 8, 8),
            (2, 3, 3, 3),
            (2,),
            {"stride": 1.5, "pad": 1},
            "'stride' must be an integer",
        ),
    ],
)
def test_bad_shapes_raise_value_error(forward, x_shape, w_shape, b_shape, conv_param, message):
    x, w, b = np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape)
    with pytest.raises(ValueError, match=message):
        forward(x, w, b, conv_param)


@pytest.mark.parametrize("key", ["stride", "pad"])
def test_missing_param_raises_value_error(key):
    x, w, b = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3)
    conv_param = {"stride": 1, "pad": 0}
    del conv_param[key]
    with pytest.raises(ValueError, match=f"needs a '{key}' entry"):
        conv_forward_fast(x, w, b, conv_param)
