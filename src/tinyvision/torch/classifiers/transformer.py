"""CaptioningTransformer in PyTorch: the course's model of CS231n assignment 3, under the
course's module path (`cs231n.classifiers.transformer` becomes
`tinyvision.torch.classifiers.transformer`).

The image feature is projected to a single "memory" token; the caption's word embeddings plus
positional encodings go through a stack of post-norm decoder layers and a linear map scores the
next word at every position. The submodules carry the course's names (`visual_projection`,
`embedding`, `positional_encoding`, `transformer.layers.<i>`, `output`), are created in the
course's order and initialised as the course does (linear and embedding weights N(0, 0.02^2)
and zero biases, except `output`, which keeps PyTorch's default initialisation), so
`torch.manual_seed(231)` gives the course's model.

The NumPy twin is `tinyvision.classifiers.transformer.CaptioningTransformer`;
`tinyvision.torch.transformer_weights` moves weights between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from tinyvision.classifiers.captioning_common import (
    SpecialTokens,
    greedy_decode,
    next_word_log_probs,
)
from tinyvision.torch.transformer_layers import (
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoder,
    TransformerDecoderLayer,
)
from tinyvision.validation import check_positive_int

__all__ = [
    "CaptioningTransformer",
    "MultiHeadAttention",
    "PositionalEncoding",
    "TransformerDecoder",
    "TransformerDecoderLayer",
]

# The course's initialisation scale of linear and embedding weights.
_INIT_STD = 0.02


def _init_course_weights(module: nn.Module) -> None:
    """The course's initialisation of one module (applied to every module of the model)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=_INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class CaptioningTransformer(nn.Module):
    """Image captioning with a transformer decoder (teacher forcing in forward, greedy sample).

    Sizes: N images, D = input_dim, W = wordvec_dim, V = len(word_to_idx), T caption length.
    """

    def __init__(
        self,
        word_to_idx: Mapping[str, int],
        input_dim: int,
        wordvec_dim: int,
        num_heads: int = 4,
        num_layers: int = 2,
        max_length: int = 50,
        *,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
    ) -> None:
        """Build the model (the course's signature, plus two keyword-only sizes).

        word_to_idx: maps each of the V words to an index in [0, V); must contain "<NULL>".
            sample() also needs "<START>" and "<END>" (the course's forward-pass check uses a
            vocabulary without them)
        input_dim: D, the size of an image feature vector
        wordvec_dim: W, the model width (even, and a multiple of num_heads)
        num_heads: attention heads per layer
        num_layers: decoder layers
        max_length: longest input sequence (positional-encoding table length)
        dim_feedforward: hidden size of the feed-forward blocks (the course's 2048)
        dropout: probability of zeroing, everywhere dropout appears (the course's 0.1)
        """
        super().__init__()
        if "<NULL>" not in word_to_idx:
            raise ValueError(
                f"word_to_idx lacks '<NULL>' (it holds {sorted(word_to_idx)[:6]}...); a "
                "captioning vocabulary pads with <NULL>"
            )
        for name, size in (
            ("input_dim", input_dim),
            ("wordvec_dim", wordvec_dim),
            ("num_heads", num_heads),
            ("num_layers", num_layers),
            ("max_length", max_length),
            ("dim_feedforward", dim_feedforward),
        ):
            check_positive_int(size, name)
        if wordvec_dim % num_heads != 0 or wordvec_dim % 2 != 0:
            raise ValueError(
                f"wordvec_dim ({wordvec_dim}) must be even and a multiple of num_heads "
                f"({num_heads}); choose, e.g., a multiple of {2 * num_heads}"
            )
        self.vocab_size = len(word_to_idx)
        self.max_length = int(max_length)
        self._null = int(word_to_idx["<NULL>"])
        self._start = word_to_idx.get("<START>")
        self._end = word_to_idx.get("<END>")

        # The course's order of creation (each draws from torch's generator), then its init;
        # `output` comes after the init and keeps nn.Linear's default, as in the course.
        self.visual_projection = nn.Linear(input_dim, wordvec_dim)
        self.embedding = nn.Embedding(self.vocab_size, wordvec_dim, padding_idx=self._null)
        self.positional_encoding = PositionalEncoding(wordvec_dim, dropout, max_len=max_length)
        layer = TransformerDecoderLayer(wordvec_dim, num_heads, dim_feedforward, dropout)
        self.transformer = TransformerDecoder(layer, num_layers)
        self.apply(_init_course_weights)
        self.output = nn.Linear(wordvec_dim, self.vocab_size)

    def forward(self, features: Any, captions: Any) -> torch.Tensor:
        """Scores of the next word after every prefix of the captions.

        features: (N, D) float image features (tensor or array; cast to the model's dtype)
        captions: (N, T) integer word ids, T <= max_length; position t attends to 0..t only
        returns scores, (N, T, V) of the model's dtype
        """
        weight = self.visual_projection.weight
        features = torch.as_tensor(features, device=weight.device).to(weight.dtype)
        captions = torch.as_tensor(captions, device=weight.device)
        if features.ndim != 2 or features.shape[1] != weight.shape[1]:
            raise ValueError(
                f"features must have shape (N, {weight.shape[1]}), got {tuple(features.shape)}"
            )
        if captions.ndim != 2 or len(captions) != len(features) or captions.is_floating_point():
            raise ValueError(
                f"captions must be (N, T) integer word ids with N = {len(features)} (one per "
                f"feature row), got {captions.dtype} {tuple(captions.shape)}"
            )
        T = captions.shape[1]
        if T > self.max_length:
            raise ValueError(
                f"captions have {T} positions but the model handles at most max_length="
                f"{self.max_length}; build it with a larger max_length or shorten the captions"
            )
        words = self.positional_encoding(self.embedding(captions.long()))  # (N, T, W)
        memory = self.visual_projection(features)[:, None, :]  # (N, 1, W)
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=weight.device))
        return self.output(self.transformer(words, memory, tgt_mask=causal))

    def sample(self, features: Any, max_length: int = 30) -> np.ndarray:
        """Greedy captions of the images, without dropout (the model's mode is restored).

        Each step takes the most probable next word other than <NULL> and <START>; a caption
        keeps its <END> and is <NULL> after it (the NumPy twin's sample, word for word).
        features: (N, D) float image features
        max_length: T, the number of words to generate at most (T <= the model's max_length)
        returns captions, an (N, T) int64 NumPy array of word ids, without <START>
        """
        if self._start is None or self._end is None:
            raise ValueError(
                "sample() needs '<START>' and '<END>' in word_to_idx; build the model with a "
                "captioning vocabulary (load_coco_data or load_digit_strips)"
            )
        check_positive_int(max_length, "max_length")
        if max_length > self.max_length:
            raise ValueError(
                f"max_length must be at most the model's max_length {self.max_length}, got "
                f"{max_length}"
            )
        weight = self.visual_projection.weight
        features = torch.as_tensor(features, device=weight.device).to(weight.dtype)
        tokens = SpecialTokens(self._null, int(self._start), int(self._end))
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():

                def step(prefixes: np.ndarray, rows: np.ndarray) -> np.ndarray:
                    scores = self(
                        features[torch.from_numpy(rows)], torch.from_numpy(prefixes[rows])
                    )
                    return next_word_log_probs(scores[:, -1, :].cpu().numpy(), tokens)

                return greedy_decode(step, len(features), int(max_length), tokens)
        finally:
            self.train(was_training)
