"""Winograd F(2x2, 3x3): against the loop reference, numerical gradients and PyTorch, for even
and odd image sizes (the border tiles), both dtypes, and the dispatch of conv_forward_fast."""

import numpy as np
import pytest
import torch
from assertions import assert_close

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import conv_backward_naive, conv_forward_naive
from tinyvision.layers.conv import conv_backward_fast, conv_forward_fast
from tinyvision.layers.winograd import (
    WinogradCache,
    winograd_applies,
    winograd_backward,
    winograd_forward,
)

CONV_PARAM = {"stride": 1, "pad": 1}
# One transform more than the direct sums in each direction: still float64 rounding only.
SAME_RTOL, SAME_ATOL = 1e-10, 1e-11
SHAPES = [(2, 3, 6, 8), (3, 2, 5, 7), (1, 1, 1, 1), (2, 2, 2, 3), (4, 5, 9, 4), (1, 3, 1, 6)]


def make(rng, x_shape, n_filters, dtype=np.float64):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((n_filters, x_shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(n_filters).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("x_shape", SHAPES)
def test_forward_and_backward_equal_the_loop_reference(x_shape):
    rng = np.random.default_rng(0)
    x, w, b = make(rng, x_shape, 4)
    out, cache = winograd_forward(x, w, b, np.dtype(np.float64))
    expected, reference_cache = conv_forward_naive(x, w, b, CONV_PARAM)
    assert_close(out, expected, rtol=SAME_RTOL, atol=SAME_ATOL, name="out")
    dout = rng.standard_normal(out.shape)
    grads = winograd_backward(dout, cache)
    for name, ours, theirs in zip(
        ("dx", "dw", "db"), grads, conv_backward_naive(dout, reference_cache), strict=True
    ):
        assert_close(ours, theirs, rtol=SAME_RTOL, atol=SAME_ATOL, name=name)


@pytest.mark.parametrize("x_shape", [(2, 2, 5, 4), (1, 3, 3, 3)])
def test_gradients_equal_numerical_gradients(x_shape):
    rng = np.random.default_rng(1)
    x, w, b = make(rng, x_shape, 3)
    out, cache = winograd_forward(x, w, b, np.dtype(np.float64))
    dout = rng.standard_normal(out.shape)
    dx, dw, db = winograd_backward(dout, cache)

    def forward(_):
        return winograd_forward(x, w, b, np.dtype(np.float64))[0]

    for name, grad, wrt in (("dx", dx, x), ("dw", dw, w), ("db", db, b)):
        numerical = eval_numerical_gradient_array(forward, wrt, dout)
        assert_close(grad, numerical, rtol=1e-8, atol=1e-9, name=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape", [(3, 16, 16, 16), (2, 17, 7, 9)])
def test_conv_forward_fast_matches_torch(dtype, x_shape):
    rng = np.random.default_rng(2)
    x, w, b = make(rng, x_shape, 6, dtype)
    out, cache = conv_forward_fast(x, w, b, CONV_PARAM)
    assert isinstance(cache, WinogradCache)
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = conv_backward_fast(dout, cache)
    assert [a.dtype for a in (out, *grads)] == [np.dtype(dtype)] * 4
    tensors = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b)]
    expected = torch.nn.functional.conv2d(*tensors, padding=1)
    expected.backward(torch.tensor(dout.astype(np.float64)))
    tolerance = SAME_RTOL if dtype == np.float64 else 1e-5
    theirs = (expected, *(t.grad for t in tensors))
    for name, ours, reference in zip(("out", "dx", "dw", "db"), (out, *grads), theirs, strict=True):
        scale = np.abs(reference.detach().numpy()).max()
        assert_close(
            ours, reference.detach().numpy(), rtol=tolerance, atol=tolerance * scale, name=name
        )


def test_non_contiguous_input_is_read_correctly():
    rng = np.random.default_rng(3)
    x, w, b = make(rng, (3, 2, 6, 5), 2)
    view = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    out, cache = winograd_forward(view, w, b, np.dtype(np.float64))
    expected, _ = conv_forward_naive(x, w, b, CONV_PARAM)
    assert_close(out, expected, rtol=SAME_RTOL, atol=SAME_ATOL, name="out")


@pytest.mark.parametrize(
    ("w_shape", "stride", "pad", "applies"),
    [
        ((4, 16, 3, 3), 1, 1, True),
        ((4, 15, 3, 3), 1, 1, False),
        ((4, 16, 3, 3), 2, 1, False),
        ((4, 16, 3, 3), 1, 0, False),
        ((4, 16, 5, 5), 1, 1, False),
        ((4, 16, 3, 2), 1, 1, False),
    ],
)
def test_only_3x3_stride_1_pad_1_convolutions_of_16_channels_run_on_winograd(
    w_shape, stride, pad, applies
):
    assert winograd_applies(w_shape, stride, pad) is applies
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, w_shape[1], 7, 7))
    w, b = rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    _, cache = conv_forward_fast(x, w, b, {"stride": stride, "pad": pad})
    assert isinstance(cache, WinogradCache) is applies
