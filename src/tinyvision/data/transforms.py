"""Image transforms of the I2DL pipeline and batch augmentation for conv-net training.

Per-image transforms (the classes) work on one image, (H, W), (H, W, C) as `ImageFolderDataset`
returns it, or (C, H, W) as `get_CIFAR10_data` and the conv layers use. Each takes a
`channel_axis`: 0 (channels first), -1 (channels last) or "auto", which reads the layout from the
shape (a colour axis has 1 or 3 entries) and refuses a shape that fits both, such as
(3, 5, 3), instead of guessing. The batch functions `random_flip_batch` and
`random_crop_batch` work on whole (N, C, H, W) mini-batches, the layout of the conv layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ChannelAxis",
    "ComposeTransform",
    "FlattenTransform",
    "NormalizeTransform",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RescaleTransform",
    "image_channel_axis",
    "random_crop_batch",
    "random_flip_batch",
]


ChannelAxis = Literal[0, -1, "auto"]

# Entries of a colour axis: grey or RGB (the image datasets drop an alpha channel).
_CHANNEL_COUNTS = (1, 3)


def image_channel_axis(shape: tuple[int, ...], channel_axis: ChannelAxis = "auto") -> int | None:
    """The index of the channel axis of one image of the given shape, or None for (H, W).

    shape: (H, W), (H, W, C) or (C, H, W)
    channel_axis: 0 (channels first), -1 (channels last) or "auto" (from the shape)
    raises ValueError for another number of dimensions, an unknown channel_axis, or, with
        "auto", a shape that reads both ways or neither
    """
    if len(shape) == 2:
        return None
    if len(shape) != 3:
        raise ValueError(
            f"an image must be (H, W), (H, W, C) or (C, H, W), got shape {shape}; "
            "apply the transform to one image at a time"
        )
    if channel_axis in (0, -1):
        return 0 if channel_axis == 0 else 2
    if channel_axis != "auto":
        raise ValueError(f"channel_axis must be 0, -1 or 'auto', got {channel_axis!r}")
    first, last = shape[0] in _CHANNEL_COUNTS, shape[-1] in _CHANNEL_COUNTS
    if first == last:
        raise ValueError(
            f"cannot tell the channel axis of an image of shape {shape}: it could be "
            f"{'both' if first else 'neither'} (C, H, W) {'and' if first else 'nor'} (H, W, C); "
            "pass channel_axis=0 for channels first or channel_axis=-1 for channels last"
        )
    return 0 if first else 2


def _spatial_axes(image: np.ndarray, channel_axis: ChannelAxis) -> tuple[int, int]:
    """The (height, width) axes of one image."""
    return (1, 2) if image_channel_axis(image.shape, channel_axis) == 0 else (0, 1)


def _as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class RescaleTransform:
    """Map values linearly from `in_range` to `out_range` (e.g. pixels 0..255 to 0..1).

    Args:
        out_range: (min, max) of the output.
        in_range: (min, max) of the input; must not be empty.
    """

    def __init__(
        self,
        out_range: tuple[float, float] = (0.0, 1.0),
        in_range: tuple[float, float] = (0.0, 255.0),
    ) -> None:
        if in_range[1] == in_range[0]:
            raise ValueError(f"in_range must have two different ends, got {in_range}")
        self.min, self.max = out_range
        self._in_min, self._in_max = in_range

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Rescale an array of any shape; integer input comes back as float64."""
        image = np.asarray(image)
        if not np.issubdtype(image.dtype, np.floating):
            image = image.astype(np.float64)
        scale = (self.max - self.min) / (self._in_max - self._in_min)
        return (image - self._in_min) * scale + self.min


class NormalizeTransform:
    """Standardise per channel: (image - mean) / std, broadcast over the channel axis.

    Args:
        mean: scalar or array of shape (C,), the channel means.
        std: scalar or array of shape (C,), the channel standard deviations (all > 0).
        channel_axis: 0, -1 or "auto" (see the module docstring); used only when mean or std
            has one value per channel.
    """

    def __init__(
        self, mean: npt.ArrayLike, std: npt.ArrayLike, channel_axis: ChannelAxis = "auto"
    ) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if np.any(self.std <= 0):
            raise ValueError(f"std must be positive everywhere, got {self.std}")
        self.channel_axis = channel_axis

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Normalise one image (or an (N, ...) stack of them); keeps float32 as float32."""
        image = np.asarray(image)
        dtype = image.dtype if np.issubdtype(image.dtype, np.floating) else np.float64
        mean, std = self.mean, self.std
        if mean.ndim or std.ndim:
            one = image.shape[1:] if image.ndim == 4 else image.shape
            if image_channel_axis(one, self.channel_axis) == 0:
                # (C,) statistics against (C, H, W): put C first.
                mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        return ((image - mean) / std).astype(dtype, copy=False)


class FlattenTransform:
    """Flatten an image to a 1-d vector (for linear classifiers and fully connected nets)."""

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return `image` as a vector of shape (image.size,)."""
        return np.asarray(image).reshape(-1)


class ComposeTransform:
    """Apply several transforms one after the other.

    Args:
        transforms: callables, applied in order.
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return the image after every transform."""
        for transform in self.transforms:
            image = transform(image)
        return image


class RandomHorizontalFlip:
    """Mirror an image left-right with probability `p`.

    Args:
        p: flip probability in [0, 1].
        seed: seed of the transform's own generator (None: fresh entropy).
        channel_axis: 0, -1 or "auto" (see the module docstring).
    """

    def __init__(
        self, p: float = 0.5, seed: int | None = None, channel_axis: ChannelAxis = "auto"
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.channel_axis = channel_axis

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return the image, flipped along its width axis with probability p."""
        image = np.asarray(image)
        width_axis = _spatial_axes(image, self.channel_axis)[1]
        if self.rng.random() < self.p:
            return np.flip(image, axis=width_axis).copy()
        return image


class RandomCrop:
    """Zero-pad an HWC image by `padding` on each side, then cut a random `size` window.

    Args:
        size: output (height, width), or one int for a square.
        padding: zeros added on every side before cropping.
        seed: seed of the transform's own generator (None: fresh entropy).
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        padding: int = 0,
        seed: int | None = None,
        channel_axis: ChannelAxis = "auto",
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be a positive int or (height, width), got {size}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.padding = padding
        self.rng = np.random.default_rng(seed)
        self.channel_axis = channel_axis

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return a size[0] x size[1] crop of the padded image, in the image's layout."""
        image = np.asarray(image)
        rows, cols = _spatial_axes(image, self.channel_axis)
        pad = [(0, 0)] * image.ndim
        pad[rows] = pad[cols] = (self.padding, self.padding)
        padded = np.pad(image, pad)
        height, width = self.size
        if height > padded.shape[rows] or width > padded.shape[cols]:
            padded_size = (padded.shape[rows], padded.shape[cols])
            raise ValueError(f"crop size {self.size} is larger than the padded image {padded_size}")
        top = self.rng.integers(0, padded.shape[rows] - height + 1)
        left = self.rng.integers(0, padded.shape[cols] - width + 1)
        window = [slice(None)] * image.ndim
        window[rows], window[cols] = slice(top, top + height), slice(left, left + width)
        return padded[tuple(window)].copy()


def random_flip_batch(
    x: np.ndarray, rng: np.random.Generator | int | None = None, p: float = 0.5
) -> np.ndarray:
    """Mirror each image of an (N, C, H, W) batch left-right with probability p.

    Args:
        x: array of shape (N, C, H, W), any dtype.
        rng: generator (or seed) drawing which images flip.
        p: flip probability.

    Returns:
        New array of the same shape and dtype.
    """
    rng = _as_generator(rng)
    flip = rng.random(x.shape[0]) < p
    out = x.copy()
    out[flip] = x[flip, ..., ::-1]
    return out


def random_crop_batch(
    x: np.ndarray, padding: int, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Zero-pad each (N, C, H, W) image by `padding` and cut a random H x W window from it.

    Each image gets its own offset; the output keeps the input's shape and dtype.

    Args:
        x: array of shape (N, C, H, W).
        padding: zeros added on every side (the largest possible shift).
        rng: generator (or seed) drawing the offsets.

    Returns:
        New array of shape (N, C, H, W).
    """
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    rng = _as_generator(rng)
    n, _, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(2, 3))
    top = rng.integers(0, 2 * padding + 1, size=n)
    left = rng.integers(0, 2 * padding + 1, size=n)
    # The advanced indices are split by a slice, so NumPy puts the batch axis first: (N, C, H, W).
    return windows[np.arange(n), :, top, left]
