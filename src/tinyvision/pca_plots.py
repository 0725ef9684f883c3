"""Pictures of PCA and whitening, as the CS231n notes on data preprocessing show them.

`plot_pca_scatter` draws the data before and after (inputs, decorrelated, whitened),
`plot_explained_variance` the cumulative explained-variance curve, and `plot_pca_components`
the top principal components as images. Each writes a PNG (Agg canvas, no display needed) and
returns its path; `tinyvision train --preprocess ...` puts all three in the run folder.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tinyvision.pca import DEFAULT_EPSILON, PCAFit, pca_transform, whiten, zca_whiten
from tinyvision.vis_utils import PathLike, save_figure, visualize_grid

__all__ = ["plot_explained_variance", "plot_pca_components", "plot_pca_scatter"]


def _check_inputs(X: np.ndarray, pca: PCAFit) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0 or X.shape[1] != len(pca.mean):
        raise ValueError(
            f"X must be a non-empty (N, {len(pca.mean)}) array like the data pca was fitted "
            f"on, got shape {X.shape}"
        )
    return X


def _first_two(coordinates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns 0 and 1; zeros for the second when only one component was kept."""
    second = coordinates[:, 1] if coordinates.shape[1] > 1 else np.zeros(len(coordinates))
    return coordinates[:, 0], second


def plot_pca_scatter(
    X: np.ndarray,
    pca: PCAFit,
    path: PathLike,
    zca: bool = False,
    epsilon: float = DEFAULT_EPSILON,
) -> Path:
    """Three scatter plots of the same points: inputs, decorrelated (PCA), whitened.

    X: (N, D) float data, the kind pca was fitted on (a few thousand rows are plenty)
    pca: from fit_pca
    path: PNG file to write
    zca: draw ZCA-whitened data (in the input dimensions of the first panel) instead of
        PCA-whitened data (the first two whitened coordinates); needs all D components
    epsilon: the whitening epsilon
    returns the path written, as a Path

    For D = 2 this is the notes' figure. For more dimensions the first panel shows the two
    input dimensions of largest variance, the others the first two components.
    """
    X = _check_inputs(X, pca)
    if X.shape[1] < 2:
        raise ValueError("the scatter plots need at least 2 input dimensions, got 1")
    dims = np.sort(np.argsort(X.var(axis=0))[::-1][:2])  # the two of largest variance
    input_axes = [f"input dim {d}" for d in dims]
    decorrelated = pca_transform(X, pca)
    second = "component 2" if decorrelated.shape[1] > 1 else "component 2 (not kept)"
    if zca:
        white = (*zca_whiten(X, pca, epsilon)[:, dims].T, "ZCA-whitened", input_axes)
    else:
        white = (*_first_two(whiten(X, pca, epsilon)), "whitened (PCA)", ["component 1", second])
    panels = [
        (X[:, dims[0]], X[:, dims[1]], "inputs", input_axes),
        (*_first_two(decorrelated), "decorrelated (PCA)", ["component 1", second]),
        white,
    ]
    fig = Figure(figsize=(13, 4.6))
    for index, (x, y, title, labels) in enumerate(panels):
        ax = fig.add_subplot(1, 3, index + 1)
        ax.scatter(x, y, s=6, alpha=0.5, color="tab:blue", linewidths=0)
        ax.set_aspect("equal", adjustable="datalim")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.set_title(title)
    fig.suptitle(f"Data before and after PCA ({len(X)} training examples)")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_explained_variance(pca: PCAFit, path: PathLike) -> Path:
    """Cumulative fraction of the variance explained by the first n components, for every n.

    pca: from fit_pca (its all_variance_ratio covers every component, kept or not)
    path: PNG file to write
    returns the path written, as a Path; the components kept are marked
    """
    cumulative = np.cumsum(pca.all_variance_ratio)
    counts = np.arange(1, len(cumulative) + 1)
    kept = len(pca.components)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.plot(counts, cumulative, marker="." if len(counts) <= 100 else None, color="tab:blue")
    ax.axvline(kept, color="tab:red", linestyle="--", linewidth=1)
    ax.annotate(
        f"{kept} component{'s' if kept > 1 else ''} keep {cumulative[kept - 1]:.1%}",
        xy=(kept, cumulative[kept - 1]),
        xytext=(10, -25),
        textcoords="offset points",
        color="tab:red",
    )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, len(counts) + 1)
    ax.grid(alpha=0.3)
    ax.set_xlabel("number of principal components")
    ax.set_ylabel("cumulative explained variance")
    ax.set_title("Explained variance")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_pca_components(
    pca: PCAFit, image_shape: tuple[int, int, int], path: PathLike, max_components: int = 36
) -> Path:
    """The top principal components drawn as images (each rescaled to its own range).

    pca: from fit_pca on flattened (C, H, W) images
    image_shape: (C, H, W) of one image, C = 1 or 3, C*H*W = D
    path: PNG file to write
    max_components: how many to draw at most, in order of decreasing variance
    returns the path written, as a Path
    """
    dim = len(pca.mean)
    if len(image_shape) != 3 or math.prod(image_shape) != dim or image_shape[0] not in (1, 3):
        raise ValueError(
            f"image_shape must be (C, H, W) with C = 1 (grey) or 3 (colour) and C*H*W = {dim}, "
            f"the dimension pca was fitted on; got {image_shape}"
        )
    if max_components < 1:
        raise ValueError(f"max_components must be at least 1, got {max_components}")
    shown = pca.components[:max_components].reshape(-1, *image_shape).transpose(0, 2, 3, 1)
    grid = visualize_grid(shown, ubound=1.0, padding=1)  # (G*H + ..., G*W + ..., C)
    fig = Figure(figsize=(6, 6.4))
    ax = fig.add_subplot()
    if grid.shape[2] == 1:
        ax.imshow(grid[:, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.axis("off")
    ax.set_title(f"Top {len(shown)} principal components (row by row)")
    fig.tight_layout()
    return save_figure(fig, path)
