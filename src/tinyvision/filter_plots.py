"""Pictures of what filters do (`tinyvision experiment filters`).

`plot_filter_outputs` draws the notes' hand-made kernels (top row, their weights) and each
image filtered by each kernel (one row per image, the input first); `plot_feature_maps` draws
a trained model's first-layer feature maps beside its input images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tinyvision.vis_utils import PathLike, save_figure

__all__ = ["is_zero_sum", "plot_feature_maps", "plot_filter_outputs"]


def is_zero_sum(kernel: np.ndarray) -> bool:
    """True for a kernel whose weights sum to 0 (a derivative: its outputs are signed)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    return bool(abs(kernel.sum()) <= 1e-9 * max(1.0, float(np.abs(kernel).sum())))


def _bare(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_kernel(ax: Axes, kernel: np.ndarray) -> None:
    """The weights as a blue (negative) to red (positive) heat map with their values."""
    limit = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap="coolwarm", vmin=-limit, vmax=limit)
    size = kernel.shape[0]
    fontsize = 9 if size <= 3 else 6
    for (row, col), value in np.ndenumerate(kernel):
        ax.text(col, row, f"{value:.2g}", ha="center", va="center", fontsize=fontsize)
    _bare(ax)


def _show_grey(ax: Axes, image: np.ndarray, low: float, high: float) -> None:
    ax.imshow(image, cmap="gray", vmin=low, vmax=high if high > low else low + 1.0)
    _bare(ax)


def plot_filter_outputs(
    images: Sequence[np.ndarray],
    kernels: Mapping[str, np.ndarray],
    outputs: Mapping[str, Sequence[np.ndarray]],
    path: PathLike,
    image_names: Sequence[str] | None = None,
    title: str = "Hand-made kernels, applied with our convolution",
) -> Path:
    """A grid: the kernels' weights on top, then per image its input and every output.

    A kernel whose weights sum to 0 (edges, Laplacian) gives signed outputs, drawn on a
    symmetric scale around 0 (mid-grey is 0, white the strongest positive response); the
    others (blurs, sharpen) are drawn on the input's own value range, clipped.
    images: N grey images, each (H, W) (sizes may differ)
    kernels: {name: (k, k) weights}, the column order
    outputs: {name: N arrays}, output i being images[i] filtered by kernels[name]
    path: the PNG to write
    image_names: N row labels (None: "image 1", ...)
    returns path
    """
    images = [np.asarray(image, dtype=np.float64) for image in images]
    if not images or any(image.ndim != 2 for image in images):
        raise ValueError(
            f"images must be a non-empty list of (H, W) grey images, got shapes "
            f"{[image.shape for image in images]}"
        )
    wrong = [name for name in kernels if len(outputs.get(name, ())) != len(images)]
    if wrong:
        raise ValueError(f"outputs needs {len(images)} images for each of the kernels {wrong}")
    names = list(image_names or [f"image {i + 1}" for i in range(len(images))])
    if len(names) != len(images):
        raise ValueError(f"{len(images)} images but {len(names)} image_names")
    rows, cols = len(images) + 1, len(kernels) + 1
    figure = Figure(figsize=(1.9 * cols, 1.6 * rows + 0.6))
    axes = figure.subplots(rows, cols, squeeze=False)
    axes[0][0].axis("off")
    axes[0][0].text(0.5, 0.5, "kernel\nweights", ha="center", va="center", fontsize=10)
    for c, (name, kernel) in enumerate(kernels.items(), start=1):
        _draw_kernel(axes[0][c], np.asarray(kernel, dtype=np.float64))
        axes[0][c].set_title(f"{name}\n({kernel.shape[0]}x{kernel.shape[1]})", fontsize=9)
    for r, (image, label) in enumerate(zip(images, names, strict=True), start=1):
        low, high = float(image.min()), float(image.max())
        _show_grey(axes[r][0], image, low, high)
        axes[r][0].set_ylabel(label, fontsize=9)
        if r == 1:
            axes[r][0].set_title("input", fontsize=9)
        for c, (name, kernel) in enumerate(kernels.items(), start=1):
            out = np.asarray(outputs[name][r - 1], dtype=np.float64)
            if is_zero_sum(kernel):
                limit = float(np.abs(out).max()) or 1.0
                _show_grey(axes[r][c], out, -limit, limit)
            else:
                _show_grey(axes[r][c], np.clip(out, low, high), low, high)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def _displayable(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(C, H, W) -> (H, W) grey or (H, W, 3) RGB, min-max scaled to [0, 1]."""
    low, span = float(image.min()), float(image.max() - image.min())
    scaled = (image - low) / span if span > 0 else np.zeros_like(image)
    if scaled.shape[0] == 3:
        return scaled.transpose(1, 2, 0), None
    return scaled[0], "gray"


def plot_feature_maps(
    inputs: np.ndarray,
    maps: np.ndarray,
    path: PathLike,
    max_maps: int = 8,
    title: str = "First-layer feature maps",
) -> Path:
    """One row per input image: the image, then its first max_maps feature maps.

    Each map is min-max scaled on its own (white: the filter's strongest response there).
    inputs: (N, C, H, W) images, C = 1 or 3 (each min-max scaled for display)
    maps: (N, F, H', W') a layer's responses to inputs
    path: the PNG to write; max_maps: how many of the F maps to draw (the first ones)
    returns path
    """
    inputs, maps = np.asarray(inputs, dtype=np.float64), np.asarray(maps, dtype=np.float64)
    if inputs.ndim != 4 or inputs.shape[1] not in (1, 3) or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty (N, 1 or 3, H, W) batch, got {inputs.shape}")
    if maps.ndim != 4 or len(maps) != len(inputs):
        raise ValueError(f"maps must be (N={len(inputs)}, F, H', W'), got shape {maps.shape}")
    if max_maps < 1:
        raise ValueError(f"max_maps must be >= 1, got {max_maps}")
    shown = min(max_maps, maps.shape[1])
    rows, cols = len(inputs), shown + 1
    figure = Figure(figsize=(1.5 * cols, 1.5 * rows + 0.6))
    axes = figure.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        image, cmap = _displayable(inputs[r])
        axes[r][0].imshow(image, cmap=cmap, vmin=0, vmax=1)
        _bare(axes[r][0])
        axes[r][0].set_ylabel(f"image {r + 1}", fontsize=9)
        for f in range(shown):
            response, _ = _displayable(maps[r, f][None])
            axes[r][f + 1].imshow(response, cmap="gray", vmin=0, vmax=1)
            _bare(axes[r][f + 1])
            if r == 0:
                axes[r][f + 1].set_title(f"filter {f + 1}", fontsize=9)
        if r == 0:
            axes[r][0].set_title("input", fontsize=9)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)
