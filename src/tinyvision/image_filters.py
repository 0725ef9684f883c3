"""The CS231n notes' hand-made kernels, applied to images with our own convolution.

A conv layer learns its filters; before learning, the notes show what fixed ones do: Sobel
kernels respond to edges, box and Gaussian kernels blur, a sharpen kernel adds the Laplacian's
detail back. `filter_images` runs each image channel through `layers.conv_forward_fast` (the
cross-correlation of every conv layer here, zero padding that keeps the size), so the pictures
show exactly the operation a conv net's first layer performs.
"""

from __future__ import annotations

import numpy as np

from tinyvision.layers.conv import conv_forward_fast

__all__ = [
    "KERNEL_NAMES",
    "filter_images",
    "gaussian_kernel",
    "make_kernel",
    "to_grey",
]

# The order of the figure's columns: edges, then smoothing, then detail.
KERNEL_NAMES: tuple[str, ...] = (
    "sobel-horizontal-edges",
    "sobel-vertical-edges",
    "laplacian",
    "box-blur",
    "gaussian-blur",
    "sharpen",
)

_SOBEL_VERTICAL_EDGES = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
_LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """A normalised Gaussian kernel: exp(-(i^2 + j^2) / (2 sigma^2)) over offsets from the centre.

    size: odd side length >= 1; sigma: standard deviation in pixels, > 0
    returns (size, size) float64 summing to 1
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 1, got {size!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    offsets = np.arange(size) - size // 2
    weights = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2.0 * sigma**2))
    return weights / weights.sum()


def make_kernel(name: str) -> np.ndarray:
    """A fresh copy of one of the notes' kernels, as used by cross-correlation.

    name: one of KERNEL_NAMES. "sobel-horizontal-edges" differentiates down the rows (it
        responds to horizontal edges, positive where the image gets brighter downwards),
        "sobel-vertical-edges" across the columns; "laplacian" is the 4-neighbour Laplacian;
        "box-blur" the 3x3 mean; "gaussian-blur" gaussian_kernel(5, 1.0); "sharpen" the
        identity minus the Laplacian.
    returns (k, k) float64 with k odd
    """
    if name == "sobel-vertical-edges":
        return np.array(_SOBEL_VERTICAL_EDGES)
    if name == "sobel-horizontal-edges":
        return np.array(_SOBEL_VERTICAL_EDGES).T.copy()
    if name == "laplacian":
        return np.array(_LAPLACIAN)
    if name == "box-blur":
        return np.full((3, 3), 1.0 / 9.0)
    if name == "gaussian-blur":
        return gaussian_kernel(5, 1.0)
    if name == "sharpen":
        identity = np.zeros((3, 3))
        identity[1, 1] = 1.0
        return identity - np.array(_LAPLACIAN)
    raise ValueError(f"unknown kernel {name!r}; choose one of {', '.join(KERNEL_NAMES)}")


def filter_images(images: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Cross-correlate every channel of every image with one kernel, keeping the size.

    images: (N, C, H, W) float32 or float64; each channel is filtered on its own
    kernel: (k, k) with k odd; the images are zero-padded by k // 2 on every side
    returns (N, C, H, W) in the common dtype of images and kernel:
        out[n, c, y, x] = sum_{i, j} padded[n, c, y + i, x + j] * kernel[i, j]
    """
    images = np.asarray(images)
    kernel = np.asarray(kernel)
    if images.ndim != 4 or not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"images must be a float (N, C, H, W) array, got {images.dtype} of shape "
            f"{images.shape}; add a channel axis to grey images: images[:, None]"
        )
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(
            f"kernel must be square with an odd side (so the padding keeps the size), got "
            f"shape {kernel.shape}"
        )
    n, c, h, w = images.shape
    dtype = np.result_type(images.dtype, kernel.dtype)
    # Channels as separate one-channel images: one filter, applied to each of them alike.
    channels = images.reshape(n * c, 1, h, w).astype(dtype, copy=False)
    weights = kernel.astype(dtype, copy=False)[None, None]
    conv_param = {"stride": 1, "pad": kernel.shape[0] // 2}
    out, _ = conv_forward_fast(channels, weights, np.zeros(1, dtype=dtype), conv_param)
    return out.reshape(n, c, h, w)


def to_grey(images: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B) of RGB images; grey ones unchanged.

    images: (N, 3, H, W) or (N, 1, H, W) float
    returns (N, 1, H, W) in the dtype of images
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W), got shape {images.shape}")
    if images.shape[1] == 1:
        return images
    weights = np.array([0.299, 0.587, 0.114], dtype=images.dtype)
    return np.einsum("nchw,c->nhw", images, weights)[:, None]
