"""Gradient clipping: bound the gradients of one update, by value or by their global norm.

Both take and return the gradients as the models give them, a dict name -> ndarray keyed like
``model.params``, and never modify their input.

- `clip_by_value(grads, clip_value)` clamps every element to [-clip_value, clip_value], as
  ``torch.nn.utils.clip_grad_value_`` does. It changes the direction of the update.
- `clip_by_global_norm(grads, max_norm)` rescales all gradients by one factor when their
  global norm sqrt(sum of every squared element) exceeds max_norm, as
  ``torch.nn.utils.clip_grad_norm_`` does (including its 1e-6 in the denominator, so a
  clipped update has norm just under max_norm). It keeps the direction and bounds the step;
  the usual cure for exploding gradients in recurrent nets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from tinyvision.validation import check_positive

__all__ = ["clip_by_global_norm", "clip_by_value", "global_norm"]

# torch.nn.utils.clip_grad_norm_ divides by (norm + 1e-6); the same constant gives its values.
_NORM_EPSILON = 1e-6


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """sqrt of the sum of every squared element of every gradient (accumulated in float64).

    grads: name -> array of any shape, float32 or float64
    returns the norm as a Python float (0.0 for no gradients)
    """
    return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))


def clip_by_value(grads: Mapping[str, np.ndarray], clip_value: float) -> dict[str, np.ndarray]:
    """Every gradient element clamped to [-clip_value, clip_value].

    grads: name -> array of any shape, float32 or float64
    clip_value: float > 0
    returns a new dict of new arrays, same shapes and dtypes as grads
    """
    bound = check_positive(clip_value, "clip_value", hint="it bounds each gradient element")
    return {name: np.clip(g, -bound, bound) for name, g in grads.items()}


def clip_by_global_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """All gradients scaled by max_norm / (norm + 1e-6) when their global norm exceeds that.

    grads: name -> array of any shape, float32 or float64
    max_norm: float > 0, the largest global norm let through
    returns (clipped, norm): a new dict, same shapes and dtypes as grads (the arrays themselves
        when no scaling was needed), and the global norm before clipping
    """
    limit = check_positive(max_norm, "max_norm", hint="it bounds the global gradient norm")
    norm = global_norm(grads)
    scale = limit / (norm + _NORM_EPSILON)
    if scale >= 1.0:
        return dict(grads), norm
    # A Python float keeps each array's dtype (float32 stays float32).
    return {name: g * scale for name, g in grads.items()}, norm
