"""The digits and spiral data sets and their fixed stratified splits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tinyvision.data.digits import load_digits_data
from tinyvision.data.spiral import load_spiral_data, make_spiral
from tinyvision.data.splits import stratified_split

SPLITS = ("train", "val", "test")


def test_digits_shapes_range_and_names() -> None:
    data = load_digits_data()
    n = {s: len(data[f"y_{s}"]) for s in SPLITS}
    assert n == {"train": 1257, "val": 270, "test": 270}
    for s in SPLITS:
        X = data[f"X_{s}"]
        assert X.shape == (n[s], 1, 8, 8) and X.dtype == np.float64
        assert data[f"y_{s}"].dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
    assert max(data[f"X_{s}"].max() for s in SPLITS) == 1.0
    assert data["class_names"] == tuple("0123456789")


def test_digits_split_is_stratified_and_covers_everything() -> None:
    data = load_digits_data(num_validation=300, num_test=200)
    all_labels = load_digits().target
    total = np.bincount(all_labels, minlength=10)
    for s, size in (("val", 300), ("test", 200)):
        counts = np.bincount(data[f"y_{s}"], minlength=10)
        assert counts.sum() == size
        assert np.all(np.abs(counts - total * size / len(all_labels)) <= 1.0)
    merged = np.concatenate([data[f"y_{s}"] for s in SPLITS])
    np.testing.assert_array_equal(np.bincount(merged, minlength=10), total)


def test_digits_split_is_reproducible_and_seeded() -> None:
    a, b = load_digits_data(seed=3), load_digits_data(seed=3)
    for key in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(a[key], b[key])
    c = load_digits_data(seed=4)
    assert not np.array_equal(a["X_val"], c["X_val"])


def test_digits_float32_and_bad_arguments() -> None:
    assert load_digits_data(dtype=np.float32)["X_train"].dtype == np.float32
    with pytest.raises(ValueError, match="leaves no training examples"):
        load_digits_data(num_validation=1000, num_test=797)
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        load_digits_data(dtype=np.int64)


def test_stratified_split_partitions_indices() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=200)
    X = np.arange(200)
    data = stratified_split(X, y, num_validation=40, num_test=20, seed=1)
    parts = [data[f"X_{s}"] for s in SPLITS]
    assert [len(p) for p in parts] == [140, 40, 20]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), X)
    for s in SPLITS:
        np.testing.assert_array_equal(data[f"y_{s}"], y[data[f"X_{s}"]])
    zero = stratified_split(X, y, num_validation=0, num_test=0)
    assert len(zero["X_train"]) == 200 and zero["X_val"].shape == (0,)
    with pytest.raises(ValueError, match="num_test must be a non-negative integer"):
        stratified_split(X, y, num_validation=1, num_test=-2)


def test_spiral_geometry() -> None:
    X, y = make_spiral(num_points_per_class=400, num_classes=3, seed=0)
    assert X.shape == (1200, 2) and y.shape == (1200,)
    np.testing.assert_array_equal(np.bincount(y), [400, 400, 400])
    radius = np.linspace(0.0, 1.0, 400)
    for j in range(3):
        points = X[y == j]
        # X = r * (sin t, cos t), so the norm is the radius whatever the noise on t.
        np.testing.assert_allclose(np.linalg.norm(points, axis=1), radius, atol=1e-12)
        angle = np.unwrap(np.arctan2(points[1:, 0], points[1:, 1]))
        noise = angle - np.linspace(4.0 * j, 4.0 * (j + 1), 400)[1:]
        noise -= np.round(noise.mean() / (2 * np.pi)) * 2 * np.pi
        assert abs(noise.mean()) < 0.05 and 0.16 < noise.std() < 0.24


def test_spiral_seed_and_errors() -> None:
    np.testing.assert_array_equal(make_spiral(seed=5)[0], make_spiral(seed=5)[0])
    assert not np.array_equal(make_spiral(seed=5)[0], make_spiral(seed=6)[0])
    with pytest.raises(ValueError, match="2 dimensions"):
        make_spiral(dimensions=3)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        make_spiral(num_classes=0)


def test_spiral_split() -> None:
    data = load_spiral_data(num_points_per_class=50, num_classes=4, num_validation=20, num_test=40)
    assert data["X_train"].shape == (140, 2)
    assert data["X_val"].shape == (20, 2) and data["X_test"].shape == (40, 2)
    np.testing.assert_array_equal(np.bincount(data["y_test"]), [10, 10, 10, 10])
