"""Convolution layers: a loop-based reference and a fast im2col + one-GEMM version.

Both compute the cross-correlation used by CS231n (and by torch.nn.functional.conv2d):
out[n, f, h', w'] = b[f] + sum_{c,i,j} x_pad[n, c, h'*stride + i, w'*stride + j] * w[f, c, i, j]
with x zero-padded by `pad` on each spatial side, and H' = 1 + (H + 2*pad - HH) // stride.
The padded extent minus the kernel must be a multiple of the stride, else ValueError.

`conv_forward_fast` / `conv_backward_fast` (re-exported by `tinyvision.fast_layers` under the
course's names) take any stride, padding and kernel size, and keep float32 as float32. 3x3
filters with stride 1 and pad 1 over at least 16 channels run on Winograd's F(2x2, 3x3)
(`tinyvision.layers.winograd`), everything else on im2col. The im2col
forward caches its column matrix rather than x: dw needs exactly that matrix, and rebuilding it
would cost as much as the forward's im2col again. Its size, C*HH*WW * N*H'*W' values (59 MB in
float32 for x(100,64,16,16) and 3x3 filters), is the memory bound per batch; the backward pass
allocates at most one more matrix of that size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyvision.parallel import copy_in_slices, run_in_slices
from tinyvision.validation import check_float_array

from .im2col import col2im, im2col, int_param, output_size, pad_images
from .winograd import WinogradCache, winograd_applies, winograd_backward, winograd_forward

__all__ = [
    "conv_backward_fast",
    "conv_backward_naive",
    "conv_forward_fast",
    "conv_forward_naive",
]


def _conv_geometry(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int, int]:
    """Validate the arguments of a conv forward; return x, w, b, stride, pad, H', W'."""
    x = check_float_array(x, "x", 4)
    w = check_float_array(w, "w", 4)
    b = check_float_array(b, "b", 1)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels (shape {x.shape}) but w expects {w.shape[1]} "
            f"(shape {w.shape}); w must be (F, C, HH, WW) with C = x.shape[1]"
        )
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},), one bias per filter, got {b.shape}")
    stride = int_param(conv_param, "stride", 1)
    pad = int_param(conv_param, "pad", 0)
    out_h = output_size(x.shape[2], w.shape[2], stride, pad, "H", "HH")
    out_w = output_size(x.shape[3], w.shape[3], stride, pad, "W", "WW")
    return x, w, b, stride, pad, out_h, out_w


def conv_forward_naive(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Reference convolution forward pass, one output pixel at a time.

    x: (N, C, H, W) input images, float
    w: (F, C, HH, WW) filters, float
    b: (F,) biases, float
    conv_param: {'stride': int >= 1, 'pad': int >= 0} (zero padding on every spatial side)
    returns out, (N, F, H', W') with H' = 1 + (H + 2*pad - HH) // stride (same for W'), in the
    common dtype of x, w and b; and cache (x, w, b, conv_param) for conv_backward_naive
    """
    x, w, b, stride, pad, out_h, out_w = _conv_geometry(x, w, b, conv_param)
    dtype = np.result_type(x, w, b)
    n_images, n_filters, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    xp = pad_images(x, pad, dtype)
    out = np.empty((n_images, n_filters, out_h, out_w), dtype=dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp[n, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference convolution backward pass, one output pixel at a time.

    dout: (N, F, H', W') upstream gradient
    cache: from conv_forward_naive
    returns (dx, dw, db) with the shapes of x (N, C, H, W), w (F, C, HH, WW) and b (F,)
    """
    x, w, b, conv_param = cache
    stride = int_param(conv_param, "stride", 1)
    pad = int_param(conv_param, "pad", 0)
    dtype = np.result_type(x, w, b, dout)
    n_images, n_filters, out_h, out_w = dout.shape
    kh, kw = w.shape[2:]
    xp = pad_images(x, pad, dtype)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape, dtype=dtype)
    db = np.zeros(b.shape, dtype=dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    rows = slice(i * stride, i * stride + kh)
                    columns = slice(j * stride, j * stride + kw)
                    g = dout[n, f, i, j]
                    dxp[n, :, rows, columns] += g * w[f]
                    dw[f] += g * xp[n, :, rows, columns]
                    db[f] += g
    dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]].copy()
    return dx, dw, db


def conv_forward_fast(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Convolution forward pass as im2col followed by a single matrix multiply, or for 3x3
    filters with stride 1 and pad 1 (every conv of the course's deeper nets) as Winograd's
    F(2x2, 3x3), which needs 2.25 times fewer multiplies (tinyvision.layers.winograd).

    x: (N, C, H, W) input images, float32 or float64, any memory layout
    w: (F, C, HH, WW) filters
    b: (F,) biases
    conv_param: {'stride': int >= 1, 'pad': int >= 0}
    returns out, (N, F, H', W') C-contiguous, in the common dtype of x, w and b; and a cache for
    conv_backward_fast: the column matrix (C*HH*WW x N*H'*W' values), which the backward pass
    needs for dw and would otherwise have to rebuild, or Winograd's transformed tiles
    """
    x, w, b, stride, pad, out_h, out_w = _conv_geometry(x, w, b, conv_param)
    dtype = np.result_type(x, w, b)
    if winograd_applies(w.shape, stride, pad):
        return winograd_forward(x, w, b, dtype)
    n_images, n_filters = x.shape[0], w.shape[0]
    kh, kw = w.shape[2:]
    cols = im2col(pad_images(x, pad, dtype), kh, kw, stride)
    w2 = w.reshape(n_filters, -1).astype(dtype, copy=False)
    res = (w2 @ cols).reshape(n_filters, n_images, out_h, out_w)
    out = np.empty((n_images, n_filters, out_h, out_w), dtype=dtype)
    bias = b.astype(dtype, copy=False)[:, None, None]

    # The bias add doubles as the (F, N) -> (N, F) transposing copy: one pass over the output.
    def add_bias(images: slice) -> None:
        np.add(res[:, images].transpose(1, 0, 2, 3), bias, out=out[images])

    run_in_slices(add_bias, n_images, out.size)
    return out, (cols, w2, x.shape, w.shape, stride, pad)


def conv_backward_fast(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution backward pass: dw from one GEMM with the cached columns, dx from a second GEMM.

    dx comes from dcols = w2.T @ dout followed by col2im (a loop over the HH*WW kernel offsets
    with strided slice additions), except for stride 1 when the full correlation below is the
    smaller problem.
    dout: (N, F, H', W') upstream gradient, any memory layout
    cache: from conv_forward_fast
    returns (dx, dw, db): (N, C, H, W), (F, C, HH, WW), (F,), in the forward pass's dtype
    """
    if isinstance(cache, WinogradCache):
        return winograd_backward(dout, cache)
    cols, w2, x_shape, w_shape, stride, pad = cache
    dout = np.asarray(dout)
    n_images, n_filters, out_h, out_w = dout.shape
    n_channels, height, width = x_shape[1:]
    kh, kw = w_shape[2:]
    # (N, F, H', W') -> (F, N*H'*W'): the column order of `cols`, so both products are plain
    # GEMMs with no hidden copies.
    dout2 = np.empty((n_filters, n_images, out_h, out_w), dtype=cols.dtype)
    copy_in_slices(dout2, dout.transpose(1, 0, 2, 3), axis=1)
    dout2 = dout2.reshape(n_filters, -1)
    db = dout2.sum(axis=1)
    dw = (dout2 @ cols.T).reshape(w_shape)
    # For stride 1, dx is itself a convolution (of dout with the flipped filters, F and C
    # swapped). Its GEMM has the long inner dimension F*HH*WW instead of F and it needs no
    # scatter, so it wins whenever its column matrix is not the larger one (F*H*W <= C*H'*W').
    if (
        stride == 1
        and pad < min(kh, kw)
        and n_filters * height * width <= n_channels * out_h * out_w
    ):
        dx = _dx_by_full_correlation(dout, w2.reshape(w_shape), pad)
    else:
        dx = col2im(w2.T @ dout2, x_shape, kh, kw, stride, pad)
    return dx, dw, db


def _dx_by_full_correlation(dout: np.ndarray, w: np.ndarray, pad: int) -> np.ndarray:
    """dx of a stride-1 convolution with pad < HH and pad < WW.

    dx[n, c] = sum_f dout_p[n, f] (correlated with) w[f, c, ::-1, ::-1], where dout_p is dout
    zero-padded by HH-1-pad rows and WW-1-pad columns: a convolution with C filters of F
    channels, computed by im2col and one GEMM like the forward pass.
    """
    n_channels, kh, kw = w.shape[1:]
    n_images, _, out_h, _ = dout.shape
    cols = im2col(pad_images(dout, kh - 1 - pad, w.dtype, kw - 1 - pad), kh, kw, 1)
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(n_channels, -1)
    res = (flipped @ cols).reshape(n_channels, n_images, out_h + kh - 1 - 2 * pad, -1)
    dx = np.empty((n_images, *res.shape[:1], *res.shape[2:]), dtype=res.dtype)
    return copy_in_slices(dx, res.transpose(1, 0, 2, 3))
