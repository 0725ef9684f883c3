"""Dropout as a Module, with the course's convention: p is the probability of KEEPING a unit.

Beware: torch.nn.Dropout(p) takes the probability of *dropping* a unit, so our Dropout(p=0.8)
matches torch.nn.Dropout(p=0.2). Dropout is inverted (kept units are scaled by 1 / p in
training), so evaluation mode is the identity.
"""

from __future__ import annotations

import numpy as np

from ..layers import dropout_backward, dropout_forward
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout; p = keep probability (course convention, NOT torch's drop probability)."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        """Configure the layer; it has no parameters.

        p: probability of keeping each unit, in (0, 1] (torch's Dropout(p) equals our 1 - p)
        seed: when given, NumPy's global generator is reseeded on every training forward (the
          course's dropout contract), so the mask is the same on every call: for gradient
          checks and tests, not for training
        """
        super().__init__()
        if not 0 < p <= 1:
            raise ValueError(
                f"Dropout p is the probability of keeping a unit and must be in (0, 1], got {p}; "
                "use p=1 for no dropout (note: torch's p is the drop probability, ours is 1 - p)"
            )
        self.p = float(p)
        self.seed = seed

    def _dropout_param(self) -> dict:
        param = {"mode": "train" if self.training else "test", "p": self.p}
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
        return f"p={self.p} (keep probability)"
