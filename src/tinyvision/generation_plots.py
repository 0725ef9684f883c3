"""Pictures of generative models: sample grids, image rows (interpolations), loss-term curves.

Images are drawn on one fixed scale, [0, 1] -> white to black (the digits' ink dark on light
paper), never rescaled per image, so a faint or blank sample looks faint or blank. Figures are
matplotlib `Figure`s on an Agg canvas (no display, the caller's backend untouched).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tinyvision.vis_utils import save_figure

__all__ = ["plot_curves", "plot_image_grid", "plot_image_rows", "tile_images"]

# The value of the lines between tiles: a light grey on the white-to-black scale.
_GRID_LINE = 0.25


def tile_images(images: np.ndarray, columns: int, padding: int = 1) -> np.ndarray:
    """Tile one-channel images row by row into one array.

    images: (N, 1, H, W) values in [0, 1]
    columns: tiles per row (rows = ceil(N / columns); empty tiles are 0)
    returns (rows*(H+padding)-padding, columns*(W+padding)-padding) float64
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, 1, H, W) array, got {images.shape}")
    count, _, height, width = images.shape
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) - padding, columns * (width + padding) - padding), _GRID_LINE
    )
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        top, left = row * (height + padding), col * (width + padding)
        grid[top : top + height, left : left + width] = image[0]
    return grid


def plot_image_grid(
    images: np.ndarray, path: str | os.PathLike, title: str, columns: int = 10
) -> Path:
    """A grid of (N, 1, H, W) images in [0, 1] with a title, written as a PNG at path."""
    grid = tile_images(images, columns)
    figure = Figure(figsize=(5, 5 * grid.shape[0] / grid.shape[1] + 0.6))
    axes = figure.add_subplot()
    axes.imshow(np.clip(grid, 0, 1), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_image_rows(
    rows: Sequence[np.ndarray],
    row_labels: Sequence[str],
    path: str | os.PathLike,
    title: str,
    column_labels: Sequence[str] = (),
) -> Path:
    """Rows of images, each labelled on the left (e.g. interpolations from one digit to another).

    rows: each (K, 1, H, W) in [0, 1], the same K for every row
    row_labels: one label per row; column_labels: K labels under the last row (or none)
    """
    if len(rows) != len(row_labels):
        raise ValueError(f"got {len(rows)} rows but {len(row_labels)} row labels")
    columns = len(rows[0])
    figure = Figure(figsize=(0.7 * columns + 1.2, 0.7 * len(rows) + 0.9))
    for r, (images, label) in enumerate(zip(rows, row_labels, strict=True)):
        for c, image in enumerate(images):
            axes = figure.add_subplot(len(rows), columns, r * columns + c + 1)
            axes.imshow(np.clip(image[0], 0, 1), cmap="gray_r", vmin=0, vmax=1)
            axes.set_xticks([])
            axes.set_yticks([])
            if c == 0:
                axes.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
            if r == len(rows) - 1 and column_labels:
                axes.set_xlabel(column_labels[c], fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    ylabel: str,
    references: Mapping[str, float] | None = None,
) -> Path:
    """Named curves over 1, 2, ... (epochs or steps) on one axis, the legend below it.

    references: named constant levels, drawn as dashed horizontal lines
    """
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    for label, values in curves.items():
        marker = "o" if len(values) <= 30 else None
        axes.plot(np.arange(1, len(values) + 1), values, marker=marker, markersize=3, label=label)
    for (label, level), color in zip((references or {}).items(), ("grey", "black"), strict=False):
        axes.axhline(level, linestyle="--", linewidth=0.8, color=color, label=label)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    figure.tight_layout()
    return save_figure(figure, path)
