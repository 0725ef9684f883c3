"""HOG and HSV-histogram features: definitions, batched == per-image, extract_features."""

import functools
import math

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv

from tinyvision.features import (
    color_histogram_hsv,
    color_histogram_hsv_batch,
    extract_features,
    hog_feature,
    hog_feature_batch,
    rgb2gray,
)


def reference_hog(im):
    """The course's HOG written pixel by pixel: orientation bins of 20 degrees over (0, 180),
    mean magnitude per 8x8 cell, features ordered (cell column, cell row, bin)."""
    gray = im[..., :3] @ np.array([0.299, 0.587, 0.144]) if im.ndim == 3 else im.astype(float)
    height, width = gray.shape
    feats = np.zeros((width // 8, height // 8, 9))
    for r in range(height // 8 * 8):
        for c in range(width // 8 * 8):
            gx = gray[r, c + 1] - gray[r, c] if c + 1 < width else 0.0
            gy = gray[r + 1, c] - gray[r, c] if r + 1 < height else 0.0
            ori = math.atan2(gy, gx + 1e-15) * (180 / math.pi) + 90
            for b in range(9):
                if 20 * b <= ori < 20 * (b + 1) and ori > 0:
                    feats[c // 8, r // 8, b] += math.hypot(gx, gy) / 64
    return feats.ravel()


def reference_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    hue = rgb_to_hsv(im / xmax)[..., 0] * xmax
    hist, edges = np.histogram(hue, bins=np.linspace(xmin, xmax, nbin + 1), density=normalized)
    return hist * np.diff(edges)


def random_images(seed, n=6, height=32, width=32, integer=True):
    rng = np.random.default_rng(seed)
    if integer:
        # Integer pixels repeat gradient directions, including ones on the bin edges.
        return rng.integers(0, 256, (n, height, width, 3)).astype(np.float64)
    return rng.uniform(0, 255, (n, height, width, 3))


@pytest.mark.parametrize("integer", [True, False])
def test_hog_matches_the_pixel_by_pixel_definition(integer):
    for im in random_images(0, n=3, integer=integer):
        np.testing.assert_allclose(hog_feature(im), reference_hog(im), rtol=1e-12, atol=1e-12)


def test_hog_handles_grey_and_non_square_images():
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (20, 35)).astype(np.float64)
    features = hog_feature(grey)
    assert features.shape == (4 * 2 * 9,)
    np.testing.assert_allclose(features, reference_hog(grey), rtol=1e-12, atol=1e-12)
    colour = random_images(2, n=1, height=24, width=16)[0]
    np.testing.assert_allclose(hog_feature(colour), reference_hog(colour), rtol=1e-12, atol=1e-12)


def test_hog_shape_and_constant_image():
    im = random_images(3, n=1)[0]
    assert hog_feature(im).shape == (144,)
    assert hog_feature(im).dtype == np.float64
    np.testing.assert_array_equal(hog_feature(np.full((32, 32, 3), 77.0)), np.zeros(144))


def test_hog_of_a_horizontal_ramp_lands_in_one_bin():
    # Brightness rising to the right: gx > 0, gy = 0, orientation 90 degrees -> bin 4.
    ramp = np.tile(np.arange(16, dtype=float), (16, 1))
    features = hog_feature(ramp).reshape(2, 2, 9)
    assert np.all(features[:, :, [0, 1, 2, 3, 5, 6, 7, 8]] == 0)
    # Each 8x8 cell: every pixel has magnitude 1 except the image's last column (gx = 0).
    np.testing.assert_allclose(features[0, :, 4], 1.0)
    np.testing.assert_allclose(features[1, :, 4], 56 / 64)


def test_rgb2gray_uses_the_course_weights():
    rgb = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    np.testing.assert_allclose(rgb2gray(rgb), [[0.299, 0.587, 0.144]])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"nbin": 7}, {"normalized": False}, {"nbin": 4, "xmin": 50, "xmax": 255}],
)
def test_hsv_histogram_matches_numpy_histogram(kwargs):
    for im in random_images(4, n=3):
        np.testing.assert_allclose(
            color_histogram_hsv(im, **kwargs), reference_hsv(im, **kwargs), rtol=1e-12
        )


def test_normalised_hsv_histogram_sums_to_one():
    for im in random_images(5, n=4, integer=False):
        hist = color_histogram_hsv(im)
        assert hist.shape == (10,)
        assert hist.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(hist >= 0)


def test_hsv_histogram_of_grey_image_is_all_hue_zero():
    hist = color_histogram_hsv(np.full((8, 8, 3), 120.0), nbin=5)
    np.testing.assert_array_equal(hist, [1, 0, 0, 0, 0])


def test_batched_functions_equal_per_image_functions():
    images = random_images(6, n=9, integer=False)
    np.testing.assert_allclose(
        hog_feature_batch(images), np.stack([hog_feature(im) for im in images]), rtol=1e-13
    )
    np.testing.assert_allclose(
        color_histogram_hsv_batch(images, nbin=6),
        np.stack([color_histogram_hsv(im, nbin=6) for im in images]),
        rtol=1e-13,
    )


def test_extract_features_concatenates_in_order_and_chunks_do_not_matter():
    images = random_images(7, n=11)
    expected = np.stack(
        [np.concatenate([hog_feature(im), color_histogram_hsv(im)]) for im in images]
    )
    for chunk_size in (1, 4, 11, 1000):
        features = extract_features(
            images, [hog_feature, color_histogram_hsv], chunk_size=chunk_size
        )
        assert features.shape == (11, 154)
        np.testing.assert_allclose(features, expected, rtol=1e-13)


def test_extract_features_runs_partials_batched_and_lambdas_per_image():
    images = random_images(8, n=5)
    partial = extract_features(images, [functools.partial(color_histogram_hsv, nbin=4)])
    calls = []

    def counting(im):
        calls.append(im.shape)
        return color_histogram_hsv(im, nbin=4)

    looped = extract_features(images, [counting])
    assert calls == [(32, 32, 3)] * 5
    np.testing.assert_allclose(partial, looped, rtol=1e-13)
    mean_pixel = extract_features(images, [lambda im: im.mean(axis=(0, 1))])
    np.testing.assert_allclose(mean_pixel, images.mean(axis=(1, 2)))


def test_extract_features_progress_bar_only_when_verbose(capsys):
    images = random_images(9, n=4)
    extract_features(images, [color_histogram_hsv], chunk_size=2)
    assert capsys.readouterr() == ("", "")
    extract_features(images, [color_histogram_hsv], verbose=True, chunk_size=2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "features" in captured.err


def test_extract_features_rejects_bad_inputs():
    images = random_images(10, n=2)
    with pytest.raises(ValueError, match=r"for a single image pass im\[None\]"):
        extract_features(images[0, :, :, 0], [hog_feature])
    with pytest.raises(ValueError, match="imgs is empty"):
        extract_features(images[:0], [hog_feature])
    with pytest.raises(ValueError, match="feature_fns is empty"):
        extract_features(images, [])
    with pytest.raises(ValueError, match="chunk_size must be a positive"):
        extract_features(images, [hog_feature], chunk_size=0)
