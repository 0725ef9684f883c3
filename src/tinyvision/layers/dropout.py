"""Dropout: inverted (the course's), spatial (whole channels) and vanilla (scaled at test time).

Inverted dropout keeps each unit with probability p and scales the kept ones by 1 / p during
training, so the expected activation is unchanged and test time needs no rescaling. Spatial
dropout is inverted dropout of whole channels of (N, C, H, W) maps, whose neighbouring pixels
are too correlated for per-pixel masks to regularise. Vanilla dropout is the form the CS231n
notes contrast with it: training only masks, and test time multiplies by p instead, so both
give the same expected activation. All three take the course's dropout_param dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "dropout_backward",
    "dropout_forward",
    "spatial_dropout_backward",
    "spatial_dropout_forward",
    "vanilla_dropout_backward",
    "vanilla_dropout_forward",
]

DROPOUT_MODES = ("train", "test")


def _mode_and_keep(dropout_param: dict[str, Any]) -> tuple[str, float]:
    """The checked 'mode' and 'p' (keep probability) of a course dropout_param."""
    mode = dropout_param.get("mode")
    if mode not in DROPOUT_MODES:
        raise ValueError(f"dropout_param['mode'] must be one of {DROPOUT_MODES}, got {mode!r}")
    p = dropout_param.get("p")
    if p is None or not 0 < p <= 1:
        raise ValueError(
            f"dropout_param['p'] is the probability of keeping a unit and must be in (0, 1], "
            f"got {p}"
        )
    return mode, p


def _keep_mask(shape: tuple[int, ...], p: float, dropout_param: dict[str, Any]) -> np.ndarray:
    """Boolean mask of the given shape, True with probability p, from NumPy's global generator.

    With dropout_param['seed'], np.random.seed(seed) is called first, as the course does.
    """
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])  # noqa: NPY002 - the course's seeding contract
    return np.random.rand(*shape) < p  # noqa: NPY002 - follows the global seed above


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
    mode, p = _mode_and_keep(dropout_param)
    if mode == "test":
        return x, (dropout_param, None)
    mask = (_keep_mask(x.shape, p, dropout_param) / p).astype(x.dtype, copy=False)
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


def spatial_dropout_forward(
    x: np.ndarray, dropout_param: dict[str, Any]
) -> tuple[np.ndarray, tuple[dict[str, Any], np.ndarray | None]]:
    """Forward pass of spatial (channel-wise) inverted dropout, as torch's F.dropout2d.

    Each channel of each example is kept whole with probability p and scaled by 1 / p.
    x: (N, C, H, W) float32 or float64
    dropout_param: the course's dict, as for dropout_forward ('p' keep probability, 'mode',
      optional 'seed')
    returns out (x's shape and dtype), cache (dropout_param, mask); mask is (N, C, 1, 1) with
    values 0 or 1 / p in train mode, None in test mode
    """
    mode, p = _mode_and_keep(dropout_param)
    if x.ndim != 4:
        raise ValueError(
            f"spatial dropout drops whole channels of (N, C, H, W) maps, got shape {x.shape}; "
            "use dropout_forward for other shapes"
        )
    if mode == "test":
        return x, (dropout_param, None)
    keep = _keep_mask(x.shape[:2], p, dropout_param)
    mask = (keep / p).astype(x.dtype, copy=False)[:, :, None, None]  # (N, C, 1, 1)
    return x * mask, (dropout_param, mask)


def spatial_dropout_backward(
    dout: np.ndarray, cache: tuple[dict[str, Any], np.ndarray | None]
) -> np.ndarray:
    """Backward pass of spatial dropout: dout times the channel mask.

    dout: (N, C, H, W) upstream gradient
    cache: (dropout_param, mask) from spatial_dropout_forward
    returns dx (N, C, H, W)
    """
    return dropout_backward(dout, cache)


def vanilla_dropout_forward(
    x: np.ndarray, dropout_param: dict[str, Any]
) -> tuple[np.ndarray, tuple[dict[str, Any], np.ndarray | float]]:
    """Forward pass of vanilla (non-inverted) dropout, as the CS231n notes first present it.

    Train mode keeps each unit with probability p and does not rescale; test mode multiplies
    every unit by p, so the test output equals the expected training output. It equals
    inverted dropout times p in both modes.
    x: float32 or float64 array of any shape
    dropout_param: the course's dict, as for dropout_forward ('p' keep probability, 'mode',
      optional 'seed')
    returns out (x's shape and dtype), cache (dropout_param, scale); scale is the 0/1 keep mask
    (x's shape and dtype) in train mode and p in test mode
    """
    mode, p = _mode_and_keep(dropout_param)
    if mode == "test":
        return x * x.dtype.type(p), (dropout_param, p)
    mask = _keep_mask(x.shape, p, dropout_param).astype(x.dtype)
    return x * mask, (dropout_param, mask)


def vanilla_dropout_backward(
    dout: np.ndarray, cache: tuple[dict[str, Any], np.ndarray | float]
) -> np.ndarray:
    """Backward pass of vanilla dropout: dout times the mask (train) or p (test).

    dout: upstream gradient, x's shape
    cache: (dropout_param, scale) from vanilla_dropout_forward
    returns dx, x's shape
    """
    _, scale = cache
    return dout * (dout.dtype.type(scale) if np.isscalar(scale) else scale)
