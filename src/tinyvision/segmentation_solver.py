"""SegmentationSolver: the one Solver loop for models that label every pixel.

What changes from the classification Solver: the targets are (N, H, W) label images with a
void label (-1, tinyvision.data.segmentation.VOID) that no score is asked for, and the
per-epoch metric that picks the best parameters and drives early stopping is `pixel_accuracy`,
the fraction of non-void pixels predicted right (on at most num_train_samples training images,
drawn with the Solver's Generator, and every validation image). Minibatches, update rules,
schedules, clipping, checkpoints and resume are the Solver's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from tinyvision.data.segmentation import VOID
from tinyvision.solver import Solver
from tinyvision.validation import check_float_array

__all__ = ["SegmentationSolver", "pixel_accuracy"]


def pixel_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """The fraction of non-void pixels whose predicted label is the target label.

    predicted: (...) int labels; target: (...) int labels of the same shape, -1 for void
    returns a float in [0, 1]; nan when every target pixel is void
    """
    labelled = target != VOID
    count = int(labelled.sum())
    if count == 0:
        return float("nan")
    return float((predicted[labelled] == target[labelled]).sum() / count)


class SegmentationSolver(Solver):
    """Train a segmentation model (scores (N, K, H, W) from loss(X)) on label images.

    data: {"X_train", "y_train", "X_val", "y_val"}: X (N, C, H, W) float images, y (N, H, W)
        integer labels in [0, K) or -1 (void); arrays only (no loaders)
    Keyword arguments: the Solver's (see tinyvision.solver.Solver); num_train_samples counts
    images.
    """

    metric_name: ClassVar[str] = "pixel_acc"

    def _check_model_and_data(self, model: Any, data: Mapping[str, Any]) -> None:
        if not isinstance(getattr(model, "params", None), Mapping) or not callable(
            getattr(model, "loss", None)
        ):
            raise ValueError("model must have a params dict and a loss(X, y=None) method")
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(
                f"data is missing {missing}; a SegmentationSolver takes X_train, y_train, X_val "
                "and y_val arrays"
            )
        self.train_loader = self.val_loader = None
        for split in ("train", "val"):
            x = check_float_array(data[f"X_{split}"], f"X_{split}", 4)
            y = np.asarray(data[f"y_{split}"])
            if y.shape != (x.shape[0], *x.shape[2:]):
                raise ValueError(
                    f"y_{split} must be (N, H, W) = {(x.shape[0], *x.shape[2:])}, a label per "
                    f"pixel of X_{split} {x.shape}, got shape {y.shape}"
                )
            if y.dtype.kind not in "iu":
                raise ValueError(f"y_{split} must hold integer labels, got dtype {y.dtype}")
            if len(x) == 0:
                raise ValueError(f"X_{split} is empty; the Solver needs at least one example")
            setattr(self, f"X_{split}", x)
            setattr(self, f"y_{split}", y.astype(np.int64, copy=False))
        # One evaluation-mode pass says how many classes the model scores.
        num_classes = np.shape(model.loss(self.X_val[:1]))[1]
        for split in ("train", "val"):
            y = getattr(self, f"y_{split}")
            bad = (y != VOID) & ((y < 0) | (y >= num_classes))
            if bad.any():
                raise ValueError(
                    f"y_{split} holds the label {y[bad][0]}, but the model scores "
                    f"{num_classes} classes (labels 0..{num_classes - 1}, {VOID} for void); "
                    "build it with as many classes as the data has"
                )

    def check_pixel_accuracy(
        self,
        X: np.ndarray,
        y: np.ndarray,
        num_samples: int | None = None,
        batch_size: int = 16,
    ) -> float:
        """Pixel accuracy of the model's predictions on images X (N, C, H, W), labels y (N, H, W).

        num_samples: if given and N is larger, that many images drawn with the Solver's
            Generator; batch_size: images per forward pass
        """
        if num_samples is not None and len(X) > num_samples:
            mask = self.rng.choice(len(X), num_samples)
            X, y = X[mask], y[mask]
        predicted = [
            np.argmax(self.model.loss(X[i : i + batch_size]), axis=1)
            for i in range(0, len(X), batch_size)
        ]
        return pixel_accuracy(np.concatenate(predicted), y)

    def _scores(self) -> tuple[float, float]:
        """Train and val pixel accuracy."""
        train = self.check_pixel_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val = self.check_pixel_accuracy(self.X_val, self.y_val, self.num_val_samples)
        return train, val
