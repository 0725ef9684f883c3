"""CaptioningRNN: the image-captioning model of CS231n assignment 3.

An image feature vector is projected to the initial hidden state of a vanilla RNN or an LSTM.
The recurrent net reads word embeddings of the caption and predicts the next word at every
step; the loss is the masked temporal softmax loss, so <NULL> padding is ignored.
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
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from tinyvision.model import Model
from tinyvision.validation import check_same_length

__all__ = ["CaptioningRNN"]

_CELL_TYPES = ("rnn", "lstm")


class CaptioningRNN(Model):
    """Image captioning with a recurrent net, trained with teacher forcing.

    Parameters (in self.params, all of dtype `dtype`):
      W_embed (V, W), W_proj (D, H), b_proj (H,), Wx (W, kH), Wh (H, kH), b (kH,),
      W_vocab (H, V), b_vocab (V,), with k = 1 for "rnn" and 4 for "lstm".
    """

    def __init__(
        self,
        word_to_idx: Mapping[str, int],
        input_dim: int = 512,
        wordvec_dim: int = 128,
        hidden_dim: int = 128,
        cell_type: str = "rnn",
        dtype: Any = np.float32,
        seed: int | None = None,
    ) -> None:
        """Build the model and initialise its weights as the course does.

        word_to_idx: maps each of the V words to a distinct index >= 0; loss needs "<NULL>"
            and sample "<NULL>", "<START>" and "<END>", all with indices < V (the course's
            sanity checks build models on {"<NULL>": 0, "cat": 2, "dog": 3} and call loss)
        input_dim: D, the size of an image feature vector
        wordvec_dim: W, the size of a word vector
        hidden_dim: H, the size of the hidden state
        cell_type: "rnn" or "lstm"
        dtype: float dtype of the parameters (np.float32 to train, np.float64 to grad-check)
        seed: seed of the weight initialisation; None follows np.random.seed
        """
        if cell_type not in _CELL_TYPES:
            raise ValueError(f"cell_type must be 'rnn' or 'lstm', got {cell_type!r}")
        tokens = special_tokens(word_to_idx)
        vocab_size = len(word_to_idx)
        for name, value in (
            ("input_dim", input_dim),
            ("wordvec_dim", wordvec_dim),
            ("hidden_dim", hidden_dim),
        ):
            check_positive_int(value, name)

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.params: dict[str, np.ndarray] = {}
        self._null, self._start, self._end = tokens

        rng = make_rng(seed)
        gates = 4 if cell_type == "lstm" else 1
        self.params["W_embed"] = rng.standard_normal((vocab_size, wordvec_dim)) / 100
        self.params["W_proj"] = rng.standard_normal((input_dim, hidden_dim)) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)
        self.params["Wx"] = rng.standard_normal((wordvec_dim, gates * hidden_dim)) / np.sqrt(
            wordvec_dim
        )
        self.params["Wh"] = rng.standard_normal((hidden_dim, gates * hidden_dim)) / np.sqrt(
            hidden_dim
        )
        self.params["b"] = np.zeros(gates * hidden_dim)
        self.params["W_vocab"] = rng.standard_normal((hidden_dim, vocab_size)) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)
        for name, value in self.params.items():
            self.params[name] = value.astype(self.dtype)

    @property
    def _tokens(self) -> SpecialTokens:
        """The special-token ids in the form the shared decoding helpers take."""
        return SpecialTokens(self._null, self._start, self._end)

    # ------------------------------------------------------------------------------- loss

    def loss(
        self, features: np.ndarray, captions: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Teacher-forced training loss and its gradients.

        The net reads captions[:, :-1] and is scored on predicting captions[:, 1:]; targets
        equal to <NULL> are masked out. The loss is summed over time and averaged over N.

        features: (N, D) float image features
        captions: (N, T) integer word ids, each row starting with <START>
        returns loss (float) and grads, a dict with the gradient of every entry of self.params
        """
        null = require_tokens(self._tokens, "loss", len(self.word_to_idx)).null
        features = check_features(features, self.params["W_proj"].shape[0], self.dtype)
        captions = check_captions(captions, self.params["W_embed"].shape[0])
        check_same_length(features, captions, "features", "captions")
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != null

        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        recurrent_forward = lstm_forward if self.cell_type == "lstm" else rnn_forward
        h, cell_cache = recurrent_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads: dict[str, np.ndarray] = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        recurrent_backward = lstm_backward if self.cell_type == "lstm" else rnn_backward
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = recurrent_backward(dh, cell_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)
        self.grads = grads
        return loss, grads

    def predict(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy captions of the images: the model contract's predict (see sample)."""
        return self.sample(features, max_length=max_length)

    # --------------------------------------------------------------------------- sampling

    def _step(
        self, words: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feed one word per row; return log-probabilities of the next word and the new state."""
        p = self.params
        x = p["W_embed"][words]
        if self.cell_type == "lstm":
            h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        else:
            h, _ = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        log_probs = next_word_log_probs(h @ p["W_vocab"] + p["b_vocab"], self._tokens)
        return log_probs, h, c

    def sample(self, features: np.ndarray, max_length: int = 30, beam_size: int = 1) -> np.ndarray:
        """Generate a caption for every image, greedily or by beam search.

        Generation starts from <START> (which is not part of the output) and is never allowed
        to emit <NULL> or <START>. A row holds the generated words in order; when <END> is
        produced it is kept, and every later position is <NULL>. A row without <END> was cut
        at max_length.

        beam_size=1 is greedy decoding (the most probable word at every step). beam_size > 1
        searches, for each image separately, for the caption with the largest *sum* of
        log-probabilities (not length-normalised, so shorter captions are not penalised).
        At every step the beam_size best extensions of the live beams are taken; those that
        end in <END> become finished captions, and the beam_size best others stay live. The
        search stops at max_length, or once the best finished caption scores at least as high
        as every live beam (a live beam's score can only fall).

        features: (N, D) float image features
        max_length: T, the number of words to generate at most
        beam_size: number of beams; 1 means greedy
        returns captions, an (N, max_length) int64 array of word ids
        """
        tokens = require_tokens(self._tokens, "sample", len(self.word_to_idx))
        features = check_features(features, self.params["W_proj"].shape[0], self.dtype)
        check_positive_int(max_length, "max_length")
        check_positive_int(beam_size, "beam_size")
        h0, _ = affine_forward(features, self.params["W_proj"], self.params["b_proj"])
        if beam_size == 1:
            return greedy_decode(self._greedy_step(h0), len(h0), int(max_length), tokens)
        return beam_search_captions(
            lambda n: self._beam_step(h0[n]), len(h0), int(max_length), int(beam_size), tokens
        )

    def _greedy_step(self, h0: np.ndarray) -> GreedyStep:
        """Step function for greedy_decode from the initial hidden states h0 (N, H).

        Every row is advanced (finished ones on <NULL>) so the batch keeps its shape; only the
        requested rows' log-probabilities are returned.
        """
        h, c = h0, np.zeros_like(h0)

        def step(prefixes: np.ndarray, rows: np.ndarray) -> np.ndarray:
            nonlocal h, c
            log_probs, h, c = self._step(prefixes[:, -1], h, c)
            return log_probs[rows]

        return step

    def _beam_step(self, h0: np.ndarray) -> BeamStep:
        """Step function for beam_search from one image's initial hidden state h0 (H,)."""
        h, c = h0[None], np.zeros_like(h0[None])

        def step(prefixes: np.ndarray, parents: np.ndarray) -> np.ndarray:
            nonlocal h, c
            log_probs, h, c = self._step(prefixes[:, -1], h[parents], c[parents])
            return log_probs

        return step
