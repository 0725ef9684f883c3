"""I2DL's network base class (`exercise_code.networks.base_networks`) and model saving.

`Network` is the base the exercises' own models derive from (a student's `MyOwnNetwork`): it
holds `model_name`, `cache` and `return_grad`, and calling it runs forward and, in training
mode, backward on the output, as the exercises' ``y, dy = model(X)`` expects.

`save_model` writes a model's arrays to ``models/<model_name>.npz`` (the exercises pickle the
whole object to ``models/<model_name>.p`` for submission; tinyvision never pickles a model, so
only arrays are saved, reloadable with `tinyvision.files.load_arrays` and `load_state_dict`).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.files import save_arrays
from tinyvision.layers import sigmoid_backward, sigmoid_forward

__all__ = ["DummyNetwork", "Network", "save_model"]


def save_model(
    model_name: str, arrays: Mapping[str, np.ndarray], directory: str | os.PathLike = "models"
) -> Path:
    """Write arrays to directory/<model_name>.npz atomically (the folder is created).

    model_name: the file's stem, e.g. "classifier"
    arrays: name -> array, e.g. a model's state_dict()
    directory: the folder, "models" as in the exercises
    returns the path written
    """
    if not model_name or any(sep in model_name for sep in ("/", "\\")):
        raise ValueError(
            f"model_name must be a plain file name such as 'classifier', got {model_name!r}"
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    return save_arrays(folder / f"{model_name}.npz", dict(arrays))


class Network(ABC):
    """Base class of I2DL models: subclasses define forward, backward and save_model."""

    def __init__(self, modelname: str = "model_name") -> None:
        """modelname: the name save_model uses for the file."""
        self.model_name = modelname
        self.return_grad = True
        self.cache: Any = None

    @abstractmethod
    def forward(self, X: np.ndarray) -> np.ndarray:
        """The forward pass; keeps in self.cache what backward needs."""

    @abstractmethod
    def backward(self, dout: np.ndarray) -> Any:
        """The backward pass from the cache of the last forward."""

    @abstractmethod
    def save_model(self, data: Any = None) -> Any:
        """Save what the model needs to be rebuilt."""

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """(forward(X), backward(output)) in training mode, (forward(X), None) in eval mode."""
        y = self.forward(X)
        return y, (self.backward(y) if self.return_grad else None)

    def train(self) -> None:
        """Training mode: calling the model also runs backward."""
        self.return_grad = True

    def eval(self) -> None:
        """Evaluation mode: calling the model runs forward only."""
        self.return_grad = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_name={self.model_name!r})"


class DummyNetwork(Network):
    """The exercises' first network: the elementwise sigmoid of its input."""

    def __init__(self, model_name: str = "dummy_model") -> None:
        super().__init__(model_name)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: float array of any shape; returns sigmoid(x), same shape."""
        out, self.cache = sigmoid_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: gradient of the output; returns dx = dout * s (1 - s)."""
        return sigmoid_backward(dout, self.cache)

    def save_model(self, data: Any = None, directory: str | os.PathLike = "models") -> Path:
        """The dummy has no parameters: writes an empty models/<model_name>.npz."""
        return save_model(self.model_name, {}, directory)
