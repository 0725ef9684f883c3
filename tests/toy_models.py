"""Tiny NumPy models with the course interface, for the optimiser and Solver tests.

`SoftmaxRegression` is linear softmax classification: params W (D, C) and b (C,), loss(X, y)
returning (loss, grads) in train mode and scores in test mode. Options make it misbehave on
purpose: `sleep` slows train-mode calls (for the kill/resume test), `nan_after` makes the loss
NaN from that train call on, `grad_noise` adds noise drawn from numpy's legacy global RNG (as
course dropout does), and `track_mean` keeps a running mean of the inputs as a buffer.
"""

from __future__ import annotations

import time

import numpy as np

from tinyvision.model import Model

__all__ = ["SoftmaxRegression", "blobs", "toy_solver"]


def blobs(n: int, d: int = 5, c: int = 3, seed: int = 0, spread: float = 0.3):
    """Linearly separable Gaussian blobs: X (n, d) float64 and y (n,) int64 labels."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((c, d))
    y = rng.integers(0, c, size=n)
    X = centres[y] + spread * rng.standard_normal((n, d))
    return X, y


class SoftmaxRegression(Model):
    """Softmax regression on the model contract (params dict, loss(X, y=None), buffers)."""

    def __init__(
        self,
        d: int = 5,
        c: int = 3,
        seed: int = 0,
        sleep: float = 0.0,
        nan_after: int | None = None,
        grad_noise: float = 0.0,
        track_mean: bool = False,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.params = {"W": 0.01 * rng.standard_normal((d, c)), "b": np.zeros(c)}
        self.sleep, self.nan_after, self.grad_noise = sleep, nan_after, grad_noise
        self.train_calls = 0
        self._buffers = {"running_mean": np.zeros(d)} if track_mean else {}

    @property
    def buffers(self):
        return self._buffers

    def _set_buffer(self, name, value):
        self._buffers[name] = value

    def loss(self, X, y=None):
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        self.train_calls += 1
        if self.sleep:
            time.sleep(self.sleep)
        if self._buffers:
            self._buffers["running_mean"] = 0.9 * self._buffers["running_mean"] + 0.1 * X.mean(0)
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        N = len(X)
        loss = -log_probs[np.arange(N), y].mean()
        dscores = np.exp(log_probs)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W": X.T @ dscores, "b": dscores.sum(axis=0)}
        if self.grad_noise:
            grads["W"] = grads["W"] + self.grad_noise * np.random.randn(*grads["W"].shape)
        if self.nan_after is not None and self.train_calls > self.nan_after:
            loss = float("nan")
        return loss, grads


def toy_solver(model_kwargs: dict | None = None, **solver_kwargs):
    """A Solver on 200/100 blob examples with SoftmaxRegression; kwargs go to the Solver."""
    from tinyvision.solver import Solver

    X, y = blobs(300, seed=0)
    data = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:], "y_val": y[200:]}
    solver_kwargs.setdefault("verbose", False)
    return Solver(SoftmaxRegression(**(model_kwargs or {})), data, **solver_kwargs)
