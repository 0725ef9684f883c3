"""Weight regularisation: the L2 penalty a model adds to its loss (and its gradient), and the
max-norm constraint applied to the weights after each update.

The course uses two scalings of the same penalty: assignment 1's linear classifiers add
reg * sum(W * W) (scale=1.0, gradient 2 * reg * W), the assignment 2 networks and I2DL add
0.5 * reg * sum(W * W) (scale=0.5, gradient reg * W). Every model calls l2_regularization
with its scale, once per regularised weight, so the convention is visible at the call.

Max-norm (the CS231n notes, after Srebro et al. and the dropout paper) is no penalty: after
every update each unit's incoming weight vector is rescaled to norm c when it is longer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["incoming_axes", "l2_regularization", "max_norm_constraint"]


def l2_regularization(w: np.ndarray, reg: float, *, scale: float) -> tuple[np.floating, np.ndarray]:
    """L2 penalty scale * reg * sum(w * w) and its gradient with respect to w.

    w: weights, any shape, float32 or float64
    reg: regularisation strength, >= 0 (validated where the model receives it)
    scale: 1.0 for the course's linear classifiers, 0.5 for its networks
    returns penalty (NumPy scalar of w's dtype), dw = 2 * scale * reg * w (w's shape and dtype)
    """
    penalty = scale * reg * np.sum(w * w)
    dw = (2 * scale * reg) * w
    return penalty, dw


def incoming_axes(w: np.ndarray) -> tuple[int, ...]:
    """The axes of w that hold one unit's incoming weights.

    An affine weight (D, M) has unit j's weights in column w[:, j]: axis 0. A conv filter bank
    (F, C, HH, WW) has filter f's weights in w[f]: axes 1, 2, 3.
    w: 2-d (D, M) or 4-d (F, C, HH, WW) weights
    """
    if w.ndim == 2:
        return (0,)
    if w.ndim == 4:
        return (1, 2, 3)
    raise ValueError(
        f"max-norm knows affine weights (D, M) and conv filters (F, C, HH, WW), got a weight "
        f"of shape {w.shape}; pass the axes of one unit's weights explicitly"
    )


def max_norm_constraint(
    w: np.ndarray, max_norm: float, axis: int | Sequence[int] | None = None
) -> np.ndarray:
    """w with every unit's incoming weight vector scaled down to L2 norm at most max_norm.

    Vectors already within the bound are unchanged. Equals torch.renorm(w, 2, unit_dim,
    max_norm) up to torch's 1e-7 in the denominator.
    w: float32 or float64 weights, (D, M) or (F, C, HH, WW) by default
    max_norm: c > 0, the largest allowed norm
    axis: the axes holding one unit's weights (None: incoming_axes(w))
    returns a new array of w's shape and dtype
    """
    if axis is None:
        axis = incoming_axes(w)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    norms = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
    # Only vectors longer than max_norm shrink; a zero vector is never divided by.
    scale = np.divide(max_norm, norms, out=np.ones_like(norms), where=norms > max_norm)
    return (w * scale).astype(w.dtype, copy=False)
