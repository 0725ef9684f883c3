"""Activations as Modules: ReLU, LeakyReLU, RReLU, Sigmoid, Tanh and Maxout."""

from __future__ import annotations

import numpy as np

from ..layers import (
    leaky_relu_backward,
    leaky_relu_forward,
    maxout_backward,
    maxout_forward,
    relu_backward,
    relu_forward,
    rrelu_backward,
    rrelu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from ..validation import check_positive_int
from .module import Module

__all__ = ["LeakyReLU", "Maxout", "RReLU", "ReLU", "Sigmoid", "Tanh"]


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


class RReLU(Module):
    """Randomized leaky ReLU, as torch.nn.RReLU; no parameters.

    Training mode draws each negative input's slope uniformly from [lower, upper]; evaluation
    mode uses the mean slope (lower + upper) / 2.
    """

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, seed: int | None = None) -> None:
        """lower, upper: the slope range, 0 <= lower <= upper (torch's defaults 1/8 and 1/3)
        seed: when given, NumPy's global generator is reseeded on every training forward, so
          the slopes repeat (for gradient checks and tests, not for training)
        """
        super().__init__()
        if not 0 <= lower <= upper:
            raise ValueError(f"RReLU needs 0 <= lower <= upper, got lower={lower}, upper={upper}")
        self.lower, self.upper, self.seed = float(lower), float(upper), seed

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape; returns x's shape."""
        param = {"mode": "train" if self.training else "test"}
        param.update(lower=self.lower, upper=self.upper)
        if self.seed is not None:
            param["seed"] = self.seed
        out, self.cache = rrelu_forward(x, param)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return rrelu_backward(dout, self.cache)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


class Maxout(Module):
    """The largest of k pieces per unit along axis 1; no parameters.

    Put it after a Linear (or Conv2d) with k times the units: Linear(D, H * k), Maxout(k) is a
    layer of H maxout neurons. forward: (N, H * k[, h, w]) -> (N, H[, h, w]).
    """

    def __init__(self, pieces: int) -> None:
        """pieces: k >= 1, the affine pieces per unit."""
        super().__init__()
        self.pieces = check_positive_int(pieces, "pieces")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, H * k) or (N, C * k, h, w); returns (N, H) or (N, C, h, w)."""
        out, self.cache = maxout_forward(x, self.pieces)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx of the input's shape."""
        return maxout_backward(dout, self.cache)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"
