"""The course's `transformer_layers` module in NumPy: MultiHeadAttention, PositionalEncoding and
TransformerDecoderLayer, each with hand-written backward passes.

The classes keep the course's constructor arguments and forward signatures. Each holds `params`
(learned arrays) and, after `backward`, `grads` under the same names; `train()` / `eval()` switch
dropout on and off. The maths lives in `tinyvision.layers.attention`.

Weight layout: a linear map is `x @ W + b` with W of shape (in, out), so the course's PyTorch
`nn.Linear` weight is `W.T`. `to_torch_state_dict()` returns NumPy arrays under the course's
PyTorch parameter names (`query.weight`, `norm1.bias`, ...) and `load_torch_state_dict()` reads
such a dict back (NumPy arrays or CPU tensors).

Dropout: `dropout` is the probability of zeroing (PyTorch's meaning). With `seed=None` every
training call draws fresh masks; with an integer `seed` every call reuses the same masks, which
is what gradient checks need (the course's `dropout_param['seed']`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinyvision.init import make_rng
from tinyvision.layers.attention import (
    ATTENTION_PARAM_NAMES,
    FEEDFORWARD_PARAM_NAMES,
    dropout_p_backward,
    dropout_p_forward,
    feedforward_backward,
    feedforward_forward,
    multihead_attention_backward,
    multihead_attention_forward,
    positional_encoding,
)
from tinyvision.layers.normalization import layernorm_backward, layernorm_forward
from tinyvision.model import Model

__all__ = [
    "ATTENTION_TORCH_NAMES",
    "DECODER_TORCH_NAMES",
    "MultiHeadAttention",
    "PositionalEncoding",
    "TransformerDecoderLayer",
]

# torch.nn.LayerNorm's default epsilon, so weights trained in PyTorch behave the same here.
LAYERNORM_EPS = 1e-5

# Our name inside MultiHeadAttention -> (course PyTorch name, stored transposed?); the PyTorch
# track (tinyvision.torch) converts weights with these tables too.
ATTENTION_TORCH_NAMES = {
    "Wq": ("query.weight", True),
    "bq": ("query.bias", False),
    "Wk": ("key.weight", True),
    "bk": ("key.bias", False),
    "Wv": ("value.weight", True),
    "bv": ("value.bias", False),
    "Wp": ("proj.weight", True),
    "bp": ("proj.bias", False),
}

DECODER_TORCH_NAMES = {
    **{f"self_attn.{k}": (f"self_attn.{t}", tr) for k, (t, tr) in ATTENTION_TORCH_NAMES.items()},
    **{
        f"multihead_attn.{k}": (f"multihead_attn.{t}", tr)
        for k, (t, tr) in ATTENTION_TORCH_NAMES.items()
    },
    "W1": ("linear1.weight", True),
    "b1": ("linear1.bias", False),
    "W2": ("linear2.weight", True),
    "b2": ("linear2.bias", False),
    **{f"gamma{i}": (f"norm{i}.weight", False) for i in (1, 2, 3)},
    **{f"beta{i}": (f"norm{i}.bias", False) for i in (1, 2, 3)},
}


def _check_dropout(dropout: float) -> float:
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout is the probability of zeroing, in [0, 1); got {dropout}")
    return float(dropout)


def _check_heads(embed_dim: int, num_heads: int) -> None:
    if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads != 0:
        raise ValueError(
            f"embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads}); "
            "choose num_heads dividing embed_dim"
        )


def _uniform_linear(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...], dtype) -> Any:
    """PyTorch's default nn.Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _to_torch_names(
    params: Mapping[str, np.ndarray], names: Mapping[str, tuple[str, bool]], prefix: str = ""
) -> dict[str, np.ndarray]:
    """Rename params to PyTorch names (prefix + name), transposing linear weights to (out, in)."""
    return {
        prefix + torch_name: (params[ours].T if transpose else params[ours]).copy()
        for ours, (torch_name, transpose) in names.items()
    }


def _from_torch_names(
    state_dict: Mapping[str, Any],
    names: Mapping[str, tuple[str, bool]],
    like: Mapping[str, np.ndarray],
    prefix: str = "",
) -> dict[str, np.ndarray]:
    """Inverse of to_torch_names: arrays shaped and typed like `like`, or a ValueError."""
    out = {}
    for ours, (torch_name, transpose) in names.items():
        key = prefix + torch_name
        if key not in state_dict:
            raise ValueError(f"state dict has no entry {key!r}; it holds {sorted(state_dict)[:8]}")
        value = state_dict[key]
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        value = np.asarray(value)
        value = value.T if transpose else value
        if value.shape != like[ours].shape:
            raise ValueError(
                f"{key!r} has shape {value.shape} (after transposing to our layout) but this "
                f"layer expects {like[ours].shape}; build the layer with matching sizes"
            )
        out[ours] = value.astype(like[ours].dtype)
    return out


class _DropoutModule(Model):
    """The model contract plus per-site dropout seeds; dropout is active while training."""

    seed: int | None

    @property
    def mode(self) -> str:
        """The dropout mode the layer functions take: "train" or "test"."""
        return "train" if self.training else "test"

    def _site_seed(self, site: int) -> int | None:
        # Distinct sites need distinct masks even when the seed is fixed.
        return None if self.seed is None else self.seed + site


class MultiHeadAttention(_DropoutModule):
    """Multi-head attention with learned query/key/value/output projections.

    params: 'Wq', 'Wk', 'Wv', 'Wp' (E, E) and 'bq', 'bk', 'bv', 'bp' (E,)
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.1,
        seed: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        """embed_dim: E; num_heads: H (must divide E); dropout: on the attention weights;
        seed: initial weights and fixed dropout masks (see module docstring); dtype: of params.
        """
        _check_heads(embed_dim, num_heads)
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = _check_dropout(dropout)
        self.seed = seed
        rng = make_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for name in ATTENTION_PARAM_NAMES:
            shape = (embed_dim, embed_dim) if name.startswith("W") else (embed_dim,)
            self.params[name] = _uniform_linear(rng, embed_dim, shape, dtype)
        self._cache: Any = None

    def forward(
        self,
        query: np.ndarray,
        key: np.ndarray,
        value: np.ndarray,
        attn_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """query: (N, S, E); key, value: (N, T, E); attn_mask: (S, T), 0 where attention is
        forbidden, or None. Returns (N, S, E)."""
        out, self._cache = multihead_attention_forward(
            query, key, value, self.params, self.num_heads, attn_mask,
            self.dropout, self.mode, self._site_seed(0),
        )  # fmt: skip
        return out

    __call__ = forward

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dout: (N, S, E). Fills self.grads; returns dquery, dkey, dvalue."""
        dquery, dkey, dvalue, self.grads = multihead_attention_backward(dout, self._cache)
        return dquery, dkey, dvalue

    def to_torch_state_dict(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Parameters under the course's PyTorch names, each prefixed by prefix (weights
        transposed to (out, in))."""
        return _to_torch_names(self.params, ATTENTION_TORCH_NAMES, prefix)

    def load_torch_state_dict(self, state_dict: Mapping[str, Any], prefix: str = "") -> None:
        """Replace params with those of a course PyTorch MultiHeadAttention state dict."""
        self.params = _from_torch_names(state_dict, ATTENTION_TORCH_NAMES, self.params, prefix)


class PositionalEncoding(_DropoutModule):
    """Adds the sinusoidal encoding of each position, then dropout. No learned parameters.

    pe: (1, max_len, E) buffer, see tinyvision.layers.attention.positional_encoding
    """

    def __init__(
        self,
        embed_dim: int,
        dropout: float = 0.1,
        max_len: int = 5000,
        seed: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        """embed_dim: E (even); dropout: after the sum; max_len: longest sequence; seed: fixed
        dropout masks or None; dtype: of the encoding table."""
        if embed_dim <= 0 or embed_dim % 2 != 0:
            raise ValueError(f"embed_dim must be a positive even number, got {embed_dim}")
        if max_len <= 0:
            raise ValueError(f"max_len must be positive, got {max_len}")
        self.embed_dim = embed_dim
        self.max_len = max_len
        self.dropout = _check_dropout(dropout)
        self.seed = seed
        self.pe = positional_encoding(max_len, embed_dim, dtype)[None]
        self.params: dict[str, np.ndarray] = {}
        self._cache: Any = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, S, E) with S <= max_len. Returns x + pe[:, :S] after dropout, (N, S, E)."""
        S = x.shape[1]
        if S > self.max_len:
            raise ValueError(
                f"sequence length {S} exceeds max_len {self.max_len}; "
                "build PositionalEncoding with a larger max_len"
            )
        out, self._cache = dropout_p_forward(
            x + self.pe[:, :S].astype(x.dtype), self.dropout, self.mode, self._site_seed(0)
        )
        return out

    __call__ = forward

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, S, E). Returns dx, (N, S, E)."""
        return dropout_p_backward(dout, self._cache)

    def to_torch_state_dict(self) -> dict[str, np.ndarray]:
        """The course module's only state, the `pe` buffer of shape (1, max_len, E)."""
        return {"pe": self.pe.copy()}


def _layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> tuple[Any, Any]:
    """Layer norm over the last axis of (N, S, E), via the (N, D) course function."""
    out, cache = layernorm_forward(x.reshape(-1, x.shape[-1]), gamma, beta, {"eps": LAYERNORM_EPS})
    return out.reshape(x.shape), cache


def _layernorm_backward(dout: np.ndarray, cache: Any) -> tuple[Any, Any, Any]:
    dx, dgamma, dbeta = layernorm_backward(dout.reshape(-1, dout.shape[-1]), cache)
    return dx.reshape(dout.shape), dgamma, dbeta


class TransformerDecoderLayer(_DropoutModule):
    """One post-norm decoder layer, in the course's order:

        x = norm1(tgt + dropout1(self_attn(tgt, tgt, tgt, tgt_mask)))
        x = norm2(x + dropout2(multihead_attn(x, memory, memory)))
        out = norm3(x + dropout3(linear2(dropout(relu(linear1(x))))))

    params: 'self_attn.<name>' and 'multihead_attn.<name>' for each MultiHeadAttention name,
    'W1' (E, F), 'b1' (F,), 'W2' (F, E), 'b2' (E,), and 'gamma1..3', 'beta1..3' (E,).
    """

    def __init__(
        self,
        input_dim: int,
        num_heads: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        seed: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        """input_dim: E; num_heads: H (must divide E); dim_feedforward: F; dropout: everywhere;
        seed: initial weights and fixed dropout masks (see module docstring); dtype: of params.
        """
        _check_heads(input_dim, num_heads)
        if dim_feedforward <= 0:
            raise ValueError(f"dim_feedforward must be positive, got {dim_feedforward}")
        self.input_dim = input_dim
        self.num_heads = num_heads
        self.dim_feedforward = dim_feedforward
        self.dropout = _check_dropout(dropout)
        self.seed = seed
        rng = make_rng(seed)
        E, F = input_dim, dim_feedforward
        self.params: dict[str, np.ndarray] = {}
        for block in ("self_attn", "multihead_attn"):
            for name in ATTENTION_PARAM_NAMES:
                shape = (E, E) if name.startswith("W") else (E,)
                self.params[f"{block}.{name}"] = _uniform_linear(rng, E, shape, dtype)
        self.params["W1"] = _uniform_linear(rng, E, (E, F), dtype)
        self.params["b1"] = _uniform_linear(rng, E, (F,), dtype)
        self.params["W2"] = _uniform_linear(rng, F, (F, E), dtype)
        self.params["b2"] = _uniform_linear(rng, F, (E,), dtype)
        for i in (1, 2, 3):
            self.params[f"gamma{i}"] = np.ones(E, dtype=dtype)
            self.params[f"beta{i}"] = np.zeros(E, dtype=dtype)
        self._cache: Any = None

    def _block(self, prefix: str) -> dict[str, np.ndarray]:
        return {name: self.params[f"{prefix}.{name}"] for name in ATTENTION_PARAM_NAMES}

    def forward(
        self, tgt: np.ndarray, memory: np.ndarray, tgt_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """tgt: (N, S, E) target sequence; memory: (N, T, E) encoder output (image features);
        tgt_mask: (S, S), 0 where self-attention is forbidden, or None. Returns (N, S, E)."""
        p, mode, H = self.dropout, self.mode, self.num_heads
        sa, sa_cache = multihead_attention_forward(
            tgt, tgt, tgt, self._block("self_attn"), H, tgt_mask, p, mode, self._site_seed(0)
        )
        sa, drop1 = dropout_p_forward(sa, p, mode, self._site_seed(1))
        x1, norm1 = _layernorm_forward(tgt + sa, self.params["gamma1"], self.params["beta1"])
        ca, ca_cache = multihead_attention_forward(
            x1, memory, memory, self._block("multihead_attn"), H, None, p, mode,
            self._site_seed(2),
        )  # fmt: skip
        ca, drop2 = dropout_p_forward(ca, p, mode, self._site_seed(3))
        x2, norm2 = _layernorm_forward(x1 + ca, self.params["gamma2"], self.params["beta2"])
        ff_params = {name: self.params[name] for name in FEEDFORWARD_PARAM_NAMES}
        ff, ff_cache = feedforward_forward(x2, ff_params, p, mode, self._site_seed(4))
        ff, drop3 = dropout_p_forward(ff, p, mode, self._site_seed(5))
        out, norm3 = _layernorm_forward(x2 + ff, self.params["gamma3"], self.params["beta3"])
        self._cache = (sa_cache, drop1, norm1, ca_cache, drop2, norm2, ff_cache, drop3, norm3)
        return out

    __call__ = forward

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dout: (N, S, E). Fills self.grads; returns dtgt (N, S, E) and dmemory (N, T, E)."""
        sa_cache, drop1, norm1, ca_cache, drop2, norm2, ff_cache, drop3, norm3 = self._cache
        grads: dict[str, np.ndarray] = {}
        dx2, grads["gamma3"], grads["beta3"] = _layernorm_backward(dout, norm3)
        dff, ff_grads = feedforward_backward(dropout_p_backward(dx2, drop3), ff_cache)
        grads.update(ff_grads)
        dx2 = dx2 + dff
        dx1, grads["gamma2"], grads["beta2"] = _layernorm_backward(dx2, norm2)
        dx1_ca, dmem_k, dmem_v, ca_grads = multihead_attention_backward(
            dropout_p_backward(dx1, drop2), ca_cache
        )
        grads.update({f"multihead_attn.{k}": v for k, v in ca_grads.items()})
        dx1 = dx1 + dx1_ca
        dtgt, grads["gamma1"], grads["beta1"] = _layernorm_backward(dx1, norm1)
        dq, dk, dv, sa_grads = multihead_attention_backward(
            dropout_p_backward(dtgt, drop1), sa_cache
        )
        grads.update({f"self_attn.{k}": v for k, v in sa_grads.items()})
        self.grads = grads
        return dtgt + dq + dk + dv, dmem_k + dmem_v

    def to_torch_state_dict(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Parameters under the course's PyTorch names, each prefixed by prefix (weights
        transposed to (out, in))."""
        return _to_torch_names(self.params, DECODER_TORCH_NAMES, prefix)

    def load_torch_state_dict(self, state_dict: Mapping[str, Any], prefix: str = "") -> None:
        """Replace params with those of a course PyTorch TransformerDecoderLayer state dict."""
        self.params = _from_torch_names(state_dict, DECODER_TORCH_NAMES, self.params, prefix)
