"""What `tinyvision evaluate` reports of a trained classifier beyond its accuracy.

The test split's confusion matrix (also drawn as confusion.png in the run folder), precision,
recall and F1 per class with their averages, and top-k accuracy for the models that give class
scores (kNN only votes, so it gives labels and no top-k). The maths is in
tinyvision.classification_metrics; this module gathers a model's labels and scores for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification_metrics import (
    ClassificationReport,
    classification_report,
    confusion_matrix,
    top_k_accuracy,
)
from tinyvision.registry import ModelSpec

__all__ = ["TOP_K", "ClassifierEvaluation", "class_names", "class_scores", "evaluate_classifier"]

# The k of the top-k accuracies reported, when the data set has more than k classes.
TOP_K = (1, 3, 5)
_SCORE_BATCH = 500


@dataclass
class ClassifierEvaluation:
    """A classifier's test-split report.

    class_names: C names (CIFAR-10's, the digits "0".."9", otherwise the class numbers)
    confusion: (C, C) int64 counts, rows true classes, columns predicted classes
    report: per-class precision, recall, F1, support and their averages
    top_k: {k: accuracy} for k in TOP_K below C, or None when it could not be measured
    top_k_missing: why top_k is None (e.g. "knn gives labels, not class scores"), else None
    picture: the confusion.png written, or None
    gallery: the errors.png written (misclassified examples by predicted class), or None
    split: the split evaluated ("test" or "val")
    """

    class_names: tuple[str, ...]
    confusion: np.ndarray
    report: ClassificationReport
    top_k: dict[int, float] | None
    top_k_missing: str | None
    picture: Path | None
    gallery: Path | None = None
    split: str = "test"


def class_names(dataset: str, num_classes: int) -> tuple[str, ...]:
    """The names of a data set's classes, by label; the label numbers when it has none."""
    from tinyvision.data.cifar10 import CLASS_NAMES
    from tinyvision.data.digits import DIGITS_CLASS_NAMES

    names = {"cifar10": CLASS_NAMES, "digits": DIGITS_CLASS_NAMES}.get(dataset, ())
    if len(names) != num_classes:
        return tuple(str(label) for label in range(num_classes))
    return tuple(names)


def class_scores(model: Any, spec: ModelSpec, X: np.ndarray) -> np.ndarray | None:
    """(N, C) class scores of model for inputs X, or None when the model gives only labels.

    spec.scores answers when the model registered one; a model trained by the Solver gives
    its scores as loss(X) (the course's test mode), in batches as its predict does.
    """
    if spec.scores is not None:
        return np.asarray(spec.scores(model, X))
    if spec.fit is not None:
        return None
    batches = [model.loss(X[i : i + _SCORE_BATCH]) for i in range(0, len(X), _SCORE_BATCH)]
    return np.concatenate(batches)


def evaluate_classifier(
    model: Any,
    spec: ModelSpec,
    X: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    picture: Path | None = None,
    images: np.ndarray | None = None,
    gallery: Path | None = None,
    split: str = "test",
) -> ClassifierEvaluation:
    """Confusion matrix, per-class report and top-k accuracy of model on (X, y).

    model: a trained classifier; spec: its registration (for its scores)
    X: (N, ...) inputs as the model takes them; y: (N,) int64 labels in [0, C)
    names: C class names, C = the number of classes of the data set
    picture: where to draw the confusion matrix (None: no picture)
    images: (N, H, W, 3) or (N, H, W) pictures of the examples on the 0-255 scale, for the
        gallery (None: no gallery)
    gallery: where to draw misclassified examples by predicted class (needs images)
    split: the split's name, for the titles
    """
    from tinyvision.vis_utils import plot_confusion_matrix, plot_misclassified

    num_classes = len(names)
    predicted = model.predict(X)
    scores = class_scores(model, spec, X)
    top_k, missing = None, None
    if scores is None:
        missing = f"{spec.name} gives labels, not class scores"
    elif scores.shape[1] != num_classes:
        # A linear classifier knows only the classes of its training labels.
        missing = f"the model scores only {scores.shape[1]} of the {num_classes} classes"
    else:
        top_k = {k: top_k_accuracy(y, scores, k) for k in TOP_K if k < num_classes}
    matrix = confusion_matrix(y, predicted, num_classes)
    if picture is not None:
        title = f"Confusion matrix, {split} split ({len(y)} examples)"
        picture = plot_confusion_matrix(matrix, names, picture, title=title)
    if gallery is not None and images is not None:
        gallery = plot_misclassified(images, y, predicted, names, gallery)
    else:
        gallery = None
    return ClassifierEvaluation(
        class_names=names,
        confusion=matrix,
        report=classification_report(y, predicted, num_classes),
        top_k=top_k,
        top_k_missing=missing,
        picture=picture,
        gallery=gallery,
        split=split,
    )
