"""Dropout as a Module, with PyTorch's convention: p is the probability of DROPPING a unit.

`Dropout(p=0.2)` matches `torch.nn.Dropout(p=0.2)`: each unit is zeroed with probability 0.2
in training and the kept ones are scaled by 1 / (1 - p) (inverted dropout), so evaluation mode
is the identity. The maths is the course's `dropout_forward`, whose `dropout_param['p']` is the
keep probability 1 - p.
"""

from __future__ import annotations

import numpy as np

from ..layers import dropout_backward, dropout_forward
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout; p = drop probability, as in torch.nn.Dropout."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        """Configure the layer; it has no parameters.

        p: probability of zeroing each unit, in [0, 1); 0 disables dropout
        seed: when given, NumPy's global generator is reseeded on every training forward (the
          course's dropout contract), so the mask is the same on every call: for gradient
          checks and tests, not for training
        """
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(
                f"Dropout p is the probability of dropping a unit (as in torch.nn.Dropout) and "
                f"must be in [0, 1), got {p}; use p=0 for no dropout"
            )
        self.p = float(p)
        self.seed = seed

    def _dropout_param(self) -> dict:
        param = {"mode": "train" if self.training else "test", "p": 1.0 - self.p}
        if self.seed is not None:
            param["seed"] = self.seed
        return param

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape; returns x's shape (the identity in evaluation mode)."""
        out, self.cache = dropout_forward(x, self._dropout_param())
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return dropout_backward(dout, self.cache)

    def extra_repr(self) -> str:
        return f"p={self.p} (drop probability)"
