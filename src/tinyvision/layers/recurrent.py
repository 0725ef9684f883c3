"""Recurrent layers: vanilla RNN and LSTM cells, word embeddings and time-distributed layers.

These are the layers of CS231n assignment 3 (`rnn_layers`). Sequences are batch-major:
x has shape (N, T, D). The cell recurrences loop over time because step t needs the hidden
state of step t - 1; everything that does not depend on the recurrence (the input projections,
the weight gradients) is computed for all time steps in one matrix product.

The LSTM packs its four gates into one (D, 4H) / (H, 4H) / (4H,) parameter set, in the
course's order i (input), f (forget), o (output), g (candidate).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tinyvision.validation import check_labels

from .activations import sigmoid
from .losses import log_softmax

# sigmoid stays a name of this module: the course's rnn_layers exports it.
__all__ = [
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]

logger = logging.getLogger(__name__)


def _time_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (N, T, D) @ w (D, M) as one 2-d BLAS product rather than N batched ones."""
    N, T, D = x.shape
    return (x.reshape(N * T, D) @ w).reshape(N, T, w.shape[1])


def _time_outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over n, t of outer(a[n, t], b[n, t]): the weight gradient of a time-shared matmul."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


# ----------------------------------------------------------------------------- vanilla RNN


def rnn_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """One time step of a tanh RNN: next_h = tanh(x @ Wx + prev_h @ Wh + b).

    x: (N, D) float inputs
    prev_h: (N, H) previous hidden state
    Wx: (D, H) input-to-hidden weights
    Wh: (H, H) hidden-to-hidden weights
    b: (H,) biases
    returns next_h (N, H), and cache for rnn_step_backward
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(
    dnext_h: np.ndarray, cache: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of rnn_step_forward.

    dnext_h: (N, H) upstream gradient of next_h
    cache: from rnn_step_forward
    returns dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Run a tanh RNN over a whole sequence.

    x: (N, T, D) float inputs
    h0: (N, H) initial hidden state
    Wx: (D, H), Wh: (H, H), b: (H,) as in rnn_step_forward
    returns h (N, T, H) with every hidden state, and cache for rnn_backward
    """
    N, T, _ = x.shape
    xw = _time_matmul(x, Wx) + b
    h = np.empty((N, T, Wh.shape[0]), dtype=np.result_type(x, h0, Wx))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(xw[:, t] + prev_h @ Wh)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(
    dh: np.ndarray, cache: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of rnn_forward (backpropagation through time).

    dh: (N, T, H) upstream gradient of every hidden state (not only the last one)
    cache: from rnn_forward
    returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)
    """
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    da = np.empty_like(h)
    carry = np.zeros_like(h0, dtype=h.dtype)
    for t in reversed(range(T)):
        da[:, t] = (dh[:, t] + carry) * (1 - h[:, t] ** 2)
        carry = da[:, t] @ Wh.T
    prev_h = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx = _time_matmul(da, Wx.T)
    return dx, carry, _time_outer(x, da), _time_outer(prev_h, da), da.sum(axis=(0, 1))


# ---------------------------------------------------------------------------------- LSTM


def _lstm_activate(a: np.ndarray) -> np.ndarray:
    """Activate pre-activations (..., 4H): sigmoid on the i, f, o blocks, tanh on g."""
    H = a.shape[-1] // 4
    return np.concatenate([sigmoid(a[..., : 3 * H]), np.tanh(a[..., 3 * H :])], axis=-1)


def _lstm_split(acts: np.ndarray) -> list[np.ndarray]:
    """Views of the activated gates i, f, o, g in acts (..., 4H)."""
    return np.split(acts, 4, axis=-1)


def _lstm_gate_grads(
    dc: np.ndarray,
    do_: np.ndarray,
    prev_c: np.ndarray,
    i: np.ndarray,
    f: np.ndarray,
    o: np.ndarray,
    g: np.ndarray,
) -> np.ndarray:
    """Gradient of the pre-activations (..., 4H) from the cell and output-gate gradients."""
    return np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            do_ * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=-1,
    )


def lstm_step_forward(
    x: np.ndarray,
    prev_h: np.ndarray,
    prev_c: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """One LSTM time step.

    a = x @ Wx + prev_h @ Wh + b is split into i, f, o, g (in that order);
    next_c = f * prev_c + i * g and next_h = o * tanh(next_c).

    x: (N, D) float inputs
    prev_h: (N, H) previous hidden state
    prev_c: (N, H) previous cell state
    Wx: (D, 4H), Wh: (H, 4H), b: (4H,) gate parameters in i, f, o, g order
    returns next_h (N, H), next_c (N, H), and cache for lstm_step_backward
    """
    i, f, o, g = _lstm_split(_lstm_activate(x @ Wx + prev_h @ Wh + b))
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of lstm_step_forward.

    dnext_h: (N, H) upstream gradient of next_h
    dnext_c: (N, H) upstream gradient of next_c
    cache: from lstm_step_forward
    returns dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = _lstm_gate_grads(dc, dnext_h * tanh_c, prev_c, i, f, o, g)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    x: (N, T, D) float inputs
    h0: (N, H) initial hidden state
    Wx: (D, 4H), Wh: (H, 4H), b: (4H,) gate parameters in i, f, o, g order
    returns h (N, T, H) with every hidden state, and cache for lstm_backward
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    dtype = np.result_type(x, h0, Wx)
    xw = _time_matmul(x, Wx) + b
    acts = np.empty((N, T, 4 * H), dtype=dtype)
    c = np.empty((N, T, H), dtype=dtype)
    h = np.empty((N, T, H), dtype=dtype)
    prev_h, prev_c = h0, np.zeros_like(h0, dtype=dtype)
    for t in range(T):
        acts[:, t] = _lstm_activate(xw[:, t] + prev_h @ Wh)
        i, f, o, g = _lstm_split(acts[:, t])
        prev_c = f * prev_c + i * g
        prev_h = o * np.tanh(prev_c)
        c[:, t] = prev_c
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, acts, c, np.tanh(c), h)


def lstm_backward(
    dh: np.ndarray, cache: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of lstm_forward (backpropagation through time).

    dh: (N, T, H) upstream gradient of every hidden state
    cache: from lstm_forward
    returns dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)
    """
    x, h0, Wx, Wh, acts, c, tanh_c, h = cache
    i, f, o, g = _lstm_split(acts)
    T = x.shape[1]
    prev_c = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)
    da = np.empty(c.shape[:2] + (4 * c.shape[2],), dtype=c.dtype)
    carry_h = np.zeros_like(c[:, 0])
    carry_c = np.zeros_like(c[:, 0])
    for t in reversed(range(T)):
        dh_t = dh[:, t] + carry_h
        dc = carry_c + dh_t * o[:, t] * (1 - tanh_c[:, t] ** 2)
        da[:, t] = _lstm_gate_grads(
            dc, dh_t * tanh_c[:, t], prev_c[:, t], i[:, t], f[:, t], o[:, t], g[:, t]
        )
        carry_h = da[:, t] @ Wh.T
        carry_c = dc * f[:, t]
    prev_h = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx = _time_matmul(da, Wx.T)
    return dx, carry_h, _time_outer(x, da), _time_outer(prev_h, da), da.sum(axis=(0, 1))


# ------------------------------------------------------------------ embeddings and heads


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Look up the word vector of every index.

    x: (N, T) integer word indices in [0, V)
    W: (V, D) float word vectors
    returns out (N, T, D) with out[n, t] = W[x[n, t]], and cache for word_embedding_backward
    """
    return W[x], (x, W.shape, W.dtype)


def word_embedding_backward(dout: np.ndarray, cache: tuple[Any, ...]) -> np.ndarray:
    """Backward pass of word_embedding_forward.

    A word that occurs several times receives the sum of its gradients; np.add.at accumulates
    repeated indices, where fancy-index assignment would keep only the last one.

    dout: (N, T, D) upstream gradient
    cache: from word_embedding_forward
    returns dW (V, D)
    """
    x, shape, dtype = cache
    dW = np.zeros(shape, dtype=dtype)
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The same affine layer applied at every time step.

    x: (N, T, D) float inputs
    w: (D, M) weights
    b: (M,) biases
    returns out (N, T, M), and cache for temporal_affine_backward
    """
    return _time_matmul(x, w) + b, (x, w, b)


def temporal_affine_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of temporal_affine_forward.

    dout: (N, T, M) upstream gradient
    cache: from temporal_affine_forward
    returns dx (N, T, D), dw (D, M), db (M,)
    """
    x, w, _ = cache
    return _time_matmul(dout, w.T), _time_outer(x, dout), dout.sum(axis=(0, 1))


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, verbose: bool = False
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy summed over the unmasked time steps, averaged over the minibatch.

    loss = -(1 / N) * sum_{n,t} mask[n, t] * log softmax(x[n, t])[y[n, t]], with the stable
    log_softmax, so large scores do not overflow.

    x: (N, T, V) float scores
    y: (N, T) integer targets in [0, V)
    mask: (N, T) bool; False positions (padding) contribute neither loss nor gradient
    verbose: log the shape of dx at DEBUG level
    returns loss (float) and dx (N, T, V), same dtype as x
    raises ValueError unless y holds integers in [0, V) and y and mask have the shape (N, T)
    """
    if np.ndim(x) != 3:
        raise ValueError(f"x must be (N, T, V) scores, got shape {np.shape(x)}")
    N, T, V = x.shape
    y = check_labels(y, V, "y", ndim=2)
    for name, array in (("y", y), ("mask", mask)):
        if np.shape(array) != (N, T):
            raise ValueError(
                f"{name} must have the shape (N, T) = {(N, T)} of the scores x {x.shape}, "
                f"got {np.shape(array)}"
            )
    log_probs = log_softmax(x, axis=-1)  # (N, T, V)
    picked = np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
    loss = -np.sum(picked * mask) / N
    dx = np.exp(log_probs)  # the softmax
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], axis=-1) - 1, -1)
    dx *= (mask / N)[..., None].astype(x.dtype)
    if verbose:
        logger.debug("temporal_softmax_loss: dx.shape = %s", dx.shape)
    return float(loss), dx
