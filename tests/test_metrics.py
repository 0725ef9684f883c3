"""BLEU and exact match, checked against n-gram counts derived by hand.

The worked example is the one of Papineni et al. (2002), section 2.1, lower-cased and without
the final full stop. The paper states the modified unigram precisions 17/18 and 8/14 and the
bigram precisions 10/17 and 1/13; the trigram and 4-gram matches are listed below.
"""

import math

import pytest

from tinyvision.metrics import corpus_bleu, exact_match, sentence_bleu

CANDIDATE_1 = (
    "it is a guide to action which ensures that the military always obeys the commands of the party"
)
CANDIDATE_2 = "it is to insure the troops forever hearing the activity guidebook that party direct"
REFERENCES = [
    "it is a guide to action that ensures that the military will forever heed party commands",
    "it is the guiding principle which guarantees the military forces always being under the "
    "command of the party",
    "it is the practical guide for the army always to heed the directions of the party",
]
# Reference lengths 16, 18, 16; candidate lengths 18 and 14.


def _only(n, max_n=None):
    """Weights selecting the n-gram precision p_n alone."""
    max_n = max_n or n
    return [1.0 if k == n else 0.0 for k in range(1, max_n + 1)]


def test_modified_precisions_of_the_paper_example():
    # Candidate 1's 18 words equal its closest reference's length, so BP = exp(1 - 18 / 18) = 1
    # and BLEU with all weight on p_n is p_n itself.
    assert sentence_bleu(REFERENCES, CANDIDATE_1, 1) == pytest.approx(17 / 18, rel=1e-12)
    assert sentence_bleu(REFERENCES, CANDIDATE_1, 2, _only(2)) == pytest.approx(10 / 17)
    # Trigrams (16): it is a, is a guide, a guide to, guide to action, ensures that the,
    # that the military (reference 1) and of the party (references 2, 3) match: 7.
    assert sentence_bleu(REFERENCES, CANDIDATE_1, 3, _only(3)) == pytest.approx(7 / 16)
    # 4-grams (15): it is a guide, is a guide to, a guide to action, ensures that the
    # military (reference 1) match: 4.
    assert sentence_bleu(REFERENCES, CANDIDATE_1, 4, _only(4)) == pytest.approx(4 / 15)
    expected = (17 / 18 * 10 / 17 * 7 / 16 * 4 / 15) ** 0.25
    assert sentence_bleu(REFERENCES, CANDIDATE_1) == pytest.approx(expected, rel=1e-12)


def test_brevity_penalty_uses_the_closest_reference_length():
    # Candidate 2 has 14 words; the closest reference has 16, so BP = exp(1 - 16 / 14).
    brevity = math.exp(1 - 16 / 14)
    assert sentence_bleu(REFERENCES, CANDIDATE_2, 1) == pytest.approx(8 / 14 * brevity)
    assert sentence_bleu(REFERENCES, CANDIDATE_2, 2, _only(2)) == pytest.approx(1 / 13 * brevity)
    # Candidate 2 shares no trigram with any reference: unsmoothed BLEU-4 is zero.
    assert sentence_bleu(REFERENCES, CANDIDATE_2) == 0.0


def test_clipping_counts_each_word_at_most_as_often_as_in_one_reference():
    # The paper's "the the the the the the the": "the" occurs at most twice in one reference.
    refs = ["the cat is on the mat", "there is a cat on the mat"]
    assert sentence_bleu(refs, "the the the the the the the", 1) == pytest.approx(2 / 7)


def test_corpus_bleu_pools_counts_before_dividing():
    refs = [REFERENCES, REFERENCES]
    # Pooled unigram precision (17 + 8) / (18 + 14); r = 18 + 16 = 34 > c = 32.
    expected = 25 / 32 * math.exp(1 - 34 / 32)
    assert corpus_bleu(refs, [CANDIDATE_1, CANDIDATE_2], 1) == pytest.approx(expected)
    mean_of_sentences = (
        sentence_bleu(REFERENCES, CANDIDATE_1, 1) + sentence_bleu(REFERENCES, CANDIDATE_2, 1)
    ) / 2
    assert corpus_bleu(refs, [CANDIDATE_1, CANDIDATE_2], 1) != pytest.approx(mean_of_sentences)


def test_tie_in_closest_reference_length_takes_the_shorter():
    # Hypothesis of 4 words, references of 3 and 5 words: r = 3, so no penalty (c > r).
    hyp = "a b c d"
    refs = ["a b c", "a b c d e"]
    assert sentence_bleu(refs, hyp, 1) == pytest.approx(1.0)
    # With only the 5-word reference, BP = exp(1 - 5 / 4).
    assert sentence_bleu(refs[1:], hyp, 1) == pytest.approx(math.exp(1 - 5 / 4))


def test_add1_smoothing_and_token_lists():
    refs = [["a", "cat", "sits", "on", "the", "mat"]]
    hyp = ["the", "cat", "sits", "on", "a", "rug"]
    assert sentence_bleu(refs, hyp) == 0.0
    # Unigrams: the, cat, sits, on, a match (5/6). Bigrams: cat sits, sits on (2/5).
    # Trigrams: cat sits on (1/4). 4-grams: none (0/3). add1 smooths n >= 2 only, giving
    # 5/6, 3/6, 2/5 and 1/4.
    expected = (5 / 6 * 3 / 6 * 2 / 5 * 1 / 4) ** 0.25
    assert sentence_bleu(refs, hyp, smoothing="add1") == pytest.approx(expected)
    assert sentence_bleu(refs, refs[0]) == pytest.approx(1.0)
    assert sentence_bleu(refs, " ".join(hyp), smoothing="add1") == pytest.approx(expected)


def test_custom_weights_and_degenerate_hypotheses():
    weights = [0.5, 0.5, 0.0, 0.0]
    expected = math.sqrt(17 / 18 * 10 / 17)
    assert sentence_bleu(REFERENCES, CANDIDATE_1, weights=weights) == pytest.approx(expected)
    assert sentence_bleu(["a b"], "") == 0.0
    assert sentence_bleu(["a b"], "a", 2, smoothing="none") == 0.0


def test_exact_match():
    refs = [["a cat", "the cat"], ["a dog"], ["two birds"]]
    hyps = ["the  cat", ["a", "dog"], "two bird"]
    assert exact_match(refs, hyps) == pytest.approx(2 / 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference lists"):
        corpus_bleu([REFERENCES], [CANDIDATE_1, CANDIDATE_2])
    with pytest.raises(ValueError, match="corpus is empty"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match=r"references\[0\] must be a non-empty list"):
        corpus_bleu([[]], [CANDIDATE_1])
    with pytest.raises(ValueError, match=r"references\[0\] must be a non-empty list"):
        corpus_bleu(["a single string"], [CANDIDATE_1])
    with pytest.raises(ValueError, match="single string"):
        exact_match([REFERENCES], CANDIDATE_1)
    with pytest.raises(ValueError, match="max_n must be a positive integer"):
        sentence_bleu(REFERENCES, CANDIDATE_1, max_n=0)
    with pytest.raises(ValueError, match="weights must be 4 non-negative numbers"):
        sentence_bleu(REFERENCES, CANDIDATE_1, weights=[1.0, 0.0])
    with pytest.raises(ValueError, match="smoothing must be one of"):
        sentence_bleu(REFERENCES, CANDIDATE_1, smoothing="add2")
