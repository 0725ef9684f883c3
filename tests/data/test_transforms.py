"""Per-image transforms (HWC) and the batch augmentations (NCHW)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision.data.transforms import (
    ComposeTransform,
    FlattenTransform,
    NormalizeTransform,
    RandomCrop,
    RandomHorizontalFlip,
    RescaleTransform,
    random_crop_batch,
    random_flip_batch,
)


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(6, 5, 3)).astype(np.float64)


def test_rescale(image) -> None:
    out = RescaleTransform()(image)
    np.testing.assert_allclose(out, image / 255.0)
    np.testing.assert_allclose(RescaleTransform()(np.array([0, 255], np.uint8)), [0.0, 1.0])
    np.testing.assert_allclose(
        RescaleTransform(out_range=(-1, 1), in_range=(0, 10))(np.array([0.0, 5.0, 10.0])),
        [-1.0, 0.0, 1.0],
    )
    with pytest.raises(ValueError, match="two different ends"):
        RescaleTransform(in_range=(3, 3))


def test_normalize_per_channel(image) -> None:
    mean, std = image.mean(axis=(0, 1)), image.std(axis=(0, 1))
    out = NormalizeTransform(mean, std)(image)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 1)), 1.0)
    np.testing.assert_allclose(out[2, 3], (image[2, 3] - mean) / std)
    assert NormalizeTransform(0.5, 2.0)(image.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="std must be positive"):
        NormalizeTransform([0, 0, 0], [1, 0, 1])


def test_flatten_and_compose_order(image) -> None:
    assert FlattenTransform()(image).shape == (90,)
    pipeline = ComposeTransform([RescaleTransform(), NormalizeTransform(0.5, 0.25)])
    np.testing.assert_allclose(pipeline(image), (image / 255.0 - 0.5) / 0.25)
    reversed_order = ComposeTransform([NormalizeTransform(0.5, 0.25), RescaleTransform()])
    assert not np.allclose(reversed_order(image), pipeline(image))


def test_horizontal_flip(image) -> None:
    always = RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(always(image), image[:, ::-1])
    np.testing.assert_array_equal(always(always(image)), image)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(image), image)
    half = RandomHorizontalFlip(p=0.5, seed=0)
    flipped = [not np.array_equal(half(image), image) for _ in range(400)]
    assert 0.42 < np.mean(flipped) < 0.58
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(p=1.5)


def test_random_crop(image) -> None:
    crop = RandomCrop((6, 5), padding=2, seed=0)
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    offsets = set()
    for _ in range(60):
        out = crop(image)
        assert out.shape == image.shape
        matches = [
            (t, left)
            for t in range(5)
            for left in range(5)
            if np.array_equal(out, padded[t : t + 6, left : left + 5])
        ]
        assert matches
        offsets.update(matches)
    assert len(offsets) > 10
    np.testing.assert_array_equal(RandomCrop((6, 5))(image), image)
    assert RandomCrop(3, seed=1)(image).shape == (3, 3, 3)
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(8)(image)


def test_random_crop_same_seed_same_crops(image) -> None:
    a, b = RandomCrop(4, padding=1, seed=7), RandomCrop(4, padding=1, seed=7)
    for _ in range(5):
        np.testing.assert_array_equal(a(image), b(image))


@pytest.fixture
def batch() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((64, 3, 7, 6)).astype(np.float32)


def test_flip_batch(batch) -> None:
    out = random_flip_batch(batch, np.random.default_rng(0))
    assert out.shape == batch.shape and out.dtype == np.float32
    same = np.array([np.array_equal(o, x) for o, x in zip(out, batch, strict=True)])
    mirrored = np.array([np.array_equal(o, x[..., ::-1]) for o, x in zip(out, batch, strict=True)])
    assert np.all(same ^ mirrored)
    assert 16 < mirrored.sum() < 48
    twice = random_flip_batch(out, np.random.default_rng(0))
    np.testing.assert_array_equal(twice, batch)


def test_crop_batch_matches_a_per_image_reference(batch) -> None:
    padding = 2
    out = random_crop_batch(batch, padding, np.random.default_rng(3))
    assert out.shape == batch.shape and out.dtype == np.float32

    rng = np.random.default_rng(3)
    top = rng.integers(0, 2 * padding + 1, size=len(batch))
    left = rng.integers(0, 2 * padding + 1, size=len(batch))
    padded = np.pad(batch, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for i in range(len(batch)):
        expected = padded[i, :, top[i] : top[i] + 7, left[i] : left[i] + 6]
        np.testing.assert_array_equal(out[i], expected)
    assert len(set(zip(top, left, strict=True))) > 10


def test_crop_batch_without_padding_is_identity(batch) -> None:
    np.testing.assert_array_equal(random_crop_batch(batch, 0, 0), batch)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        random_crop_batch(batch, -1, 0)


def test_flip_and_crop_follow_the_channel_axis_of_channels_first_images(image) -> None:
    chw = np.ascontiguousarray(image.transpose(2, 0, 1))  # (3, 6, 5), as get_CIFAR10_data
    flipped = RandomHorizontalFlip(p=1.0)(chw)
    np.testing.assert_array_equal(flipped, chw[:, :, ::-1])
    np.testing.assert_array_equal(flipped.transpose(1, 2, 0), RandomHorizontalFlip(1.0)(image))
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0, channel_axis=0)(chw), flipped)
    crop_hwc = RandomCrop((4, 3), padding=1, seed=5)(image)
    crop_chw = RandomCrop((4, 3), padding=1, seed=5)(chw)
    assert crop_chw.shape == (3, 4, 3)
    np.testing.assert_array_equal(crop_chw, crop_hwc.transpose(2, 0, 1))


def test_normalize_puts_the_channel_statistics_on_the_channel_axis(image) -> None:
    mean, std = np.array([10.0, 20.0, 30.0]), np.array([1.0, 2.0, 4.0])
    hwc = NormalizeTransform(mean, std)(image)
    chw = NormalizeTransform(mean, std)(image.transpose(2, 0, 1))
    np.testing.assert_allclose(chw, hwc.transpose(2, 0, 1), rtol=1e-12)
    np.testing.assert_allclose(hwc[..., 2], (image[..., 2] - 30.0) / 4.0, rtol=1e-12)
    stack = NormalizeTransform(mean, std)(np.stack([image.transpose(2, 0, 1)] * 2))
    np.testing.assert_allclose(stack[1], chw, rtol=1e-12)


@pytest.mark.parametrize("shape", [(3, 5, 3), (1, 4, 1), (5, 6, 7)])
def test_an_image_that_reads_both_ways_or_neither_is_refused(shape) -> None:
    ambiguous = np.zeros(shape)
    with pytest.raises(ValueError, match="cannot tell the channel axis.*channel_axis=0"):
        RandomHorizontalFlip(1.0)(ambiguous)
    explicit = RandomHorizontalFlip(1.0, channel_axis=-1)(np.arange(np.prod(shape)).reshape(shape))
    np.testing.assert_array_equal(explicit, np.arange(np.prod(shape)).reshape(shape)[:, ::-1])
    with pytest.raises(ValueError, match="channel_axis must be 0, -1 or 'auto'"):
        RandomHorizontalFlip(1.0, channel_axis=1)(np.zeros((6, 5, 3)))
