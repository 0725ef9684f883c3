"""The course's `transformer_layers` in PyTorch: PositionalEncoding, MultiHeadAttention and the
post-norm TransformerDecoderLayer / TransformerDecoder of CS231n assignment 3.

The classes keep the course's constructor arguments, forward signatures and submodule names,
so a state dict of the course's modules loads here and `torch.manual_seed(231)` reproduces the
notebook's sanity checks: the submodules are created, and draw their initial weights, in the
course's order, and dropout is applied at the same places to tensors of the same shapes.

Conventions (the course's, and those of the NumPy twin `tinyvision.transformer_layers`):
- `attn_mask[i, j] == 0` forbids query position i to attend to key position j; a query that
  may attend to no key gets zero attention weights (where a plain softmax would give NaN).
- `dropout` is the probability of zeroing an element, and is active in `train()` mode only.
- The sinusoidal table is `tinyvision.layers.attention.positional_encoding`, the one the NumPy
  engine uses: sin on even dimensions, cos on odd ones.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from tinyvision.layers.attention import positional_encoding

__all__ = [
    "MultiHeadAttention",
    "PositionalEncoding",
    "TransformerDecoder",
    "TransformerDecoderLayer",
]


def _check_dropout(dropout: float) -> float:
    if not 0 <= dropout < 1:
        raise ValueError(
            f"dropout is the probability of zeroing, in [0, 1); got {dropout!r}. Pass 0 to "
            "turn dropout off"
        )
    return float(dropout)


def _check_heads(embed_dim: int, num_heads: int) -> None:
    if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads != 0:
        raise ValueError(
            f"embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads}); "
            "choose num_heads dividing embed_dim"
        )


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal encoding of each position, then dropout. No learned parameters.

    pe: (1, max_len, E) buffer of the default dtype, saved in the state dict as the course's
    """

    def __init__(self, embed_dim: int, dropout: float = 0.1, max_len: int = 5000) -> None:
        """embed_dim: E (even); dropout: probability of zeroing after the sum; max_len: the
        longest sequence."""
        super().__init__()
        if embed_dim <= 0 or embed_dim % 2 != 0:
            raise ValueError(f"embed_dim must be a positive even number, got {embed_dim}")
        if max_len <= 0:
            raise ValueError(f"max_len must be positive, got {max_len}")
        self.dropout = nn.Dropout(p=_check_dropout(dropout))
        table = positional_encoding(max_len, embed_dim)  # (max_len, E) float64
        self.register_buffer("pe", torch.from_numpy(table).to(torch.get_default_dtype())[None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, S, E) with S <= max_len. Returns dropout(x + pe[:, :S]), (N, S, E)."""
        S = x.shape[1]
        if S > self.pe.shape[1]:
            raise ValueError(
                f"sequence length {S} exceeds max_len {self.pe.shape[1]}; build "
                "PositionalEncoding with a larger max_len"
            )
        return self.dropout(x + self.pe[:, :S].to(x.dtype))


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention with learned projections.

    Submodules (the course's names): key, query, value, proj, each nn.Linear(E, E), and
    attn_drop, the dropout on the attention weights.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.1) -> None:
        """embed_dim: E; num_heads: H (must divide E); dropout: on the attention weights."""
        super().__init__()
        _check_heads(embed_dim, num_heads)
        # Created in the course's order: each draws its initial weights from torch's generator.
        self.key = nn.Linear(embed_dim, embed_dim)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.attn_drop = nn.Dropout(_check_dropout(dropout))
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, E) -> (N, H, L, E/H): each head sees its own slice of the embedding."""
        N, L, _ = x.shape
        return x.view(N, L, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """query: (N, S, E); key, value: (N, T, E); attn_mask: (S, T), 0 where query i may not
        attend to key j, or None. Returns (N, S, E)."""
        N, S, E = query.shape
        if key.shape[-1] != E or value.shape != key.shape:
            raise ValueError(
                f"key and value must both have shape (N, T, {E}) to match query "
                f"{tuple(query.shape)}; got key {tuple(key.shape)} and value {tuple(value.shape)}"
            )
        q = self._split_heads(self.query(query))  # (N, H, S, D)
        k = self._split_heads(self.key(key))  # (N, H, T, D)
        v = self._split_heads(self.value(value))  # (N, H, T, D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (N, H, S, T)
        if attn_mask is None:
            weights = F.softmax(scores, dim=-1)
        else:
            allowed = attn_mask.to(scores.device) != 0  # (S, T)
            if allowed.shape != scores.shape[-2:]:
                raise ValueError(
                    f"attn_mask must have shape (S, T) = {tuple(scores.shape[-2:])}, got "
                    f"{tuple(attn_mask.shape)}"
                )
            # A query with no allowed key gets a finite row (then zeroed) instead of NaN.
            attends = allowed.any(dim=-1, keepdim=True)  # (S, 1)
            scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(~attends, 0.0)
            weights = F.softmax(scores, dim=-1).masked_fill(~attends, 0.0)
        heads = self.attn_drop(weights) @ v  # (N, H, S, D)
        return self.proj(heads.transpose(1, 2).reshape(N, S, E))


class TransformerDecoderLayer(nn.Module):
    """One post-norm decoder layer, in the course's order:

    x = norm1(tgt + dropout1(self_attn(tgt, tgt, tgt, tgt_mask)))
    x = norm2(x + dropout2(multihead_attn(x, memory, memory)))
    out = norm3(x + dropout3(linear2(dropout(relu(linear1(x))))))
    """

    def __init__(
        self, input_dim: int, num_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1
    ) -> None:
        """input_dim: E; num_heads: H (must divide E); dim_feedforward: F, the hidden size of
        the feed-forward block; dropout: probability of zeroing, everywhere."""
        super().__init__()
        if dim_feedforward <= 0:
            raise ValueError(f"dim_feedforward must be positive, got {dim_feedforward}")
        self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.multihead_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.linear1 = nn.Linear(input_dim, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, input_dim)
        self.norm1 = nn.LayerNorm(input_dim)
        self.norm2 = nn.LayerNorm(input_dim)
        self.norm3 = nn.LayerNorm(input_dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = nn.ReLU()

    def forward(
        self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """tgt: (N, T, E) target sequence; memory: (N, S, E) encoder output (the projected
        image feature); tgt_mask: (T, T), 0 where self-attention is forbidden, or None.
        Returns (N, T, E)."""
        attended = self.self_attn(query=tgt, key=tgt, value=tgt, attn_mask=tgt_mask)
        x = self.norm1(tgt + self.dropout1(attended))
        attended = self.multihead_attn(query=x, key=memory, value=memory)
        x = self.norm2(x + self.dropout2(attended))
        hidden = self.dropout(self.activation(self.linear1(x)))
        return self.norm3(x + self.dropout3(self.linear2(hidden)))


class TransformerDecoder(nn.Module):
    """num_layers copies of one decoder layer applied in turn (the course's TransformerDecoder).

    The copies start with equal weights, as the course's do; layers: an nn.ModuleList.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int) -> None:
        super().__init__()
        if num_layers <= 0:
            raise ValueError(f"num_layers must be positive, got {num_layers}")
        self.layers = nn.ModuleList(copy.deepcopy(decoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers

    def forward(
        self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """tgt: (N, T, E); memory: (N, S, E); tgt_mask: (T, T) or None. Returns (N, T, E)."""
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask)
        return out
