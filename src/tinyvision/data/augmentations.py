"""Batch augmentations beyond flips and crops: colour jitter, rotation, shear and blur.

The CS231n notes list them as the cheap way to grow a training set: brightness and contrast
jitter, small rotations and shears, blur. Each is a pure function of an (N, C, H, W) batch,
in two layers: a deterministic one that takes each image's parameters (`jitter_batch`,
`affine_batch`, `blur_batch`; what the tests check) and a random one that draws them from a
seeded Generator (`random_jitter_batch`, `random_affine_batch`, `random_blur_batch`).
`augment_batch(x, names, rng)` applies the named ones, the names of `--augment`:

    flip    mirror left-right with probability 1/2 (tinyvision.data.transforms)
    crop    zero-pad by `padding` and cut a random H x W window (tinyvision.data.transforms)
    jitter  brightness +- 0.2 image std, contrast x [0.8, 1.2] about the image mean
    rotate  a rotation of up to +- 15 degrees about the centre
    shear   a horizontal shear of up to +- 0.2 (about 11 degrees)
    blur    a Gaussian blur of standard deviation up to max(1, H / 32) pixels

They are applied in one fixed order (crop, flip, rotate and shear, jitter, blur), whatever
order the names come in, so a list names a set. The
geometric ones use scipy.ndimage (bilinear, edges repeated) and every function keeps the
batch's shape and float dtype; the jitter is relative to each image's own mean and standard
deviation, so it means the same on raw pixels and on standardised inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinyvision.data.transforms import random_crop_batch, random_flip_batch

__all__ = [
    "AUGMENTATIONS",
    "DEFAULT_AUGMENTATIONS",
    "affine_batch",
    "augment_batch",
    "blur_batch",
    "check_augmentations",
    "jitter_batch",
    "random_affine_batch",
    "random_blur_batch",
    "random_jitter_batch",
]

AUGMENTATIONS = ("flip", "crop", "jitter", "rotate", "shear", "blur")
# What `--augment` alone means, and what every run before the list existed did.
DEFAULT_AUGMENTATIONS = ("flip", "crop")

BRIGHTNESS = 0.2
CONTRAST = 0.2
MAX_DEGREES = 15.0
MAX_SHEAR = 0.2


def check_augmentations(names: Sequence[str]) -> tuple[str, ...]:
    """names as a tuple, or ValueError naming the unknown ones and the known ones."""
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {unknown[0]!r}; choose from {', '.join(AUGMENTATIONS)} "
            "(a comma-separated list, e.g. flip,crop,jitter)"
        )
    return tuple(names)


def _per_image(values: np.ndarray | float, n: int) -> np.ndarray:
    """A scalar or (N,) parameter as an (N,) float64 array."""
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))


def jitter_batch(
    x: np.ndarray, brightness: np.ndarray | float, contrast: np.ndarray | float
) -> np.ndarray:
    """Each image's contrast scaled about its mean, then its brightness shifted.

    out = mean + contrast * (x - mean) + brightness * std, with the mean and standard deviation
    of each image over all its C * H * W values.
    x: (N, C, H, W) float32 or float64
    brightness: (N,) or a scalar, the shift in units of the image's standard deviation
    contrast: (N,) or a scalar, the factor applied to the deviations from the mean (1 = none)
    returns (N, C, H, W) in x's dtype
    """
    n = len(x)
    axes = (1, 2, 3)
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    shift = _per_image(brightness, n).reshape(n, 1, 1, 1)
    scale = _per_image(contrast, n).reshape(n, 1, 1, 1)
    return (mean + scale * (x - mean) + shift * std).astype(x.dtype, copy=False)


def affine_batch(
    x: np.ndarray, degrees: np.ndarray | float = 0.0, shear: np.ndarray | float = 0.0
) -> np.ndarray:
    """Each image rotated (counter-clockwise as displayed, row 0 at the top) and sheared
    about its centre.

    The output pixel at (row, col) reads the input at centre + S R (p - centre), R the rotation
    by `degrees`, S the horizontal shear col += shear * (row - centre); bilinear
    interpolation, edge pixels repeated beyond the border.
    x: (N, C, H, W) float32 or float64
    degrees: (N,) or a scalar, rotation angles
    shear: (N,) or a scalar, horizontal shear factors
    returns (N, C, H, W) in x's dtype
    """
    from scipy import ndimage

    n, _, height, width = x.shape
    radians = np.deg2rad(_per_image(degrees, n))
    shears = _per_image(shear, n)
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    out = np.empty_like(x)
    for i in range(n):
        cos, sin = math.cos(radians[i]), math.sin(radians[i])
        # Output (row, col) -> input (row, col): rows grow downwards, so this rotation turns
        # the displayed picture counter-clockwise.
        rotation = np.array([[cos, sin], [-sin, cos]])
        shearing = np.array([[1.0, 0.0], [shears[i], 1.0]])
        spatial = shearing @ rotation
        matrix = np.eye(3)
        matrix[1:, 1:] = spatial  # channels map to themselves
        offset = np.concatenate([[0.0], centre - spatial @ centre])
        ndimage.affine_transform(x[i], matrix, offset, output=out[i], order=1, mode="nearest")
    return out


def blur_batch(x: np.ndarray, sigma: np.ndarray | float) -> np.ndarray:
    """Each image convolved with a Gaussian of its own standard deviation (0 = unchanged).

    x: (N, C, H, W) float32 or float64
    sigma: (N,) or a scalar, standard deviations in pixels, >= 0
    returns (N, C, H, W) in x's dtype; edges repeated beyond the border
    """
    from scipy import ndimage

    sigmas = _per_image(sigma, len(x))
    out = x.copy()
    for i, s in enumerate(sigmas):
        if s > 0:
            ndimage.gaussian_filter(x[i], sigma=(0, s, s), output=out[i], mode="nearest")
    return out


def random_jitter_batch(
    x: np.ndarray,
    rng: np.random.Generator,
    brightness: float = BRIGHTNESS,
    contrast: float = CONTRAST,
) -> np.ndarray:
    """jitter_batch with shifts from U(-brightness, brightness) and factors from
    U(1 - contrast, 1 + contrast), one of each per image.

    x: (N, C, H, W) float; rng: the Generator drawing them
    """
    n = len(x)
    shifts = rng.uniform(-brightness, brightness, n)
    factors = rng.uniform(1 - contrast, 1 + contrast, n)
    return jitter_batch(x, shifts, factors)


def random_affine_batch(
    x: np.ndarray,
    rng: np.random.Generator,
    max_degrees: float = 0.0,
    max_shear: float = 0.0,
) -> np.ndarray:
    """affine_batch with angles from U(-max_degrees, max_degrees) and shears from
    U(-max_shear, max_shear), one of each per image.

    x: (N, C, H, W) float; rng: the Generator drawing them
    """
    n = len(x)
    degrees = rng.uniform(-max_degrees, max_degrees, n)
    shears = rng.uniform(-max_shear, max_shear, n)
    return affine_batch(x, degrees, shears)


def random_blur_batch(
    x: np.ndarray, rng: np.random.Generator, max_sigma: float | None = None
) -> np.ndarray:
    """blur_batch with standard deviations from U(0, max_sigma), one per image.

    x: (N, C, H, W) float; rng: the Generator drawing them
    max_sigma: the largest blur in pixels (None: max(1, H / 32), one pixel up to 32 x 32)
    """
    limit = max(1.0, x.shape[2] / 32) if max_sigma is None else max_sigma
    return blur_batch(x, rng.uniform(0, limit, len(x)))


def augment_batch(
    x: np.ndarray, names: Sequence[str], rng: np.random.Generator, padding: int = 0
) -> np.ndarray:
    """The named augmentations of an (N, C, H, W) batch, in the order of AUGMENTATIONS.

    x: (N, C, H, W) float32 or float64
    names: a subset of AUGMENTATIONS
    rng: the Generator drawing every random choice (seed it to repeat a batch)
    padding: the largest shift of "crop"
    returns (N, C, H, W) in x's dtype (x itself when names is empty)
    """
    chosen = set(check_augmentations(names))
    if "crop" in chosen:
        x = random_crop_batch(x, padding, rng)
    if "flip" in chosen:
        x = random_flip_batch(x, rng)
    if "rotate" in chosen or "shear" in chosen:
        degrees = MAX_DEGREES if "rotate" in chosen else 0.0
        shear = MAX_SHEAR if "shear" in chosen else 0.0
        x = random_affine_batch(x, rng, degrees, shear)
    if "jitter" in chosen:
        x = random_jitter_batch(x, rng)
    if "blur" in chosen:
        x = random_blur_batch(x, rng)
    return x
