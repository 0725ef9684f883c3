"""Image transforms of the I2DL pipeline and batch augmentation for conv-net training.

Per-image transforms (the classes) work on one image in HWC order, (H, W, C) or (H, W), which
is what `ImageFolderDataset` returns. The batch functions `random_flip_batch` and
`random_crop_batch` work on whole (N, C, H, W) mini-batches, the layout of the conv layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "ComposeTransform",
    "FlattenTransform",
    "NormalizeTransform",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RescaleTransform",
    "random_crop_batch",
    "random_flip_batch",
]


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
    """Standardise per channel: (image - mean) / std, broadcast over the last (channel) axis.

    Args:
        mean: scalar or array of shape (C,), the channel means.
        std: scalar or array of shape (C,), the channel standard deviations (all > 0).
    """

    def __init__(self, mean: npt.ArrayLike, std: npt.ArrayLike) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if np.any(self.std <= 0):
            raise ValueError(f"std must be positive everywhere, got {self.std}")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Normalise an HWC image (or an (N, H, W, C) stack); keeps float32 as float32."""
        image = np.asarray(image)
        dtype = image.dtype if np.issubdtype(image.dtype, np.floating) else np.float64
        return ((image - self.mean) / self.std).astype(dtype, copy=False)


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
    """Mirror an HWC image left-right with probability `p`.

    Args:
        p: flip probability in [0, 1].
        seed: seed of the transform's own generator (None: fresh entropy).
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return the image, flipped along W (axis 1) with probability p."""
        image = np.asarray(image)
        if self.rng.random() < self.p:
            return image[:, ::-1].copy()
        return image


class RandomCrop:
    """Zero-pad an HWC image by `padding` on each side, then cut a random `size` window.

    Args:
        size: output (height, width), or one int for a square.
        padding: zeros added on every side before cropping.
        seed: seed of the transform's own generator (None: fresh entropy).
    """

    def __init__(
        self, size: int | tuple[int, int], padding: int = 0, seed: int | None = None
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be a positive int or (height, width), got {size}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.padding = padding
        self.rng = np.random.default_rng(seed)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return an (size[0], size[1], ...) crop of the padded HWC image."""
        image = np.asarray(image)
        pad = [(self.padding, self.padding)] * 2 + [(0, 0)] * (image.ndim - 2)
        padded = np.pad(image, pad)
        height, width = self.size
        if height > padded.shape[0] or width > padded.shape[1]:
            raise ValueError(
                f"crop size {self.size} is larger than the padded image {padded.shape[:2]}"
            )
        top = self.rng.integers(0, padded.shape[0] - height + 1)
        left = self.rng.integers(0, padded.shape[1] - width + 1)
        return padded[top : top + height, left : left + width].copy()


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
