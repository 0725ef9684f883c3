"""The notes' hand-made kernels, run with our convolution, against SciPy's own filters."""

from __future__ import annotations

import numpy as np
import pytest
from assertions import assert_close
from PIL import Image
from scipy import ndimage, signal
from sklearn.datasets import load_sample_image

from tinyvision.image_filters import (
    KERNEL_NAMES,
    filter_images,
    gaussian_kernel,
    make_kernel,
    to_grey,
)


def _photo_crop() -> np.ndarray:
    """A 40x56 grey crop of scikit-learn's china.jpg, float64 in [0, 255]."""
    rgb = load_sample_image("china.jpg")[100:140, 200:256]
    return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_each_kernel_equals_scipy_cross_correlation_with_zero_padding(name):
    kernel = make_kernel(name)
    rng = np.random.default_rng(0)
    images = np.stack([_photo_crop(), rng.normal(size=(40, 56)) * 50])[:, None]
    out = filter_images(images, kernel)
    assert out.shape == images.shape
    for image, result in zip(images[:, 0], out[:, 0], strict=True):
        expected = signal.correlate2d(image, kernel, mode="same", boundary="fill", fillvalue=0)
        assert_close(result, expected, rtol=1e-10, atol=1e-9, name=name)


def test_the_kernels_are_scipys_sobel_laplace_and_uniform_filters():
    image = _photo_crop()
    x = image[None, None]

    def run(name: str) -> np.ndarray:
        return filter_images(x, make_kernel(name))[0, 0]

    # ndimage differentiates along `axis` with [-1, 0, 1] and smooths the other with [1, 2, 1].
    sobel_down_rows = ndimage.sobel(image, axis=0, mode="constant", cval=0.0)
    sobel_across = ndimage.sobel(image, axis=1, mode="constant", cval=0.0)
    assert_close(run("sobel-horizontal-edges"), sobel_down_rows, rtol=1e-10, atol=1e-9)
    assert_close(run("sobel-vertical-edges"), sobel_across, rtol=1e-10, atol=1e-9)
    laplace = ndimage.laplace(image, mode="constant", cval=0.0)
    assert_close(run("laplacian"), laplace, rtol=1e-10, atol=1e-9)
    box = ndimage.uniform_filter(image, size=3, mode="constant", cval=0.0)
    assert_close(run("box-blur"), box, rtol=1e-10, atol=1e-9)
    assert_close(run("sharpen"), image - laplace, rtol=1e-10, atol=1e-9)


def test_a_horizontal_step_lights_only_the_horizontal_edge_kernel():
    step = np.zeros((1, 1, 9, 9))
    step[:, :, 5:] = 1.0  # brighter below row 4
    across = filter_images(step, make_kernel("sobel-vertical-edges"))[0, 0, 1:-1, 1:-1]
    down = filter_images(step, make_kernel("sobel-horizontal-edges"))[0, 0, 1:-1, 1:-1]
    assert np.all(across == 0)
    assert down[3:5].min() == 4.0 and np.all(np.delete(down, [3, 4], axis=0) == 0)


def test_gaussian_kernel_is_the_outer_product_of_scipys_window():
    window = signal.windows.gaussian(7, std=1.5)
    expected = np.outer(window, window) / np.outer(window, window).sum()
    assert_close(gaussian_kernel(7, 1.5), expected, rtol=1e-12)
    assert_close(make_kernel("gaussian-blur"), gaussian_kernel(5, 1.0), rtol=0)
    with pytest.raises(ValueError, match="odd integer"):
        gaussian_kernel(4)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gaussian_kernel(5, 0.0)


def test_every_channel_is_filtered_on_its_own_and_float32_stays_float32():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(2, 3, 12, 10)).astype(np.float32)
    kernel = make_kernel("gaussian-blur").astype(np.float32)
    out = filter_images(images, kernel)
    assert out.dtype == np.float32 and out.shape == images.shape
    for n in range(2):
        for c in range(3):
            expected = signal.correlate2d(images[n, c].astype(np.float64), kernel, mode="same")
            assert_close(out[n, c], expected, rtol=1e-4, atol=1e-5, name=f"image {n} chan {c}")


def test_to_grey_matches_pillows_luminance():
    rgb = load_sample_image("flower.jpg")[::20, ::20]
    grey = to_grey(rgb.transpose(2, 0, 1)[None].astype(np.float64))
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)
    assert grey.shape == (1, 1, *expected.shape)
    assert_close(grey[0, 0], expected, rtol=0, atol=1.0)  # Pillow rounds to integers
    assert to_grey(grey) is grey


def test_bad_inputs_are_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="odd side"):
        filter_images(np.zeros((1, 1, 5, 5)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"images\[:, None\]"):
        filter_images(np.zeros((5, 5)), make_kernel("laplacian"))
    with pytest.raises(ValueError, match="float"):
        filter_images(np.zeros((1, 1, 5, 5), dtype=np.uint8), make_kernel("laplacian"))
    with pytest.raises(ValueError, match="choose one of sobel-horizontal-edges"):
        make_kernel("emboss")
