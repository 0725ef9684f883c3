"""Elementwise activations as Modules: ReLU, LeakyReLU, Sigmoid and Tanh."""

from __future__ import annotations

import numpy as np

from ..layers import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .module import Module

__all__ = ["LeakyReLU", "ReLU", "Sigmoid", "Tanh"]


class ReLU(Module):
    """max(0, x), elementwise; no parameters."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape; returns x's shape."""
        out, self.cache = relu_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return relu_backward(dout, self.cache)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise; no parameters."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        """negative_slope: slope for negative inputs (torch's default 0.01)."""
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape; returns x's shape."""
        out, self.cache = leaky_relu_forward(x, self.negative_slope)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return leaky_relu_backward(dout, self.cache)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise; no parameters."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape; returns x's shape, values in [0, 1]."""
        out, self.cache = sigmoid_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return sigmoid_backward(dout, self.cache)


class Tanh(Module):
    """tanh(x), elementwise; no parameters."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape; returns x's shape, values in [-1, 1]."""
        out, self.cache = tanh_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return tanh_backward(dout, self.cache)
