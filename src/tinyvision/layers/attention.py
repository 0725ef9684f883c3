"""Attention: softmax, multi-head scaled dot-product attention, the feed-forward block and
sinusoidal positional encodings, each as pure forward/backward functions.

These are the maths behind `tinyvision.transformer_layers` (the course's CS231n assignment 3
transformer). They are deliberately not re-exported from `tinyvision.layers`, whose star import
mirrors the course's `cs231n.layers`.

Conventions (the course's):
- Linear maps act on the last axis as `x @ W + b` with W of shape (in, out); a PyTorch
  `nn.Linear` holds the same map as `weight = W.T`.
- `attn_mask[i, j] == 0` means query position i may NOT attend to key position j.
- `dropout_p` is the probability of zeroing an element (PyTorch's meaning), unlike the course's
  NumPy `dropout_param['p']`, which is the probability of keeping one.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .activations import relu_backward, relu_forward
from .affine import affine_backward, affine_forward
from .dropout import dropout_backward, dropout_forward

__all__ = [
    "dropout_p_backward",
    "dropout_p_forward",
    "feedforward_backward",
    "feedforward_forward",
    "linear_backward",
    "linear_forward",
    "multihead_attention_backward",
    "multihead_attention_forward",
    "positional_encoding",
    "softmax_backward",
    "softmax_forward",
]

ATTENTION_PARAM_NAMES = ("Wq", "bq", "Wk", "bk", "Wv", "bv", "Wp", "bp")
FEEDFORWARD_PARAM_NAMES = ("W1", "b1", "W2", "b2")


def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    """The affine map x @ w + b applied to the last axis of x (any number of leading axes).

    x: (..., D) float32 or float64
    w: (D, M) same dtype
    b: (M,) same dtype
    returns out (..., M), cache for linear_backward
    """
    lead = x.shape[:-1]
    out, cache = affine_forward(x.reshape(-1, x.shape[-1]), w, b)
    return out.reshape(*lead, w.shape[1]), (cache, x.shape)


def linear_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of linear_forward.

    dout: (..., M) upstream gradient
    cache: from linear_forward
    returns dx (..., D), dw (D, M), db (M,)
    """
    affine_cache, x_shape = cache
    dx, dw, db = affine_backward(dout.reshape(-1, dout.shape[-1]), affine_cache)
    return dx.reshape(x_shape), dw, db


def dropout_p_forward(
    x: np.ndarray, dropout_p: float, mode: str, seed: int | None = None
) -> tuple[np.ndarray, Any]:
    """Inverted dropout with PyTorch's convention: each element is zeroed with prob dropout_p.

    Built on the course's `dropout_forward` (which takes the keep probability). Outside training,
    or when dropout_p is 0, it is the identity.
    x: float array of any shape
    dropout_p: probability of zeroing an element, in [0, 1)
    mode: 'train' or 'test'
    seed: if given, the mask is the same at every call with this seed (for gradient checks)
    returns out (x's shape and dtype), cache for dropout_p_backward (None for the identity)
    """
    if mode != "train" or dropout_p == 0:
        return x, None
    dropout_param: dict[str, Any] = {"p": 1.0 - dropout_p, "mode": "train"}
    if seed is not None:
        dropout_param["seed"] = seed
    return dropout_forward(x, dropout_param)


def dropout_p_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Backward pass of dropout_p_forward: dout through the kept elements, rescaled."""
    if cache is None:
        return dout
    return dropout_backward(dout, cache)


def softmax_forward(x: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Numerically stable softmax along the last axis, optionally over allowed entries only.

    Masked entries get probability exactly 0, as if their score were -inf. A row with no allowed
    entry gets all zeros (instead of the NaN that -inf scores would give).
    x: (..., T) float32 or float64 scores
    mask: boolean array broadcastable to x; True where the entry may be used, or None for all
    returns out (x's shape and dtype), cache (out) for softmax_backward
    """
    if mask is None:
        shifted = x - np.max(x, axis=-1, keepdims=True)
        e = np.exp(shifted)
        out = e / np.sum(e, axis=-1, keepdims=True)
        return out, out
    masked = np.where(mask, x, -np.inf)
    row_max = np.max(masked, axis=-1, keepdims=True)
    # A fully masked row has max -inf; shifting it by 0 keeps every value finite.
    row_max = np.where(np.isfinite(row_max), row_max, 0)
    e = np.exp(masked - row_max)
    total = np.sum(e, axis=-1, keepdims=True)
    out = e / np.where(total > 0, total, 1)
    return out, out


def softmax_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of softmax_forward (masked entries receive zero gradient).

    dout: (..., T) upstream gradient
    cache: the softmax output from softmax_forward
    returns dx (..., T)
    """
    p = cache
    return p * (dout - np.sum(dout * p, axis=-1, keepdims=True))


class AttentionCache(NamedTuple):
    """What multihead_attention_backward needs from the forward pass."""

    query_cache: Any
    key_cache: Any
    value_cache: Any
    proj_cache: Any
    q: np.ndarray  # (N, H, S, D)
    k: np.ndarray  # (N, H, T, D)
    v: np.ndarray  # (N, H, T, D)
    probs_cache: np.ndarray  # softmax output (N, H, S, T)
    dropped_probs: np.ndarray  # attention weights after dropout (N, H, S, T)
    dropout_cache: Any
    scale: float


def _split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(N, L, E) -> (N, H, L, E/H): each head sees its own slice of the embedding."""
    N, L, E = x.shape
    return x.reshape(N, L, num_heads, E // num_heads).transpose(0, 2, 1, 3)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    """(N, H, L, D) -> (N, L, H*D), the inverse of _split_heads."""
    N, H, L, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(N, L, H * D)


def multihead_attention_forward(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    params: dict[str, np.ndarray],
    num_heads: int,
    attn_mask: np.ndarray | None = None,
    dropout_p: float = 0.0,
    mode: str = "train",
    seed: int | None = None,
) -> tuple[np.ndarray, AttentionCache]:
    """Multi-head scaled dot-product attention (the course's MultiHeadAttention.forward).

    Each head h computes softmax(Q_h K_h^T / sqrt(D)) V_h with D = E / num_heads; the heads are
    concatenated and projected. Dropout acts on the attention weights in training.
    query: (N, S, E) float32 or float64
    key: (N, T, E) same dtype
    value: (N, T, E) same dtype
    params: 'Wq', 'Wk', 'Wv', 'Wp' of shape (E, E) and 'bq', 'bk', 'bv', 'bp' of shape (E,)
    num_heads: H, which must divide E
    attn_mask: (S, T), attn_mask[i, j] == 0 forbids query i to attend to key j; None for none.
        A query that may attend to no key gets zero attention weights.
    dropout_p: probability of zeroing each attention weight in training
    mode: 'train' or 'test'
    seed: fixes the dropout mask (the same at every call), or None for a fresh one
    returns out (N, S, E), cache for multihead_attention_backward
    """
    q_lin, query_cache = linear_forward(query, params["Wq"], params["bq"])
    k_lin, key_cache = linear_forward(key, params["Wk"], params["bk"])
    v_lin, value_cache = linear_forward(value, params["Wv"], params["bv"])
    q = _split_heads(q_lin, num_heads)  # (N, H, S, D)
    k = _split_heads(k_lin, num_heads)  # (N, H, T, D)
    v = _split_heads(v_lin, num_heads)  # (N, H, T, D)
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q @ k.transpose(0, 1, 3, 2)) * scale  # (N, H, S, T)
    allowed = None if attn_mask is None else np.asarray(attn_mask) != 0
    probs, probs_cache = softmax_forward(scores, allowed)
    dropped, dropout_cache = dropout_p_forward(probs, dropout_p, mode, seed)
    heads = _merge_heads(dropped @ v)  # (N, S, E)
    out, proj_cache = linear_forward(heads, params["Wp"], params["bp"])
    cache = AttentionCache(
        query_cache,
        key_cache,
        value_cache,
        proj_cache,
        q,
        k,
        v,
        probs_cache,
        dropped,
        dropout_cache,
        scale,
    )
    return out, cache


def multihead_attention_backward(
    dout: np.ndarray, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward pass of multihead_attention_forward.

    dout: (N, S, E) upstream gradient
    cache: from multihead_attention_forward
    returns dquery (N, S, E), dkey (N, T, E), dvalue (N, T, E), and grads, a dict with the
    gradient of every entry of params under the same names. For self-attention (one array
    passed as query, key and value) the input gradient is the sum of the three.
    """
    dheads, dWp, dbp = linear_backward(dout, cache.proj_cache)
    num_heads = cache.q.shape[1]
    dheads = _split_heads(dheads, num_heads)  # (N, H, S, D)
    dv = cache.dropped_probs.transpose(0, 1, 3, 2) @ dheads  # (N, H, T, D)
    ddropped = dheads @ cache.v.transpose(0, 1, 3, 2)  # (N, H, S, T)
    dprobs = dropout_p_backward(ddropped, cache.dropout_cache)
    dscores = softmax_backward(dprobs, cache.probs_cache) * cache.scale
    dq = dscores @ cache.k  # (N, H, S, D)
    dk = dscores.transpose(0, 1, 3, 2) @ cache.q  # (N, H, T, D)
    dquery, dWq, dbq = linear_backward(_merge_heads(dq), cache.query_cache)
    dkey, dWk, dbk = linear_backward(_merge_heads(dk), cache.key_cache)
    dvalue, dWv, dbv = linear_backward(_merge_heads(dv), cache.value_cache)
    grads = {
        "Wq": dWq,
        "bq": dbq,
        "Wk": dWk,
        "bk": dbk,
        "Wv": dWv,
        "bv": dbv,
        "Wp": dWp,
        "bp": dbp,
    }
    return dquery, dkey, dvalue, grads


def feedforward_forward(
    x: np.ndarray,
    params: dict[str, np.ndarray],
    dropout_p: float = 0.0,
    mode: str = "train",
    seed: int | None = None,
) -> tuple[np.ndarray, Any]:
    """The course's position-wise feed-forward block: linear1 -> ReLU -> dropout -> linear2.

    (The decoder layer adds its own dropout on the block's output before the residual sum.)
    x: (N, S, E) float32 or float64
    params: 'W1' (E, F), 'b1' (F,), 'W2' (F, E), 'b2' (E,)
    dropout_p: probability of zeroing each hidden unit in training
    mode: 'train' or 'test'
    seed: fixes the dropout mask, or None for a fresh one
    returns out (N, S, E), cache for feedforward_backward
    """
    hidden, cache1 = linear_forward(x, params["W1"], params["b1"])
    hidden, relu_cache = relu_forward(hidden)
    hidden, dropout_cache = dropout_p_forward(hidden, dropout_p, mode, seed)
    out, cache2 = linear_forward(hidden, params["W2"], params["b2"])
    return out, (cache1, relu_cache, dropout_cache, cache2)


def feedforward_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Backward pass of feedforward_forward.

    dout: (N, S, E) upstream gradient
    cache: from feedforward_forward
    returns dx (N, S, E) and grads, a dict with 'W1', 'b1', 'W2', 'b2'
    """
    cache1, relu_cache, dropout_cache, cache2 = cache
    dhidden, dW2, db2 = linear_backward(dout, cache2)
    dhidden = dropout_p_backward(dhidden, dropout_cache)
    dhidden = relu_backward(dhidden, relu_cache)
    dx, dW1, db1 = linear_backward(dhidden, cache1)
    return dx, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def positional_encoding(
    max_len: int, embed_dim: int, dtype: np.dtype | type = np.float64
) -> np.ndarray:
    """The course's sinusoidal positional encoding table.

    pe[i, j] = sin(i * 10000^(-j / E)) for even j and cos(i * 10000^(-(j - 1) / E)) for odd j,
    so the pair of columns (2k, 2k+1) shares the frequency 10000^(-2k / E).
    max_len: number of positions L
    embed_dim: E, which must be even
    dtype: float dtype of the table
    returns pe (L, E)
    """
    if embed_dim % 2 != 0:
        raise ValueError(f"embed_dim must be even for sin/cos pairs, got {embed_dim}")
    positions = np.arange(max_len, dtype=np.float64)[:, None]  # (L, 1)
    frequencies = 10000.0 ** (-np.arange(0, embed_dim, 2, dtype=np.float64) / embed_dim)
    angles = positions * frequencies  # (L, E/2)
    pe = np.empty((max_len, embed_dim), dtype=np.float64)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe.astype(dtype)
