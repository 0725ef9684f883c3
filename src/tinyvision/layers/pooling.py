"""Pooling layers: max pooling (loop reference and one fast version), average and global average.

`pool_param` is the course's dict {'pool_height', 'pool_width', 'stride'}; windows start at
multiples of the stride, there is no padding, and (H - pool_height) must be a multiple of the
stride (same for W), else ValueError. H' = 1 + (H - pool_height) // stride.

Ties in max pooling: the whole gradient of a window goes to ONE position, the first maximum in
row-major order inside the window (what np.argmax on the flattened window returns, and what
PyTorch's CPU max_pool2d picks). Ties are common in practice (windows of zeros after a ReLU), and
splitting or duplicating the gradient there would make it wrong.

The fast max pool is separable: the maximum over a window is the maximum over its rows of the
maximum over its columns, so it takes pool_height + pool_width elementwise maxima of strided
slices instead of pool_height * pool_width (and never numpy's reduction over a short inner axis,
which is about ten times slower). For windows that tile the input this is the reshape trick.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyvision.parallel import run_in_slices
from tinyvision.validation import check_float_array

from .im2col import int_param, output_size, window_views

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "max_pool_backward_fast",
    "max_pool_backward_im2col",
    "max_pool_backward_naive",
    "max_pool_backward_reshape",
    "max_pool_forward_fast",
    "max_pool_forward_im2col",
    "max_pool_forward_naive",
    "max_pool_forward_reshape",
]


def _pool_geometry(
    x: np.ndarray, pool_param: dict[str, Any]
) -> tuple[np.ndarray, int, int, int, int, int]:
    """Validate a pooling forward's arguments; return x, pool_height, pool_width, stride, H', W'."""
    x = check_float_array(x, "x", 4)
    ph = int_param(pool_param, "pool_height", 1)
    pw = int_param(pool_param, "pool_width", 1)
    stride = int_param(pool_param, "stride", 1)
    out_h = output_size(x.shape[2], ph, stride, 0, "H", "pool_height")
    out_w = output_size(x.shape[3], pw, stride, 0, "W", "pool_width")
    return x, ph, pw, stride, out_h, out_w


def max_pool_forward_naive(x: np.ndarray, pool_param: dict[str, Any]) -> tuple[np.ndarray, tuple]:
    """Reference max pooling forward pass, one window at a time.

    x: (N, C, H, W) float input
    pool_param: {'pool_height': int, 'pool_width': int, 'stride': int}, all >= 1
    returns out, (N, C, H', W') of x's dtype, and cache (x, pool_param)
    """
    x, ph, pw, stride, out_h, out_w = _pool_geometry(x, pool_param)
    n_images, channels = x.shape[:2]
    out = np.empty((n_images, channels, out_h, out_w), dtype=x.dtype)
    for n in range(n_images):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    hs, ws = i * stride, j * stride
                    out[n, c, i, j] = np.max(x[n, c, hs : hs + ph, ws : ws + pw])
    return out, (x, pool_param)


def max_pool_backward_naive(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Reference max pooling backward pass: each window's gradient goes to its first maximum.

    dout: (N, C, H', W') upstream gradient
    cache: from max_pool_forward_naive
    returns dx, (N, C, H, W), in the common dtype of x and dout
    """
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n_images, channels, out_h, out_w = dout.shape
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    for n in range(n_images):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    hs, ws = i * stride, j * stride
                    window = x[n, c, hs : hs + ph, ws : ws + pw]
                    di, dj = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, hs + di, ws + dj] += dout[n, c, i, j]
    return dx


def _axis_slices(a: np.ndarray, axis: int, k: int, stride: int, count: int) -> list[np.ndarray]:
    """The k strided views of a along axis; view j holds element j of each of the count windows."""
    index = [slice(None)] * a.ndim
    views = []
    for j in range(k):
        index[axis] = slice(j, j + stride * (count - 1) + 1, stride)
        views.append(a[tuple(index)])
    return views


def _max_along(
    a: np.ndarray, axis: int, k: int, stride: int, count: int, out: np.ndarray
) -> np.ndarray:
    """Maximum over the count windows of length k along one axis, written into out."""
    views = _axis_slices(a, axis, k, stride, count)
    np.copyto(out, views[0])
    for view in views[1:]:
        np.maximum(out, view, out=out)
    return out


def _unmax_along(
    dbest: np.ndarray,
    best: np.ndarray,
    a: np.ndarray,
    axis: int,
    k: int,
    stride: int,
    da: np.ndarray,
) -> np.ndarray:
    """Gradient with respect to a of best = _max_along(a, axis, k, stride, ...), written into
    da (a's shape, dbest's dtype).

    Each window's gradient goes to the first position along the axis that equals its maximum.
    """
    count = best.shape[axis]
    # stride == k: the windows tile the axis, so every position is written exactly once.
    if stride != k:
        da[...] = 0
    free = np.ones(best.shape, dtype=bool)
    hit = np.empty(best.shape, dtype=bool)
    sources = _axis_slices(a, axis, k, stride, count)
    targets = _axis_slices(da, axis, k, stride, count)
    for j, (source, target) in enumerate(zip(sources, targets, strict=True)):
        np.equal(source, best, out=hit)
        hit &= free
        if j < k - 1:
            free ^= hit
        if stride < k:
            # Overlapping windows share positions, so their gradients add up.
            target += dbest * hit
        else:
            np.multiply(dbest, hit, out=target)
    return da


def _max_pool_separable(
    x: np.ndarray, ph: int, pw: int, stride: int, out_h: int, out_w: int
) -> tuple[np.ndarray, tuple]:
    """Max over rows of (max over columns): pool_height + pool_width slices, not their product.

    The first maximum of a window in row-major order is in the first of its rows that holds the
    window's maximum, at the first column of that row that does; routing the gradient back row
    step first, then column step, therefore reproduces the naive tie-break exactly.
    """
    n_images, n_channels, height = x.shape[:3]
    row_max = np.empty((n_images, n_channels, height, out_w), dtype=x.dtype)
    out = np.empty((n_images, n_channels, out_h, out_w), dtype=x.dtype)

    def pool(images: slice) -> None:
        _max_along(x[images], 3, pw, stride, out_w, row_max[images])
        _max_along(row_max[images], 2, ph, stride, out_h, out[images])

    run_in_slices(pool, n_images, x.size)
    return out, (x, row_max, out, ph, pw, stride)


def max_pool_forward_fast(x: np.ndarray, pool_param: dict[str, Any]) -> tuple[np.ndarray, tuple]:
    """Fast max pooling for any window and stride (tiling, overlapping or with gaps).

    Separable: the maximum over columns, then over rows (see the module docstring).
    x: (N, C, H, W) float input, any memory layout
    pool_param: {'pool_height': int, 'pool_width': int, 'stride': int}, all >= 1
    returns out, (N, C, H', W') of x's dtype, and a cache for max_pool_backward_fast
    """
    x, ph, pw, stride, out_h, out_w = _pool_geometry(x, pool_param)
    return _max_pool_separable(x, ph, pw, stride, out_h, out_w)


def max_pool_backward_fast(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Backward pass of max_pool_forward_fast.

    dout: (N, C, H', W') upstream gradient, any memory layout
    cache: from max_pool_forward_fast (under any of its course names)
    returns dx, (N, C, H, W) of the forward input's dtype, C-contiguous; each window's gradient
    goes to its first maximum in row-major order
    """
    x, row_max, out, ph, pw, stride = cache
    dout = np.asarray(dout, dtype=out.dtype)
    drow = np.empty(row_max.shape, dtype=out.dtype)
    dx = np.empty(x.shape, dtype=out.dtype)

    def unpool(images: slice) -> None:
        _unmax_along(dout[images], out[images], row_max[images], 2, ph, stride, drow[images])
        _unmax_along(drow[images], row_max[images], x[images], 3, pw, stride, dx[images])

    run_in_slices(unpool, len(x), x.size)
    return dx


# The course's separate fast variants (the reshape trick, im2col) are all this one
# implementation here, so every course name keeps working and every cache fits every backward.
max_pool_forward_reshape = max_pool_forward_fast
max_pool_forward_im2col = max_pool_forward_fast
max_pool_backward_reshape = max_pool_backward_fast
max_pool_backward_im2col = max_pool_backward_fast


def avg_pool_forward(x: np.ndarray, pool_param: dict[str, Any]) -> tuple[np.ndarray, tuple]:
    """Average pooling forward pass (mean over each window).

    x: (N, C, H, W) float input, any memory layout
    pool_param: {'pool_height': int, 'pool_width': int, 'stride': int}, all >= 1
    returns out, (N, C, H', W') of x's dtype, and cache for avg_pool_backward
    """
    x, ph, pw, stride, out_h, out_w = _pool_geometry(x, pool_param)
    out = np.empty((*x.shape[:2], out_h, out_w), dtype=x.dtype)

    def pool(images: slice) -> None:
        target = out[images]
        views = window_views(x[images], ph, pw, stride, out_h, out_w)
        np.copyto(target, next(views)[2])
        for _, _, view in views:
            target += view
        target *= 1.0 / (ph * pw)

    run_in_slices(pool, len(x), x.size)
    return out, (x.shape, x.dtype, ph, pw, stride)


def avg_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Average pooling backward pass: each window spreads its gradient evenly over its pixels.

    dout: (N, C, H', W') upstream gradient
    cache: from avg_pool_forward
    returns dx, (N, C, H, W) of the forward input's dtype
    """
    x_shape, dtype, ph, pw, stride = cache
    dout = np.asarray(dout, dtype=dtype)
    dx = np.zeros(x_shape, dtype=dtype)

    def unpool(images: slice) -> None:
        share = dout[images] * (1.0 / (ph * pw))
        for _, _, view in window_views(dx[images], ph, pw, stride, *share.shape[2:]):
            view += share

    run_in_slices(unpool, x_shape[0], dx.size)
    return dx


def global_avg_pool_forward(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Global average pooling: the mean of each channel over all spatial positions.

    x: (N, C, H, W) float input
    returns out, (N, C) of x's dtype, and cache for global_avg_pool_backward
    """
    x = check_float_array(x, "x", 4)
    return x.mean(axis=(2, 3)), (x.shape, x.dtype)


def global_avg_pool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Backward pass of global_avg_pool_forward.

    dout: (N, C) upstream gradient
    cache: from global_avg_pool_forward
    returns dx, (N, C, H, W) of the forward input's dtype, dout / (H*W) at every position
    """
    x_shape, dtype = cache
    dx = np.empty(x_shape, dtype=dtype)
    dx[...] = (np.asarray(dout, dtype=dtype) * (1.0 / (x_shape[2] * x_shape[3])))[:, :, None, None]
    return dx
