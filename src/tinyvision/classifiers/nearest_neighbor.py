"""The L1 nearest-neighbour classifier of the CS231n notes ("Image classification").

The notes' `NearestNeighbor` memorises the training set and labels each test image with the
label of the training image at the smallest L1 distance. Here it is KNearestNeighbor with the
L1 metric and k = 1; only `predict` is its own, to keep the notes' tie rule (np.argmin: the
earliest training image among equally close ones) while computing distances in bounded chunks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from tinyvision.classifiers.k_nearest_neighbor import DEFAULT_CHUNK_BYTES, KNearestNeighbor

__all__ = ["NearestNeighbor"]


class NearestNeighbor(KNearestNeighbor):
    """1-nearest-neighbour classifier with L1 (Manhattan) distance: `train(X, y)`, `predict(X)`.

    dtype: floating dtype the data is stored and compared in; None keeps floating inputs and
        turns integers (e.g. uint8 pixels) to float64, so differences never wrap around
    chunk_bytes: memory budget for one block of test x train distances in `predict`
    """

    def __init__(
        self, dtype: DTypeLike | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> None:
        super().__init__(metric="l1", dtype=dtype, chunk_bytes=chunk_bytes, k=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label of the nearest training point (L1) of every row of X.

        X: (num_test, D) test points, as many features as the training data
        returns (num_test,) int64 labels; among equally distant training points the one seen
            first in training wins, as np.argmin does in the notes
        """
        X = self._check_test(X)
        rows = max(1, self.chunk_bytes // (len(self.X_train) * X.itemsize))
        labels = np.empty(len(X), dtype=np.int64)
        for start in range(0, len(X), rows):
            dists = self.compute_distances_no_loops(X[start : start + rows])
            labels[start : start + rows] = self.y_train[np.argmin(dists, axis=1)]
        return labels
