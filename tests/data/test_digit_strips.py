"""Tests for the digit-strips captioning dataset: layout, vocabulary, captions that name the
digits shown, fixed held-out splits, reproducibility, features (a fixed map of digit-model
scores, the digit model fitted on training digits only), and argument errors."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tinyvision.data.digit_strips import (
    CAPTION_LENGTH,
    MAX_DIGITS,
    _conv_features,
    _ridge_fit,
    _ridge_scores,
    _split_pools,
    digit_scores,
    load_digit_strips,
)

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()


@pytest.fixture(scope="module")
def data():
    return load_digit_strips(num_train=400, num_val=60, num_test=70, seed=0, feature_dim=64)


@pytest.fixture(scope="module")
def sklearn_digits():
    return load_digits()


def test_layout_matches_load_coco_data(data):
    assert data["idx_to_word"] == ["<NULL>", "<START>", "<END>", "<UNK>", *DIGIT_WORDS]
    assert data["word_to_idx"] == {w: i for i, w in enumerate(data["idx_to_word"])}
    for split, n in (("train", 400), ("val", 60), ("test", 70)):
        assert data[f"{split}_captions"].shape == (n, CAPTION_LENGTH)
        assert data[f"{split}_captions"].dtype == np.int32
        np.testing.assert_array_equal(data[f"{split}_image_idxs"], np.arange(n))
        assert data[f"{split}_features"].shape == (n, 64)
        assert data[f"{split}_features"].dtype == np.float32
        assert data[f"{split}_images"].shape == (n, 1, 8, 8 * MAX_DIGITS)
        assert data[f"{split}_digits"].shape == (n, MAX_DIGITS)
        assert data[f"{split}_source_idxs"].shape == (n, MAX_DIGITS)


def test_captions_name_the_digits_in_order(data):
    idx_to_word = data["idx_to_word"]
    lengths = set()
    for caption, digits in zip(data["train_captions"], data["train_digits"], strict=True):
        words = [idx_to_word[i] for i in caption]
        shown = [DIGIT_WORDS[d] for d in digits if d >= 0]
        lengths.add(len(shown))
        expected = ["<START>", *shown, "<END>"]
        assert words == expected + ["<NULL>"] * (CAPTION_LENGTH - len(expected))
        # Used slots come first: a strip has no gaps.
        assert np.all(digits[: len(shown)] >= 0) and np.all(digits[len(shown) :] == -1)
    assert lengths == {2, 3, 4, 5}


def test_images_are_the_sklearn_digits_side_by_side(data, sklearn_digits):
    images, sources, digits = data["val_images"], data["val_source_idxs"], data["val_digits"]
    for n in range(len(images)):
        for slot in range(MAX_DIGITS):
            patch = images[n, 0, :, 8 * slot : 8 * slot + 8]
            if sources[n, slot] < 0:
                assert np.all(patch == 0)
            else:
                expected = sklearn_digits.images[sources[n, slot]] / 16
                np.testing.assert_allclose(patch, expected, rtol=1e-6)
                assert sklearn_digits.target[sources[n, slot]] == digits[n, slot]
    assert images.min() >= 0 and images.max() <= 1


def test_held_out_splits_share_no_digit_image():
    big = load_digit_strips(num_train=3000, num_val=1000, num_test=1000, feature_dim=8)
    used = {s: set(big[f"{s}_source_idxs"].ravel()) - {-1} for s in ("train", "val", "test")}
    assert not used["train"] & used["test"]
    assert not used["train"] & used["val"]
    assert not used["val"] & used["test"]
    # The pools split the 1797 images about 60/20/20, and many strips cover most of them.
    assert 0.55 < len(used["train"]) / 1797 < 0.61
    assert 0.17 < len(used["test"]) / 1797 < 0.21


def test_reproducible_and_splits_fixed_when_sizes_change(data):
    again = load_digit_strips(num_train=400, num_val=60, num_test=70, seed=0, feature_dim=64)
    for key, value in data.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(again[key], value, err_msg=key)
    resized = load_digit_strips(num_train=10, num_val=60, num_test=70, seed=0, feature_dim=64)
    np.testing.assert_array_equal(resized["val_captions"], data["val_captions"])
    np.testing.assert_array_equal(resized["test_features"], data["test_features"])
    np.testing.assert_array_equal(resized["train_captions"], data["train_captions"][:10])
    other = load_digit_strips(num_train=400, num_val=60, num_test=70, seed=1, feature_dim=64)
    assert not np.array_equal(other["train_captions"], data["train_captions"])


def _slot_scores(data, split):
    """The (N, 50) digit-model scores of each slot of a split's strips, zeros for blanks."""
    sources = data[f"{split}_source_idxs"]
    scores = digit_scores()[np.maximum(sources, 0)] * (sources >= 0)[:, :, None]
    return scores.reshape(len(sources), -1).astype(np.float64)


def test_features_are_one_fixed_linear_map_of_the_slot_scores():
    wide = load_digit_strips(num_train=300, num_val=80, num_test=0, seed=2, feature_dim=60)
    scores_train, scores_val = _slot_scores(wide, "train"), _slot_scores(wide, "val")
    # Fit the map on training strips; it must predict the val strips' features exactly.
    projection, *_ = np.linalg.lstsq(scores_train, wide["train_features"], rcond=None)
    np.testing.assert_allclose(scores_val @ projection, wide["val_features"], atol=1e-4)
    # feature_dim >= 50 keeps every slot's scores: they come back from the features.
    recovered = wide["val_features"].astype(np.float64) @ np.linalg.pinv(projection)
    np.testing.assert_allclose(recovered, scores_val, atol=1e-3)
    # A feature has about unit variance.
    assert 0.3 < wide["train_features"].std() < 3


def test_digit_model_recognises_held_out_handwriting(sklearn_digits):
    scores = digit_scores()
    assert scores.shape == (1797, 10) and scores.dtype == np.float32
    train_pool, val_pool, test_pool = _split_pools(sklearn_digits.target)
    correct = scores.argmax(axis=1) == sklearn_digits.target
    assert correct[val_pool].mean() > 0.97
    assert correct[test_pool].mean() > 0.97
    # Training digits are scored out of fold: not memorised, about as accurate as held-out.
    assert 0.95 < correct[train_pool].mean() < 1.0
    # Held-out scores come from the model fitted on the training pool alone: refitting it
    # by hand on those digits gives the same scores.
    weights = _ridge_fit(_conv_features(sklearn_digits.images / 16.0)[train_pool],
                         sklearn_digits.target[train_pool])  # fmt: skip
    refit = _ridge_scores(_conv_features(sklearn_digits.images[test_pool] / 16.0), weights)
    np.testing.assert_allclose(refit, scores[test_pool], rtol=1e-4, atol=1e-4)


def test_empty_val_and_test_splits_are_allowed():
    small = load_digit_strips(num_train=3, num_val=0, num_test=0, feature_dim=16)
    assert small["val_captions"].shape == (0, CAPTION_LENGTH)
    assert small["test_features"].shape == (0, 16)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_train": 0}, "num_train"),
        ({"num_val": -1}, "num_val"),
        ({"num_test": 2.5}, "num_test"),
        ({"feature_dim": 0}, "feature_dim"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digit_strips(**kwargs)
