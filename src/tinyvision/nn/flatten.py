"""Flatten: reshape (N, d_1, ..., d_k) to (N, d_1 * ... * d_k), as torch.nn.Flatten() does."""

from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Flattens every dimension but the first; caches only the input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, d_1, ..., d_k); returns (N, d_1 * ... * d_k), a view when x is contiguous."""
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, d_1 * ... * d_k); returns dx (N, d_1, ..., d_k)."""
        return dout.reshape(self.cache)
