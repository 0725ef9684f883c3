"""The spiral toy data of the CS231n notes: K interleaved arms that no linear classifier
separates, for checking that a small network learns a non-linear boundary."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tinyvision.data.splits import stratified_split
from tinyvision.validation import check_positive_int

__all__ = ["load_spiral_data", "make_spiral"]


def make_spiral(
    num_points_per_class: int = 100,
    num_classes: int = 3,
    dimensions: int = 2,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Generate the spiral data: class j has radius linspace(0, 1) and angle
    linspace(4j, 4(j+1)) plus 0.2 * standard normal noise.

    Args:
        num_points_per_class: points per arm (N).
        num_classes: number of arms (K).
        dimensions: must be 2; the spiral lives in the plane.
        seed: seed of the angle noise.

    Returns:
        X: float64 array of shape (N*K, 2), class after class.
        y: int64 array of shape (N*K,), labels in [0, K).

    Raises:
        ValueError: non-positive counts or dimensions other than 2.
    """
    if dimensions != 2:
        raise ValueError(f"the spiral is defined in 2 dimensions, got dimensions={dimensions}")
    for name, value in (
        ("num_points_per_class", num_points_per_class),
        ("num_classes", num_classes),
    ):
        check_positive_int(value, name)
    rng = np.random.default_rng(seed)
    classes = np.arange(num_classes)
    radius = np.linspace(0.0, 1.0, num_points_per_class)
    angle = np.linspace(4.0 * classes, 4.0 * (classes + 1), num_points_per_class, axis=1)
    angle = angle + 0.2 * rng.standard_normal((num_classes, num_points_per_class))
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=-1).reshape(-1, 2)
    y = np.repeat(classes, num_points_per_class).astype(np.int64)
    return X, y


def load_spiral_data(
    num_points_per_class: int = 100,
    num_classes: int = 3,
    num_validation: int = 30,
    num_test: int = 30,
    seed: int = 0,
    dtype: npt.DTypeLike = np.float64,
) -> dict[str, np.ndarray]:
    """Generate the spiral data and split it (stratified, fixed by `seed`).

    Args:
        num_points_per_class: points per arm.
        num_classes: number of arms.
        num_validation: number of validation points.
        num_test: number of test points.
        seed: seed of both the noise and the split.
        dtype: floating dtype of X.

    Returns:
        dict with X_train (n, 2), y_train (n,) int64, X_val, y_val, X_test, y_test.

    Raises:
        ValueError: bad counts.
    """
    X, y = make_spiral(num_points_per_class, num_classes, seed=seed)
    return stratified_split(X.astype(dtype), y, num_validation, num_test, seed)
