"""Loss layers: each returns (loss, dx), the mean loss and its gradient with respect to x.

svm_loss and softmax_loss are the course's classification losses (mean over the N examples);
l1_loss, mse_loss and bce_with_logits_loss average over every element, as torch's defaults do.
The loss is a NumPy scalar of x's dtype and dx has x's shape and dtype.

log_softmax, the stable log-probabilities under a softmax, is here because the cross-entropy
losses are built on it; the captioning losses and decoders use it too.

The classification losses are public entry points, so they check their labels (integer, one
per row of x, in [0, C)): a negative label would otherwise index from the end and give the
loss of another class without a word. The check is one min and one max over y. A model that
has checked its labels at its own entry calls the unchecked maths, `_svm_loss` and
`_softmax_loss`, so each call is checked once.
"""

from __future__ import annotations

import numpy as np

from tinyvision.validation import check_labels

from .activations import sigmoid

__all__ = [
    "bce_with_logits_loss",
    "l1_loss",
    "log_softmax",
    "mse_loss",
    "softmax_loss",
    "svm_loss",
]


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log of the softmax of x along axis, x - log(sum(exp(x))), computed stably.

    Each slice is shifted by its maximum before exponentiating (log-sum-exp), so the largest
    term is exp(0) = 1: any finite x gives finite log-probabilities, without overflow, and a
    tiny probability keeps its log rather than underflowing to log(0).
    x: float array of any shape, finite (each slice along axis non-empty)
    axis: the axis that holds the classes
    returns log-probabilities, x's shape and float dtype; exp of a slice along axis sums to 1
    """
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_scores_and_labels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return y as int64 labels for the (N, C) scores x, or raise ValueError naming the fault."""
    if np.ndim(x) != 2:
        raise ValueError(f"x must be (N, C) class scores, got shape {np.shape(x)}")
    return check_labels(y, x.shape[1], "y", num_examples=x.shape[0], examples_name="x")


def svm_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Multiclass hinge loss with margin 1, mean over examples.

    x: (N, C) class scores, x[i, j] the score of class j for example i
    y: (N,) integer labels, 0 <= y[i] < C
    returns loss (scalar), dx (N, C)
    raises ValueError for labels that are not integers in [0, C), one per row of x
    """
    return _svm_loss(x, _check_scores_and_labels(x, y))


def _svm_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """svm_loss for labels already checked (int64 in [0, C), one per row of x)."""
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / n
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] = -dx.sum(axis=1)
    dx /= n
    return loss, dx


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Softmax cross-entropy, mean over examples.

    Built on log_softmax, so any finite scores give a finite loss without overflow.
    x: (N, C) class scores
    y: (N,) integer labels, 0 <= y[i] < C
    returns loss (scalar), dx (N, C)
    raises ValueError for labels that are not integers in [0, C), one per row of x
    """
    return _softmax_loss(x, _check_scores_and_labels(x, y))


def _softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """softmax_loss for labels already checked (int64 in [0, C), one per row of x)."""
    n = x.shape[0]
    rows = np.arange(n)
    log_probs = log_softmax(x, axis=1)
    loss = -log_probs[rows, y].sum() / n
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= n
    return loss, dx


def l1_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Mean absolute error, mean(|x - y|) over all elements.

    The subgradient at x == y is taken as 0, as torch does.
    x: predictions, any shape
    y: targets, x's shape
    returns loss (scalar), dx (x's shape)
    """
    diff = x - np.asarray(y, dtype=x.dtype)
    return np.abs(diff).mean(), np.sign(diff) / diff.size


def mse_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Mean squared error, mean((x - y)^2) over all elements.

    x: predictions, any shape
    y: targets, x's shape
    returns loss (scalar), dx (x's shape)
    """
    diff = x - np.asarray(y, dtype=x.dtype)
    return (diff * diff).mean(), diff * (2 / diff.size)


def bce_with_logits_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
    """Binary cross-entropy on logits, mean over all elements.

    Uses the stable form max(x, 0) - x y + log(1 + exp(-|x|)), which never exponentiates a
    positive number, so huge logits give a finite loss.
    x: logits, any shape
    y: targets in [0, 1] (hard 0/1 labels or soft probabilities), x's shape
    returns loss (scalar), dx = (sigmoid(x) - y) / x.size (x's shape)
    """
    y = np.asarray(y, dtype=x.dtype)
    per_element = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return per_element.mean(), (sigmoid(x) - y) / x.size
