"""I2DL's activation layers (`exercise_code.networks.layer`), over `tinyvision.layers`.

Each class has the exercise's interface: ``out, cache = layer.forward(x)`` and
``dx = layer.backward(dout, cache)``; the state lives in the cache the caller keeps, so one
instance serves every position in a network. The maths is the core's (`sigmoid_forward`,
`relu_forward`, ...); `affine_forward` / `affine_backward` are re-exported from there too, as
the exercise's module defines them.

Example (as the exercise notebook uses them)::

    relu = Relu()
    out, cache = relu.forward(x)
    dx = relu.backward(dout, cache)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyvision.layers import (
    affine_backward,
    affine_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from tinyvision.validation import check_non_negative

__all__ = ["LeakyRelu", "Relu", "Sigmoid", "Tanh", "affine_backward", "affine_forward"]


class Sigmoid:
    """1 / (1 + exp(-x)), elementwise (stable for any |x|)."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        """x: float array of any shape; returns out (x's shape and dtype), cache."""
        return sigmoid_forward(x)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """dout: gradient of out; cache: from forward; returns dx (x's shape)."""
        return sigmoid_backward(dout, cache)


class Relu:
    """max(0, x), elementwise."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        """x: float array of any shape; returns out (x's shape and dtype), cache."""
        return relu_forward(x)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """dout: gradient of out; cache: from forward; returns dx (x's shape)."""
        return relu_backward(dout, cache)


class LeakyRelu:
    """x for x > 0, slope * x otherwise, elementwise."""

    def __init__(self, slope: float = 0.01) -> None:
        """slope: the slope for negative inputs, >= 0 (the exercise's default 0.01)."""
        self.slope = check_non_negative(slope, "slope", hint="it is the slope for x < 0")

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        """x: float array of any shape; returns out (x's shape and dtype), cache."""
        return leaky_relu_forward(x, self.slope)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """dout: gradient of out; cache: from forward; returns dx (x's shape)."""
        return leaky_relu_backward(dout, cache)


class Tanh:
    """tanh(x), elementwise."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        """x: float array of any shape; returns out (x's shape and dtype), cache."""
        return tanh_forward(x)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """dout: gradient of out; cache: from forward; returns dx (x's shape)."""
        return tanh_backward(dout, cache)
