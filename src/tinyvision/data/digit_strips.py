"""Digit strips: a small offline captioning dataset built from scikit-learn's real 8x8 digits.

Each example is a strip of 2 to 5 handwritten digits side by side, captioned with their names:
`<START> three one four <END>` padded with `<NULL>`. It stands in for the course's COCO data
(no download, seconds to train on) and `load_digit_strips` returns the same dict layout as
`load_coco_data`, so captioning code runs on either.

Layout and features:
- images: (N, 1, 8, 40) float32 in [0, 1]; digit k occupies columns 8k..8k+7 and unused slots
  on the right are zero.
- features: (N, feature_dim) float32, like the course's CNN features of COCO images: each
  slot's digit is described by 10 class scores from a fixed "pretrained" digit model, and the
  5 x 10 slot scores (zeros for an empty slot) are flattened and multiplied by a fixed
  Gaussian random matrix (entries N(0, 1/5), the same for every call). Each slot has its own
  scores, so a digit's identity *and* position survive the projection; with feature_dim >= 50
  the projection is injective, so every slot's scores are linearly recoverable.
- the digit model (`digit_scores`): 32 fixed random zero-mean 3x3 filters, ReLU and 2x2 max
  pooling (512 random convolutional features), then ridge regression to one-hot labels fitted
  on the *training pool only*. Val and test digits are scored by the model fitted on the whole
  training pool; each training digit is scored by a model fitted on the other 4/5 of the pool
  (5-fold cross-fitting), so training features carry the same kind of errors as held-out ones
  instead of memorised, perfect scores. About 98-99% of held-out digits get their highest score
  on the true class. (Plain pixels under a random projection let captioning models overfit the
  handwriting: about 60-75% exact-match captions on held-out strips.)
- captions: (N, 7) int32: <START>, one word per digit, <END>, then <NULL> padding.

Splits: the 1797 digit images are split once, per class and with a fixed permutation, into
60% train / 20% val / 20% test pools; strips of a split only use images from its own pool, so
validation and test strips show handwriting never seen in training. `seed` only chooses which
strips are drawn, and each split has its own random stream, so changing num_train leaves the
val and test strips unchanged, and a larger split extends a smaller one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from tinyvision.validation import check_int, check_non_negative_int, check_positive_int

__all__ = [
    "CAPTION_LENGTH",
    "MAX_DIGITS",
    "MIN_DIGITS",
    "VOCABULARY",
    "digit_scores",
    "load_digit_strips",
]

MIN_DIGITS = 2
MAX_DIGITS = 5
DIGIT_SIZE = 8
CAPTION_LENGTH = MAX_DIGITS + 2
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOCABULARY = ("<NULL>", "<START>", "<END>", "<UNK>", *DIGIT_WORDS)

_SPLITS = ("train", "val", "test")
_POOL_FRACTIONS = (0.6, 0.2, 0.2)
NUM_CLASSES = 10
# Fixed seeds: the image pools, the digit model and the feature projection define the dataset.
_POOL_SEED = 20_231
_PROJECTION_SEED = 7_919
_FILTER_SEED = 0
_NUM_FILTERS = 32
# Ridge strength and filter count were chosen on the val pool (accuracy of the digit model).
_RIDGE = 10.0
_CROSS_FIT_FOLDS = 5


@lru_cache(maxsize=1)
def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 digit images (8, 8) scaled to [0, 1] as float32, and their int64 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def _split_pools(labels: np.ndarray) -> list[np.ndarray]:
    """Disjoint index arrays (train, val, test) into the digit images, stratified by class."""
    rng = np.random.default_rng(_POOL_SEED)
    pools: list[list[np.ndarray]] = [[], [], []]
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_train = int(round(_POOL_FRACTIONS[0] * len(members)))
        n_val = int(round(_POOL_FRACTIONS[1] * len(members)))
        for pool, part in zip(pools, np.split(members, [n_train, n_train + n_val]), strict=True):
            pool.append(part)
    return [np.sort(np.concatenate(parts)) for parts in pools]


def _conv_features(images: np.ndarray) -> np.ndarray:
    """Fixed random convolutional features (N, 32 * 4 * 4) of digit images (N, 8, 8)."""
    filters = np.random.default_rng(_FILTER_SEED).standard_normal((_NUM_FILTERS, 3, 3))
    # Zero-mean filters respond to strokes, not brightness, and give 0 on a blank slot.
    filters -= filters.mean(axis=(1, 2), keepdims=True)
    padded = np.pad(images.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    maps = np.maximum(np.einsum("nijab,fab->nfij", windows, filters), 0.0)
    half = DIGIT_SIZE // 2
    pooled = maps.reshape(len(images), _NUM_FILTERS, half, 2, half, 2).max(axis=(3, 5))
    return pooled.reshape(len(images), -1)


def _ridge_fit(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Weights (D + 1, 10) of ridge regression from X (N, D) (plus a bias) to one-hot labels."""
    X = np.hstack([X, np.ones((len(X), 1))])
    targets = np.eye(NUM_CLASSES)[labels]
    return np.linalg.solve(X.T @ X + _RIDGE * np.eye(X.shape[1]), X.T @ targets)


def _ridge_scores(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return X @ weights[:-1] + weights[-1]


@lru_cache(maxsize=1)
def digit_scores() -> np.ndarray:
    """Class scores (1797, 10) float32 of every sklearn digit under the fixed digit model.

    The model (random convolutional features + ridge regression, see the module docstring) is
    fitted on the training pool only; training-pool digits are scored out of fold.
    returns scores whose row i belongs to sklearn.datasets.load_digits() image i
    """
    images, labels = _sklearn_digits()
    train_pool, *held_out = _split_pools(labels)
    features = _conv_features(images)
    scores = np.zeros((len(images), NUM_CLASSES))
    weights = _ridge_fit(features[train_pool], labels[train_pool])
    for pool in held_out:
        scores[pool] = _ridge_scores(features[pool], weights)
    folds = np.arange(len(train_pool)) % _CROSS_FIT_FOLDS
    for fold in range(_CROSS_FIT_FOLDS):
        fit, scored = train_pool[folds != fold], train_pool[folds == fold]
        weights = _ridge_fit(features[fit], labels[fit])
        scores[scored] = _ridge_scores(features[scored], weights)
    return scores.astype(np.float32)


def _strip_features(image_idx: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """Features (N, feature_dim) of strips given by slot image indices (N, MAX_DIGITS)."""
    used = (image_idx >= 0)[:, :, None]
    slot_scores = digit_scores()[np.maximum(image_idx, 0)] * used  # (N, slot, class)
    flat = slot_scores.reshape(len(image_idx), MAX_DIGITS * NUM_CLASSES)
    return (flat @ projection).astype(np.float32)


def _draw_strips(
    rng: np.random.Generator, count: int, pool: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Random strips from one pool: image indices (count, MAX_DIGITS) and digits (same), -1 if
    the slot is empty."""
    by_class = [pool[labels[pool] == d] for d in range(10)]
    sizes = np.array([len(members) for members in by_class])
    table = np.zeros((10, sizes.max()), dtype=np.int64)  # (10, largest class) padded indices
    for digit, members in enumerate(by_class):
        table[digit, : len(members)] = members
    # One row of uniforms per strip, so a longer split starts with the strips of a shorter one.
    draws = rng.random((count, 1 + 2 * MAX_DIGITS))
    spread = MAX_DIGITS - MIN_DIGITS + 1
    lengths = MIN_DIGITS + np.floor(draws[:, 0] * spread).astype(np.int64)
    digits = np.floor(draws[:, 1 : 1 + MAX_DIGITS] * 10).astype(np.int64)
    positions = np.floor(draws[:, 1 + MAX_DIGITS :] * sizes[digits]).astype(np.int64)
    used = np.arange(MAX_DIGITS) < lengths[:, None]
    image_idx = np.where(used, table[digits, positions], -1)
    return image_idx, np.where(used, digits, -1)


def _render(image_idx: np.ndarray, digit_images: np.ndarray) -> np.ndarray:
    """Strip images (N, 1, 8, 40) from slot image indices (N, MAX_DIGITS), -1 meaning blank."""
    slots = digit_images[np.maximum(image_idx, 0)] * (image_idx >= 0)[:, :, None, None]
    N = len(image_idx)
    # (N, slot, row, col) -> (N, row, slot, col) so each row reads the slots left to right.
    strips = slots.transpose(0, 2, 1, 3).reshape(N, DIGIT_SIZE, MAX_DIGITS * DIGIT_SIZE)
    return strips[:, None].astype(np.float32)


def _captions(digits: np.ndarray, word_to_idx: dict[str, int]) -> np.ndarray:
    """Captions (N, CAPTION_LENGTH) int32 from digits (N, MAX_DIGITS) with -1 for empty slots."""
    N = len(digits)
    captions = np.full((N, CAPTION_LENGTH), word_to_idx["<NULL>"], dtype=np.int32)
    captions[:, 0] = word_to_idx["<START>"]
    digit_ids = np.array([word_to_idx[w] for w in DIGIT_WORDS])
    used = digits >= 0
    captions[:, 1 : MAX_DIGITS + 1] = np.where(used, digit_ids[np.maximum(digits, 0)], 0)
    captions[np.arange(N), 1 + used.sum(axis=1)] = word_to_idx["<END>"]
    return captions


def load_digit_strips(
    num_train: int = 5000,
    num_val: int = 500,
    num_test: int = 500,
    seed: int = 0,
    feature_dim: int = 512,
) -> dict[str, Any]:
    """Build the digit-strips captioning data in the layout of the course's load_coco_data.

    num_train, num_val, num_test: number of strips (and captions) per split; val/test may be 0
    seed: which strips are drawn (the image pools and the feature projection are fixed)
    feature_dim: size of the feature vectors (>= 50 keeps every slot's digit scores linearly
        recoverable)
    returns a dict with, for each split s in train/val/test:
      s_captions (N_s, 7) int32, s_image_idxs (N_s,) int32 (row i of s_features belongs to
      caption i, so this is arange(N_s)), s_features (N_s, feature_dim) float32,
      s_images (N_s, 1, 8, 40) float32 in [0, 1], s_digits (N_s, 5) int64 (-1 = empty slot),
      s_source_idxs (N_s, 5) int64, the index of each slot's image in
      sklearn.datasets.load_digits() (-1 = empty slot);
      and idx_to_word (list of the 14 words), word_to_idx (dict)
    """
    counts = {"train": num_train, "val": num_val, "test": num_test}
    for name, value in counts.items():
        minimum = 1 if name == "train" else 0
        check_int(value, f"num_{name}", minimum, allow_float=True)
    check_positive_int(feature_dim, "feature_dim", allow_float=True)
    check_non_negative_int(seed, "seed", allow_float=True)

    digit_images, labels = _sklearn_digits()
    idx_to_word = list(VOCABULARY)
    word_to_idx = {word: i for i, word in enumerate(idx_to_word)}
    num_scores = MAX_DIGITS * NUM_CLASSES
    # Scaled so a feature has about unit variance (a strip has at most 5 nonzero class scores).
    projection = np.random.default_rng(_PROJECTION_SEED).standard_normal(
        (num_scores, int(feature_dim))
    ) / np.sqrt(MAX_DIGITS)

    data: dict[str, Any] = {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}
    for split_id, (split, pool) in enumerate(zip(_SPLITS, _split_pools(labels), strict=True)):
        count = int(counts[split])
        rng = np.random.default_rng([int(seed), split_id])
        image_idx, strip_digits = _draw_strips(rng, count, pool, labels)
        images = _render(image_idx, digit_images)
        data[f"{split}_captions"] = _captions(strip_digits, word_to_idx)
        data[f"{split}_image_idxs"] = np.arange(count, dtype=np.int32)
        data[f"{split}_features"] = _strip_features(image_idx, projection)
        data[f"{split}_images"] = images
        data[f"{split}_digits"] = strip_digits
        data[f"{split}_source_idxs"] = image_idx
    return data
