"""Choosing hyperparameters on held-out data: k-fold cross-validation for kNN, and grid or
random search over learning rate and regularisation strength (CS231n assignment 1).

`cross_validate_knn` splits the data into folds with np.array_split, as the course does, and
computes each fold's neighbours once for the largest k, so trying many k costs about as much as
trying one. `search_hyperparameters` is the course's validation loop made reusable: the caller
supplies a function that builds and trains a model for one (learning rate, regularisation)
pair, and the search scores it on the training and validation sets.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple, Protocol

import numpy as np

from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor, Metric
from tinyvision.validation import (
    check_float_array,
    check_labels,
    check_positive_int,
    check_same_length,
)

__all__ = [
    "MakeAndTrain",
    "Predictor",
    "SearchResult",
    "cross_validate_knn",
    "search_hyperparameters",
]

logger = logging.getLogger(__name__)


def cross_validate_knn(
    X: np.ndarray,
    y: np.ndarray,
    k_choices: Sequence[int],
    num_folds: int = 5,
    metric: Metric = "l2",
) -> dict[int, list[float]]:
    """k-fold cross-validation of a kNN classifier for several k.

    Fold i (of np.array_split(X, num_folds)) is held out and the other folds are the training
    set; every k is scored on the held-out fold.
    X: (N, D) float data
    y: (N,) int labels
    k_choices: values of k to try, each between 1 and the size of the smallest training split
    num_folds: number of folds, 2 <= num_folds <= N
    metric: "l2" or "l1", passed to KNearestNeighbor
    returns {k: [accuracy on fold 0, ..., accuracy on fold num_folds - 1]}
    """
    X = check_float_array(X, "X", 2)
    y = check_labels(y)
    check_same_length(X, y)
    if not 2 <= num_folds <= len(X):
        raise ValueError(
            f"num_folds must be between 2 and the number of examples ({len(X)}), got {num_folds}"
        )
    k_choices = list(k_choices)
    if not k_choices:
        raise ValueError("k_choices is empty; pass at least one k")
    smallest_train = len(X) - math.ceil(len(X) / num_folds)
    for k in k_choices:
        check_positive_int(k, "each k in k_choices")
        if k > smallest_train:
            raise ValueError(
                f"k={k} exceeds the smallest training split ({smallest_train} examples with "
                f"{num_folds} folds); use smaller k or fewer folds"
            )

    X_folds = np.array_split(X, num_folds)
    y_folds = np.array_split(y, num_folds)
    k_max = max(k_choices)
    k_to_accuracies: dict[int, list[float]] = {k: [] for k in k_choices}
    for fold in range(num_folds):
        classifier = KNearestNeighbor(metric=metric)
        classifier.train(
            np.concatenate(X_folds[:fold] + X_folds[fold + 1 :]),
            np.concatenate(y_folds[:fold] + y_folds[fold + 1 :]),
        )
        # Neighbours are sorted by distance, so the k nearest are a prefix of the k_max nearest.
        neighbour_labels = classifier.y_train[classifier.kneighbors(X_folds[fold], k_max)]
        for k in k_choices:
            y_pred = classifier.vote(neighbour_labels[:, :k])
            k_to_accuracies[k].append(float(np.mean(y_pred == y_folds[fold])))
        logger.info("fold %d / %d done", fold + 1, num_folds)
    return k_to_accuracies


class Predictor(Protocol):
    """Anything with predict(X) -> labels, e.g. LinearSVM, Softmax or KNearestNeighbor."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels, (N,) ints, for the (N, ...) examples X."""


MakeAndTrain = Callable[[float, float], Predictor | None]
"""make_and_train(learning_rate, reg) -> a trained model for that pair of hyperparameters, or
None when training failed for that pair (e.g. the loss diverged)."""


class SearchResult(NamedTuple):
    """Outcome of search_hyperparameters; unpacks as (results, best_val, best_model)."""

    results: dict[tuple[float, float], tuple[float, float]]
    """{(learning_rate, reg): (train_accuracy, val_accuracy)} for every pair tried; NaN for
    the pairs whose training failed."""
    best_val: float
    """The highest validation accuracy."""
    best_model: Predictor
    """The model that reached best_val (the first one, on ties)."""

    @property
    def best_params(self) -> tuple[float, float]:
        """(learning_rate, reg) of best_model."""
        return next(pair for pair, (_, val) in self.results.items() if val == self.best_val)


def search_hyperparameters(
    make_and_train: MakeAndTrain,
    learning_rates: Sequence[float],
    regularization_strengths: Sequence[float],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    search: Literal["grid", "random"] = "grid",
    num_samples: int = 10,
    seed: int | None = None,
) -> SearchResult:
    """Train one model per (learning rate, regularisation) pair and keep the best on validation.

    make_and_train: builds and trains a model for one pair, reading the data it trains on
        from its closure, e.g.

            def make_and_train(lr, reg):
                svm = LinearSVM(seed=0)
                svm.train(X_train, y_train, learning_rate=lr, reg=reg, num_iters=1500)
                return svm

        It may return None to say the pair failed (the loss diverged): the search records it
        with NaN accuracies and goes on.
    learning_rates, regularization_strengths: with search="grid", the values to combine (every
        pair is tried); with search="random", two positive bounds (low, high) each, between
        which num_samples pairs are drawn log-uniformly
    X_train, y_train: (N, ...) examples and (N,) labels the training accuracy is measured on
    X_val, y_val: (M, ...) examples and (M,) labels that choose the best model
    search: "grid" or "random"
    num_samples: number of random pairs (ignored for grid search)
    seed: seed of the random search's sampler
    returns SearchResult(results, best_val, best_model)
    """
    y_train = check_labels(y_train, name="y_train")
    y_val = check_labels(y_val, name="y_val")
    check_same_length(X_train, y_train, "X_train", "y_train")
    check_same_length(X_val, y_val, "X_val", "y_val")
    if len(y_val) == 0:
        raise ValueError("the validation set is empty; the search needs examples to choose by")
    pairs = _candidate_pairs(learning_rates, regularization_strengths, search, num_samples, seed)

    results: dict[tuple[float, float], tuple[float, float]] = {}
    best_val = -1.0
    best_model: Predictor | None = None
    for lr, reg in pairs:
        model = make_and_train(lr, reg)
        if model is None:
            results[(lr, reg)] = (math.nan, math.nan)
            logger.warning("lr %e reg %e: training failed, pair skipped", lr, reg)
            continue
        train_acc = float(np.mean(model.predict(X_train) == y_train)) if len(y_train) else 0.0
        val_acc = float(np.mean(model.predict(X_val) == y_val))
        results[(lr, reg)] = (train_acc, val_acc)
        logger.info("lr %e reg %e train accuracy: %f val accuracy: %f", lr, reg, *results[lr, reg])
        if val_acc > best_val:
            best_val, best_model = val_acc, model
    if best_model is None:
        raise ValueError(
            f"training failed for every one of the {len(pairs)} pairs tried (the loss "
            "diverged); search smaller learning rates"
        )
    return SearchResult(results, best_val, best_model)


def _candidate_pairs(
    learning_rates: Sequence[float],
    regularization_strengths: Sequence[float],
    search: str,
    num_samples: int,
    seed: int | None,
) -> list[tuple[float, float]]:
    """The (learning rate, reg) pairs to try, validated."""
    learning_rates = [float(v) for v in learning_rates]
    regs = [float(v) for v in regularization_strengths]
    if search == "grid":
        if not learning_rates or not regs:
            raise ValueError("grid search needs at least one learning rate and one reg value")
        return [(lr, reg) for lr in learning_rates for reg in regs]
    if search != "random":
        raise ValueError(f"search must be 'grid' or 'random', got {search!r}")
    check_positive_int(num_samples, "num_samples")
    for name, bounds in (("learning_rates", learning_rates), ("regularization_strengths", regs)):
        if len(bounds) != 2 or not 0 < bounds[0] <= bounds[1]:
            raise ValueError(
                f"random search takes {name} as two positive bounds (low, high) with "
                f"low <= high, got {bounds}"
            )
    rng = np.random.default_rng(seed)
    log_lr = rng.uniform(np.log(learning_rates[0]), np.log(learning_rates[1]), num_samples)
    log_reg = rng.uniform(np.log(regs[0]), np.log(regs[1]), num_samples)
    return [(float(a), float(b)) for a, b in zip(np.exp(log_lr), np.exp(log_reg), strict=True)]
