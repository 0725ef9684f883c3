"""What CaptioningRNN and CaptioningTransformer share: input checks, special tokens, decoding.

Both models read an (N, D) image feature array and (N, T) integer captions, use a vocabulary
with "<NULL>" padding (needed by the loss) and "<START>" and "<END>" (needed to sample), and
sample captions greedily or by beam search.
The decoders here own the search; a model supplies a step function that maps the words
generated so far to log-probabilities of the next word, and keeps whatever state it needs
(an RNN's hidden state, or nothing for a transformer that re-reads the whole prefix).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinyvision.layers.losses import log_softmax
from tinyvision.validation import check_float_array, check_positive_int

__all__ = [
    "SPECIAL_TOKENS",
    "BeamStep",
    "GreedyStep",
    "SpecialTokens",
    "beam_search",
    "beam_search_captions",
    "check_captions",
    "check_features",
    "check_positive_int",
    "greedy_decode",
    "next_word_log_probs",
    "require_tokens",
    "special_tokens",
]

SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>")

# step(prefixes, rows) -> log_probs; see greedy_decode.
GreedyStep = Callable[[np.ndarray, np.ndarray], np.ndarray]
# step(prefixes, parents) -> log_probs; see beam_search.
BeamStep = Callable[[np.ndarray, np.ndarray], np.ndarray]


class SpecialTokens(NamedTuple):
    """Word ids of the padding, start and end tokens; None for a token the vocabulary lacks."""

    null: int | None
    start: int | None
    end: int | None


def special_tokens(word_to_idx: Mapping[str, int]) -> SpecialTokens:
    """Check a captioning vocabulary and return the ids of the special tokens it has.

    The course's own sanity checks build models on vocabularies such as
    {"<NULL>": 0, "cat": 2, "dog": 3}, without <START> or <END> and with gaps in the indices,
    so a model is built on any vocabulary of distinct non-negative indices; each method then
    asks for the tokens it uses (require_tokens).
    word_to_idx: maps each of the V words to a distinct integer index >= 0
    returns SpecialTokens(null, start, end), Python ints or None where a token is absent
    raises ValueError naming the repeated or negative indices
    """
    indices = [int(i) for i in word_to_idx.values()]
    if len(set(indices)) != len(indices) or min(indices, default=0) < 0:
        repeated = sorted({i for i in indices if indices.count(i) > 1})
        raise ValueError(
            f"word_to_idx must map its {len(indices)} words to distinct indices >= 0; got "
            f"repeated indices {repeated} and smallest index {min(indices)}; give every word "
            "its own index 0, 1, 2, ..."
        )
    ids = (word_to_idx.get(token) for token in SPECIAL_TOKENS)
    return SpecialTokens(*(None if i is None else int(i) for i in ids))


# What each method of a captioning model uses the special tokens for.
_TOKEN_USES = {
    "loss": (("<NULL>",), "loss masks the <NULL> padding out of its targets"),
    "sample": (SPECIAL_TOKENS, "sample starts from <START>, stops at <END> and pads with <NULL>"),
}


def require_tokens(tokens: SpecialTokens, method: str, vocab_size: int) -> SpecialTokens:
    """Check that the vocabulary has the special tokens a method uses, inside the scores.

    tokens: from special_tokens
    method: "loss" (uses <NULL>) or "sample" (uses <NULL>, <START> and <END>)
    vocab_size: V, the number of words the model scores (ids 0..V-1)
    returns tokens unchanged
    raises ValueError naming every missing token, or a token whose index is >= V
    """
    needed, use = _TOKEN_USES[method]
    ids = dict(zip(SPECIAL_TOKENS, tokens, strict=True))
    missing = [token for token in needed if ids[token] is None]
    if missing:
        raise ValueError(
            f"word_to_idx lacks the special token(s) {missing}; {use}, so add "
            f"{' and '.join(missing)} to the vocabulary (as the course's coco2014_vocab.json "
            "has them)"
        )
    outside = [token for token in needed if ids[token] >= vocab_size]
    if outside:
        raise ValueError(
            f"the special token(s) {outside} have indices {[ids[t] for t in outside]} but the "
            f"model scores only {vocab_size} words (indices 0..{vocab_size - 1}); {use}, so "
            "number the vocabulary 0..V-1"
        )
    return tokens


def check_features(features: np.ndarray, input_dim: int, dtype: Any) -> np.ndarray:
    """Check a batch of image features and cast it to the model's dtype.

    features: (N, D) array of image features, any real dtype, N >= 1
    input_dim: the D the model was built with
    dtype: float dtype of the model's parameters
    returns features as an (N, D) array of dtype `dtype` (not copied when already of it)
    raises ValueError for a wrong number of dimensions, an empty batch or a wrong D
    """
    features = check_float_array(features, "features", 2)
    if features.shape[0] == 0:
        raise ValueError("features is an empty batch; pass at least one feature vector")
    if features.shape[1] != input_dim:
        raise ValueError(
            f"features must have shape (N, {input_dim}) for this model, got "
            f"{features.shape}; pass features of the input_dim the model was built with"
        )
    return features.astype(dtype, copy=False)


def check_captions(
    captions: np.ndarray,
    vocab_size: int,
    max_length: int | None = None,
    remedy: str = "encode captions with the word_to_idx the model was built with",
) -> np.ndarray:
    """Check a batch of training captions.

    captions: (N, T) integer word ids, T >= 2 (<START> plus at least one word)
    vocab_size: V; every id must lie in [0, V)
    max_length: if given, the most input positions the model handles; the net reads T - 1
        of them (a transformer's positional-encoding length). None means no limit.
    remedy: the advice that ends the out-of-vocabulary message
    returns captions as an ndarray (unchanged dtype)
    raises ValueError for a wrong shape, a non-integer dtype, T - 1 > max_length or an id
        outside the vocabulary, checked in that order
    """
    captions = np.asarray(captions)
    if captions.ndim != 2 or captions.shape[1] < 2:
        raise ValueError(
            "captions must have shape (N, T) with T >= 2 (<START> plus at least one "
            f"word), got shape {captions.shape}"
        )
    if not np.issubdtype(captions.dtype, np.integer):
        raise ValueError(f"captions must hold integer word ids, got dtype {captions.dtype}")
    if max_length is not None and captions.shape[1] - 1 > max_length:
        raise ValueError(
            f"captions of length {captions.shape[1]} feed {captions.shape[1] - 1} positions "
            f"but the model handles at most max_length={max_length}; build the model "
            "with a larger max_length or shorten the captions"
        )
    if captions.size and (captions.min() < 0 or captions.max() >= vocab_size):
        bad = captions.min() if captions.min() < 0 else captions.max()
        raise ValueError(
            f"captions holds the word id {bad}, outside the vocabulary [0, {vocab_size}); {remedy}"
        )
    return captions


def next_word_log_probs(scores: np.ndarray, tokens: SpecialTokens) -> np.ndarray:
    """Log-softmax of next-word scores, with <NULL> and <START> ruled out.

    scores: (B, V) float scores of the next word
    tokens: the vocabulary's special tokens
    returns (B, V) log-probabilities of the same dtype; the <NULL> and <START> columns are -inf
    """
    log_probs = log_softmax(scores, axis=1)
    # <NULL> and <START> are never training targets, so they are never valid next words.
    log_probs[:, [tokens.null, tokens.start]] = -np.inf
    return log_probs


def greedy_decode(
    step: GreedyStep, num_captions: int, max_length: int, tokens: SpecialTokens
) -> np.ndarray:
    """Generate num_captions captions at once, taking the most probable word at every step.

    step(prefixes, rows) -> log_probs is called once per generated position t = 1, 2, ...:
      prefixes: (num_captions, t) int64, every caption's words so far, starting with <START>;
        captions that have already produced <END> continue with <NULL>
      rows: (R,) int64, the indices of the captions still being generated
      log_probs: (R, V) log-probabilities of the next word of those rows
    num_captions: N
    max_length: T, the number of words to generate at most
    tokens: the vocabulary's special tokens
    returns (N, T) int64 captions without <START>; a caption's <END> is kept and followed by
        <NULL>, and a caption without <END> was cut at T
    """
    captions = np.full((num_captions, max_length), tokens.null, dtype=np.int64)
    prefixes = np.full((num_captions, 1), tokens.start, dtype=np.int64)
    alive = np.ones(num_captions, dtype=bool)
    for t in range(max_length):
        rows = np.flatnonzero(alive)
        words = step(prefixes, rows).argmax(axis=1)
        captions[rows, t] = words
        prefixes = np.concatenate([prefixes, captions[:, t, None]], axis=1)
        alive[rows] = words != tokens.end
        if not alive.any():
            break
    return captions


def beam_search(
    step: BeamStep, max_length: int, beam_size: int, tokens: SpecialTokens
) -> list[int]:
    """The caption of one image with the largest sum of log-probabilities, by beam search.

    The score is not length-normalised, so shorter captions are not penalised. At every step
    the beam_size best extensions of the live beams are taken; those that end in <END> become
    finished captions, and the beam_size best others stay live. The search stops at
    max_length, or once the best finished caption scores at least as high as every live beam
    (a live beam's score can only fall).

    step(prefixes, parents) -> log_probs is called once per generated position t = 1, 2, ...:
      prefixes: (B, t) int64, the live beams' words so far, starting with <START>
      parents: (B,) int64, for each live beam the row of the previous call's prefixes it
        extends (at the first call, [0]: the single beam <START>)
      log_probs: (B, V) log-probabilities of every beam's next word
    max_length: T, the number of words to generate at most
    beam_size: number of beams kept live, >= 1
    tokens: the vocabulary's special tokens
    returns the best caption as a list of at most T word ids, without <START>; it ends with
        <END> unless it was cut at T
    """
    prefixes = np.full((1, 1), tokens.start, dtype=np.int64)
    parents = np.zeros(1, dtype=np.int64)
    scores = np.zeros(1)
    finished: list[tuple[float, list[int]]] = []
    ran_out_of_length = True
    for _ in range(max_length):
        log_probs = step(prefixes, parents)
        vocab_size = log_probs.shape[1]
        candidates = (scores[:, None] + log_probs).ravel()
        order = np.argsort(-candidates, kind="stable")
        is_end = order % vocab_size == tokens.end
        for flat in order[:beam_size][is_end[:beam_size]]:
            beam = flat // vocab_size
            finished.append((float(candidates[flat]), [*prefixes[beam, 1:].tolist(), tokens.end]))
        keep = order[~is_end][:beam_size]
        keep = keep[np.isfinite(candidates[keep])]
        if len(keep) == 0:
            ran_out_of_length = False
            break
        parents, words = keep // vocab_size, keep % vocab_size
        prefixes = np.concatenate([prefixes[parents], words[:, None]], axis=1)
        scores = candidates[keep]
        if finished and max(s for s, _ in finished) >= scores.max():
            ran_out_of_length = False
            break
    if ran_out_of_length or not finished:
        live = zip(scores, prefixes[:, 1:], strict=True)
        finished.extend((float(s), words.tolist()) for s, words in live)
    # max() keeps the first of equal scores, so ties go to the caption found earliest.
    return max(finished, key=lambda item: item[0])[1]


def beam_search_captions(
    make_step: Callable[[int], BeamStep],
    num_captions: int,
    max_length: int,
    beam_size: int,
    tokens: SpecialTokens,
) -> np.ndarray:
    """Run beam_search separately for every image and pad the results into one array.

    make_step(n) -> step: a fresh step function (see beam_search) for image n
    num_captions: N, the number of images
    max_length: T, the number of words to generate at most
    beam_size: number of beams kept live, >= 1
    tokens: the vocabulary's special tokens
    returns (N, T) int64 captions laid out as greedy_decode's: <END> kept, then <NULL>
    """
    captions = np.full((num_captions, max_length), tokens.null, dtype=np.int64)
    for n in range(num_captions):
        best = beam_search(make_step(n), max_length, beam_size, tokens)
        captions[n, : len(best)] = best
    return captions
