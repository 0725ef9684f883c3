"""Digit strips: a small offline captioning dataset built from scikit-learn's real 8x8 digits.

Each example is a strip of 2 to 5 handwritten digits side by side, captioned with their names:
`<START> three one four <END>` padded with `<NULL>`. It stands in for the course's COCO data
(no download, seconds to train on) and `load_digit_strips` returns the same dict layout as
`load_coco_data`, so captioning code runs on either.

Layout and features:
- images: (N, 1, 8, 40) float32 in [0, 1]; digit k occupies columns 8k..8k+7 and unused slots
  on the right are zero.
- features: (N, feature_dim) float32, the flattened strip (320 pixels) times a fixed Gaussian
  random matrix (entries N(0, 1/320), the same for every call). Because each slot has its own
  pixels, a digit's identity *and* position survive the projection; with feature_dim >= 320
  the projection is injective, so everything in the strip is linearly recoverable.
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

__all__ = ["CAPTION_LENGTH", "MAX_DIGITS", "MIN_DIGITS", "VOCABULARY", "load_digit_strips"]

MIN_DIGITS = 2
MAX_DIGITS = 5
DIGIT_SIZE = 8
CAPTION_LENGTH = MAX_DIGITS + 2
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOCABULARY = ("<NULL>", "<START>", "<END>", "<UNK>", *DIGIT_WORDS)

_SPLITS = ("train", "val", "test")
_POOL_FRACTIONS = (0.6, 0.2, 0.2)
# Fixed seeds: the image pools and the feature projection define the dataset, not a run.
_POOL_SEED = 20_231
_PROJECTION_SEED = 7_919


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
    feature_dim: size of the feature vectors (>= 320 keeps every pixel linearly recoverable)
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
        if isinstance(value, bool) or int(value) != value or value < minimum:
            raise ValueError(f"num_{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(feature_dim, bool) or int(feature_dim) != feature_dim or feature_dim < 1:
        raise ValueError(f"feature_dim must be a positive integer, got {feature_dim!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    digit_images, labels = _sklearn_digits()
    idx_to_word = list(VOCABULARY)
    word_to_idx = {word: i for i, word in enumerate(idx_to_word)}
    num_pixels = DIGIT_SIZE * DIGIT_SIZE * MAX_DIGITS
    projection = np.random.default_rng(_PROJECTION_SEED).standard_normal(
        (num_pixels, int(feature_dim))
    ) / np.sqrt(num_pixels)

    data: dict[str, Any] = {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}
    for split_id, (split, pool) in enumerate(zip(_SPLITS, _split_pools(labels), strict=True)):
        count = int(counts[split])
        rng = np.random.default_rng([int(seed), split_id])
        image_idx, strip_digits = _draw_strips(rng, count, pool, labels)
        images = _render(image_idx, digit_images)
        data[f"{split}_captions"] = _captions(strip_digits, word_to_idx)
        data[f"{split}_image_idxs"] = np.arange(count, dtype=np.int32)
        data[f"{split}_features"] = (images.reshape(count, num_pixels) @ projection).astype(
            np.float32
        )
        data[f"{split}_images"] = images
        data[f"{split}_digits"] = strip_digits
        data[f"{split}_source_idxs"] = image_idx
    return data
