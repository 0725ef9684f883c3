"""CaptioningRNN: the image-captioning model of CS231n assignment 3.

An image feature vector is projected to the initial hidden state of a vanilla RNN or an LSTM.
The recurrent net reads word embeddings of the caption and predicts the next word at every
step; the loss is the masked temporal softmax loss, so <NULL> padding is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

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
from tinyvision.validation import check_float_array, check_same_length

__all__ = ["CaptioningRNN"]

_CELL_TYPES = ("rnn", "lstm")
_SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>")


class CaptioningRNN:
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

        word_to_idx: maps each of the V words to a distinct index in [0, V); must contain
            "<NULL>", "<START>" and "<END>"
        input_dim: D, the size of an image feature vector
        wordvec_dim: W, the size of a word vector
        hidden_dim: H, the size of the hidden state
        cell_type: "rnn" or "lstm"
        dtype: float dtype of the parameters (np.float32 to train, np.float64 to grad-check)
        seed: seed of the weight initialisation; None draws fresh entropy
        """
        if cell_type not in _CELL_TYPES:
            raise ValueError(f"cell_type must be 'rnn' or 'lstm', got {cell_type!r}")
        missing = [token for token in _SPECIAL_TOKENS if token not in word_to_idx]
        if missing:
            raise ValueError(
                f"word_to_idx lacks the special token(s) {missing}; a captioning vocabulary "
                f"needs {list(_SPECIAL_TOKENS)} (as in the course's coco2014_vocab.json)"
            )
        vocab_size = len(word_to_idx)
        indices = sorted(int(i) for i in word_to_idx.values())
        if indices != list(range(vocab_size)):
            raise ValueError(
                f"word_to_idx must map its {vocab_size} words to the distinct indices "
                f"0..{vocab_size - 1}; got indices from {indices[0]} to {indices[-1]}"
            )
        for name, value in (
            ("input_dim", input_dim),
            ("wordvec_dim", wordvec_dim),
            ("hidden_dim", hidden_dim),
        ):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.params: dict[str, np.ndarray] = {}
        self._null = int(word_to_idx["<NULL>"])
        self._start = int(word_to_idx["<START>"])
        self._end = int(word_to_idx["<END>"])

        rng = np.random.default_rng(seed)
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

    # ------------------------------------------------------------------------- validation

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        features = check_float_array(features, "features", 2)
        input_dim = self.params["W_proj"].shape[0]
        if features.shape[0] == 0:
            raise ValueError("features is an empty batch; pass at least one feature vector")
        if features.shape[1] != input_dim:
            raise ValueError(
                f"features must have shape (N, {input_dim}) for this model, got "
                f"{features.shape}; pass features of the input_dim the model was built with"
            )
        return features.astype(self.dtype, copy=False)

    def _check_captions(self, captions: np.ndarray) -> np.ndarray:
        captions = np.asarray(captions)
        if captions.ndim != 2 or captions.shape[1] < 2:
            raise ValueError(
                "captions must have shape (N, T) with T >= 2 (<START> plus at least one "
                f"word), got shape {captions.shape}"
            )
        if not np.issubdtype(captions.dtype, np.integer):
            raise ValueError(f"captions must hold integer word ids, got dtype {captions.dtype}")
        vocab_size = self.params["W_embed"].shape[0]
        if captions.size and (captions.min() < 0 or captions.max() >= vocab_size):
            bad = captions.min() if captions.min() < 0 else captions.max()
            raise ValueError(
                f"captions holds the word id {bad}, outside the vocabulary [0, {vocab_size}); "
                "encode captions with the word_to_idx the model was built with"
            )
        return captions

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
        features = self._check_features(features)
        captions = self._check_captions(captions)
        check_same_length(features, captions, "features", "captions")
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null

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
        return loss, grads

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
        scores = h @ p["W_vocab"] + p["b_vocab"]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        # <NULL> and <START> are never training targets, so they are never valid next words.
        log_probs[:, [self._null, self._start]] = -np.inf
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
        features = self._check_features(features)
        if int(max_length) != max_length or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        if int(beam_size) != beam_size or beam_size < 1:
            raise ValueError(f"beam_size must be a positive integer, got {beam_size!r}")
        h0, _ = affine_forward(features, self.params["W_proj"], self.params["b_proj"])
        if beam_size == 1:
            return self._greedy(h0, int(max_length))
        captions = np.full((len(features), int(max_length)), self._null, dtype=np.int64)
        for n in range(len(features)):
            best = self._beam_search(h0[n], int(max_length), int(beam_size))
            captions[n, : len(best)] = best
        return captions

    def _greedy(self, h0: np.ndarray, max_length: int) -> np.ndarray:
        N = h0.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        words = np.full(N, self._start, dtype=np.int64)
        alive = np.ones(N, dtype=bool)
        h, c = h0, np.zeros_like(h0)
        for t in range(max_length):
            log_probs, h, c = self._step(words, h, c)
            words = log_probs.argmax(axis=1)
            captions[alive, t] = words[alive]
            alive &= words != self._end
            if not alive.any():
                break
        return captions

    def _beam_search(self, h0: np.ndarray, max_length: int, beam_size: int) -> list[int]:
        """Best caption (as a word list) for one image's initial hidden state h0 (H,)."""
        tokens = np.empty((1, 0), dtype=np.int64)
        scores = np.zeros(1)
        h, c = h0[None], np.zeros_like(h0[None])
        words = np.array([self._start])
        finished: list[tuple[float, list[int]]] = []
        for _ in range(max_length):
            log_probs, h, c = self._step(words, h, c)
            vocab_size = log_probs.shape[1]
            candidates = (scores[:, None] + log_probs).ravel()
            order = np.argsort(-candidates, kind="stable")
            is_end = order % vocab_size == self._end
            for flat in order[:beam_size][is_end[:beam_size]]:
                beam = flat // vocab_size
                finished.append((float(candidates[flat]), [*tokens[beam].tolist(), self._end]))
            keep = order[~is_end][:beam_size]
            keep = keep[np.isfinite(candidates[keep])]
            if len(keep) == 0:
                break
            beams, words = keep // vocab_size, keep % vocab_size
            tokens = np.concatenate([tokens[beams], words[:, None]], axis=1)
            scores, h, c = candidates[keep], h[beams], c[beams]
            if finished and max(s for s, _ in finished) >= scores.max():
                break
        else:
            finished.extend((float(s), t.tolist()) for s, t in zip(scores, tokens, strict=True))
        # max() keeps the first of equal scores, so ties go to the caption found earliest.
        return max(finished, key=lambda item: item[0])[1]
