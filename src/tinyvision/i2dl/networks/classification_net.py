"""I2DL's `ClassificationNet` (`exercise_code.networks.classification_net`).

A thin adapter over `tinyvision.classifiers.classification_net.ClassificationNet` (a
Sequential of Linear layers and activations, with raw scores out of the last layer) that adds
what the exercise's Solver and notebooks use:

- ``activation`` may be an exercise activation, an instance as the notebooks pass it
  (``Relu()``, ``LeakyRelu(slope=0.1)``) or its class; it becomes the core's Module (ReLU,
  LeakyReLU(negative_slope), Sigmoid, Tanh). Any other object with the exercise's
  ``forward(x) -> (out, cache)`` / ``backward(dout, cache)`` (your own activation) is wrapped
  in a Module. The core's Module classes and names ("relu") work too.
- ``forward(X)`` also fills ``model.reg`` with each weight's L2 penalty ``reg * sum(W * W)``
  (the exercise's scale; the Solver adds ``sum(model.reg.values())`` to the loss) and
  ``backward(dout)`` adds its gradient ``2 * reg * W`` and returns ``model.grads``.
  ``reg_strength`` holds the strength. ``loss(X, y)`` (for `tinyvision.solver.Solver`) uses
  the same penalty.
- ``get_dataset_prediction(loader)`` and ``save_model()``.

Parameters keep the core's names ("0.W", "0.b", "2.W", ...; the exercise says "W1", "b1",
"W2"). Keyword arguments the network does not use are ignored, as in the exercise, whose
hyperparameter search passes one config dict to both the network and the Solver.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classifiers.classification_net import ClassificationNet as CoreClassificationNet
from tinyvision.layers import l2_regularization, softmax_loss
from tinyvision.nn import LeakyReLU, Module, ReLU, Sigmoid, Tanh
from tinyvision.validation import check_non_negative

from . import layer
from .base_networks import save_model

__all__ = ["ClassificationNet"]

# The exercise's activation classes and the core Modules that compute the same function.
_CORE_MODULES: dict[type, type[Module]] = {
    layer.Sigmoid: Sigmoid,
    layer.Relu: ReLU,
    layer.Tanh: Tanh,
}
# Arguments of the core network that the adapter passes on; the others are ignored.
_CORE_OPTIONS = ("loss", "weight_init", "seed", "dtype")


class _CourseActivation(Module):
    """A Module around an exercise-style activation object (forward -> (out, cache))."""

    def __init__(self, activation: Any) -> None:
        super().__init__()
        self.activation = activation

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self.cache = self.activation.forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.activation.backward(dout, self.cache)

    def extra_repr(self) -> str:
        return type(self.activation).__name__


def _activation_factory(activation: Any) -> Any:
    """What the core network builds each activation from (see the module docstring)."""
    if isinstance(activation, type) and activation in (*_CORE_MODULES, layer.LeakyRelu):
        activation = activation()
    if isinstance(activation, layer.LeakyRelu):
        return functools.partial(LeakyReLU, activation.slope)
    if type(activation) in _CORE_MODULES:
        return _CORE_MODULES[type(activation)]
    is_course_style = callable(getattr(activation, "forward", None)) and callable(
        getattr(activation, "backward", None)
    )
    if is_course_style and not isinstance(activation, (type, Module)):
        return functools.partial(_CourseActivation, activation)
    return activation


class ClassificationNet(CoreClassificationNet):
    """The exercise's fully-connected classifier: (Linear - activation) x (num_layer - 1) -
    Linear, scores out."""

    def __init__(
        self,
        activation: Any = None,
        num_layer: int = 2,
        input_size: int = 3 * 32 * 32,
        hidden_size: int = 100,
        std: float = 1e-3,
        num_classes: int = 10,
        reg: float = 0,
        **kwargs: Any,
    ) -> None:
        """Build the network; weights std * N(0, 1), biases 0, as the exercise does.

        activation: an exercise activation instance or class (default Sigmoid()), a core
          Module class, its name, or a function returning a Module
        num_layer: Linear layers, >= 1; input_size: D; hidden_size: H; num_classes: C
        std: standard deviation of the initial weights
        reg: L2 strength, penalty reg * sum(W * W) per weight matrix (biases are not penalised)
        kwargs: the core's loss, weight_init, seed and dtype; anything else is ignored
        """
        reg_strength = check_non_negative(reg, "reg", hint="it is the L2 strength")
        core_options = {key: kwargs[key] for key in _CORE_OPTIONS if key in kwargs}
        super().__init__(
            activation=_activation_factory(layer.Sigmoid() if activation is None else activation),
            num_layer=num_layer,
            input_size=input_size,
            hidden_size=hidden_size,
            std=std,
            num_classes=num_classes,
            reg=0,  # the exercise's penalty is added here, at its own scale
            **core_options,
        )
        self.model_name = "cifar10_classification_net"
        self.reg_strength = reg_strength
        self.reg: dict[str, float] = {}

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Class scores of X (N, d_1, ..., d_k) flattened per example, (N, num_classes).

        Also sets self.reg: weight name -> reg * sum(W * W).
        """
        scores = super().forward(X)
        params = self.params
        self.reg = {
            name: float(l2_regularization(params[name], self.reg_strength, scale=1.0)[0])
            for name in self.regularized_names()
        }
        return scores

    def backward(self, dout: np.ndarray) -> dict[str, np.ndarray]:
        """dout: (N, num_classes) d loss / d scores; returns grads, with 2 * reg * W added."""
        super().backward(dout)
        params = self.params
        for name in self.regularized_names():
            _, dw = l2_regularization(params[name], self.reg_strength, scale=1.0)
            store, leaf = self._locate(name, "grads")
            store[leaf] = store[leaf] + dw
        return self.grads

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """The course model interface with the exercise's penalty.

        X: (N, ...) inputs; y: (N,) integer labels or None
        returns scores (N, C) in evaluation mode when y is None, else (softmax cross-entropy
        + sum(self.reg.values()), grads) from a training-mode pass
        """
        if y is None:
            return super().loss(X)
        scores = self._forward_in_mode(X, training=True)
        data_loss, dscores = softmax_loss(scores, y)
        grads = self.backward(dscores)
        return float(data_loss + sum(self.reg.values())), grads

    def get_dataset_prediction(
        self, loader: Iterable[Mapping[str, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Labels, predicted classes and accuracy over a loader of {"image", "label"} batches.

        returns labels (M,), predictions (M,) int64 (argmax of the scores), accuracy in [0, 1]
        """
        labels, predictions = [], []
        for batch in loader:
            labels.append(np.asarray(batch["label"]).reshape(-1))
            predictions.append(np.argmax(self.loss(np.asarray(batch["image"])), axis=1))
        if not labels:
            raise ValueError("get_dataset_prediction got a loader that yielded no batches")
        all_labels, all_predictions = np.concatenate(labels), np.concatenate(predictions)
        return all_labels, all_predictions, float(np.mean(all_labels == all_predictions))

    def save_model(self, directory: str | os.PathLike = "models") -> Path:
        """Write state_dict() to directory/cifar10_classification_net.npz (never a pickle)."""
        return save_model(self.model_name, self.state_dict(), directory)

    def extra_repr(self) -> str:
        return f"reg={self.reg_strength}"
