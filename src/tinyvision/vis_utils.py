"""Pictures of what a model learned and how training went, saved as PNG files.

`visualize_grid`, `vis_grid` and `vis_nn` are the course's functions (images tiled into one
array). The `plot_*`
functions draw the course notebooks' figures and write them to a path, which they return.
Figures are built as `matplotlib.figure.Figure` with an Agg canvas, so importing this module
never changes the caller's matplotlib backend and nothing needs a display.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "plot_class_templates",
    "plot_decision_boundary",
    "spans_decades",
    "template_images",
    "plot_distance_matrix",
    "plot_first_layer_filters",
    "plot_hyperparameter_search",
    "plot_knn_cross_validation",
    "plot_confusion_matrix",
    "plot_loss_history",
    "save_figure",
    "plot_mean_image",
    "plot_misclassified",
    "vis_grid",
    "vis_nn",
    "visualize_grid",
]

PathLike = str | os.PathLike


def visualize_grid(Xs: np.ndarray, ubound: float = 255.0, padding: int = 1) -> np.ndarray:
    """Tile images into a square grid, each rescaled on its own to [0, ubound].

    Xs: (N, H, W, C) images
    ubound: value the largest entry of each image is mapped to (smallest goes to 0)
    padding: blank pixels between neighbouring images
    returns (G*H + (G-1)*padding, G*W + (G-1)*padding, C) float array, G = ceil(sqrt(N));
    unused cells and padding are 0, and a constant image becomes all 0
    """
    Xs = np.asarray(Xs, dtype=np.float64)
    if Xs.ndim != 4 or len(Xs) == 0:
        raise ValueError(f"Xs must be a non-empty (N, H, W, C) array, got shape {Xs.shape}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    num_images, height, width, channels = Xs.shape
    grid_size = math.ceil(math.sqrt(num_images))
    grid = np.zeros(
        (
            grid_size * height + (grid_size - 1) * padding,
            grid_size * width + (grid_size - 1) * padding,
            channels,
        )
    )
    low = Xs.min(axis=(1, 2, 3), keepdims=True)
    span = Xs.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.divide(Xs - low, span, out=np.zeros_like(Xs), where=span > 0) * ubound
    for index, image in enumerate(scaled):
        row, col = divmod(index, grid_size)
        top, left = row * (height + padding), col * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def _normalised_grid(grid: np.ndarray) -> np.ndarray:
    """The whole grid min-max scaled to [0, 1] (a constant grid becomes all 0)."""
    low, span = grid.min(), grid.max() - grid.min()
    return (grid - low) / span if span > 0 else np.zeros_like(grid)


def vis_grid(Xs: np.ndarray) -> np.ndarray:
    """Tile images into a square grid with a 1-pixel separator after every cell, then scale
    the whole grid (not each image) to [0, 1], as the course's vis_grid does.

    Xs: (N, H, W, C) images
    returns (G*H + G, G*W + G, C) float64, G = ceil(sqrt(N)); image n sits in cell
        (n // G, n % G) at rows r*(H+1) : r*(H+1) + H; separators and unused cells hold the
        images' minimum (0 after scaling)
    """
    Xs = np.asarray(Xs, dtype=np.float64)
    if Xs.ndim != 4 or len(Xs) == 0:
        raise ValueError(f"Xs must be a non-empty (N, H, W, C) array, got shape {Xs.shape}")
    num_images, height, width, channels = Xs.shape
    side = math.ceil(math.sqrt(num_images))
    grid = np.full((side * (height + 1), side * (width + 1), channels), Xs.min())
    for index, image in enumerate(Xs):
        row, col = divmod(index, side)
        top, left = row * (height + 1), col * (width + 1)
        grid[top : top + height, left : left + width] = image
    return _normalised_grid(grid)


def vis_nn(rows: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Tile a table of images (e.g. each query's nearest neighbours) into one grid, a 1-pixel
    separator after every cell, then scale the whole grid to [0, 1], as the course's vis_nn.

    rows: R lists of D images each, every image (H, W, C) of one shape
    returns (R*H + R, D*W + D, C) float64; rows[r][d] sits at rows r*(H+1) : r*(H+1) + H,
        columns d*(W+1) : d*(W+1) + W; separators hold the images' minimum (0 after scaling)
    """
    images = [[np.asarray(image, dtype=np.float64) for image in row] for row in rows]
    if not images or not images[0]:
        raise ValueError("rows must be a non-empty list of non-empty lists of (H, W, C) images")
    shape = images[0][0].shape
    depth = len(images[0])
    for r, row in enumerate(images):
        if len(row) != depth:
            raise ValueError(
                f"every row needs the same number of images: row 0 has {depth}, row {r} has "
                f"{len(row)}"
            )
        for d, image in enumerate(row):
            if image.ndim != 3 or image.shape != shape:
                raise ValueError(
                    f"every image must be (H, W, C) of the shape of rows[0][0], {shape}; "
                    f"rows[{r}][{d}] has shape {image.shape}"
                )
    height, width, channels = shape
    low = min(image.min() for row in images for image in row)
    grid = np.full((len(images) * (height + 1), depth * (width + 1), channels), low)
    for r, row in enumerate(images):
        for d, image in enumerate(row):
            top, left = r * (height + 1), d * (width + 1)
            grid[top : top + height, left : left + width] = image
    return _normalised_grid(grid)


def template_images(
    W: np.ndarray, image_shape: tuple[int, ...], per_class: bool = False
) -> np.ndarray:
    """The columns of linear weights as images on the 0-255 scale, min-max scaled.

    W: (D, C) weights, D = prod(image_shape) or prod(image_shape) + 1 (a bias row, dropped)
    image_shape: the shape of one template, e.g. (32, 32, 3)
    per_class: scale each template by its own minimum and maximum (every class uses the whole
        range, so a class whose weights moved little is still visible); False scales all by
        the overall minimum and maximum, as the course notebook does
    returns (C, *image_shape) float64 in [0, 255]
    """
    W = np.asarray(W, dtype=np.float64)
    pixels = math.prod(image_shape)
    if W.ndim != 2 or W.shape[0] not in (pixels, pixels + 1):
        raise ValueError(
            f"W must be (D, C) with D = {pixels} (image_shape {image_shape}) or {pixels + 1} "
            f"with a bias row, got shape {W.shape}"
        )
    templates = W[:pixels].T.reshape(-1, *image_shape)
    axes = tuple(range(1, templates.ndim)) if per_class else None
    low = templates.min(axis=axes, keepdims=True)
    span = templates.max(axis=axes, keepdims=True) - low
    # A constant template has nothing to show: it stays black.
    return 255.0 * np.divide(templates - low, span, out=np.zeros_like(templates), where=span > 0)


def plot_class_templates(
    W: np.ndarray,
    class_names: Sequence[str],
    path: PathLike,
    image_shape: tuple[int, ...] = (32, 32, 3),
    per_class: bool = False,
) -> Path:
    """Show each class's learned linear weights as an image (the course's template picture).

    W: (D, C) weights, D = prod(image_shape) or prod(image_shape) + 1 (a bias row, dropped)
    class_names: C names, one title per template
    path: PNG file to write
    image_shape: (H, W, 3) colour or (H, W) / (H, W, 1) grey shape of one template
    per_class: min-max scale each template on its own (see template_images); False: one
        scale for all, as the course does
    returns the path written, as a Path
    """
    templates = template_images(W, image_shape, per_class)
    if len(class_names) != len(templates):
        raise ValueError(f"W has {len(templates)} classes but {len(class_names)} class_names came")

    num_classes = len(templates)
    cols = min(num_classes, 5)
    rows = math.ceil(num_classes / cols)
    fig = Figure(figsize=(2 * cols, 2.2 * rows))
    for index, (template, name) in enumerate(zip(templates, class_names, strict=True)):
        ax = fig.add_subplot(rows, cols, index + 1)
        _show_image(ax, template)
        ax.set_title(str(name))
    return save_figure(fig, path)


def plot_knn_cross_validation(
    k_to_accuracies: Mapping[int, Sequence[float]], path: PathLike
) -> Path:
    """Cross-validation accuracy against k: every fold as a dot, mean with std error bars.

    k_to_accuracies: {k: [accuracy per fold]}, as from model_selection.cross_validate_knn
    path: PNG file to write
    returns the path written, as a Path
    """
    if not k_to_accuracies or any(len(v) == 0 for v in k_to_accuracies.values()):
        raise ValueError("k_to_accuracies must map each k to a non-empty list of accuracies")
    ks = sorted(k_to_accuracies)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for k in ks:
        ax.scatter([k] * len(k_to_accuracies[k]), k_to_accuracies[k], color="tab:blue", s=12)
    means = [np.mean(k_to_accuracies[k]) for k in ks]
    stds = [np.std(k_to_accuracies[k]) for k in ks]
    ax.errorbar(ks, means, yerr=stds, color="tab:red", capsize=3)
    ax.set_title("Cross-validation on k")
    ax.set_xlabel("k")
    ax.set_ylabel("Cross-validation accuracy")
    return save_figure(fig, path)


def plot_hyperparameter_search(
    results: Mapping[tuple[float, float], tuple[float, float]], path: PathLike
) -> Path:
    """The course's two scatter plots, training and validation accuracy over (lr, reg), log-log.

    results: {(learning_rate, reg): (train_accuracy, val_accuracy)}, all rates and strengths > 0;
        pairs with NaN accuracies (failed training) are drawn as black crosses
    path: PNG file to write
    returns the path written, as a Path
    """
    if not results:
        raise ValueError("results is empty; run a hyperparameter search first")
    pairs = np.array(list(results), dtype=np.float64)
    if np.any(pairs <= 0):
        raise ValueError("learning rates and regularisation strengths must be > 0 for log axes")
    accuracies = np.array(list(results.values()), dtype=np.float64)
    failed = np.isnan(accuracies).any(axis=1)
    fig = Figure(figsize=(11, 4.5))
    for column, title in enumerate(("training accuracy", "validation accuracy")):
        ax = fig.add_subplot(1, 2, column + 1)
        points = ax.scatter(
            pairs[~failed, 0],
            pairs[~failed, 1],
            s=100,
            c=accuracies[~failed, column],
            cmap="coolwarm",
        )
        fig.colorbar(points, ax=ax)
        if failed.any():
            ax.scatter(*pairs[failed].T, s=100, c="black", marker="x", label="diverged")
            ax.legend()
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("regularization strength")
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_loss_history(loss_history: Sequence[float], path: PathLike) -> Path:
    """Loss against iteration number.

    loss_history: one loss per iteration, e.g. from LinearClassifier.train
    path: PNG file to write
    returns the path written, as a Path
    """
    if len(loss_history) == 0:
        raise ValueError("loss_history is empty; train for at least one iteration")
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.plot(np.asarray(loss_history, dtype=np.float64))
    ax.set_xlabel("Iteration number")
    ax.set_ylabel("Loss value")
    return save_figure(fig, path)


def plot_first_layer_filters(
    W: np.ndarray,
    path: PathLike,
    image_shape: tuple[int, int, int] = (32, 32, 3),
    padding: int = 3,
    title: str | None = None,
) -> Path:
    """First-layer weights as a grid of images (visualize_grid), as in the course notebooks.

    W: (D, H) fully-connected weights with D = prod(image_shape), one image per hidden unit, or
        (F, C, HH, WW) convolution filters
    path: PNG file to write
    image_shape: (H, W, C) of the input images, used for fully-connected weights
    padding: pixels between filters
    title: the figure's title (None: none)
    returns the path written, as a Path
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 4:
        filters = W.transpose(0, 2, 3, 1)
    elif W.ndim == 2 and W.shape[0] == math.prod(image_shape):
        filters = W.reshape(*image_shape, -1).transpose(3, 0, 1, 2)
    else:
        raise ValueError(
            f"W must be (D, H) with D = {math.prod(image_shape)} (image_shape {image_shape}) "
            f"or (F, C, HH, WW) filters, got shape {W.shape}"
        )
    grid = visualize_grid(filters, padding=padding).astype(np.uint8)
    fig = Figure(figsize=(6, 6))
    ax = fig.add_subplot()
    _show_image(ax, grid)
    if title is not None:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str],
    path: PathLike,
    normalize: bool = False,
    title: str = "Confusion matrix",
) -> Path:
    """The confusion matrix as a heat map, true classes down, predicted classes across.

    matrix: (C, C) counts, entry [i, j] = examples of class i predicted as j (as from
        classification_metrics.confusion_matrix)
    class_names: C names for the axes
    path: PNG file to write
    normalize: show each row as fractions of its class (a row of a class absent from the
        data stays 0) instead of counts
    title: the figure's title
    returns the path written, as a Path
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"matrix must be a non-empty (C, C) array, got shape {matrix.shape}")
    if len(class_names) != len(matrix):
        raise ValueError(f"matrix has {len(matrix)} classes but {len(class_names)} names came")
    shown = matrix.astype(np.float64)
    if normalize:
        totals = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, totals, out=np.zeros_like(shown), where=totals > 0)
    size = len(matrix)
    side = max(4.5, 0.6 * size + 2.5)
    fig = Figure(figsize=(side + 1, side))
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label("fraction of the true class" if normalize else "examples")
    # Dark text on light cells, light text on dark ones.
    threshold = shown.max() / 2 if shown.max() > 0 else 1.0
    for (row, col), value in np.ndenumerate(shown):
        text = f"{value:.2f}" if normalize else f"{matrix[row, col]:g}"
        colour = "white" if value > threshold else "black"
        ax.text(col, row, text, ha="center", va="center", color=colour, fontsize=8)
    names = [str(name) for name in class_names]
    slanted = max(map(len, names)) > 2  # long names would overlap side by side
    ax.set_xticks(
        range(size), names, rotation=45 if slanted else 0, ha="right" if slanted else "center"
    )
    ax.set_yticks(range(size), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


# Positive values spanning more than this factor get a logarithmic y axis.
_LOG_SPAN = 100.0


def spans_decades(values: npt.ArrayLike) -> bool:
    """True when the finite positive values span more than two decades (a case for log y)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    positive = values[np.isfinite(values) & (values > 0)]
    return positive.size > 1 and bool(positive.max() > _LOG_SPAN * positive.min())


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    path: PathLike,
    resolution: int = 200,
    title: str = "Decision regions",
) -> Path:
    """The class a model predicts over the plane, with the labelled points drawn on top.

    predict: maps (M, 2) float points to (M,) int class labels
    X: (N, 2) points, y: (N,) int labels in [0, C)
    path: PNG file to write
    resolution: grid cells per side over the points' range (plus a 10% margin)
    returns the path written, as a Path
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),) or len(X) == 0:
        raise ValueError(
            f"X must be (N, 2) points with y of shape (N,), got {X.shape} and {y.shape}; "
            "a decision boundary is drawn for 2-D data only"
        )
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2 cells per side, got {resolution}")
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-12)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    regions = np.asarray(predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])))
    num_classes = int(max(y.max(), regions.max())) + 1
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    levels = np.arange(num_classes + 1) - 0.5
    ax.contourf(grid_x, grid_y, regions.reshape(grid_x.shape), levels=levels, cmap="tab10",
                vmin=-0.5, vmax=9.5, alpha=0.3)  # fmt: skip
    points = ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=-0.5, vmax=9.5, s=12,
                        edgecolors="black", linewidths=0.3)  # fmt: skip
    handles = [
        ax.scatter(
            [], [], color=points.cmap(points.norm(c)), edgecolors="black", label=f"class {c}"
        )
        for c in range(num_classes)
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=min(num_classes, 5), frameon=False, fontsize="small")  # fmt: skip
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_distance_matrix(dists: np.ndarray, path: PathLike) -> Path:
    """The kNN notebook's picture of the test x train distance matrix (bright = far).

    dists: (num_test, num_train) distances, e.g. from compute_distances_two_loops
    path: PNG file to write
    returns the path written, as a Path
    """
    dists = np.asarray(dists, dtype=np.float64)
    if dists.ndim != 2 or dists.size == 0:
        raise ValueError(
            f"dists must be a non-empty (num_test, num_train) array, got shape {dists.shape}; "
            "pass the matrix from KNearestNeighbor.compute_distances_*"
        )
    fig = Figure(figsize=(8, 8 * max(0.5, min(1.5, dists.shape[0] / dists.shape[1]))))
    ax = fig.add_subplot()
    image = ax.imshow(dists, interpolation="none", aspect="auto", cmap="gray")
    fig.colorbar(image, ax=ax, label="distance")
    ax.set_xlabel("training example")
    ax.set_ylabel("test example")
    ax.set_title("Distances between test and training examples")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_mean_image(
    mean_image: np.ndarray, path: PathLike, image_shape: tuple[int, ...] = (32, 32, 3)
) -> Path:
    """The training set's mean image, as the notebooks show it before subtracting it.

    mean_image: (D,) flat mean with D = prod(image_shape), or an image of image_shape, on the
        0-255 pixel scale (as np.mean(X_train, axis=0) of raw pixels gives)
    path: PNG file to write
    image_shape: (H, W, 3) colour or (H, W) / (H, W, 1) grey
    returns the path written, as a Path
    """
    mean_image = np.asarray(mean_image, dtype=np.float64)
    if mean_image.size != math.prod(image_shape):
        raise ValueError(
            f"mean_image must hold prod(image_shape) = {math.prod(image_shape)} values "
            f"(image_shape {image_shape}), got shape {mean_image.shape}; pass image_shape"
        )
    fig = Figure(figsize=(4, 4.4))
    ax = fig.add_subplot()
    _show_image(ax, np.clip(mean_image.reshape(image_shape), 0, 255))
    ax.set_title("Mean training image")
    return save_figure(fig, path)


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    path: PathLike,
    examples_per_class: int = 8,
) -> Path:
    """For every class, examples predicted as that class that belong to another (the features
    notebook's picture): one column per predicted class, the first misclassified ones on top.

    images: (N, H, W, 3) colour or (N, H, W) grey images on the 0-255 scale
    y_true: (N,) int true labels in [0, C)
    y_pred: (N,) int predicted labels in [0, C)
    class_names: C names, the column titles
    path: PNG file to write
    examples_per_class: rows of the grid; a column with fewer mistakes stays blank below
    returns the path written, as a Path
    """
    images = np.asarray(images, dtype=np.float64)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if images.ndim not in (3, 4) or y_true.shape != (len(images),) or y_pred.shape != y_true.shape:
        raise ValueError(
            "images must be (N, H, W[, C]) with y_true and y_pred of shape (N,); got "
            f"{images.shape}, {y_true.shape} and {y_pred.shape}"
        )
    if examples_per_class < 1:
        raise ValueError(f"examples_per_class must be >= 1, got {examples_per_class}")
    num_classes = len(class_names)
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"{name} holds labels outside [0, {num_classes}) for the {num_classes} "
                "class_names; pass one name per class"
            )
    fig = Figure(figsize=(1.2 * num_classes, 1.2 * examples_per_class + 0.6))
    for cls, name in enumerate(class_names):
        wrong = np.flatnonzero((y_pred == cls) & (y_true != cls))[:examples_per_class]
        for row in range(examples_per_class):
            ax = fig.add_subplot(examples_per_class, num_classes, row * num_classes + cls + 1)
            if row < len(wrong):
                _show_image(ax, np.clip(images[wrong[row]], 0, 255))
            else:
                ax.axis("off")
            if row == 0:
                ax.set_title(str(name), fontsize=9)
    fig.suptitle("Misclassified examples, by predicted class")
    fig.tight_layout()
    return save_figure(fig, path)


def _show_image(ax: Axes, image: np.ndarray) -> None:
    """imshow a 0-255 image, grey when it has one channel, without axes."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image.astype(np.uint8))
    ax.axis("off")


def save_figure(fig: Figure, path: PathLike) -> Path:
    """Render fig with Agg into a PNG at path, creating parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png")
    return path
