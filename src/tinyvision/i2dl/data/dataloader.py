"""`exercise_code.data.dataloader`: the exercise's DataLoader, which is tinyvision's.

Batches are dicts of stacked arrays (an "image" of shape (H, W, C) becomes (B, H, W, C), an
int "label" becomes (B,)); `len(loader)` is the number of batches it yields, with and without
`drop_last`. Only the seeding follows the course: the shuffling order comes from NumPy's
global generator unless a seed is given.
"""

from __future__ import annotations

from typing import Any

from tinyvision.data.loader import DataLoader as CoreDataLoader
from tinyvision.init import make_rng

__all__ = ["DataLoader"]


class DataLoader(CoreDataLoader):
    """Iterate over a dataset in mini-batches of stacked arrays (see tinyvision.data.DataLoader).

    Args:
        dataset: object with `__len__` and `__getitem__` returning a dict of arrays/scalars.
        batch_size: examples per batch (a positive int).
        shuffle: visit the examples in a new random order every epoch.
        drop_last: drop the final batch when it is smaller than batch_size.
        seed: an int seeds the shuffling; None (the default) derives the seed from NumPy's
            global generator, so `np.random.seed(...)` before building the loader repeats
            its orders, as in the course.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, shuffle, drop_last, seed)
        self.rng = make_rng(seed)
