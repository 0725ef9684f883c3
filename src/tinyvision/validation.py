"""Input checks for the public boundary: say what was expected, what came, and how to fix it."""

from __future__ import annotations

import numpy as np

__all__ = ["check_float_array", "check_labels", "check_same_length"]


def check_float_array(x: np.ndarray, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Return x as a floating array, or raise ValueError naming the expected dimensions."""
    x = np.asarray(x)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def check_labels(y: np.ndarray, num_classes: int | None = None, name: str = "y") -> np.ndarray:
    """Return y as an int64 vector of class indices in [0, num_classes), or raise ValueError."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-d vector of class indices, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{name} holds the label {y.min()}; labels must be in [0, num_classes)")
    if num_classes is not None and y.size and y.max() >= num_classes:
        raise ValueError(
            f"{name} holds the label {y.max()} but there are only {num_classes} classes; "
            f"labels must be in [0, {num_classes})"
        )
    return y


def check_same_length(x: np.ndarray, y: np.ndarray, x_name: str = "X", y_name: str = "y") -> None:
    """Raise ValueError when x and y do not describe the same number of examples."""
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} has {len(x)} examples but {y_name} has {len(y)}; they must match"
        )
