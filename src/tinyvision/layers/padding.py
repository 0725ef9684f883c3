"""Zero padding of the spatial axes, as a layer of its own (torch.nn.ZeroPad2d).

The convolution pads inside its own forward pass; pooling has no padding, so a "same"-size
pooling (the pool branch of an Inception block) is a zero pad followed by a stride-1 pool.
"""

from __future__ import annotations

import numpy as np

from .im2col import pad_images

__all__ = ["zero_pad_backward", "zero_pad_forward"]


def zero_pad_forward(x: np.ndarray, pad: int) -> tuple[np.ndarray, int]:
    """Add pad rows of zeros above and below and pad columns left and right.

    x: (N, C, H, W) float32 or float64; pad: >= 0
    returns out (N, C, H + 2*pad, W + 2*pad) of x's dtype, cache pad
    """
    return pad_images(x, pad, x.dtype), pad


def zero_pad_backward(dout: np.ndarray, pad: int) -> np.ndarray:
    """Gradient of zero_pad_forward: the centre of dout (the padding received no input).

    dout: (N, C, H + 2*pad, W + 2*pad); pad: the cache
    returns dx (N, C, H, W)
    """
    height, width = dout.shape[2] - 2 * pad, dout.shape[3] - 2 * pad
    return dout[:, :, pad : pad + height, pad : pad + width]
