"""`exercise_code.data.transforms`: the exercise's image transforms and image statistics.

Thin adapters over `tinyvision.data.transforms`: the maths is the core's, only the exercise's
argument names and defaults are added. Every transform works on one image, HWC as the datasets
return it or CHW as `get_CIFAR10_data` does (`channel_axis`), and on a stack where the maths
allows.
"""

from __future__ import annotations

import numpy as np

from tinyvision.data import transforms as core
from tinyvision.data.transforms import ComposeTransform, FlattenTransform, NormalizeTransform
from tinyvision.init import make_rng
from tinyvision.validation import check_float_array

__all__ = [
    "ComposeTransform",
    "FlattenTransform",
    "NormalizeTransform",
    "RandomHorizontalFlip",
    "RescaleTransform",
    "compute_image_mean_and_std",
]

Range = tuple[float, float]


def _one_of(
    new: Range | None, old: Range | None, new_name: str, old_name: str, default: Range
) -> Range:
    """The argument given under either of its two names, or the default when neither is."""
    if new is not None and old is not None:
        raise ValueError(
            f"{new_name} and {old_name} are two names of one argument, got both ({new} and "
            f"{old}); pass only one"
        )
    if new is not None:
        return new
    return old if old is not None else default


class RescaleTransform(core.RescaleTransform):
    """Map values linearly from `in_range` to `out_range` (default: pixels 0..255 to 0..1).

    Both spellings of the exercise work: `RescaleTransform(out_range, in_range)` (later years)
    and `RescaleTransform(range_=..., old_range=...)` (earlier years); positionally they are the
    same. Attributes `min`, `max` (output) and `_data_min`, `_data_max` (input) as in the course.

    Raises:
        ValueError: one range given under both names, or an input range with equal ends.
    """

    def __init__(
        self,
        out_range: tuple[float, float] | None = None,
        in_range: tuple[float, float] | None = None,
        *,
        range_: tuple[float, float] | None = None,
        old_range: tuple[float, float] | None = None,
    ) -> None:
        out_range = _one_of(out_range, range_, "out_range", "range_", (0.0, 1.0))
        in_range = _one_of(in_range, old_range, "in_range", "old_range", (0.0, 255.0))
        super().__init__(out_range=out_range, in_range=in_range)
        self._data_min, self._data_max = self._in_min, self._in_max


def compute_image_mean_and_std(
    images: np.ndarray, channel_axis: core.ChannelAxis = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a stack of images.

    Args:
        images: float or integer array of shape (N, H, W, C) or (N, C, H, W).
        channel_axis: the channel axis of one image: -1 (the course's layout), 0, or "auto"
            (read from the shape, refusing a shape that fits both layouts).

    Returns:
        (mean, std): float64 arrays of shape (C,) (float32 for float32 images); std is the
        population standard deviation (ddof=0), over all N * H * W pixels of each channel.

    Raises:
        ValueError: `images` is not 4-dimensional, or its layout cannot be told.
    """
    images = check_float_array(images, "images", 4)
    first = core.image_channel_axis(images.shape[1:], channel_axis) == 0
    axes = (0, 2, 3) if first else (0, 1, 2)
    return images.mean(axis=axes), images.std(axis=axes)


class RandomHorizontalFlip(core.RandomHorizontalFlip):
    """Mirror an image left-right with probability `prob` (the exercise's name for p).

    Args:
        prob: flip probability in [0, 1].
        seed: an int seeds the transform's own generator; None (the default) derives it from
            NumPy's global generator, so `np.random.seed(...)` before building the transform
            makes the flips reproducible, as in the course.
        channel_axis: 0 for (C, H, W) images, -1 for (H, W, C), or "auto" (read from the
            shape, refusing a shape that fits both).
    """

    def __init__(
        self, prob: float = 0.5, seed: int | None = None, channel_axis: core.ChannelAxis = "auto"
    ) -> None:
        super().__init__(p=prob, channel_axis=channel_axis)
        self.rng = make_rng(seed)

    @property
    def prob(self) -> float:
        """The flip probability (the core's `p`)."""
        return self.p
