"""Concatenation along the channel axis: the join of parallel branches (Inception blocks).

The forward pass stacks the inputs' channels in order; the backward pass cuts the output
gradient back into one slice per input, so it only needs each input's channel count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["channel_concat_backward", "channel_concat_forward"]


def channel_concat_forward(xs: Sequence[np.ndarray]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Join arrays along axis 1.

    xs: arrays (N, C_i, ...) equal in every axis but 1, one common float dtype
    returns out (N, sum C_i, ...), cache (C_1, C_2, ...) the channel count of each input
    """
    sizes = tuple(int(x.shape[1]) for x in xs)
    return np.concatenate(xs, axis=1), sizes


def channel_concat_backward(dout: np.ndarray, sizes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Gradient of channel_concat_forward: dout cut into the inputs' channel slices.

    dout: (N, sum C_i, ...); sizes: the cache, (C_1, C_2, ...)
    returns (dx_1, dx_2, ...), dx_i (N, C_i, ...) views of dout
    """
    return tuple(np.split(dout, np.cumsum(sizes)[:-1], axis=1))
