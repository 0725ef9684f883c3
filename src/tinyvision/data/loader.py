"""A minimal DataLoader: mini-batches of a dataset as dicts of stacked arrays."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from tinyvision.errors import DataError
from tinyvision.validation import check_positive_int

__all__ = ["DataLoader", "collate", "stack_values"]

Source = Callable[[int], "str | None"]


def _where(index: int, source: Source | None) -> str:
    """'index 3' or 'index 3 (path/to/file.png)' when the dataset knows the file."""
    name = None
    if source is not None:
        try:
            name = source(index)
        except (TypeError, IndexError, KeyError):
            name = None
    return f"index {index} ({name})" if name else f"index {index}"


def stack_values(
    values: Sequence[Any], key: str, indices: Sequence[int], source: Source | None = None
) -> np.ndarray:
    """np.stack(values), or a DataError saying which examples disagree in shape.

    values: one array (or scalar) per example of a batch; key: their name ("image", "label");
    indices: the dataset index of each value; source: index -> file name (or None), such as
    ImageFolderDataset.source, so the message can name the files.
    returns the (B, ...) array.
    """
    try:
        return np.stack(values)
    except ValueError as error:
        groups: dict[tuple[int, ...], list[int]] = {}
        for value, index in zip(values, indices, strict=True):
            groups.setdefault(np.shape(value), []).append(int(index))
        if len(groups) < 2:
            raise DataError(f"cannot stack the {key!r} values of a batch: {error}") from error
        parts = []
        for shape, members in groups.items():
            shown = ", ".join(_where(i, source) for i in members[:3])
            more = f" and {len(members) - 3} more" if len(members) > 3 else ""
            parts.append(f"shape {shape} at dataset {shown}{more}")
        raise DataError(
            f"cannot stack the {key!r} values of a batch into one array, their shapes differ: "
            f"{'; '.join(parts)}. Give every example the same shape (resize the images, e.g. "
            "with a transform) or use batch_size=1"
        ) from error


def collate(
    items: Sequence[dict[str, Any]], indices: Sequence[int], source: Source | None = None
) -> dict[str, np.ndarray]:
    """Stack a batch of example dicts into one dict of (B, ...) arrays.

    items: the examples, each {key: array or scalar} with the same keys; indices: their
    dataset indices; source: as in stack_values.
    returns {key: stacked array}. Raises DataError naming the examples whose keys or shapes
    disagree (and their files when source knows them).
    """
    keys = list(items[0])
    for item, index in zip(items[1:], indices[1:], strict=True):
        if list(item) != keys:
            raise DataError(
                f"the examples of a batch have different keys: dataset "
                f"{_where(int(index), source)} has {sorted(item)}, "
                f"{_where(int(indices[0]), source)} has {sorted(keys)}"
            )
    return {key: stack_values([item[key] for item in items], key, indices, source) for key in keys}


class _Indexable(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict[str, Any]: ...


class DataLoader:
    """Iterate over a dataset in mini-batches.

    Each batch is a dict with the dataset's keys, each value `np.stack`-ed over the batch
    (an "image" of shape (H, W, C) becomes (B, H, W, C); a scalar "label" becomes (B,)).
    Datasets with a `get_batch(indices)` method (ArrayDataset) hand over whole batches at once.
    Examples whose shapes differ raise DataError naming them, and their files when the dataset
    has a `source(index)` method (ImageFolderDataset).

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
        source = getattr(self.dataset, "source", None)
        source = source if callable(source) else None
        for b in range(len(self)):
            indices = order[b * self.batch_size : (b + 1) * self.batch_size]
            if get_batch is not None:
                yield get_batch(indices)
                continue
            items = [self.dataset[int(i)] for i in indices]
            yield collate(items, indices, source)
