"""The picture of an autoencoder's work: images over their reconstructions, as a PNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tinyvision.vis_utils import save_figure

__all__ = ["plot_reconstruction_grid"]


def _as_picture(image: np.ndarray) -> np.ndarray:
    """(C, H, W) on the 0-255 scale -> (H, W) grey or (H, W, 3) uint8 colour, clipped."""
    picture = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return picture[0] if picture.shape[0] == 1 else picture.transpose(1, 2, 0)


def plot_reconstruction_grid(
    images: np.ndarray,
    reconstructions: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "Images (top) and their reconstructions (bottom)",
) -> Path:
    """Two rows: the images, and below each its reconstruction.

    images, reconstructions: (N, C, H, W) with C = 1 or 3, on the 0-255 scale (values outside
        are clipped: a reconstruction may overshoot)
    path: PNG file to write; title: the figure's title
    returns the path written, as a Path
    """
    images, reconstructions = np.asarray(images), np.asarray(reconstructions)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or reconstructions.shape != images.shape:
        raise ValueError(
            "images and reconstructions must both be (N, C, H, W) with C = 1 or 3, got "
            f"{images.shape} and {reconstructions.shape}"
        )
    count = len(images)
    fig = Figure(figsize=(1.3 * count + 0.8, 3.4))
    for row, (label, batch) in enumerate((("image", images), ("reconstruction", reconstructions))):
        for col in range(count):
            ax = fig.add_subplot(2, count, row * count + col + 1)
            picture = _as_picture(batch[col])
            ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
