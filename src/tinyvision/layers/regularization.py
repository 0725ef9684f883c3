"""L2 weight regularisation: the penalty a model adds to its loss, and that penalty's gradient.

The course uses two scalings of the same penalty: assignment 1's linear classifiers add
reg * sum(W * W) (scale=1.0, gradient 2 * reg * W), the assignment 2 networks and I2DL add
0.5 * reg * sum(W * W) (scale=0.5, gradient reg * W). Every model calls l2_regularization
with its scale, once per regularised weight, so the convention is visible at the call.
"""

from __future__ import annotations

import numpy as np

__all__ = ["l2_regularization"]


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
