"""Caption metrics: BLEU (Papineni et al., 2002) and exact match.

A sentence is either a string (split on whitespace) or a sequence of tokens; no other
normalisation is done, so lower-case and strip punctuation first if the comparison should
ignore them. Every hypothesis comes with one or more references.

BLEU = BP * exp(sum_n w_n log p_n) where p_n is the corpus-level *modified* n-gram precision
(each hypothesis n-gram counts at most as often as it occurs in any single reference, counts
summed over the corpus before dividing) and BP = 1 if c > r else exp(1 - r / c), with c the
total hypothesis length and r the sum, over hypotheses, of the reference length closest to the
hypothesis length (the shorter one on a tie).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from tinyvision.validation import check_positive_int

__all__ = ["corpus_bleu", "exact_match", "sentence_bleu"]

Sentence = str | Sequence[str]

_SMOOTHING = ("none", "add1")


def _tokens(sentence: Sentence) -> tuple[str, ...]:
    if isinstance(sentence, str):
        return tuple(sentence.split())
    return tuple(str(token) for token in sentence)


def _ngrams(tokens: tuple[str, ...], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tokens[i : i + n] for i in range(len(tokens) - n + 1))


def _check_corpus(
    references: Sequence[Sequence[Sentence]], hypotheses: Sequence[Sentence]
) -> tuple[list[list[tuple[str, ...]]], list[tuple[str, ...]]]:
    if isinstance(hypotheses, str):
        raise ValueError("hypotheses must be a list of sentences, got a single string")
    if len(references) != len(hypotheses):
        raise ValueError(
            f"there are {len(hypotheses)} hypotheses but {len(references)} reference lists; "
            "pass one list of references per hypothesis"
        )
    if len(hypotheses) == 0:
        raise ValueError("the corpus is empty; pass at least one hypothesis")
    refs = []
    for k, group in enumerate(references):
        if isinstance(group, str) or len(group) == 0:
            raise ValueError(
                f"references[{k}] must be a non-empty list of reference sentences, got {group!r}"
            )
        refs.append([_tokens(ref) for ref in group])
    return refs, [_tokens(hyp) for hyp in hypotheses]


def corpus_bleu(
    references: Sequence[Sequence[Sentence]],
    hypotheses: Sequence[Sentence],
    max_n: int = 4,
    weights: Sequence[float] | None = None,
    smoothing: str = "none",
) -> float:
    """Corpus-level BLEU of the hypotheses against their references.

    references: for each hypothesis, a non-empty list of reference sentences
    hypotheses: the candidate sentences, one per reference list
    max_n: longest n-gram considered
    weights: max_n non-negative weights of log p_1 .. log p_max_n; None means 1 / max_n each
    smoothing: "none" (the paper: any p_n = 0 with a positive weight gives BLEU 0) or "add1"
        (Lin & Och, 2004: p_n = (matches + 1) / (total + 1) for n >= 2, p_1 unchanged)
    returns BLEU in [0, 1] as a float
    """
    refs, hyps = _check_corpus(references, hypotheses)
    check_positive_int(max_n, "max_n")
    if weights is None:
        weights = [1 / max_n] * max_n
    if len(weights) != max_n or any(w < 0 for w in weights):
        raise ValueError(f"weights must be {max_n} non-negative numbers, got {list(weights)}")
    if smoothing not in _SMOOTHING:
        raise ValueError(f"smoothing must be one of {_SMOOTHING}, got {smoothing!r}")

    matches = [0] * max_n
    totals = [0] * max_n
    hyp_length = ref_length = 0
    for group, hyp in zip(refs, hyps, strict=True):
        hyp_length += len(hyp)
        ref_length += min((len(ref) for ref in group), key=lambda n: (abs(n - len(hyp)), n))
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            max_ref_counts: Counter[tuple[str, ...]] = Counter()
            for ref in group:
                max_ref_counts |= _ngrams(ref, n)
            matches[n - 1] += sum(min(c, max_ref_counts[g]) for g, c in counts.items())
            totals[n - 1] += sum(counts.values())

    if hyp_length == 0:
        return 0.0
    log_precision = 0.0
    for n, (weight, match, total) in enumerate(zip(weights, matches, totals, strict=True), 1):
        if weight == 0:
            continue
        if smoothing == "add1" and n >= 2:
            match, total = match + 1, total + 1
        if match == 0:
            return 0.0
        log_precision += weight * math.log(match / total)
    brevity = 1.0 if hyp_length > ref_length else math.exp(1 - ref_length / hyp_length)
    return brevity * math.exp(log_precision)


def sentence_bleu(
    references: Sequence[Sentence],
    hypothesis: Sentence,
    max_n: int = 4,
    weights: Sequence[float] | None = None,
    smoothing: str = "none",
) -> float:
    """BLEU of one hypothesis against its references: corpus_bleu of a one-sentence corpus.

    references: non-empty list of reference sentences
    hypothesis: the candidate sentence
    max_n, weights, smoothing: as in corpus_bleu ("add1" is the usual choice here, since a
        single short sentence often has no matching 4-gram)
    returns BLEU in [0, 1] as a float
    """
    return corpus_bleu([references], [hypothesis], max_n, weights, smoothing)


def exact_match(references: Sequence[Sequence[Sentence]], hypotheses: Sequence[Sentence]) -> float:
    """Fraction of hypotheses whose tokens equal those of at least one of their references.

    references: for each hypothesis, a non-empty list of reference sentences
    hypotheses: the candidate sentences
    returns a float in [0, 1]
    """
    refs, hyps = _check_corpus(references, hypotheses)
    hits = sum(hyp in group for group, hyp in zip(refs, hyps, strict=True))
    return hits / len(hyps)
