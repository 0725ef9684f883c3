"""Loss layers: each returns (loss, dx), the mean loss and its gradient with respect to x.

svm_loss and softmax_loss are the course's classification losses (mean over the N examples);
l1_loss, mse_loss, bce_loss (on probabilities) and bce_with_logits_loss average over every
element, as torch's defaults do. The loss is a NumPy scalar of x's dtype and dx has x's shape
and dtype.

softmax_loss and the elementwise losses also take torch's `reduction`: "mean" (the default),
"sum", or "none" (one loss per example or element, with dx the gradient of their sum, i.e.
each loss's derivative with respect to its own input). I2DL's loss classes are built on it.

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
    "REDUCTIONS",
    "bce_loss",
    "bce_with_logits_loss",
    "l1_loss",
    "log_softmax",
    "mse_loss",
    "apply_reduction",
    "pixel_softmax_loss",
    "softmax_loss",
    "svm_loss",
]


REDUCTIONS = ("mean", "sum", "none")

# Inputs to log in bce_loss are clamped here, as torch clamps log(p) at -100: a probability of
# exactly 0 or 1 then gives a large finite loss rather than inf and a NaN gradient.
_BCE_LOG_FLOOR = -100.0


def apply_reduction(
    losses: np.ndarray, dlosses: np.ndarray, reduction: str
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Apply a reduction to per-element losses and their per-element derivatives.

    losses: the loss of every element (or example), any shape
    dlosses: d losses[i] / d x[i], losses' shape
    reduction: "mean" (average; dx divided by losses.size), "sum", or "none" (losses as they
      are; dx is dlosses, the gradient of their sum)
    returns loss (scalar, or losses for "none"), dx
    raises ValueError for any other reduction
    """
    if reduction == "mean":
        return losses.mean(), dlosses / losses.size
    if reduction == "sum":
        return losses.sum(), dlosses
    if reduction == "none":
        return losses, dlosses
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


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


def softmax_loss(
    x: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Softmax cross-entropy, mean over examples.

    Built on log_softmax, so any finite scores give a finite loss without overflow.
    x: (N, C) class scores
    y: (N,) integer labels, 0 <= y[i] < C
    reduction: "mean" (the course's), "sum", or "none" for the (N,) per-example losses
    returns loss (scalar, or (N,) for "none"), dx (N, C)
    raises ValueError for labels that are not integers in [0, C), one per row of x
    """
    return _softmax_loss(x, _check_scores_and_labels(x, y), reduction)


def _softmax_loss(
    x: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """softmax_loss for labels already checked (int64 in [0, C), one per row of x)."""
    rows = np.arange(x.shape[0])
    log_probs = log_softmax(x, axis=1)
    # The derivative of each example's loss -log p[y] is its softmax minus the one-hot label.
    dlosses = np.exp(log_probs)
    dlosses[rows, y] -= 1
    return apply_reduction(-log_probs[rows, y], dlosses, reduction)


def pixel_softmax_loss(
    x: np.ndarray, y: np.ndarray, ignore_index: int = -1
) -> tuple[np.floating, np.ndarray]:
    """Softmax cross-entropy at every pixel, mean over the pixels whose label is not ignored.

    The segmentation loss, torch's cross_entropy(x, y, ignore_index=...) on (N, C, H, W)
    scores: softmax_loss's maths on the labelled pixels as rows. The default ignore_index is
    our segmentation data's void label, -1 (torch's default is -100). When every pixel is
    ignored the loss is 0 and dx is zero (torch gives nan): such a batch teaches nothing.
    x: (N, C, H, W) class scores, float32 or float64
    y: (N, H, W) integer labels, each in [0, C) or equal to ignore_index
    ignore_index: the label of pixels that add nothing to the loss
    returns loss (scalar of x's dtype), dx (N, C, H, W) of x's dtype
    raises ValueError for scores that are not 4-d, labels of another shape, non-integer
        labels, or labels outside [0, C) other than ignore_index
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W) class scores, got shape {x.shape}")
    y = np.asarray(y)
    expected = (x.shape[0], *x.shape[2:])
    if y.shape != expected:
        raise ValueError(
            f"y must be (N, H, W) = {expected}, one label per pixel of x {x.shape}, got shape "
            f"{y.shape}"
        )
    if y.size and y.dtype.kind not in "iu":
        raise ValueError(f"y must hold integer labels, got dtype {y.dtype}")
    num_classes = x.shape[1]
    bad = (y != ignore_index) & ((y < 0) | (y >= num_classes))
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"y must hold labels in [0, {num_classes}) or ignore_index {ignore_index}, got "
            f"{y[position]} at {position}"
        )
    return _pixel_softmax_loss(x, y.astype(np.int64, copy=False), ignore_index)


def _pixel_softmax_loss(
    x: np.ndarray, y: np.ndarray, ignore_index: int
) -> tuple[np.floating, np.ndarray]:
    """pixel_softmax_loss for labels already checked."""
    n_images, num_classes, height, width = x.shape
    scores = x.transpose(0, 2, 3, 1).reshape(-1, num_classes)  # (N*H*W, C), a pixel per row
    labels = y.reshape(-1)
    kept = labels != ignore_index
    count = int(kept.sum())
    dscores = np.zeros_like(scores)
    if count == 0:
        return x.dtype.type(0), dscores.reshape(x.shape)
    loss, dkept = _softmax_loss(scores[kept], labels[kept], reduction="sum")
    dscores[kept] = dkept / count
    dx = dscores.reshape(n_images, height, width, num_classes).transpose(0, 3, 1, 2)
    return x.dtype.type(loss / count), np.ascontiguousarray(dx)


def l1_loss(
    x: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Mean absolute error, mean(|x - y|) over all elements.

    The subgradient at x == y is taken as 0, as torch does.
    x: predictions, any shape
    y: targets, x's shape
    reduction: "mean", "sum" or "none" (see apply_reduction)
    returns loss (scalar, or x's shape for "none"), dx (x's shape)
    """
    diff = x - np.asarray(y, dtype=x.dtype)
    return apply_reduction(np.abs(diff), np.sign(diff), reduction)


def mse_loss(
    x: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Mean squared error, mean((x - y)^2) over all elements.

    x: predictions, any shape
    y: targets, x's shape
    reduction: "mean", "sum" or "none" (see apply_reduction)
    returns loss (scalar, or x's shape for "none"), dx (x's shape)
    """
    diff = x - np.asarray(y, dtype=x.dtype)
    return apply_reduction(diff * diff, 2 * diff, reduction)


def bce_loss(
    p: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Binary cross-entropy on probabilities, -(y log p + (1 - y) log(1 - p)), as torch's
    binary_cross_entropy.

    Each log is clamped below at -100, as torch does, so p = 0 or 1 gives a finite loss; the
    gradient (p - y) / (p (1 - p)) has its denominator kept >= 1e-12 for the same reason.
    Prefer bce_with_logits_loss when the logits are at hand: it is stable for any input.
    p: predicted probabilities in [0, 1], any shape
    y: targets in [0, 1], p's shape
    reduction: "mean", "sum" or "none" (see apply_reduction)
    returns loss (scalar, or p's shape for "none"), dp (p's shape)
    """
    y = np.asarray(y, dtype=p.dtype)
    with np.errstate(divide="ignore"):  # log(0) = -inf is clamped on the next line
        log_p = np.maximum(np.log(p), _BCE_LOG_FLOOR)
        log_not_p = np.maximum(np.log1p(-p), _BCE_LOG_FLOOR)
    losses = -(y * log_p + (1 - y) * log_not_p)
    return apply_reduction(losses, (p - y) / np.maximum(p * (1 - p), 1e-12), reduction)


def bce_with_logits_loss(
    x: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[np.floating | np.ndarray, np.ndarray]:
    """Binary cross-entropy on logits, mean over all elements.

    Uses the stable form max(x, 0) - x y + log(1 + exp(-|x|)), which never exponentiates a
    positive number, so huge logits give a finite loss.
    x: logits, any shape
    y: targets in [0, 1] (hard 0/1 labels or soft probabilities), x's shape
    reduction: "mean", "sum" or "none" (see apply_reduction)
    returns loss (scalar, or x's shape for "none"), dx = (sigmoid(x) - y) / x.size for "mean"
    """
    y = np.asarray(y, dtype=x.dtype)
    per_element = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return apply_reduction(per_element, sigmoid(x) - y, reduction)
