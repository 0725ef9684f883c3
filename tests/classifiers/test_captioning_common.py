"""Tests for the helpers shared by the captioning models: vocabulary, feature and caption
checks, next-word log-probabilities (against torch.log_softmax), greedy decoding (against a
per-caption reference loop) and beam search (against brute force on small Markov chains)."""

import itertools

import numpy as np
import pytest
import torch

from tinyvision.classifiers.captioning_common import (
    SpecialTokens,
    beam_search,
    beam_search_captions,
    check_captions,
    check_features,
    check_positive_int,
    greedy_decode,
    next_word_log_probs,
    require_tokens,
    special_tokens,
)

TOKENS = SpecialTokens(null=0, start=1, end=2)
WORDS = [TOKENS.end, 3, 4, 5]  # every word a caption may contain


def markov_log_probs(rng, vocab_size=6, scale=2.0):
    """(V, V) table: row w holds the log-probabilities of the word following w."""
    return next_word_log_probs(rng.standard_normal((vocab_size, vocab_size)) * scale, TOKENS)


def caption_score(table, words):
    previous = [TOKENS.start, *words[:-1]]
    return float(sum(table[p, w] for p, w in zip(previous, words, strict=True)))


def all_captions(max_length):
    """Every caption of at most max_length words: ended by <END>, or cut at max_length."""
    others = [w for w in WORDS if w != TOKENS.end]
    ended = [
        [*body, TOKENS.end]
        for k in range(max_length)
        for body in itertools.product(others, repeat=k)
    ]
    return ended + [list(body) for body in itertools.product(others, repeat=max_length)]


# --------------------------------------------------------------------------- vocabulary


def test_special_tokens_reads_ids_wherever_they_are():
    word_to_idx = {"cat": 0, "<END>": 1, "<NULL>": 2, "<START>": 3}
    tokens = special_tokens(word_to_idx)
    assert tokens == (2, 3, 1) and (tokens.null, tokens.start, tokens.end) == (2, 3, 1)
    assert all(
        type(i) is int for i in special_tokens({k: np.int64(v) for k, v in word_to_idx.items()})
    )


def test_special_tokens_accepts_the_course_sanity_vocabulary():
    # The course's loss checks use a vocabulary with <NULL> only and a gap in the indices.
    assert special_tokens({"<NULL>": 0, "cat": 2, "dog": 3}) == (0, None, None)
    assert special_tokens({"a": 0}) == (None, None, None)


def test_special_tokens_refuses_repeated_or_negative_indices():
    with pytest.raises(ValueError, match=r"distinct indices >= 0; got repeated indices \[2\]"):
        special_tokens({"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 2})
    with pytest.raises(ValueError, match="smallest index -1"):
        special_tokens({"<NULL>": -1, "<START>": 2, "<END>": 3})


def test_require_tokens_names_what_each_method_lacks():
    course = special_tokens({"<NULL>": 0, "cat": 2, "dog": 3})
    assert require_tokens(course, "loss", 3) == course
    with pytest.raises(ValueError, match=r"lacks the special token\(s\) \['<START>', '<END>'\]"):
        require_tokens(course, "sample", 3)
    with pytest.raises(ValueError, match=r"\['<NULL>'\]; loss masks the <NULL> padding"):
        require_tokens(special_tokens({"cat": 0}), "loss", 1)
    full = special_tokens({"<NULL>": 0, "<START>": 1, "<END>": 5})
    with pytest.raises(ValueError, match=r"\['<END>'\] have indices \[5\].*only 3 words"):
        require_tokens(full, "sample", 3)
    assert require_tokens(full, "loss", 3) == full


def test_check_positive_int():
    # The models' sizes, max_length and beam_size go through tinyvision.validation's check,
    # which takes ints only: a float (even 3.0) or a bool is refused, with its type named.
    for value in (1, 7, np.int64(2)):
        assert check_positive_int(value, "n") == value
    for value, type_name in (
        (0, "int"),
        (-3, "int"),
        (2.5, "float"),
        (3.0, "float"),
        (True, "bool"),
    ):
        with pytest.raises(
            ValueError, match=rf"^n must be a positive integer, got {value!r} \({type_name}\)$"
        ):
            check_positive_int(value, "n")


# ------------------------------------------------------------------------ array checks


def test_check_features_casts_without_copying_when_possible():
    features = np.arange(6.0).reshape(2, 3)
    assert check_features(features, 3, np.float64) is features
    as32 = check_features(features, 3, np.float32)
    assert as32.dtype == np.float32
    np.testing.assert_array_equal(as32, features)
    from_ints = check_features(np.arange(6).reshape(2, 3), 3, np.float64)
    assert from_ints.dtype == np.float64


def test_check_features_errors():
    with pytest.raises(ValueError, match=r"features must have 2 dimensions, got shape \(3,\)"):
        check_features(np.zeros(3), 3, np.float64)
    with pytest.raises(ValueError, match="empty batch"):
        check_features(np.zeros((0, 3)), 3, np.float64)
    with pytest.raises(ValueError, match=r"shape \(N, 4\) for this model, got \(2, 3\)"):
        check_features(np.zeros((2, 3)), 4, np.float64)


def test_check_captions_accepts_valid_ids_and_any_length_without_max_length():
    captions = np.array([[1, 3, 5, 2], [1, 4, 2, 0]], dtype=np.int32)
    assert check_captions(captions, 6) is captions
    long = np.ones((1, 500), dtype=np.int64)
    assert check_captions(long, 6).shape == (1, 500)
    assert check_captions(long[:, :7], 6, max_length=6).shape == (1, 7)


def test_check_captions_errors_in_order():
    with pytest.raises(ValueError, match=r"shape \(N, T\) with T >= 2.*got shape \(3,\)"):
        check_captions(np.ones(3, dtype=int), 6)
    with pytest.raises(ValueError, match=r"T >= 2.*got shape \(2, 1\)"):
        check_captions(np.ones((2, 1), dtype=int), 6)
    with pytest.raises(ValueError, match="integer word ids, got dtype float64"):
        check_captions(np.ones((2, 3)), 6)
    too_long_and_out_of_vocabulary = np.full((1, 8), 9)
    with pytest.raises(ValueError, match="length 8 feed 7 positions .* max_length=6"):
        check_captions(too_long_and_out_of_vocabulary, 6, max_length=6)
    with pytest.raises(ValueError, match=r"word id 9, outside the vocabulary \[0, 6\); fix it$"):
        check_captions(too_long_and_out_of_vocabulary, 6, remedy="fix it")
    with pytest.raises(ValueError, match="word id -2"):
        check_captions(np.array([[1, 9, -2]]), 6)
    with pytest.raises(ValueError, match="the word_to_idx the model was built with$"):
        check_captions(np.array([[1, 6]]), 6)


# -------------------------------------------------------------------- log-probabilities


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_next_word_log_probs_match_torch_and_rule_out_null_and_start(dtype):
    rng = np.random.default_rng(0)
    scores = (rng.standard_normal((4, 7)) * 5).astype(dtype)
    scores[0] += 1e4  # would overflow a naive exp
    log_probs = next_word_log_probs(scores, TOKENS)
    assert log_probs.dtype == dtype and log_probs.shape == (4, 7)
    assert np.all(log_probs[:, [TOKENS.null, TOKENS.start]] == -np.inf)
    expected = torch.log_softmax(torch.from_numpy(scores.astype(np.float64)), dim=1).numpy()
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(log_probs[:, 2:], expected[:, 2:], rtol=0, atol=tol)


# ----------------------------------------------------------------------------- greedy


def reference_greedy(table, max_length):
    words, previous = [], TOKENS.start
    while len(words) < max_length and previous != TOKENS.end:
        previous = int(np.argmax(table[previous]))
        words.append(previous)
    return words + [TOKENS.null] * (max_length - len(words))


def test_greedy_decode_matches_a_per_caption_loop_and_only_asks_for_unfinished_rows():
    rng = np.random.default_rng(1)
    tables = [markov_log_probs(rng) for _ in range(12)]
    calls = []

    def step(prefixes, rows):
        calls.append(rows)
        assert prefixes.shape[0] == len(tables) and np.all(prefixes[:, 0] == TOKENS.start)
        finished = np.setdiff1d(np.arange(len(tables)), rows)
        if prefixes.shape[1] > 1:
            # A finished caption continues with <NULL>.
            assert np.all(np.isin(prefixes[finished, -1], [TOKENS.end, TOKENS.null]))
        return np.stack([tables[n][prefixes[n, -1]] for n in rows])

    captions = greedy_decode(step, len(tables), 5, TOKENS)
    assert captions.shape == (12, 5) and captions.dtype == np.int64
    for n, table in enumerate(tables):
        assert captions[n].tolist() == reference_greedy(table, 5), n
    for t, rows in enumerate(calls):
        expected = [n for n in range(12) if TOKENS.end not in captions[n, :t]]
        assert rows.tolist() == expected


def test_greedy_decode_stops_once_every_caption_has_ended():
    calls = []

    def step(prefixes, rows):
        calls.append(prefixes.shape[1])
        log_probs = np.full((len(rows), 6), -5.0)
        log_probs[:, TOKENS.end if prefixes.shape[1] == 2 else 3] = 0.0
        return log_probs

    captions = greedy_decode(step, 3, 6, TOKENS)
    assert calls == [1, 2]
    np.testing.assert_array_equal(captions, [[3, TOKENS.end, 0, 0, 0, 0]] * 3)


# ------------------------------------------------------------------------- beam search


def markov_beam_step(table):
    """Stateless step: the next word depends on each prefix's last word."""
    return lambda prefixes, parents: table[prefixes[:, -1]]


@pytest.mark.parametrize("seed", range(8))
def test_wide_beam_search_finds_the_best_caption_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    table = markov_log_probs(rng)
    max_length = 3
    candidates = all_captions(max_length)
    scores = [caption_score(table, c) for c in candidates]
    best = candidates[int(np.argmax(scores))]
    found = beam_search(markov_beam_step(table), max_length, 64, TOKENS)
    assert found == best
    assert caption_score(table, found) == pytest.approx(max(scores), abs=1e-12)


def test_beam_search_beats_greedy_when_the_greedy_first_word_is_a_trap():
    # After <START>: 3 (p=0.6) leads to a flat distribution; 4 (p=0.4) ends with p=0.9.
    probs = np.full((6, 6), 1e-12)
    probs[TOKENS.start, [3, 4]] = 0.6, 0.4
    probs[3, [TOKENS.end, 3, 4, 5]] = 0.25
    probs[4, [TOKENS.end, 3]] = 0.9, 0.1
    probs[5, TOKENS.end] = 1.0
    table = next_word_log_probs(np.log(probs), TOKENS)
    greedy = greedy_decode(lambda p, rows: table[p[rows, -1]], 1, 4, TOKENS)[0]
    beam = beam_search(markov_beam_step(table), 4, 2, TOKENS)
    assert greedy.tolist()[0] == 3 and beam == [4, TOKENS.end]
    assert caption_score(table, beam) == pytest.approx(np.log(0.4 * 0.9))


def test_beam_search_parents_point_at_the_extended_rows():
    rng = np.random.default_rng(3)
    table = markov_log_probs(rng)
    previous = []

    def stateful_step(prefixes, parents):
        # What a recurrent model does: carry per-beam state, re-indexed by parents.
        if previous:
            np.testing.assert_array_equal(previous[-1][parents], prefixes[:, :-1])
        else:
            np.testing.assert_array_equal(parents, [0])
        previous.append(prefixes)
        return table[prefixes[:, -1]]

    found = beam_search(stateful_step, 4, 3, TOKENS)
    assert found == beam_search(markov_beam_step(table), 4, 3, TOKENS)
    assert len(previous) >= 2


def test_beam_search_returns_a_cut_caption_that_beats_every_ended_one():
    probs = np.full((6, 6), 1e-12)
    probs[:, [3, TOKENS.end, 4, 5]] = 0.9, 0.05, 0.04, 0.01
    table = next_word_log_probs(np.log(probs), TOKENS)
    assert beam_search(markov_beam_step(table), 3, 2, TOKENS) == [3, 3, 3]


def test_beam_search_returns_a_cut_caption_when_nothing_ends():
    table = np.full((6, 6), -np.inf)
    table[:, [3, 4]] = np.log(0.6), np.log(0.4)
    assert beam_search(markov_beam_step(table), 3, 2, TOKENS) == [3, 3, 3]


def test_beam_search_ties_go_to_the_caption_found_first():
    table = np.full((6, 6), -np.inf)
    table[TOKENS.start, [3, 4]] = np.log(0.5)
    table[[3, 4], TOKENS.end] = 0.0
    assert beam_search(markov_beam_step(table), 3, 2, TOKENS) == [3, TOKENS.end]


def test_beam_search_captions_runs_one_search_per_image_and_pads_with_null():
    rng = np.random.default_rng(4)
    tables = [markov_log_probs(rng) for _ in range(5)]
    captions = beam_search_captions(
        lambda n: markov_beam_step(tables[n]), len(tables), 4, 3, TOKENS
    )
    assert captions.shape == (5, 4) and captions.dtype == np.int64
    for n, table in enumerate(tables):
        best = beam_search(markov_beam_step(table), 4, 3, TOKENS)
        assert captions[n].tolist() == best + [TOKENS.null] * (4 - len(best))
