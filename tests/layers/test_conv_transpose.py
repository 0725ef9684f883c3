"""The transposed convolution and the pixel-wise softmax cross-entropy: against a loop-based
reference, numerical gradients (float64) and PyTorch; dtypes and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
from tinyvision.layers import (
    conv_transpose_backward,
    conv_transpose_forward,
    conv_transpose_forward_naive,
    pixel_softmax_loss,
)

torch = pytest.importorskip("torch", reason="the PyTorch comparisons need torch")

GEOMETRIES = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (4, 2, 1), (1, 1, 0)]  # kernel, stride, pad


def _inputs(rng, kernel, n=2, c=3, f=4, h=3, w=5):
    return (
        rng.standard_normal((n, c, h, w)),
        rng.standard_normal((c, f, kernel, kernel)),
        rng.standard_normal(f),
    )


@pytest.mark.parametrize("kernel,stride,pad", GEOMETRIES)
def test_conv_transpose_equals_torch_and_the_reference(kernel, stride, pad):
    rng = np.random.default_rng(kernel * 10 + stride)
    x, w, b = _inputs(rng, kernel)
    param = {"stride": stride, "pad": pad}
    out, cache = conv_transpose_forward(x, w, b, param)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    expected = torch.nn.functional.conv_transpose2d(tx, tw, tb, stride=stride, padding=pad)
    assert (
        out.shape
        == tuple(expected.shape)
        == (2, 4, (3 - 1) * stride - 2 * pad + kernel, (5 - 1) * stride - 2 * pad + kernel)
    )
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, conv_transpose_forward_naive(x, w, b, param), atol=1e-12)
    dout = rng.standard_normal(out.shape)
    expected.backward(torch.tensor(dout))
    for ours, theirs in zip(conv_transpose_backward(dout, cache), (tx, tw, tb), strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,pad", [(2, 2, 0), (3, 2, 1)])
def test_conv_transpose_gradients_match_numerical_ones(kernel, stride, pad):
    rng = np.random.default_rng(1)
    x, w, b = _inputs(rng, kernel, n=2, c=2, f=3, h=3, w=2)
    param = {"stride": stride, "pad": pad}
    out, cache = conv_transpose_forward(x, w, b, param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_transpose_backward(dout, cache)
    for value, grad, which in ((x, dx, 0), (w, dw, 1), (b, db, 2)):

        def forward(v, which=which):
            args = [x, w, b]
            args[which] = v
            return conv_transpose_forward(*args, param)[0]

        assert rel_error(grad, eval_numerical_gradient_array(forward, value, dout)) < 1e-8


def test_conv_transpose_keeps_float32_and_accepts_non_contiguous_input():
    rng = np.random.default_rng(2)
    x, w, b = (a.astype(np.float32) for a in _inputs(rng, 2))
    view = np.asfortranarray(x)
    out, cache = conv_transpose_forward(view, w, b, {"stride": 2, "pad": 0})
    assert out.dtype == np.float32 and all(
        g.dtype == np.float32 for g in conv_transpose_backward(np.ones_like(out), cache)
    )
    np.testing.assert_allclose(out, conv_transpose_forward(x, w, b, {"stride": 2, "pad": 0})[0])


def test_conv_transpose_refuses_bad_shapes_with_what_was_expected():
    rng = np.random.default_rng(3)
    x, w, b = _inputs(rng, 2)
    with pytest.raises(ValueError, match=r"x has 3 channels .* w expects 2"):
        conv_transpose_forward(x, w[:2], b, {"stride": 2, "pad": 0})
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        conv_transpose_forward(x, w, b[:3], {"stride": 2, "pad": 0})
    with pytest.raises(ValueError, match="crops the whole output"):
        conv_transpose_forward(x[:, :, :1, :1], w, b, {"stride": 2, "pad": 1})
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        conv_transpose_forward(x[0], w, b, {"stride": 2, "pad": 0})


def _pixel_data(rng, n=2, c=5, h=3, w=4):
    return rng.standard_normal((n, c, h, w)), rng.integers(-1, c, size=(n, h, w))


@pytest.mark.parametrize("ignore_index", [-1, 2])
def test_pixel_softmax_loss_equals_torch_cross_entropy_with_ignore_index(ignore_index):
    rng = np.random.default_rng(4)
    x, y = _pixel_data(rng)
    if ignore_index != -1:
        y[y == -1] = 0
    loss, dx = pixel_softmax_loss(x, y, ignore_index=ignore_index)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx, torch.tensor(y), ignore_index=ignore_index)
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert np.all(dx.transpose(0, 2, 3, 1)[y == ignore_index] == 0)


def test_pixel_softmax_loss_gradient_matches_numerical_and_keeps_float32():
    rng = np.random.default_rng(5)
    x, y = _pixel_data(rng, c=3)
    _, dx = pixel_softmax_loss(x, y)
    numeric = eval_numerical_gradient_array(
        lambda v: np.array(pixel_softmax_loss(v, y)[0]), x, np.array(1.0)
    )
    assert rel_error(dx, numeric) < 1e-8
    loss32, dx32 = pixel_softmax_loss(x.astype(np.float32), y)
    assert loss32.dtype == np.float32 and dx32.dtype == np.float32


def test_pixel_softmax_loss_of_an_all_void_batch_is_zero():
    x = np.random.default_rng(6).standard_normal((1, 3, 2, 2))
    loss, dx = pixel_softmax_loss(x, np.full((1, 2, 2), -1))
    assert loss == 0 and not dx.any() and dx.shape == x.shape


def test_pixel_softmax_loss_refuses_bad_labels_naming_the_pixel():
    x, y = _pixel_data(np.random.default_rng(7))
    with pytest.raises(ValueError, match=r"y must be \(N, H, W\) = \(2, 3, 4\)"):
        pixel_softmax_loss(x, y[:, :2])
    with pytest.raises(ValueError, match="integer labels, got dtype float64"):
        pixel_softmax_loss(x, y.astype(float))
    y[1, 2, 3] = 5
    with pytest.raises(
        ValueError,
        match=r"labels in \[0, 5\) or ignore_index -1, got 5 at "
        r"\(1, 2, 3\)",
    ):
        pixel_softmax_loss(x, y)
    with pytest.raises(ValueError, match="x must be"):
        pixel_softmax_loss(x[0], y[0])
