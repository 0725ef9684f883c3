"""Class imbalance: imbalanced training subsets and the two ways of balancing them.

The concept notes' two remedies for a training set in which some classes are rare:
weight each class's share of the loss by the inverse of its frequency (`balanced_class_weights`,
the weights of scikit-learn's ``compute_class_weight("balanced")``), or draw the examples of
each epoch with probabilities that give every class the same expected share
(`balanced_sample_weights`, the weights of a weighted sampler). `imbalanced_subset` makes the
imbalance to study: a *step* profile in which the last half of the classes (the minority,
`minority_classes`) keep 1/ratio of their examples and the first half keep all of theirs.

Pure NumPy functions of the labels; the PyTorch track applies them in
`tinyvision.torch.lightning.ClassifierModule` (the loss) and `tinyvision.torch.data.EpochShuffle`
(the order of an epoch), the NumPy Solver in its minibatch draws.
"""

from __future__ import annotations

import math

import numpy as np

from tinyvision.validation import check_in_range, check_labels

__all__ = [
    "balanced_class_weights",
    "balanced_sample_weights",
    "class_counts",
    "imbalanced_subset",
    "majority_classes",
    "minority_classes",
]


def class_counts(y: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes,) int64: how many of the labels y (N,) are each class 0..num_classes-1."""
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes)


def minority_classes(num_classes: int) -> tuple[int, ...]:
    """The classes an imbalanced subset thins: the last half, num_classes // 2 .. C - 1.

    For CIFAR-10 those are dog, frog, horse, ship and truck; for the digits 5 to 9.
    """
    return tuple(range(num_classes // 2, num_classes))


def majority_classes(num_classes: int) -> tuple[int, ...]:
    """The classes an imbalanced subset keeps whole: 0 .. num_classes // 2 - 1."""
    return tuple(range(num_classes // 2))


def imbalanced_subset(y: np.ndarray, ratio: float, num_classes: int) -> np.ndarray:
    """Indices of a step-imbalanced subset of the labels y: minority classes keep 1/ratio.

    y: (N,) int labels in [0, num_classes)
    ratio: >= 1; each class of minority_classes(num_classes) keeps its first
        max(1, round(count / ratio)) examples in the order of y, the other classes keep all
        theirs, so the largest class is about ratio times the smallest (1 keeps everything)
    returns (M,) int64 indices into y, increasing (the subset keeps the order of y)
    The subset depends on y alone, not on a seed: every run with the same ratio trains on
    the same examples.
    """
    ratio = check_in_range(ratio, "ratio", 1.0, hint="1 keeps every example, 10 keeps a tenth")
    y = check_labels(y, num_classes, "y")
    keep = np.ones(len(y), dtype=bool)
    for label in minority_classes(num_classes):
        members = np.flatnonzero(y == label)
        kept = max(1, round(len(members) / ratio)) if len(members) else 0
        keep[members[kept:]] = False
    return np.flatnonzero(keep)


def balanced_class_weights(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class loss weights n_samples / (n_classes * count_c), scikit-learn's "balanced".

    y: (N,) int labels in [0, num_classes); every class must occur (a class with no example
        has no finite weight)
    returns (num_classes,) float64; a class of average frequency gets 1, a rare one more
    """
    y = check_labels(y, num_classes, "y")
    counts = class_counts(y, num_classes)
    missing = np.flatnonzero(counts == 0)
    if len(missing):
        raise ValueError(
            f"balanced class weights need an example of every class, but the training labels "
            f"have none of class {', '.join(map(str, missing))}; train on more examples "
            "(--num-training) or a smaller --imbalance"
        )
    return len(y) / (num_classes * counts.astype(np.float64))


def balanced_sample_weights(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-example sampling weights 1 / count of its class, so every class is drawn alike.

    y: (N,) int labels in [0, num_classes)
    returns (N,) float64 probabilities (they sum to 1): drawing examples with them, each class
        present in y is drawn with probability 1 / (number of classes present)
    """
    y = check_labels(y, num_classes, "y")
    counts = class_counts(y, num_classes)
    weights = 1.0 / counts[y]
    return weights / math.fsum(weights)
