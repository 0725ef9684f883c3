"""Affine (fully-connected) layer: out = x.reshape(N, D) @ w + b."""

from __future__ import annotations

import numpy as np

__all__ = ["affine_backward", "affine_forward"]


def affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Forward pass of an affine layer.

    Each example is flattened, so images can feed a fully-connected layer directly.

    x: (N, d_1, ..., d_k) float array; D = d_1 * ... * d_k
    w: (D, M) weights, same float dtype as x
    b: (M,) biases
    returns out (N, M), and cache (x, w, b) for affine_backward
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of an affine layer.

    dout: (N, M) upstream gradient
    cache: (x, w, b) from affine_forward
    returns dx (x's original shape (N, d_1, ..., d_k)), dw (D, M), db (M,)
    """
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
