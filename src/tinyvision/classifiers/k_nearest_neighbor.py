"""k-nearest-neighbour classification with L2 or L1 distance (CS231n assignment 1).

The course API (`train`, `predict`, the three `compute_distances_*` functions and
`predict_labels`) is kept exactly. Beyond the course, `predict` computes distances in chunks of
test rows and keeps only the k nearest labels of each chunk, so the full CIFAR-10 problem
(50,000 x 10,000 images of 3,072 values) runs in bounded memory; `kneighbors` exposes the
sorted neighbour indices so that several values of k can share one distance computation.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike
from tqdm.auto import tqdm

from tinyvision.model import Model
from tinyvision.validation import (
    check_all_finite,
    check_float_array,
    check_labels,
    check_positive_int,
    check_same_length,
)

__all__ = ["KNearestNeighbor"]

logger = logging.getLogger(__name__)

Metric = Literal["l2", "l1"]

# Default working-set budget for one chunk of distances (and for the L1 broadcast blocks).
DEFAULT_CHUNK_BYTES = 128 * 2**20


class KNearestNeighbor(Model):
    """A kNN classifier: memorise the training set, vote among the k closest training points.

    metric: "l2" (Euclidean, the course's distance) or "l1" (Manhattan)
    dtype: floating dtype used to store and compare the data (e.g. np.float32 halves memory and
        time on CIFAR-10); None keeps floating inputs as they are and turns integers to float64
    chunk_bytes: memory budget for one block of distances and their neighbour indices in
        `predict` / `kneighbors`
    k: neighbours that vote when `predict` is called without k (the course passes k each time)

    It learns no parameters (params and state_dict are empty): the model is the memorised
    training set, which a run folder rebuilds from the data rather than storing.
    """

    def __init__(
        self,
        metric: Metric = "l2",
        dtype: DTypeLike | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        k: int = 1,
    ) -> None:
        if metric not in ("l2", "l1"):
            raise ValueError(f"metric must be 'l2' or 'l1', got {metric!r}")
        if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"dtype must be a floating dtype such as np.float32, got {dtype!r}")
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be a positive number of bytes, got {chunk_bytes}")
        self.k = check_positive_int(k, "k")
        self.params: dict[str, np.ndarray] = {}
        self.metric: Metric = metric
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.chunk_bytes = int(chunk_bytes)
        self.X_train: np.ndarray | None = None
        self.y_train: np.ndarray | None = None
        self._train_sq_norms: np.ndarray | None = None

    def train(self, X: np.ndarray | bool = True, y: np.ndarray | None = None) -> Any:
        """Memorise the training data.

        X: (num_train, D) array of training points (any real dtype)
        y: (num_train,) integer labels, y[i] is the label of X[i]

        Called without data (`train()` / `train(False)`) it is the model contract's mode switch
        and returns the classifier, which behaves the same in both modes.
        """
        if y is None and isinstance(X, bool):
            return super().train(X)
        X = self._as_data(X, "X")
        y = check_labels(y)
        check_same_length(X, y)
        if len(X) == 0:
            raise ValueError("X is empty; kNN needs at least one training example")
        self.X_train = X
        self.y_train = y
        # Cached once so every chunk of the no-loop L2 distance reuses the same ||b||^2.
        self._train_sq_norms = np.einsum("ij,ij->i", X, X) if self.metric == "l2" else None

    def predict(
        self,
        X: np.ndarray,
        k: int | None = None,
        num_loops: int = 0,
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Predict a label for each test point by majority vote of its k nearest neighbours.

        X: (num_test, D) test points
        k: number of neighbours that vote (None: the k given to the constructor, 1 by default);
            ties go to the smaller label
        num_loops: 0 (vectorised and chunked), 1 or 2 (the course's loop implementations, which
            build the full (num_test, num_train) distance matrix)
        chunk_size: test rows per distance block when num_loops == 0; None picks it from
            `chunk_bytes`
        returns y_pred, (num_test,) int64 labels
        """
        if num_loops not in (0, 1, 2):
            raise ValueError(f"num_loops must be 0, 1 or 2, got {num_loops}")
        X = self._check_test(X)
        k = self.k if k is None else k
        self._check_k(k)
        if num_loops == 0:
            return self.vote(self.y_train[self.kneighbors(X, k, chunk_size=chunk_size)])
        if num_loops == 1:
            dists = self.compute_distances_one_loop(X)
        else:
            dists = self.compute_distances_two_loops(X)
        return self.predict_labels(dists, k=k)

    def kneighbors(self, X: np.ndarray, k: int, chunk_size: int | None = None) -> np.ndarray:
        """Indices of the k nearest training points of each test point, nearest first.

        Distances are computed for `chunk_size` test rows at a time and only the k smallest
        of each row are kept, so memory stays at O(chunk_size * num_train). When several training
        points lie at exactly the k-th smallest distance, which of them is kept is unspecified.
        X: (num_test, D) test points
        k: neighbours per test point, 1 <= k <= num_train
        chunk_size: test rows per block; None picks it from `chunk_bytes`
        returns (num_test, k) int64 indices into the training set
        """
        X = self._check_test(X)
        self._check_k(k)
        num_train = len(self.X_train)
        if chunk_size is None:
            # Per distance: the value itself and the int64 index argpartition returns for it.
            chunk_size = max(1, self.chunk_bytes // (num_train * (X.itemsize + 8)))
        elif chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive number of rows, got {chunk_size}")
        neighbours = np.empty((len(X), k), dtype=np.int64)
        starts = range(0, len(X), chunk_size)
        if len(starts) > 1:
            logger.info(
                "kNN: distances from %d points to %d training points, in %d blocks",
                len(X),
                num_train,
                len(starts),
            )
        # A bar only for work of several blocks, and (disable=None) only on a terminal or in a
        # notebook, never in a pipe or a file.
        single = len(starts) == 1
        blocks = tqdm(
            starts, desc="kNN distances", unit="block", leave=False, disable=single or None
        )
        for start in blocks:
            dists = self._ranking_block(X[start : start + chunk_size])
            if k < num_train:
                nearest = np.argpartition(dists, k - 1, axis=1)[:, :k]
            else:
                nearest = np.broadcast_to(np.arange(num_train), dists.shape)
            order = np.argsort(np.take_along_axis(dists, nearest, axis=1), axis=1, kind="stable")
            neighbours[start : start + chunk_size] = np.take_along_axis(nearest, order, axis=1)
        return neighbours

    def compute_distances_two_loops(self, X: np.ndarray) -> np.ndarray:
        """Distances between each test and each training point, one pair at a time.

        X: (num_test, D) test points
        returns dists, (num_test, num_train); dists[i, j] is the distance from X[i] to
        X_train[j]
        """
        X = self._check_test(X)
        dists = np.zeros((len(X), len(self.X_train)), dtype=X.dtype)
        for i in range(len(X)):
            for j in range(len(self.X_train)):
                diff = X[i] - self.X_train[j]
                if self.metric == "l2":
                    dists[i, j] = np.sqrt(np.sum(diff * diff))
                else:
                    dists[i, j] = np.sum(np.abs(diff))
        return dists

    def compute_distances_one_loop(self, X: np.ndarray) -> np.ndarray:
        """Distances between each test and each training point, one test point at a time.

        X: (num_test, D) test points
        returns dists, (num_test, num_train)
        """
        X = self._check_test(X)
        dists = np.zeros((len(X), len(self.X_train)), dtype=X.dtype)
        for i in range(len(X)):
            diff = self.X_train - X[i]
            if self.metric == "l2":
                dists[i] = np.sqrt(np.sum(diff * diff, axis=1))
            else:
                dists[i] = np.sum(np.abs(diff), axis=1)
        return dists

    def compute_distances_no_loops(self, X: np.ndarray) -> np.ndarray:
        """All distances at once: L2 as sqrt(||a||^2 + ||b||^2 - 2 a.b), clamped at 0.

        X: (num_test, D) test points
        returns dists, (num_test, num_train)
        """
        return self._distance_block(self._check_test(X))

    def predict_labels(self, dists: np.ndarray, k: int = 1) -> np.ndarray:
        """Majority vote of the k nearest training labels for each row of a distance matrix.

        dists: (num_test, num_train) distances to the training points
        k: number of neighbours that vote; ties go to the smaller label, as with the course's
            np.argmax(np.bincount(...))
        returns y_pred, (num_test,) int64 labels
        """
        self._check_trained()
        dists = check_float_array(dists, "dists", 2)
        if dists.shape[1] != len(self.y_train):
            raise ValueError(
                f"dists has {dists.shape[1]} columns but there are {len(self.y_train)} training "
                "points; pass the (num_test, num_train) matrix from compute_distances_*"
            )
        self._check_k(k)
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
        return self.vote(self.y_train[nearest])

    @staticmethod
    def vote(labels: np.ndarray) -> np.ndarray:
        """Most frequent label in each row, the smallest one on ties.

        labels: (num_test, k) int labels of each test point's neighbours, e.g.
            y_train[kneighbors(X, k)], with k >= 1
        returns (num_test,) int64 labels
        """
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[1] == 0:
            raise ValueError(f"labels must be (num_test, k) with k >= 1, got {labels.shape}")
        labels = check_labels(labels.ravel(), name="labels").reshape(labels.shape)
        num_classes = int(labels.max()) + 1 if labels.size else 1
        offsets = (np.arange(len(labels)) * num_classes)[:, None]
        counts = np.bincount((labels + offsets).ravel(), minlength=len(labels) * num_classes)
        counts = counts.reshape(len(labels), num_classes)
        # argmax returns the first maximum, i.e. the smallest label among equally voted ones.
        return np.argmax(counts, axis=1).astype(np.int64)

    def _distance_block(self, X: np.ndarray) -> np.ndarray:
        """Vectorised distances from the rows of X to every training point."""
        if self.metric == "l2":
            sq = X @ self.X_train.T
            sq *= -2
            sq += np.einsum("ij,ij->i", X, X)[:, None]
            sq += self._train_sq_norms[None, :]
            # Cancellation in ||a||^2 + ||b||^2 - 2ab can leave tiny negatives for equal points.
            np.maximum(sq, 0, out=sq)
            return np.sqrt(sq, out=sq)
        return self._l1_block(X)

    def _ranking_block(self, X: np.ndarray) -> np.ndarray:
        """Values that order the training points of each row of X as their distances do.

        For L2 that is ||b||^2 - 2ab: the test point's own ||a||^2 shifts a whole row equally,
        and the square root keeps the order, so both are skipped on the largest matrix here.
        """
        if self.metric == "l2":
            scores = (X * X.dtype.type(-2)) @ self.X_train.T
            scores += self._train_sq_norms[None, :]
            return scores
        return self._l1_block(X)

    def _l1_block(self, X: np.ndarray) -> np.ndarray:
        """L1 distances by broadcasting, in train-row blocks so the 3-d temporary stays small."""
        num_train, dim = self.X_train.shape
        dists = np.empty((len(X), num_train), dtype=X.dtype)
        block = max(1, self.chunk_bytes // max(1, len(X) * dim * X.itemsize))
        for start in range(0, num_train, block):
            train_rows = self.X_train[start : start + block]
            diff = np.abs(X[:, None, :] - train_rows[None, :, :])
            dists[:, start : start + block] = diff.sum(axis=2)
        return dists

    def _as_data(self, X: np.ndarray, name: str) -> np.ndarray:
        if np.asarray(X).ndim != 2:
            raise ValueError(
                f"{name} must be 2-d (num_examples, num_features), got shape {np.shape(X)}; "
                f"flatten images first, e.g. {name}.reshape(len({name}), -1)"
            )
        X = check_float_array(X, name, 2)
        hint = "drop or impute those examples first"
        if self.dtype is not None and X.dtype != self.dtype:
            with np.errstate(over="ignore"):  # a value beyond the dtype's range is refused below
                X = X.astype(self.dtype)
            hint += f" (values beyond the range of {self.dtype} become inf)"
        # NaN distances compare false with everything, so NaN/inf rows would vote at random.
        return check_all_finite(X, name, hint=hint)

    def _check_trained(self) -> None:
        if self.X_train is None:
            raise ValueError("this KNearestNeighbor has no training data; call train(X, y) first")

    def _check_test(self, X: np.ndarray) -> np.ndarray:
        self._check_trained()
        X = self._as_data(X, "X")
        if X.shape[1] != self.X_train.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features per example but the training data has "
                f"{self.X_train.shape[1]}; preprocess test and training data the same way"
            )
        return X.astype(self.X_train.dtype, copy=False)

    def _check_k(self, k: int) -> None:
        self._check_trained()
        check_positive_int(k, "k")
        if k > len(self.X_train):
            raise ValueError(
                f"k={k} is larger than the training set ({len(self.X_train)} examples); "
                "use a smaller k or more training data"
            )
