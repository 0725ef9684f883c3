"""I2DL's logistic-regression `Classifier` (`exercise_code.networks.classifier`).

A thin adapter over `tinyvision.classifiers.logistic_regression.LogisticRegression`, whose
weights already have the exercise's layout: one (D + 1, 1) column `W` whose last row is the
bias. The exercise's usage::

    model = Classifier(num_features=1)
    model.initialize_weights()
    y_out = model.forward(X)            # (N, 1) probabilities sigmoid(X @ w + bias)
    dW = model.backward(dout)           # (D + 1, 1), dout = d loss / d y_out, (N, 1)
    Optimizer(model, learning_rate).step(dW)

forward and backward are the core's affine and sigmoid layers; being a LogisticRegression, the
model also trains with `tinyvision.solver.Solver` and answers predict / predict_proba / score.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyvision.classifiers.logistic_regression import LogisticRegression
from tinyvision.init import make_rng
from tinyvision.layers import affine_backward, sigmoid, sigmoid_backward, sigmoid_forward

from .base_networks import save_model

__all__ = ["Classifier"]

# The exercise draws its initial weights as 0.001 * N(0, 1).
_WEIGHT_SCALE = 1e-3


class Classifier(LogisticRegression):
    """y = sigmoid(X @ w + bias) with W = [w; bias], (num_features + 1, 1)."""

    def __init__(self, num_features: int = 2, seed: int | None = None) -> None:
        """num_features: D; seed: of the initial weights (None follows np.random.seed).

        Unlike the exercise (W is None until initialize_weights), W is drawn here already;
        initialize_weights draws it again or sets the given weights.
        """
        super().__init__(num_features, weight_scale=_WEIGHT_SCALE, seed=seed)
        self.model_name = "classifier"
        self.cache: tuple | None = None

    @property
    def W(self) -> np.ndarray:
        """The (num_features + 1, 1) weights, the last row the bias."""
        return self.params["W"]

    @W.setter
    def W(self, weights: np.ndarray) -> None:
        self.params["W"] = self._checked_weights(weights)

    def _checked_weights(self, weights: np.ndarray) -> np.ndarray:
        weights = np.asarray(weights, dtype=np.float64)
        expected = (self.num_features + 1, 1)
        if weights.shape != expected:
            raise ValueError(
                f"weights must have shape (num_features + 1, 1) = {expected} (the last row is "
                f"the bias), got {weights.shape}"
            )
        return weights

    def initialize_weights(self, weights: np.ndarray | None = None) -> None:
        """Set W to a copy of weights, or draw 0.001 * N(0, 1) (following np.random.seed).

        weights: (num_features + 1, 1) or None
        """
        if weights is None:
            shape = (self.num_features + 1, 1)
            self.W = _WEIGHT_SCALE * make_rng(None).standard_normal(shape)
        else:
            self.W = np.array(weights, dtype=np.float64, copy=True)

    def sigmoid(self, x: np.ndarray) -> np.ndarray:
        """The logistic function, elementwise and stable for any |x| (the core's)."""
        return sigmoid(x)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of class 1.

        X: (N, num_features) float inputs
        returns (N, 1) sigmoid(X @ w + bias); the caches of both layers go to self.cache
        """
        z, affine_cache = self._logits(self._check_features(X))
        out, sigmoid_cache = sigmoid_forward(z)
        self.cache = (affine_cache, sigmoid_cache)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Gradient of the loss with respect to W, from the last forward.

        dout: (N, 1) d loss / d output (e.g. a loss object's backward)
        returns dW (num_features + 1, 1), the bias gradient in the last row
        """
        if self.cache is None:
            raise ValueError("backward needs the cache of a forward pass; call forward(X) first")
        affine_cache, sigmoid_cache = self.cache
        dz = sigmoid_backward(np.asarray(dout, dtype=np.float64), sigmoid_cache)
        _, dw, db = affine_backward(dz, affine_cache)
        return np.concatenate([dw, db[None, :]], axis=0)

    def save_model(self, directory: str | os.PathLike = "models") -> Path:
        """Write the weights to directory/classifier.npz (arrays, never a pickle)."""
        return save_model(self.model_name, self.state_dict(), directory)
