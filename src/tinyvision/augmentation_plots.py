"""A picture grid of what each augmentation does (`tinyvision experiment augmentations`).

One row per example image, one column per augmentation of `tinyvision.data.augmentations`
(the original first); every column applies only its own augmentation, drawn with one seeded
Generator, so the picture shows each one alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tinyvision.data.augmentations import AUGMENTATIONS, augment_batch, check_augmentations
from tinyvision.vis_utils import PathLike, save_figure

__all__ = ["augmentation_columns", "plot_augmentations"]


def augmentation_columns(
    images: np.ndarray, names: Sequence[str] = AUGMENTATIONS, seed: int = 0, padding: int = 0
) -> dict[str, np.ndarray]:
    """The images as each single augmentation leaves them, by name ("original" first).

    images: (N, C, H, W) float
    names: augmentations to show; seed: seeds one Generator shared by all columns
    padding: the largest shift of "crop" (0: H / 8, at least 1)
    returns {"original": images, name: (N, C, H, W), ...}
    """
    names = check_augmentations(names)
    rng = np.random.default_rng(seed)
    padding = padding or max(1, images.shape[-1] // 8)
    columns = {"original": images}
    for name in names:
        columns[name] = augment_batch(images, (name,), rng, padding)
    return columns


def _displayable(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """(C, H, W) -> (H, W) or (H, W, 3) in [0, 1], scaled with the original's range."""
    scaled = np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)
    return scaled[0] if scaled.shape[0] == 1 else scaled.transpose(1, 2, 0)


def plot_augmentations(
    images: np.ndarray,
    path: PathLike,
    names: Sequence[str] = AUGMENTATIONS,
    seed: int = 0,
    title: str = "Training-image augmentations",
) -> Path:
    """Draw augmentation_columns as a grid: rows are images, columns augmentations.

    Each image is shown with the value range of its original (so jitter's brighter or
    flatter result shows as such, clipped at the original's extremes).
    images: (N, C, H, W) float, C = 1 (grey) or 3 (RGB)
    path: the PNG to write; names, seed: as for augmentation_columns
    returns path
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(
            f"images must be a non-empty (N, C, H, W) batch with C = 1 or 3, got shape "
            f"{images.shape}"
        )
    columns = augmentation_columns(images, names, seed)
    rows, cols = len(images), len(columns)
    figure = Figure(figsize=(1.3 * cols, 1.3 * rows + 0.6))
    axes = figure.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        low, high = float(images[r].min()), float(images[r].max())
        for c, (name, batch) in enumerate(columns.items()):
            ax = axes[r][c]
            ax.imshow(_displayable(batch[r], low, high), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize="medium")
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)
