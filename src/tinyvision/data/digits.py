"""The scikit-learn handwritten digits (8x8, ten classes) as a small, offline image data set."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tinyvision.data.splits import stratified_split

__all__ = ["DIGITS_CLASS_NAMES", "load_digits_data"]

DIGITS_CLASS_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))
# Pixels of sklearn's digits are counts in 0..16 (4x4 blocks of a 32x32 bitmap).
_MAX_PIXEL = 16.0


def load_digits_data(
    num_validation: int = 270,
    num_test: int = 270,
    seed: int = 0,
    dtype: npt.DTypeLike = np.float64,
) -> dict[str, object]:
    """Load sklearn's digits as (N, 1, 8, 8) images in [0, 1] with a fixed stratified split.

    The defaults give about 70/15/15 percent of the 1797 images to train/val/test; the same
    seed always gives the same split.

    Args:
        num_validation: number of validation images.
        num_test: number of test images.
        seed: random seed of the split.
        dtype: floating dtype of the images.

    Returns:
        dict with X_train (n, 1, 8, 8), y_train (n,) int64, X_val, y_val, X_test, y_test, and
        class_names (tuple of the ten digit names).

    Raises:
        ValueError: bad counts or a non-floating dtype.
    """
    from sklearn.datasets import load_digits

    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a floating type such as np.float32, got {dtype}")
    digits = load_digits()
    images = (digits.images / _MAX_PIXEL).astype(dtype)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    data: dict[str, object] = dict(stratified_split(images, labels, num_validation, num_test, seed))
    data["class_names"] = DIGITS_CLASS_NAMES
    return data
