"""Dropout as Modules, with PyTorch's convention: p is the probability of DROPPING a unit.

`Dropout(p=0.2)` matches `torch.nn.Dropout(p=0.2)`: each unit is zeroed with probability 0.2
in training and the kept ones are scaled by 1 / (1 - p) (inverted dropout), so evaluation mode
is the identity. The maths is the course's `dropout_forward`, whose `dropout_param['p']` is the
keep probability 1 - p. `Dropout2d` (torch.nn.Dropout2d) drops whole channels of (N, C, H, W)
maps, and `VanillaDropout` is the non-inverted form of the CS231n notes (no scaling in
training, times 1 - p in evaluation).

Every dropout module sets `monte_carlo = True`: Monte Carlo dropout (`predict(X, samples=K)`)
keeps exactly these modules stochastic while everything else runs in evaluation mode.
"""

from __future__ import annotations

import numpy as np

from ..layers import (
    dropout_backward,
    dropout_forward,
    spatial_dropout_backward,
    spatial_dropout_forward,
    vanilla_dropout_backward,
    vanilla_dropout_forward,
)
from .module import Module

__all__ = ["Dropout", "Dropout2d", "VanillaDropout"]


class Dropout(Module):
    """Inverted dropout; p = drop probability, as in torch.nn.Dropout."""

    monte_carlo = True
    _forward = staticmethod(dropout_forward)
    _backward = staticmethod(dropout_backward)

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
        out, self.cache = self._forward(x, self._dropout_param())
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the output's shape; returns dx."""
        return self._backward(dout, self.cache)

    def extra_repr(self) -> str:
        return f"p={self.p} (drop probability)"


class Dropout2d(Dropout):
    """Spatial dropout of whole channels, as torch.nn.Dropout2d; p = drop probability.

    forward: x (N, C, H, W) -> (N, C, H, W); each (example, channel) map is zeroed with
    probability p and the kept ones are scaled by 1 / (1 - p) in training.
    """

    _forward = staticmethod(spatial_dropout_forward)
    _backward = staticmethod(spatial_dropout_backward)


class VanillaDropout(Dropout):
    """Non-inverted dropout of the CS231n notes; p = drop probability.

    Training zeroes each unit with probability p without rescaling; evaluation multiplies by
    1 - p, the training output's expectation. Inverted `Dropout` times (1 - p) in both modes.
    """

    _forward = staticmethod(vanilla_dropout_forward)
    _backward = staticmethod(vanilla_dropout_backward)
