"""Inverted dropout: units are kept with probability p and scaled by 1 / p during training,
so the expected activation is unchanged and test time needs no rescaling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["dropout_backward", "dropout_forward"]

DROPOUT_MODES = ("train", "test")


def dropout_forward(
    x: np.ndarray, dropout_param: dict[str, Any]
) -> tuple[np.ndarray, tuple[dict[str, Any], np.ndarray | None]]:
    """Forward pass of inverted dropout.

    x: float array of any shape
    dropout_param: dict with
      'p': probability of KEEPING each unit, in (0, 1] (course convention)
      'mode': 'train' (drop and rescale) or 'test' (identity)
      'seed': optional; when given, np.random.seed(seed) is called first, as the course does,
      so seeded runs are reproducible (this reseeds NumPy's global generator)
    returns out (x's shape and dtype), cache (dropout_param, mask); mask is the scaled keep
    mask (x's shape, values 0 or 1 / p) in train mode and None in test mode
    """
    mode = dropout_param.get("mode")
    if mode not in DROPOUT_MODES:
        raise ValueError(f"dropout_param['mode'] must be one of {DROPOUT_MODES}, got {mode!r}")
    p = dropout_param.get("p")
    if p is None or not 0 < p <= 1:
        raise ValueError(
            f"dropout_param['p'] is the probability of keeping a unit and must be in (0, 1], "
            f"got {p}"
        )
    if mode == "test":
        return x, (dropout_param, None)
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])  # noqa: NPY002 - the course's seeding contract
    keep = np.random.rand(*x.shape) < p  # noqa: NPY002 - follows the global seed above
    mask = (keep / p).astype(x.dtype, copy=False)
    return x * mask, (dropout_param, mask)


def dropout_backward(
    dout: np.ndarray, cache: tuple[dict[str, Any], np.ndarray | None]
) -> np.ndarray:
    """Backward pass of inverted dropout: the upstream gradient times the same scaled mask.

    dout: upstream gradient, x's shape
    cache: (dropout_param, mask) from dropout_forward
    returns dx, x's shape
    """
    _, mask = cache
    if mask is None:
        return dout
    return dout * mask
