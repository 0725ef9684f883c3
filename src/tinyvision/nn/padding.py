"""ZeroPad2d: zeros around the spatial axes (torch.nn.ZeroPad2d with one int)."""

from __future__ import annotations

import numpy as np

from ..layers import zero_pad_backward, zero_pad_forward
from ..validation import check_non_negative_int
from .module import Module

__all__ = ["ZeroPad2d"]


class ZeroPad2d(Module):
    """Pads `padding` zeros on each side of H and W; no parameters.

    Before a stride-1 max pool of side 2 * padding + 1 it keeps the size, like torch's
    MaxPool2d(padding=...), whose padding is -inf instead: the two agree on non-negative
    inputs (after a ReLU).
    """

    def __init__(self, padding: int) -> None:
        """padding: zeros added on each side, >= 0."""
        super().__init__()
        self.padding = check_non_negative_int(padding, "padding")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, C, H + 2 * padding, W + 2 * padding)."""
        if np.ndim(x) != 4:
            raise ValueError(f"ZeroPad2d needs (N, C, H, W) inputs, got shape {np.shape(x)}")
        out, self.cache = zero_pad_forward(x, self.padding)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H + 2 * padding, W + 2 * padding); returns dx (N, C, H, W)."""
        return zero_pad_backward(dout, self.cache)

    def extra_repr(self) -> str:
        return f"{self.padding}"
