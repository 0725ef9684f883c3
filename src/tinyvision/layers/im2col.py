"""im2col and col2im: turn a convolution into one matrix multiply, and route its gradient back.

Layout (chosen so that the GEMMs and the scatter back are cheap, see benchmarks/conv.py):
`cols` has shape (C*HH*WW, N*H'*W'), rows ordered (c, i, j) like `w.reshape(F, -1)`, columns
ordered (n, h', w'). Then `out = w2 @ cols`, `dw = dout2 @ cols.T` and `dcols = w2.T @ dout2`
are single BLAS calls without copies, and the last axis of every im2col/col2im slice is the
output row, so numpy moves memory in runs of W' elements.

The geometry checks live here too, shared by convolution and pooling, so both report a shape
that does not fit with the same wording.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinyvision.parallel import copy_in_slices, run_in_slices

__all__ = [
    "col2im",
    "im2col",
    "int_param",
    "output_size",
    "pad_images",
    "window_views",
]


def int_param(params: Mapping[str, object], key: str, minimum: int) -> int:
    """Read params[key] as an integer >= minimum, or raise ValueError saying what came.

    params: the course's `conv_param` / `pool_param` dict
    key: name of the (required) entry
    minimum: smallest allowed value (1 for strides and window sizes, 0 for padding)
    returns the value as a Python int
    """
    if key not in params:
        raise ValueError(f"the parameter dict needs a '{key}' entry, got keys {sorted(params)}")
    value = params[key]
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"'{key}' must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"'{key}' must be >= {minimum}, got {number}")
    return number


def output_size(size: int, kernel: int, stride: int, pad: int, dim: str, kdim: str) -> int:
    """Number of window positions along one axis: 1 + (size + 2*pad - kernel) // stride.

    size: input length along the axis (H or W); kernel: window length along it
    stride, pad: step between windows and zero padding added on both sides
    dim, kdim: names used in the error message, e.g. "H" and "HH"
    Raises ValueError when the window does not fit or the windows do not tile the padded input
    exactly (the course asserts this; silently dropping border pixels hides shape bugs).
    """
    padded_name = f"{dim} + 2*pad" if pad else dim
    padded = size + 2 * pad
    if kernel > padded:
        raise ValueError(f"{kdim} = {kernel} does not fit in {padded_name} = {padded}")
    span = padded - kernel
    if span % stride:
        raise ValueError(
            f"({padded_name} - {kdim}) = {padded} - {kernel} = {span} is not divisible by "
            f"stride {stride}; change the stride, the padding or the input size"
        )
    return 1 + span // stride


def pad_images(x: np.ndarray, pad: int, dtype: np.dtype, pad_w: int | None = None) -> np.ndarray:
    """Zero-pad the spatial axes of x: pad rows above and below, pad_w (default pad) columns
    left and right.

    x: (N, C, H, W), any float dtype and memory layout
    returns (N, C, H + 2*pad, W + 2*pad_w), C-contiguous, of the given dtype (x itself when
    there is no padding and x already has that dtype and layout)
    """
    pad_w = pad if pad_w is None else pad_w
    n, c, h, w = x.shape
    if pad == pad_w == 0:
        return np.ascontiguousarray(x, dtype=dtype)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad_w), dtype=dtype)
    # copyto casts on the way, so a float64 x needs no float32 copy of its own first.
    copy_in_slices(xp[:, :, pad : pad + h, pad_w : pad_w + w], x)
    return xp


def im2col(xp: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """Copy every kh x kw window of the (already padded) images into one column matrix.

    xp: (N, C, Hp, Wp) with (Hp - kh) and (Wp - kw) divisible by stride
    returns cols, (C*kh*kw, N*H'*W'), same dtype as xp, C-contiguous
    """
    n, c = xp.shape[:2]
    # (N, C, Hp-kh+1, Wp-kw+1, kh, kw) view, subsampled by the stride: no copy yet.
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    out_h, out_w = windows.shape[2:4]
    # The single copy: reorder to (C, kh, kw, N, H', W') so rows match w.reshape(F, -1). One
    # channel at a time, so that its N image planes stay in cache while they are read kh*kw
    # times (copying all channels in one pass is about twice as slow); channels are split over
    # the threads.
    cols = np.empty((c, kh, kw, n, out_h, out_w), dtype=xp.dtype)

    def copy(channels: slice) -> None:
        for channel in range(channels.start, channels.stop):
            np.copyto(cols[channel], windows[:, channel].transpose(3, 4, 0, 1, 2))

    run_in_slices(copy, c, cols.size)
    return cols.reshape(c * kh * kw, n * out_h * out_w)


def window_views(
    a: np.ndarray, kh: int, kw: int, stride: int, out_h: int, out_w: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (i, j, view) for each kernel offset, in row-major order of (i, j).

    view = a[..., i : i + stride*out_h : stride, j : j + stride*out_w : stride] has shape
    (..., out_h, out_w): element [..., h', w'] is the pixel at offset (i, j) inside window
    (h', w'). Looping over the kh*kw offsets (never over pixels) lets scatters and reductions
    run as whole-array operations.
    """
    for i in range(kh):
        for j in range(kw):
            yield i, j, a[..., i : i + stride * out_h : stride, j : j + stride * out_w : stride]


def col2im(
    dcols: np.ndarray, x_shape: tuple[int, int, int, int], kh: int, kw: int, stride: int, pad: int
) -> np.ndarray:
    """Adjoint of im2col: sum each column's entries back onto the pixels they were copied from.

    dcols: (C*kh*kw, N*H'*W') in im2col's layout
    x_shape: (N, C, H, W) of the unpadded input
    returns dx, (N, C, H, W), dtype of dcols, C-contiguous
    """
    n, c, h, w = x_shape
    out_h = (h + 2 * pad - kh) // stride + 1
    out_w = (w + 2 * pad - kw) // stride + 1
    blocks = dcols.reshape(c, kh, kw, n, out_h, out_w)
    # Accumulate in (C, N, ...) order, the order of the blocks, so each strided add walks both
    # operands the same way; one transposing copy at the end restores (N, C, H, W).
    dxp = np.zeros((c, n, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)

    def scatter(images: slice) -> None:
        for i, j, view in window_views(dxp[:, images], kh, kw, stride, out_h, out_w):
            view += blocks[:, i, j, images]

    run_in_slices(scatter, n, dcols.size)
    dx = np.empty((n, c, h, w), dtype=dcols.dtype)
    return copy_in_slices(dx, dxp[:, :, pad : pad + h, pad : pad + w].transpose(1, 0, 2, 3))
