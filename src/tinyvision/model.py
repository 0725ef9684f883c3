"""The one model contract: what every object that holds parameters offers.

The course's classes (TwoLayerNet, FullyConnectedNet, ThreeLayerConvNet, CaptioningRNN, ...),
the Module API (`tinyvision.nn`), the transformer layers and the linear classifiers all answer
the same questions, so the Solver, checkpoints, run folders and commands treat them alike:

- `params`: learned arrays by name (the course's dict; the Solver updates its entries);
- `grads`: the gradient of each parameter from the last `loss(X, y)` / `backward` call;
- `buffers`: arrays that are state but not learned (batch-norm running statistics);
- `state_dict()` / `load_state_dict(state)`: copies of params and buffers, and back (strict:
  missing, unexpected and mis-shaped names are errors that name them);
- `train()` / `eval()`: switch `training`, returning the model;
- `predict(X)`: class labels (classifiers) or captions (captioning models);
  `predict(X, samples=K)` is Monte Carlo dropout for the nets with dropout: K stochastic passes
  (dropout on, everything else in evaluation mode) whose class probabilities give a mean and a
  spread (`MonteCarloPrediction`).

Seeding is the same everywhere: `seed=None` draws the initial weights from NumPy's global
generator (so `np.random.seed(231)` before building a model reproduces it, as the course
notebooks expect) and an integer seed gives the same model on every machine
(`tinyvision.init.make_rng`).

A course class keeps its own constructor and `params` dict; it inherits `Model`, records its
gradients in `self.grads` and, if it has buffers, overrides `buffers` and `_set_buffer`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Model", "MonteCarloPrediction", "check_state_dict"]


class MonteCarloPrediction(NamedTuple):
    """Monte Carlo dropout: class probabilities over K stochastic forward passes.

    mean: (N, C) float64, the mean over the passes of each class's softmax probability
    spread: (N, C) float64, their standard deviation (ddof 0): how much dropout moves them
    labels: (N,) int64, argmax of mean
    """

    mean: np.ndarray
    spread: np.ndarray
    labels: np.ndarray


def check_state_dict(
    state: Mapping[str, Any], expected: Mapping[str, np.ndarray], owner: str = "model"
) -> None:
    """Raise ValueError unless state has exactly the names and shapes of expected.

    state: name -> array to load; expected: name -> the model's current array
    owner: what the state is for, named in the message
    """
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"state_dict does not match the {owner}: missing {missing}, unexpected "
            f"{unexpected}; expected exactly {sorted(expected)}"
        )
    for name, current in expected.items():
        if np.shape(state[name]) != np.shape(current):
            raise ValueError(
                f"state_dict entry {name!r} has shape {np.shape(state[name])}, the {owner} "
                f"expects {np.shape(current)}"
            )


class Model:
    """The contract of the module docstring, for classes that keep a plain `params` dict."""

    params: dict[str, np.ndarray]
    training: bool = True

    @property
    def buffers(self) -> Mapping[str, np.ndarray]:
        """Non-learned state by name; none unless a subclass says otherwise."""
        return {}

    def _set_buffer(self, name: str, value: np.ndarray) -> None:
        """Store one buffer (a subclass with buffers overrides this)."""
        raise KeyError(f"{type(self).__name__} has no buffer {name!r}")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """The gradient of each parameter from the last loss(X, y) call ({} before one)."""
        return self.__dict__.get("_grads", {})

    @grads.setter
    def grads(self, grads: Mapping[str, np.ndarray]) -> None:
        self.__dict__["_grads"] = dict(grads)

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield (name, parameter array) pairs."""
        return iter(self.params.items())

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield (name, buffer array) pairs."""
        return iter(self.buffers.items())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by name."""
        state = {name: np.array(value, copy=True) for name, value in self.named_parameters()}
        state.update({name: np.array(value, copy=True) for name, value in self.named_buffers()})
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Replace parameters and buffers with copies of state's, cast to the model's dtypes.

        state: exactly the names and shapes of state_dict(); anything else is a ValueError
        """
        params, buffers = dict(self.named_parameters()), dict(self.named_buffers())
        check_state_dict(state, {**params, **buffers}, type(self).__name__)
        self.params = {
            name: np.array(state[name], dtype=value.dtype, copy=True)
            for name, value in params.items()
        }
        for name, value in buffers.items():
            self._set_buffer(name, np.array(state[name], dtype=value.dtype, copy=True))

    def train(self, mode: bool = True) -> Model:
        """Switch to training (True) or evaluation (False) behaviour; returns the model."""
        self.training = bool(mode)
        return self

    def eval(self) -> Model:
        """Switch to evaluation behaviour (no dropout, running statistics); returns the model."""
        return self.train(False)

    def predict(
        self, X: np.ndarray, batch_size: int = 500, samples: int | None = None
    ) -> np.ndarray | MonteCarloPrediction:
        """The most likely class of each input: argmax of the course's loss(X) scores.

        X: (N, ...) inputs as loss takes them; batch_size: inputs per forward pass
        samples: None for the deterministic prediction; K >= 1 for Monte Carlo dropout, K
            passes with fresh dropout masks from NumPy's global generator (np.random.seed
            makes them repeat), for a model with dropout (ValueError otherwise)
        returns (N,) int64 labels, or with samples a MonteCarloPrediction
        """
        if samples is not None:
            return self._monte_carlo_predict(X, batch_size, samples)
        scores = [self.loss(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        return np.argmax(np.concatenate(scores), axis=1).astype(np.int64)

    def _monte_carlo_scores(self, X: np.ndarray) -> np.ndarray:
        """(N, C) scores with dropout sampling and everything else in evaluation mode.

        Models with dropout override this; the rest cannot do Monte Carlo dropout.
        """
        raise ValueError(
            f"Monte Carlo dropout (predict with samples=K) needs dropout, and this "
            f"{type(self).__name__} has none; build it with dropout, or predict without samples"
        )

    def _monte_carlo_predict(
        self, X: np.ndarray, batch_size: int, samples: int
    ) -> MonteCarloPrediction:
        from tinyvision.layers.losses import log_softmax
        from tinyvision.validation import check_positive_int

        samples = check_positive_int(samples, "samples")
        means, spreads = [], []
        for i in range(0, len(X), batch_size):
            batch = X[i : i + batch_size]
            log_probs = [
                log_softmax(np.asarray(self._monte_carlo_scores(batch), dtype=np.float64), axis=1)
                for _ in range(samples)
            ]
            probs = np.exp(np.stack(log_probs))  # (K, B, C)
            means.append(probs.mean(axis=0))
            spreads.append(probs.std(axis=0))
        mean = np.concatenate(means)
        labels = mean.argmax(axis=1).astype(np.int64)
        return MonteCarloPrediction(mean, np.concatenate(spreads), labels)
