"""A minimal DataLoader: mini-batches of a dataset as dicts of stacked arrays."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from tinyvision.validation import check_positive_int

__all__ = ["DataLoader"]


class _Indexable(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict[str, Any]: ...


class DataLoader:
    """Iterate over a dataset in mini-batches.

    Each batch is a dict with the dataset's keys, each value `np.stack`-ed over the batch
    (an "image" of shape (H, W, C) becomes (B, H, W, C); a scalar "label" becomes (B,)).
    Datasets with a `get_batch(indices)` method (ArrayDataset) hand over whole batches at once.

    Args:
        dataset: object with `__len__` and `__getitem__` returning a dict of arrays/scalars.
        batch_size: examples per batch (a positive int).
        shuffle: visit examples in a new random order every epoch.
        drop_last: drop the final batch when it is smaller than batch_size.
        seed: seed of the shuffling; the same seed gives the same sequence of epoch orders.
    """

    def __init__(
        self,
        dataset: _Indexable,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        check_positive_int(batch_size, "batch_size", allow_float=True)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Number of batches per epoch: ceil(n / batch_size), or n // batch_size with drop_last."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        """Yield len(self) batches; with shuffle, each epoch draws a fresh permutation."""
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        get_batch = getattr(self.dataset, "get_batch", None)
        for b in range(len(self)):
            indices = order[b * self.batch_size : (b + 1) * self.batch_size]
            if get_batch is not None:
                yield get_batch(indices)
                continue
            items = [self.dataset[int(i)] for i in indices]
            yield {key: np.stack([item[key] for item in items]) for key in items[0]}
