"""Classification metrics: confusion matrix, per-class precision / recall / F1, top-k accuracy.

Labels are class indices 0 .. C-1 and every function takes C (num_classes) explicitly, so a
class that never occurs in y_true or y_pred still has its row, column and scores. Undefined
ratios are 0, as scikit-learn's `zero_division=0` makes them: the precision of a class that is
never predicted, the recall of a class that never occurs, and F1 = 2 TP / (2 TP + FP + FN)
when TP + FP + FN = 0.

Ties in top-k accuracy go to the lower class index, as `np.argmax` (and so every model's
`predict`) breaks them; top-1 accuracy is therefore the accuracy of argmax predictions.
scikit-learn's `top_k_accuracy_score` sorts stably and reverses, so it gives ties to the
higher index instead; the two agree whenever the k-th and (k+1)-th scores differ.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tinyvision.validation import check_all_finite, check_labels, check_positive_int

__all__ = [
    "ClassificationReport",
    "classification_report",
    "confusion_matrix",
    "precision_recall_f1",
    "top_k_accuracy",
]


class ClassificationReport(NamedTuple):
    """Per-class scores and their averages (what `classification_report` returns).

    precision, recall, f1: (C,) float64; support: (C,) int64, examples of each class in y_true
    macro: {"precision", "recall", "f1"} unweighted means over the C classes
    weighted: the same means weighted by support
    accuracy: fraction of correct predictions
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    macro: dict[str, float]
    weighted: dict[str, float]
    accuracy: float


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> tuple:
    """y_true and y_pred as int64 label vectors of one length, each in [0, num_classes)."""
    check_positive_int(num_classes, "num_classes")
    y_true = check_labels(y_true, num_classes, "y_true")
    y_pred = check_labels(
        y_pred, num_classes, "y_pred", num_examples=len(y_true), examples_name="y_true"
    )
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty; pass at least one example")
    return y_true, y_pred


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    y_true: (N,) int labels in [0, C); y_pred: (N,) int predicted labels in [0, C)
    num_classes: C
    returns (C, C) int64; entry [i, j] counts examples of class i predicted as class j, so
        rows sum to each class's support and the diagonal holds the correct predictions
    """
    y_true, y_pred = _check_pair(y_true, y_pred, num_classes)
    # Each (true, predicted) pair is one flat cell index of the C x C matrix.
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise, 0 where the denominator is 0 (zero_division=0)."""
    numerator = numerator.astype(np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support of each class from a (C, C) confusion matrix."""
    true_positives = np.diag(matrix)
    predicted = matrix.sum(axis=0)  # TP + FP
    support = matrix.sum(axis=1)  # TP + FN
    precision = _ratio(true_positives, predicted)
    recall = _ratio(true_positives, support)
    f1 = _ratio(2 * true_positives, predicted + support)
    return precision, recall, f1, support


def precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support, as sklearn's precision_recall_fscore_support.

    y_true: (N,) int labels in [0, C); y_pred: (N,) int predicted labels in [0, C)
    num_classes: C
    returns precision, recall, f1 (each (C,) float64; undefined ratios are 0) and support
        ((C,) int64, the examples of each class in y_true)
    """
    return _per_class(confusion_matrix(y_true, y_pred, num_classes))


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int
) -> ClassificationReport:
    """Per-class precision, recall, F1 and support with macro and weighted averages.

    y_true: (N,) int labels in [0, C); y_pred: (N,) int predicted labels in [0, C)
    num_classes: C (classes absent from both still count in the macro average, with scores 0)
    returns a ClassificationReport
    """
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    precision, recall, f1, support = _per_class(matrix)
    per_class = {"precision": precision, "recall": recall, "f1": f1}
    weights = support / support.sum()
    return ClassificationReport(
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        macro={name: float(values.mean()) for name, values in per_class.items()},
        weighted={name: float(values @ weights) for name, values in per_class.items()},
        accuracy=float(np.trace(matrix) / support.sum()),
    )


def top_k_accuracy(y_true: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of examples whose true class is among the k highest-scoring classes.

    y_true: (N,) int labels in [0, C)
    scores: (N, C) float class scores (any monotone scale: logits, probabilities)
    k: how many top classes count, 1 <= k <= C; ties go to the lower class index
    returns a float in [0, 1]
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or not np.issubdtype(scores.dtype, np.number) or scores.shape[0] == 0:
        raise ValueError(
            f"scores must be a non-empty (N, C) array of numbers, got shape {scores.shape} "
            f"and dtype {scores.dtype}"
        )
    check_all_finite(scores, "scores")
    num_classes = scores.shape[1]
    k = check_positive_int(k, "k")
    if k > num_classes:
        raise ValueError(f"k must be at most the {num_classes} classes of scores, got k = {k}")
    y_true = check_labels(
        y_true, num_classes, "y_true", num_examples=len(scores), examples_name="scores"
    )
    true_scores = np.take_along_axis(scores, y_true[:, None], axis=1)
    columns = np.arange(num_classes)
    # Classes ranked above the true one: higher scores, or equal scores at a lower index.
    above = (scores > true_scores) | ((scores == true_scores) & (columns < y_true[:, None]))
    return float(np.mean(above.sum(axis=1) < k))
