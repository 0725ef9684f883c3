"""Winograd's minimal filtering F(2x2, 3x3): the 3x3, stride-1, pad-1 convolution in fewer
multiplies.

Lavin and Gray (2016) compute each 2x2 block of outputs from the 4x4 input tile d under it
as Y = A^T [(G g G^T) * (B^T d B)] A, an element-wise product of 16 values per (filter,
channel) pair instead of 36 multiply-adds. Summed over the channels, the 16 products become 16
matrix multiplies U[k] (F, C) @ V[k] (C, tiles), which together hold 16/36 of the flops of the
im2col GEMM: the three GEMMs of a forward and backward pass do 2.25 times less work. The
transforms with B, G and A have only 0, +-1 and +-1/2 entries, so they are additions of whole
arrays, and the backward pass is the chain rule through the same linear maps (the transposed
transforms and the transposed products).

Layout. The padded images are split by the parity of their rows and columns into four planes
of (th + 1) x (tw + 1) pixels (th = ceil(H / 2) tile rows), stored as (2, 2, C, N*(th+1)*(tw+1))
with the (image, row, column) positions flattened. The pixel of tile position t at tile offset
(r, s) is then plane[r % 2, s % 2, :, t + (r // 2) * (tw + 1) + s // 2]: every transform reads
whole planes shifted along their last axis, so NumPy works on long contiguous runs rather than
on short strided rows. The price is one column of tile positions per image row and one row per
image (k = tw or m = th) that straddle the border and compute nothing useful; their results are
dropped, their gradients are zero, and they cost (th+1)(tw+1) / (th*tw) more GEMM work: 1.13x
at 32x32, 1.27x at 16x16, 1.56x at 8x8.

float64 results equal the direct convolution's to rounding; float32 results carry a few more
rounding steps (about 1e-6 relative), well inside the gradient checks' float32 tolerances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinyvision.parallel import run_in_slices

__all__ = [
    "MIN_WINOGRAD_CHANNELS",
    "WinogradCache",
    "winograd_applies",
    "winograd_backward",
    "winograd_forward",
]

# Filter transform: U = G g G^T turns each 3x3 filter into a 4x4 tile.
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


# The transforms run over a few channels at a time so that the dozen arrays each one touches
# (this many elements apiece) stay in the core's L2 cache between the additions.
_BLOCK_ELEMENTS = 1 << 14


def _run_in_blocks(work: Callable[[slice], None], length: int, positions: int, size: int) -> None:
    """work(slice) over consecutive blocks of range(length), each about _BLOCK_ELEMENTS /
    positions long; the blocks are shared among the threads (tinyvision.parallel)."""
    step = max(1, _BLOCK_ELEMENTS // positions)

    def blocks(part: slice) -> None:
        for start in range(part.start, part.stop, step):
            work(slice(start, min(start + step, part.stop)))

    run_in_slices(blocks, length, size)


# Below this many input channels the 16 products are matrix multiplies with an inner dimension
# too short for BLAS to run near its peak, while the transforms cost the same per channel: the
# first layer of a colour-image net (C = 3) runs 2.5 times faster on im2col's one GEMM.
MIN_WINOGRAD_CHANNELS = 16


def winograd_applies(w_shape: tuple[int, ...], stride: int, pad: int) -> bool:
    """Whether a convolution with filters of w_shape (F, C, HH, WW) runs on F(2x2, 3x3): 3x3
    filters, stride 1, pad 1 and at least MIN_WINOGRAD_CHANNELS input channels."""
    return (
        tuple(w_shape[2:]) == (3, 3)
        and stride == 1
        and pad == 1
        and w_shape[1] >= MIN_WINOGRAD_CHANNELS
    )


@dataclass(frozen=True)
class WinogradCache:
    """What winograd_backward needs: the transformed input tiles V (16, C, positions) and
    filters U (16, F, C), and the shapes of x and w."""

    tiles: np.ndarray
    filters: np.ndarray
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]


@dataclass(frozen=True)
class _Grid:
    """The tile grid of (N, C, H, W) images: th x tw tiles of 2x2 outputs, their planes of
    (th + 1) x (tw + 1) positions, and the flat length of one channel's positions."""

    n_images: int
    height: int
    width: int

    @property
    def th(self) -> int:
        return (self.height + 1) // 2

    @property
    def tw(self) -> int:
        return (self.width + 1) // 2

    @property
    def positions(self) -> int:
        return self.n_images * (self.th + 1) * (self.tw + 1)

    @property
    def margin(self) -> int:
        """Zeros after the last position, so the largest shift (one row and one column) stays
        inside the array."""
        return self.tw + 2

    def shift(self, r: int, s: int) -> int:
        return (r // 2) * (self.tw + 1) + s // 2

    def parity_slices(self, parity: int, size: int) -> tuple[slice, slice]:
        """(plane positions, image pixels) of rows (or columns) of one parity: padded row 2m + p
        is image row 2m + p - 1, so odd planes start at image row 0, even planes at row 1."""
        first = 1 - parity
        count = (size - first + 1) // 2
        return slice(first, first + count), slice(first, size, 2)


def _planes(x: np.ndarray, grid: _Grid, dtype: np.dtype) -> np.ndarray:
    """The zero-padded images split into parity planes, (2, 2, C, positions + margin)."""
    n_channels = x.shape[1]
    flat = np.zeros((2, 2, n_channels, grid.positions + grid.margin), dtype=dtype)
    planes = flat[..., : grid.positions].reshape(
        2, 2, n_channels, grid.n_images, grid.th + 1, grid.tw + 1
    )
    for p in range(2):
        plane_rows, image_rows = grid.parity_slices(p, grid.height)
        for q in range(2):
            plane_cols, image_cols = grid.parity_slices(q, grid.width)
            target = planes[p, q][:, :, plane_rows, plane_cols]

            def copy(channels: slice, target=target, image_rows=image_rows, image_cols=image_cols):
                np.copyto(
                    target[channels],
                    x[:, channels, image_rows, image_cols].transpose(1, 0, 2, 3),
                )

            run_in_slices(copy, n_channels, target.size)
    return flat


def _input_transform(flat: np.ndarray, grid: _Grid) -> np.ndarray:
    """V = B^T d B for every tile position: (16, C, positions), index 4 * i + j."""
    n_channels, length = flat.shape[2], grid.positions
    tiles = np.empty((4, 4, n_channels, length), dtype=flat.dtype)

    def transform(channels: slice) -> None:
        # B^T's rows are (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1): first along
        # the tile rows r (one extra position for the column shift below), then the columns s.
        rows = [
            flat[r % 2, :, channels, grid.shift(r, 0) : grid.shift(r, 0) + length + 1]
            for r in range(4)
        ]
        for i, row in enumerate(
            (rows[0] - rows[2], rows[1] + rows[2], rows[2] - rows[1], rows[1] - rows[3])
        ):
            cols = [row[s % 2, :, s // 2 : s // 2 + length] for s in range(4)]
            np.subtract(cols[0], cols[2], out=tiles[i, 0, channels])
            np.add(cols[1], cols[2], out=tiles[i, 1, channels])
            np.subtract(cols[2], cols[1], out=tiles[i, 2, channels])
            np.subtract(cols[1], cols[3], out=tiles[i, 3, channels])

    _run_in_blocks(transform, n_channels, length, tiles.size)
    return tiles.reshape(16, n_channels, length)


def _output_transform(products: np.ndarray, grid: _Grid, out: np.ndarray) -> None:
    """out (N, F, H, W) = A^T M A of every tile position's 16 products M (16, F, positions)."""
    n_filters = products.shape[1]
    m = products.reshape(4, 4, n_filters, grid.positions)
    blocks = np.empty((2, 2, n_filters, grid.positions), dtype=products.dtype)

    def transform(filters: slice) -> None:
        # A^T's rows are (1, 1, 1, 0) and (0, 1, -1, -1).
        part = m[:, :, filters]
        for a, z in enumerate((part[0] + part[1] + part[2], part[1] - part[2] - part[3])):
            np.add(z[0] + z[1], z[2], out=blocks[a, 0, filters])
            np.subtract(z[1] - z[2], z[3], out=blocks[a, 1, filters])

    _run_in_blocks(transform, n_filters, grid.positions, m.size)
    _scatter_blocks(blocks, grid, out)


def _scatter_blocks(blocks: np.ndarray, grid: _Grid, out: np.ndarray) -> None:
    """out[n, f, 2m + a, 2k + b] = blocks[a, b, f, (n, m, k)], dropping the border positions."""
    n_filters = blocks.shape[2]
    grid_blocks = blocks.reshape(2, 2, n_filters, grid.n_images, grid.th + 1, grid.tw + 1)
    for a in range(2):
        rows = slice(a, grid.height, 2)
        n_rows = (grid.height - a + 1) // 2
        for b in range(2):
            cols = slice(b, grid.width, 2)
            n_cols = (grid.width - b + 1) // 2
            source = grid_blocks[a, b, :, :, :n_rows, :n_cols].transpose(1, 0, 2, 3)

            def copy(images: slice, source=source, rows=rows, cols=cols) -> None:
                np.copyto(out[images, :, rows, cols], source[images])

            run_in_slices(copy, grid.n_images, source.size)


def _filter_transform(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """U = G g G^T for every (filter, channel): (16, F, C)."""
    n_filters, n_channels = w.shape[:2]
    g = _G.astype(dtype)
    u = np.einsum("ir,fcrs,js->ijfc", g, w.astype(dtype, copy=False), g, optimize=True)
    return np.ascontiguousarray(u.reshape(16, n_filters, n_channels))


def winograd_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, dtype: np.dtype
) -> tuple[np.ndarray, WinogradCache]:
    """The 3x3, stride-1, pad-1 convolution of x by w plus b, by F(2x2, 3x3).

    x: (N, C, H, W) float, any H and W >= 1 and any memory layout
    w: (F, C, 3, 3) filters; b: (F,) biases; dtype: the result's (the common dtype of x, w, b)
    returns out, (N, F, H, W) C-contiguous in dtype, and the cache for winograd_backward
    """
    n_images, _, height, width = x.shape
    n_filters = w.shape[0]
    grid = _Grid(n_images, height, width)
    tiles = _input_transform(_planes(x, grid, dtype), grid)
    filters = _filter_transform(w, dtype)
    products = np.matmul(filters, tiles)
    # Entry (1, 1) of every 4x4 product tile reaches each of the four outputs with weight
    # +1 (A^T's column 1 is (1, 1)), so adding the bias there adds it to every output.
    products[5] += b.astype(dtype, copy=False)[:, None]
    out = np.empty((n_images, n_filters, height, width), dtype=dtype)
    _output_transform(products, grid, out)
    return out, WinogradCache(tiles, filters, tuple(x.shape), tuple(w.shape))


def _output_gradient(dout: np.ndarray, grid: _Grid, dtype: np.dtype) -> np.ndarray:
    """dM = A dY A^T: the gradient of the 16 products (16, F, positions), zero at the border
    positions (their outputs were dropped)."""
    n_filters = dout.shape[1]
    blocks = np.zeros((2, 2, n_filters, grid.positions), dtype=dtype)
    grid_blocks = blocks.reshape(2, 2, n_filters, grid.n_images, grid.th + 1, grid.tw + 1)
    for a in range(2):
        n_rows = (grid.height - a + 1) // 2
        for b in range(2):
            n_cols = (grid.width - b + 1) // 2
            target = grid_blocks[a, b, :, :, :n_rows, :n_cols]
            source = dout[:, :, a::2, b::2].transpose(1, 0, 2, 3)

            def copy(filters: slice, target=target, source=source) -> None:
                np.copyto(target[filters], source[filters])

            run_in_slices(copy, n_filters, target.size)
    grads = np.empty((4, 4, n_filters, grid.positions), dtype=dtype)

    def transform(filters: slice) -> None:
        # A's rows are (1, 0), (1, 1), (1, -1), (0, -1): rows i from blocks a, columns j from b.
        y = blocks[:, :, filters]
        rows = (y[0], y[0] + y[1], y[0] - y[1], -y[1])
        for i, row in enumerate(rows):
            np.copyto(grads[i, 0, filters], row[0])
            np.add(row[0], row[1], out=grads[i, 1, filters])
            np.subtract(row[0], row[1], out=grads[i, 2, filters])
            np.negative(row[1], out=grads[i, 3, filters])

    _run_in_blocks(transform, n_filters, grid.positions, grads.size)
    return grads.reshape(16, n_filters, grid.positions)


def _input_gradient(tile_grads: np.ndarray, grid: _Grid, n_channels: int) -> np.ndarray:
    """dx (N, C, H, W) from the tiles' gradients dV (16, C, positions): d = B dV B^T per tile,
    each tile's 16 pixel gradients added to the plane positions they were read from."""
    dtype = tile_grads.dtype
    length = grid.positions
    dv = tile_grads.reshape(4, 4, n_channels, length)
    flat = np.zeros((2, 2, n_channels, length + grid.margin), dtype=dtype)

    def transform(channels: slice) -> None:
        # B's rows (the columns of B^T) are (1, 0, 0, 0), (0, 1, -1, 1), (-1, 1, 1, 0),
        # (0, 0, 0, -1).
        v = dv[:, :, channels]
        rows = (v[0], v[1] - v[2] + v[3], v[1] + v[2] - v[0], -v[3])
        for r, row in enumerate(rows):
            pixels = (row[0], row[1] - row[2] + row[3], row[1] + row[2] - row[0], -row[3])
            for s, pixel in enumerate(pixels):
                start = grid.shift(r, s)
                flat[r % 2, s % 2, channels, start : start + length] += pixel

    _run_in_blocks(transform, n_channels, length, dv.size)
    planes = flat[..., :length].reshape(2, 2, n_channels, grid.n_images, grid.th + 1, grid.tw + 1)
    dx = np.empty((grid.n_images, n_channels, grid.height, grid.width), dtype=dtype)
    for p in range(2):
        plane_rows, image_rows = grid.parity_slices(p, grid.height)
        for q in range(2):
            plane_cols, image_cols = grid.parity_slices(q, grid.width)
            source = planes[p, q][:, :, plane_rows, plane_cols].transpose(1, 0, 2, 3)

            def copy(images: slice, source=source, image_rows=image_rows, image_cols=image_cols):
                np.copyto(dx[images, :, image_rows, image_cols], source[images])

            run_in_slices(copy, grid.n_images, source.size)
    return dx


def winograd_backward(
    dout: np.ndarray, cache: WinogradCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of winograd_forward: the chain rule through its transforms and products.

    dout: (N, F, H, W) upstream gradient, any memory layout
    cache: from winograd_forward
    returns (dx, dw, db): (N, C, H, W), (F, C, 3, 3), (F,), in the forward pass's dtype
    """
    tiles, filters = cache.tiles, cache.filters
    n_images, n_channels, height, width = cache.x_shape
    n_filters = cache.w_shape[0]
    dtype = tiles.dtype
    grid = _Grid(n_images, height, width)
    product_grads = _output_gradient(np.asarray(dout), grid, dtype)
    db = product_grads[5].sum(axis=1)
    filter_grads = np.matmul(product_grads, tiles.transpose(0, 2, 1))
    g = _G.astype(dtype)
    dw = np.einsum(
        "ir,ijfc,js->fcrs", g, filter_grads.reshape(4, 4, n_filters, n_channels), g, optimize=True
    )
    tile_grads = np.matmul(filters.transpose(0, 2, 1), product_grads)
    dx = _input_gradient(tile_grads, grid, n_channels)
    return dx, np.ascontiguousarray(dw), db
