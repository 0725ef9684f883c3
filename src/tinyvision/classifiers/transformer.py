"""CaptioningTransformer: the transformer image-captioning model of CS231n assignment 3, in NumPy.

The image feature is projected to a single "memory" token. The caption's word embeddings plus
sinusoidal positional encodings go through a stack of post-norm decoder layers (causal
self-attention, cross-attention to the memory, feed-forward), and a linear map scores the next
word at every position. Training uses the masked temporal softmax loss, like CaptioningRNN, so
the two models share one interface: `loss(features, captions) -> (loss, grads)` and
`sample(features, max_length, beam_size)`.

Weights are read from `self.params` at every call, so an optimiser may replace entries
(`model.params[name] = new`) or the whole dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tinyvision.classifiers.captioning_common import (
    BeamStep,
    GreedyStep,
    SpecialTokens,
    beam_search_captions,
    check_captions,
    check_features,
    check_positive_int,
    greedy_decode,
    next_word_log_probs,
    require_tokens,
    special_tokens,
)
from tinyvision.init import make_rng
from tinyvision.layers.affine import affine_backward, affine_forward
from tinyvision.layers.recurrent import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from tinyvision.model import Model
from tinyvision.transformer_layers import (
    DECODER_TORCH_NAMES,
    PositionalEncoding,
    TransformerDecoderLayer,
)
from tinyvision.validation import check_same_length

__all__ = ["CaptioningTransformer", "torch_parameter_names"]

# The course's decoder layer default (torch.nn.TransformerDecoderLayer's), so its weights load here.
DEFAULT_DIM_FEEDFORWARD = 2048
# Spacing of the fixed dropout seeds of consecutive modules (each uses at most 6 sites).
_SEED_STRIDE = 8


def torch_parameter_names(num_layers: int) -> dict[str, tuple[str, bool]]:
    """How each parameter of a CaptioningTransformer with num_layers layers is named in the
    course's PyTorch CaptioningTransformer.

    returns {our name: (course PyTorch name, transposed?)}; a transposed entry is a linear
        weight, (in, out) here and (out, in) in PyTorch
    """
    names = {
        "W_proj": ("visual_projection.weight", True),
        "b_proj": ("visual_projection.bias", False),
        "W_embed": ("embedding.weight", False),
    }
    for i in range(num_layers):
        for ours, (theirs, transposed) in DECODER_TORCH_NAMES.items():
            names[f"layers.{i}.{ours}"] = (f"transformer.layers.{i}.{theirs}", transposed)
    names["W_vocab"] = ("output.weight", True)
    names["b_vocab"] = ("output.bias", False)
    return names


class CaptioningTransformer(Model):
    """Image captioning with a transformer decoder, trained with teacher forcing.

    Parameters (in self.params, all of dtype `dtype`), with W = wordvec_dim:
      W_proj (D, W), b_proj (W,): visual projection of the image feature to the memory token
      W_embed (V, W): word embeddings
      layers.<i>.<name>: decoder layer i's parameters (see TransformerDecoderLayer)
      W_vocab (W, V), b_vocab (V,): output scores
    Linear and embedding weights start as N(0, 0.02^2), biases at 0 and layer-norm scales at 1,
    as the course initialises its model.

    Dropout: loss() applies it in training mode (the default; see train() / eval()); sample()
    never does. With `dropout_seed = None` (the default) every training call draws new masks,
    reproducibly from `seed`; setting `dropout_seed` to an int makes every call use the same
    masks, which gradient checks need.
    """

    def __init__(
        self,
        word_to_idx: Mapping[str, int],
        input_dim: int,
        wordvec_dim: int,
        num_heads: int = 4,
        num_layers: int = 2,
        max_length: int = 50,
        dropout: float = 0.1,
        dim_feedforward: int | None = None,
        dtype: Any = np.float32,
        seed: int | None = None,
    ) -> None:
        """Build the model.

        word_to_idx: maps each of the V words to a distinct index >= 0; loss needs "<NULL>"
            and sample "<NULL>", "<START>" and "<END>", all with indices < V (the course's
            sanity checks build models on {"<NULL>": 0, "cat": 2, "dog": 3} and call loss)
        input_dim: D, the size of an image feature vector
        wordvec_dim: W, the model width (a multiple of num_heads, and even)
        num_heads: attention heads per layer
        num_layers: decoder layers
        max_length: longest input sequence (positional-encoding table length)
        dropout: probability of zeroing, used everywhere dropout appears (0 to disable)
        dim_feedforward: hidden size of the feed-forward blocks; None means the course's 2048
            (for small experiments 4 * wordvec_dim is plenty and much faster)
        dtype: float dtype of the parameters (np.float32 to train, np.float64 to grad-check)
        seed: seed of the weight initialisation and of the dropout masks; None follows
            np.random.seed
        """
        tokens = special_tokens(word_to_idx)
        vocab_size = len(word_to_idx)
        if dim_feedforward is None:
            dim_feedforward = DEFAULT_DIM_FEEDFORWARD
        for name, value in (
            ("input_dim", input_dim),
            ("wordvec_dim", wordvec_dim),
            ("num_heads", num_heads),
            ("num_layers", num_layers),
            ("max_length", max_length),
            ("dim_feedforward", dim_feedforward),
        ):
            check_positive_int(value, name)
        if wordvec_dim % num_heads != 0 or wordvec_dim % 2 != 0:
            raise ValueError(
                f"wordvec_dim ({wordvec_dim}) must be even and a multiple of num_heads "
                f"({num_heads}); choose, e.g., a multiple of {2 * num_heads}"
            )

        self.dtype = dtype
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.vocab_size = vocab_size
        self.max_length = int(max_length)
        self.num_layers = int(num_layers)
        self.dropout_seed: int | None = None
        self._null, self._start, self._end = tokens
        self._rng = make_rng(seed)

        self.positional_encoding = PositionalEncoding(
            wordvec_dim, dropout=dropout, max_len=self.max_length, dtype=dtype
        )
        self.layers = [
            TransformerDecoderLayer(
                wordvec_dim, num_heads, int(dim_feedforward), dropout, None, dtype
            )
            for _ in range(self.num_layers)
        ]
        self.params: dict[str, np.ndarray] = {}
        self.params["W_proj"] = self._normal((input_dim, wordvec_dim))
        self.params["b_proj"] = np.zeros(wordvec_dim, dtype=dtype)
        self.params["W_embed"] = self._normal((vocab_size, wordvec_dim))
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                if name.startswith("gamma"):
                    self.params[f"layers.{i}.{name}"] = np.ones_like(value)
                elif value.ndim == 1:  # biases and layer-norm shifts
                    self.params[f"layers.{i}.{name}"] = np.zeros_like(value)
                else:
                    self.params[f"layers.{i}.{name}"] = self._normal(value.shape)
        self.params["W_vocab"] = self._normal((wordvec_dim, vocab_size))
        self.params["b_vocab"] = np.zeros(vocab_size, dtype=dtype)

    def _normal(self, shape: tuple[int, ...]) -> np.ndarray:
        return (0.02 * self._rng.standard_normal(shape)).astype(self.dtype)

    # --------------------------------------------------------------------------- modes

    def _sync_layers(self) -> None:
        """Point the layer objects at the current entries of self.params."""
        for i, layer in enumerate(self.layers):
            prefix = f"layers.{i}."
            layer.params = {name: self.params[prefix + name] for name in layer.params}

    def _prepare(self, training: bool) -> None:
        """Read the current self.params and set every module's dropout mode and masks."""
        self._sync_layers()
        base = self.dropout_seed
        if base is None and training:
            # Fresh masks at every call, reproducible from the model's seed.
            base = int(self._rng.integers(2**31 - _SEED_STRIDE * (self.num_layers + 1)))
        modules = [self.positional_encoding, *self.layers]
        for k, module in enumerate(modules):
            module.training = training
            module.seed = None if base is None else base + _SEED_STRIDE * k

    @property
    def _tokens(self) -> SpecialTokens:
        """The special-token ids in the form the shared decoding helpers take."""
        return SpecialTokens(self._null, self._start, self._end)

    # ------------------------------------------------------------------------------- loss

    def _memory(self, features: np.ndarray) -> tuple[np.ndarray, Any]:
        """The projected image feature as a length-1 memory sequence, (N, 1, W)."""
        projected, cache = affine_forward(features, self.params["W_proj"], self.params["b_proj"])
        return projected[:, None, :], cache

    def _decode(self, memory: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        """Scores (N, T, V) of the next word after each prefix of words (N, T)."""
        T = words.shape[1]
        x, embed_cache = word_embedding_forward(words, self.params["W_embed"])
        x = self.positional_encoding.forward(x)
        causal = np.tril(np.ones((T, T), dtype=bool))
        for layer in self.layers:
            x = layer.forward(x, memory, causal)
        scores, vocab_cache = temporal_affine_forward(
            x, self.params["W_vocab"], self.params["b_vocab"]
        )
        return scores, [embed_cache, vocab_cache]

    def loss(
        self, features: np.ndarray, captions: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Teacher-forced training loss and its gradients.

        The net reads captions[:, :-1] (each position attending only to earlier ones) and is
        scored on predicting captions[:, 1:]; targets equal to <NULL> are masked out. The loss
        is summed over time and averaged over N. Dropout is on while self.training.

        features: (N, D) float image features
        captions: (N, T) integer word ids, each row starting with <START>, T - 1 <= max_length
        returns loss (float) and grads, a dict with the gradient of every entry of self.params
        """
        null = require_tokens(self._tokens, "loss", self.vocab_size).null
        features = check_features(features, self.params["W_proj"].shape[0], self.dtype)
        captions = check_captions(
            captions,
            self.vocab_size,
            max_length=self.max_length,
            remedy="encode captions with the model's word_to_idx",
        )
        check_same_length(features, captions, "features", "captions")
        self._prepare(self.training)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        memory, proj_cache = self._memory(features)
        scores, (embed_cache, vocab_cache) = self._decode(memory, captions_in)
        loss, dscores = temporal_softmax_loss(scores, captions_out, captions_out != null)

        grads: dict[str, np.ndarray] = {}
        dx, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        dmemory = np.zeros_like(memory)
        for i in reversed(range(self.num_layers)):
            dx, dmemory_i = self.layers[i].backward(dx)
            dmemory += dmemory_i
            grads.update({f"layers.{i}.{k}": v for k, v in self.layers[i].grads.items()})
        dx = self.positional_encoding.backward(dx)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dmemory[:, 0, :], proj_cache)
        self.grads = grads
        return loss, grads

    def predict(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy captions of the images: the model contract's predict (see sample)."""
        return self.sample(features, max_length=max_length)

    # --------------------------------------------------------------------------- sampling

    def _next_log_probs(self, memory: np.ndarray, prefixes: np.ndarray) -> np.ndarray:
        """Log-probabilities (B, V) of the word following each prefix (B, t) of word ids."""
        scores, _ = self._decode(memory, prefixes)
        return next_word_log_probs(scores[:, -1, :], self._tokens)

    def sample(self, features: np.ndarray, max_length: int = 30, beam_size: int = 1) -> np.ndarray:
        """Generate a caption for every image, greedily or by beam search, without dropout.

        Generation starts from <START> (not part of the output) and never emits <NULL> or
        <START>. A row holds the generated words in order; when <END> is produced it is kept
        and every later position is <NULL>. A row without <END> was cut at max_length.

        beam_size=1 is greedy decoding. beam_size > 1 searches, for each image separately, for
        the caption with the largest sum of log-probabilities (not length-normalised): at every
        step the beam_size best extensions of the live beams are taken, those ending in <END>
        become finished captions and the beam_size best others stay live. The search stops at
        max_length, or once the best finished caption scores at least as high as every live
        beam (a live beam's score can only fall).

        features: (N, D) float image features
        max_length: T, the number of words to generate at most (T <= the model's max_length)
        beam_size: number of beams; 1 means greedy
        returns captions, an (N, T) int64 array of word ids
        """
        tokens = require_tokens(self._tokens, "sample", self.vocab_size)
        features = check_features(features, self.params["W_proj"].shape[0], self.dtype)
        if int(max_length) != max_length or not 1 <= max_length <= self.max_length:
            raise ValueError(
                f"max_length must be an integer in [1, {self.max_length}] (the model's "
                f"max_length), got {max_length!r}"
            )
        check_positive_int(beam_size, "beam_size")
        self._prepare(training=False)
        memory, _ = self._memory(features)
        if beam_size == 1:
            return greedy_decode(self._greedy_step(memory), len(memory), int(max_length), tokens)
        return beam_search_captions(
            lambda n: self._beam_step(memory[n : n + 1]),
            len(memory),
            int(max_length),
            int(beam_size),
            tokens,
        )

    def _greedy_step(self, memory: np.ndarray) -> GreedyStep:
        """Step function for greedy_decode over the memories (N, 1, W); only the requested
        rows are decoded."""
        return lambda prefixes, rows: self._next_log_probs(memory[rows], prefixes[rows])

    def _beam_step(self, memory: np.ndarray) -> BeamStep:
        """Step function for beam_search over one image's memory (1, 1, W); every beam's
        whole prefix is re-decoded, so no state follows the parents."""
        return lambda prefixes, parents: self._next_log_probs(
            np.repeat(memory, len(prefixes), axis=0), prefixes
        )

    # ------------------------------------------------------------------------ PyTorch

    def to_torch_state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays under the course's PyTorch CaptioningTransformer names
        (linear weights transposed to (out, in)), with the positional-encoding buffer; wrap
        with torch.from_numpy to load."""
        state = {
            theirs: (self.params[ours].T if transposed else self.params[ours]).copy()
            for ours, (theirs, transposed) in torch_parameter_names(self.num_layers).items()
        }
        state["positional_encoding.pe"] = self.positional_encoding.pe.copy()
        return state
