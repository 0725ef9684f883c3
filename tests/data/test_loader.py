"""DataLoader batching, drop_last and seeded shuffling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyvision.data.datasets import ArrayDataset
from tinyvision.data.loader import DataLoader


def _dataset(n: int) -> ArrayDataset:
    images = np.arange(n * 6, dtype=np.float64).reshape(n, 2, 3)
    return ArrayDataset(images, np.arange(n))


def test_len_and_batches_without_drop_last() -> None:
    loader = DataLoader(_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(b["label"]) for b in batches] == [4, 4, 2]
    assert batches[0]["image"].shape == (4, 2, 3)
    np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), np.arange(10))
    np.testing.assert_array_equal(batches[2]["image"], _dataset(10).images[8:])


def test_len_and_batches_with_drop_last() -> None:
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=True)
    batches = list(loader)
    assert len(loader) == 2 == len(batches)
    assert all(len(b["label"]) == 4 for b in batches)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_len_matches_iteration(n: int, batch_size: int, drop_last: bool) -> None:
    loader = DataLoader(_dataset(n), batch_size=batch_size, shuffle=True, drop_last=drop_last)
    batches = list(loader)
    expected = n // batch_size if drop_last else math.ceil(n / batch_size)
    assert len(loader) == expected == len(batches)
    seen = np.concatenate([b["label"] for b in batches]) if batches else np.array([], int)
    assert len(set(seen.tolist())) == len(seen)
    assert len(seen) == (expected * batch_size if drop_last else n)


def _epoch(loader: DataLoader) -> np.ndarray:
    return np.concatenate([b["label"] for b in loader])


def test_shuffle_is_seeded_and_reshuffles_each_epoch() -> None:
    a = DataLoader(_dataset(50), batch_size=7, shuffle=True, seed=3)
    b = DataLoader(_dataset(50), batch_size=7, shuffle=True, seed=3)
    a1, a2 = _epoch(a), _epoch(a)
    np.testing.assert_array_equal(a1, _epoch(b))
    np.testing.assert_array_equal(a2, _epoch(b))
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(np.sort(a1), np.arange(50))
    assert not np.array_equal(a1, np.arange(50))
    c = DataLoader(_dataset(50), batch_size=7, shuffle=True, seed=4)
    assert not np.array_equal(a1, _epoch(c))


def test_images_and_labels_stay_paired_when_shuffled() -> None:
    for batch in DataLoader(_dataset(20), batch_size=6, shuffle=True, seed=0):
        np.testing.assert_array_equal(batch["image"][:, 0, 0], batch["label"] * 6.0)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad) -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(_dataset(3), batch_size=bad)


class _ItemsOnly:
    """A dataset without get_batch, so DataLoader stacks single items."""

    def __init__(self, dataset: ArrayDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        return self.dataset[index]


@pytest.mark.parametrize("transform", [None, lambda x: x[::-1] * 2])
def test_batch_fast_path_equals_stacking_items(transform) -> None:
    base = ArrayDataset(_dataset(23).images, np.arange(23), transform=transform)
    fast = DataLoader(base, batch_size=5, shuffle=True, seed=1)
    slow = DataLoader(_ItemsOnly(base), batch_size=5, shuffle=True, seed=1)
    for a, b in zip(fast, slow, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype
            np.testing.assert_array_equal(a[key], b[key])
