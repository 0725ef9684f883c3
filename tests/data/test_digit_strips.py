"""Tests for the digit-strips captioning dataset: layout, vocabulary, captions that name the
digits shown, fixed held-out splits, reproducibility, features, and argument errors."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tinyvision.data.digit_strips import CAPTION_LENGTH, MAX_DIGITS, load_digit_strips

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


def test_features_are_one_fixed_linear_map_of_the_pixels():
    wide = load_digit_strips(num_train=600, num_val=80, num_test=0, seed=2, feature_dim=400)
    flat_train = wide["train_images"].reshape(600, -1).astype(np.float64)
    flat_val = wide["val_images"].reshape(80, -1).astype(np.float64)
    # Fit the map on training strips; check it on val strips whose lit pixels were all lit
    # somewhere in training (the fit knows nothing about the others).
    projection, *_ = np.linalg.lstsq(flat_train, wide["train_features"], rcond=None)
    seen = np.abs(flat_train).sum(axis=0) > 0
    covered = ~np.any(flat_val[:, ~seen] != 0, axis=1)
    assert covered.sum() > 40
    predicted = flat_val[covered] @ projection
    np.testing.assert_allclose(predicted, wide["val_features"][covered], atol=1e-4)
    # feature_dim >= 320 keeps every pixel: the strip comes back from its features.
    recovered = wide["val_features"][covered].astype(np.float64) @ np.linalg.pinv(projection)
    np.testing.assert_allclose(recovered[:, seen], flat_val[covered][:, seen], atol=1e-3)


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
