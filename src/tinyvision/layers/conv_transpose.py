"""Transposed convolution (the U-Net paper's "up-conv"): the adjoint of a convolution.

A transposed convolution with filters w (C, F, HH, WW), the layout of torch's
ConvTranspose2d.weight, maps x (N, C, H, W) to out (N, F, H', W') with
H' = (H - 1) * stride - 2 * pad + HH: every input pixel adds w[c] scaled by its value into an
HH x WW window of the (padded) output, windows `stride` apart, and the `pad` border is cropped.
With HH = WW = stride = 2 the windows tile the output and it is a learned 2x up-sampling.

Its forward pass is exactly the input-gradient of a convolution whose filters are w (F_conv = C
filters of C_conv = F channels), and its backward pass for x is that convolution's forward. So
both reuse the convolution's im2col layout: forward is one GEMM and col2im, backward one im2col
and two GEMMs. Equal to torch.nn.functional.conv_transpose2d (output_padding 0, no groups).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyvision.validation import check_float_array

from .im2col import col2im, im2col, int_param, pad_images

__all__ = [
    "conv_transpose_backward",
    "conv_transpose_forward",
    "conv_transpose_forward_naive",
]


def _geometry(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int, int]:
    """Validate the arguments of a transposed conv forward; return x, w, b, stride, pad, H', W'."""
    x = check_float_array(x, "x", 4)
    w = check_float_array(w, "w", 4)
    b = check_float_array(b, "b", 1)
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} channels (shape {x.shape}) but w expects {w.shape[0]} "
            f"(shape {w.shape}); w must be (C, F, HH, WW) with C = x.shape[1], as torch's "
            "ConvTranspose2d.weight"
        )
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape ({w.shape[1]},), one bias per output channel")
    stride = int_param(conv_param, "stride", 1)
    pad = int_param(conv_param, "pad", 0)
    out_h = (x.shape[2] - 1) * stride - 2 * pad + w.shape[2]
    out_w = (x.shape[3] - 1) * stride - 2 * pad + w.shape[3]
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"pad {pad} crops the whole output: (H - 1) * stride - 2 * pad + HH = {out_h} and "
            f"the same for W = {out_w} must be >= 1; use a smaller pad"
        )
    return x, w, b, stride, pad, out_h, out_w


def conv_transpose_forward_naive(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> np.ndarray:
    """Reference transposed convolution, one input pixel at a time (the test oracle).

    x: (N, C, H, W) float; w: (C, F, HH, WW); b: (F,)
    conv_param: {'stride': int >= 1, 'pad': int >= 0}
    returns out (N, F, H', W'), H' = (H - 1) * stride - 2 * pad + HH, in the common dtype
    """
    x, w, b, stride, pad, out_h, out_w = _geometry(x, w, b, conv_param)
    n_images, _, height, width = x.shape
    kh, kw = w.shape[2:]
    dtype = np.result_type(x, w, b)
    padded = np.zeros((n_images, w.shape[1], out_h + 2 * pad, out_w + 2 * pad), dtype=dtype)
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                window = (n, slice(None), slice(i * stride, i * stride + kh))
                window += (slice(j * stride, j * stride + kw),)
                padded[window] += np.tensordot(x[n, :, i, j], w, axes=(0, 0))
    return padded[:, :, pad : pad + out_h, pad : pad + out_w] + b[None, :, None, None]


def conv_transpose_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Transposed convolution forward pass: one GEMM into column layout, then col2im.

    x: (N, C, H, W) float32 or float64, any memory layout
    w: (C, F, HH, WW) filters (torch's ConvTranspose2d.weight layout)
    b: (F,) biases
    conv_param: {'stride': int >= 1, 'pad': int >= 0} (pad is cropped from every side)
    returns out (N, F, H', W') with H' = (H - 1) * stride - 2 * pad + HH (likewise W'), in the
    common dtype of x, w and b; and a cache for conv_transpose_backward
    """
    x, w, b, stride, pad, out_h, out_w = _geometry(x, w, b, conv_param)
    dtype = np.result_type(x, w, b)
    n_images, n_channels = x.shape[:2]
    n_filters, kh, kw = w.shape[1:]
    # (N, C, H, W) -> (C, N*H*W): the column order of im2col, (n, h, w).
    x2 = np.ascontiguousarray(x.transpose(1, 0, 2, 3), dtype=dtype).reshape(n_channels, -1)
    w2 = w.reshape(n_channels, -1).astype(dtype, copy=False)  # (C, F*HH*WW)
    out = col2im(w2.T @ x2, (n_images, n_filters, out_h, out_w), kh, kw, stride, pad)
    out += b.astype(dtype, copy=False)[None, :, None, None]
    return out, (x2, w2, x.shape, w.shape, stride, pad)


def conv_transpose_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transposed convolution backward pass: im2col of dout, then a GEMM each for dx and dw.

    dout: (N, F, H', W') upstream gradient, any memory layout
    cache: from conv_transpose_forward
    returns (dx, dw, db): (N, C, H, W), (C, F, HH, WW), (F,), in the forward pass's dtype
    """
    x2, w2, x_shape, w_shape, stride, pad = cache
    n_images, n_channels, height, width = x_shape
    kh, kw = w_shape[2:]
    dout = np.asarray(dout, dtype=x2.dtype)
    cols = im2col(pad_images(dout, pad, x2.dtype), kh, kw, stride)  # (F*HH*WW, N*H*W)
    dx = (w2 @ cols).reshape(n_channels, n_images, height, width).transpose(1, 0, 2, 3)
    dw = (x2 @ cols.T).reshape(w_shape)
    db = dout.sum(axis=(0, 2, 3))
    return np.ascontiguousarray(dx), dw, db
