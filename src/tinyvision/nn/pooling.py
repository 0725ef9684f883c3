"""Pooling Modules: MaxPool2d, AvgPool2d and GlobalAvgPool2d over (N, C, H, W) inputs."""

from __future__ import annotations

import numpy as np

from ..layers import (
    avg_pool_backward,
    avg_pool_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from ..validation import check_positive_int
from .conv import pair
from .module import Module

__all__ = ["AvgPool2d", "GlobalAvgPool2d", "MaxPool2d"]


class _Pool2d(Module):
    """Shared window geometry: kernel (kh, kw) and stride (kernel_size by default, as torch)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | None = None) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        if stride is None:
            if self.kernel_size[0] != self.kernel_size[1]:
                raise ValueError(
                    f"stride must be given for the non-square kernel_size {self.kernel_size}"
                )
            stride = self.kernel_size[0]
        self.stride = check_positive_int(stride, "stride")

    @property
    def pool_param(self) -> dict[str, int]:
        """The course's pool_param dict of this layer."""
        return {
            "pool_height": self.kernel_size[0],
            "pool_width": self.kernel_size[1],
            "stride": self.stride,
        }

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(_Pool2d):
    """Maximum over each window, no padding; the gradient goes to each window's first maximum.

    (H - kh) and (W - kw) must be multiples of the stride, else forward raises ValueError.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, C, H', W'), H' = 1 + (H - kh) // stride."""
        out, self.cache = max_pool_forward_fast(x, self.pool_param)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H', W'); returns dx (N, C, H, W)."""
        return max_pool_backward_fast(dout, self.cache)


class AvgPool2d(_Pool2d):
    """Mean over each window, no padding (torch.nn.AvgPool2d with padding=0).

    (H - kh) and (W - kw) must be multiples of the stride, else forward raises ValueError.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, C, H', W'), H' = 1 + (H - kh) // stride."""
        out, self.cache = avg_pool_forward(x, self.pool_param)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H', W'); returns dx (N, C, H, W)."""
        return avg_pool_backward(dout, self.cache)


class GlobalAvgPool2d(Module):
    """Mean of each channel over all positions: (N, C, H, W) -> (N, C).

    The same as torch.nn.AdaptiveAvgPool2d(1) followed by torch.nn.Flatten().
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, C)."""
        out, self.cache = global_avg_pool_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C); returns dx (N, C, H, W)."""
        return global_avg_pool_backward(dout, self.cache)
