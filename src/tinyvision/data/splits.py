"""Fixed, stratified train/validation/test splits for the small in-memory data sets."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tinyvision.validation import check_non_negative_int

__all__ = ["stratified_split"]


def stratified_split(
    X: np.ndarray,
    y: npt.NDArray[np.integer],
    num_validation: int,
    num_test: int,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Split examples into train/val/test with the class proportions kept in every split.

    The split depends only on `seed`, so repeated calls return the same partition.

    Args:
        X: array of shape (N, ...), the examples.
        y: int array of shape (N,), their labels.
        num_validation: number of validation examples (at least the number of classes when > 0).
        num_test: number of test examples (at least the number of classes when > 0).
        seed: random seed of the split.

    Returns:
        dict with X_train, y_train, X_val, y_val, X_test, y_test (the rest goes to training).

    Raises:
        ValueError: the counts are negative or leave no training examples.
    """
    from sklearn.model_selection import train_test_split

    n = len(y)
    for name, value in (("num_validation", num_validation), ("num_test", num_test)):
        check_non_negative_int(value, name, allow_float=True)
    if num_validation + num_test >= n:
        raise ValueError(
            f"num_validation + num_test = {num_validation + num_test} leaves no training "
            f"examples out of {n}; lower them"
        )
    index = np.arange(n)
    splits: dict[str, np.ndarray] = {}
    for name, count in (("test", num_test), ("val", num_validation)):
        if count == 0:
            taken = index[:0]
        else:
            index, taken = train_test_split(
                index, test_size=int(count), stratify=y[index], random_state=seed
            )
        splits[name] = np.sort(taken)
    splits["train"] = np.sort(index)
    data: dict[str, np.ndarray] = {}
    for name in ("train", "val", "test"):
        data[f"X_{name}"] = X[splits[name]]
        data[f"y_{name}"] = y[splits[name]]
    return data
