"""visualize_grid layout and scaling; every plot writes a PNG without touching the backend."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tinyvision.vis_utils import (
    plot_class_templates,
    plot_distance_matrix,
    plot_first_layer_filters,
    plot_hyperparameter_search,
    plot_knn_cross_validation,
    plot_loss_history,
    plot_mean_image,
    plot_misclassified,
    template_images,
    visualize_grid,
)


def assert_png(path, returned):
    assert returned == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        width, height = image.size
    assert width > 100 and height > 100


def test_visualize_grid_places_and_rescales_each_image():
    rng = np.random.default_rng(0)
    images = rng.uniform(-3, 7, (5, 4, 6, 3))
    grid = visualize_grid(images, ubound=10.0, padding=2)
    # ceil(sqrt(5)) = 3 images per side.
    assert grid.shape == (3 * 4 + 2 * 2, 3 * 6 + 2 * 2, 3)
    for index, image in enumerate(images):
        row, col = divmod(index, 3)
        tile = grid[row * 6 : row * 6 + 4, col * 8 : col * 8 + 6]
        expected = 10.0 * (image - image.min()) / (image.max() - image.min())
        np.testing.assert_allclose(tile, expected, rtol=1e-12, atol=1e-12)
    assert np.all(grid[4:6] == 0)
    assert np.all(grid[:, 6:8] == 0)
    assert np.all(grid[12:, 16:] == 0)


def test_visualize_grid_constant_image_is_black_and_bad_input_raises():
    grid = visualize_grid(np.full((1, 3, 3, 1), 5.0))
    np.testing.assert_array_equal(grid, np.zeros((3, 3, 1)))
    with pytest.raises(ValueError, match=r"non-empty \(N, H, W, C\)"):
        visualize_grid(np.zeros((3, 3, 1)))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        visualize_grid(np.zeros((1, 3, 3, 1)), padding=-1)


@pytest.mark.parametrize(
    ("num_classes", "image_shape", "bias"),
    [(10, (32, 32, 3), True), (3, (8, 8, 3), False), (7, (6, 5), True), (2, (4, 4, 1), False)],
)
def test_plot_class_templates_writes_png(tmp_path, num_classes, image_shape, bias):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((int(np.prod(image_shape)) + bias, num_classes))
    names = [f"class {i}" for i in range(num_classes)]
    path = tmp_path / "sub" / "templates.png"
    assert_png(path, plot_class_templates(W, names, path, image_shape=image_shape))


def test_plot_class_templates_rejects_mismatches(tmp_path):
    W = np.zeros((3073, 10))
    with pytest.raises(ValueError, match="10 classes but 3 class_names"):
        plot_class_templates(W, ["a", "b", "c"], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"D = 768 \(image_shape \(16, 16, 3\)\) or 769"):
        plot_class_templates(W, list("abcdefghij"), tmp_path / "x.png", image_shape=(16, 16, 3))


def test_plot_knn_cross_validation_writes_png(tmp_path):
    path = tmp_path / "knn.png"
    accuracies = {1: [0.2, 0.25, 0.22], 5: [0.28, 0.3, 0.27], 10: [0.3, 0.29, 0.31]}
    assert_png(path, plot_knn_cross_validation(accuracies, path))
    with pytest.raises(ValueError, match="non-empty list"):
        plot_knn_cross_validation({1: []}, path)


def test_plot_hyperparameter_search_writes_png(tmp_path):
    path = tmp_path / "search.png"
    results = {
        (lr, reg): (0.3 + lr * 100, 0.28 + reg * 1e-5) for lr in (1e-7, 1e-6) for reg in (1e3, 5e4)
    }
    assert_png(path, plot_hyperparameter_search(results, str(path)).resolve())
    with pytest.raises(ValueError, match="must be > 0 for log axes"):
        plot_hyperparameter_search({(0.0, 1.0): (0.1, 0.1)}, path)
    with pytest.raises(ValueError, match="results is empty"):
        plot_hyperparameter_search({}, path)


def test_plot_loss_history_writes_png(tmp_path):
    path = tmp_path / "loss.png"
    assert_png(path, plot_loss_history(list(np.linspace(9, 1, 50)), path))
    with pytest.raises(ValueError, match="loss_history is empty"):
        plot_loss_history([], path)


def test_plot_first_layer_filters_fully_connected_and_conv(tmp_path):
    rng = np.random.default_rng(2)
    fc_path, conv_path = tmp_path / "fc.png", tmp_path / "conv.png"
    assert_png(fc_path, plot_first_layer_filters(rng.standard_normal((3072, 10)), fc_path))
    assert_png(conv_path, plot_first_layer_filters(rng.standard_normal((8, 3, 7, 7)), conv_path))
    grey = tmp_path / "grey.png"
    W = rng.standard_normal((64, 5))
    assert_png(grey, plot_first_layer_filters(W, grey, image_shape=(8, 8, 1)))
    with pytest.raises(ValueError, match=r"D = 3072 \(image_shape"):
        plot_first_layer_filters(rng.standard_normal((100, 4)), tmp_path / "bad.png")


def test_importing_does_not_load_pyplot_or_switch_backend():
    # dict.__getitem__ reads the raw setting; rcParams["backend"] would resolve it via pyplot.
    code = (
        "import sys, matplotlib; raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend');"
        "before = raw(); import tinyvision.vis_utils;"
        "print('matplotlib.pyplot' in sys.modules, raw() == before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def _pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)


def _has_colour(pixels, rgb, tolerance=3):
    return bool(np.any(np.all(np.abs(pixels - np.array(rgb)) <= tolerance, axis=1)))


def test_plot_distance_matrix_draws_near_dark_and_far_bright(tmp_path):
    dists = np.zeros((20, 40))
    dists[:, 20:] = 100.0  # the second half of the training set is far from every test point
    path = tmp_path / "dists.png"
    assert_png(path, plot_distance_matrix(dists, path))
    pixels = _pixels(path)
    assert _has_colour(pixels, (0, 0, 0)) and _has_colour(pixels, (255, 255, 255))
    with pytest.raises(ValueError, match=r"non-empty \(num_test, num_train\).*shape \(5,\)"):
        plot_distance_matrix(np.zeros(5), path)


def test_plot_mean_image_shows_the_mean_colour(tmp_path):
    mean = np.tile([200.0, 40.0, 90.0], 8 * 8)  # flat (D,), as np.mean(X_train, axis=0)
    path = tmp_path / "mean.png"
    assert_png(path, plot_mean_image(mean, path, image_shape=(8, 8, 3)))
    assert _has_colour(_pixels(path), (200, 40, 90))
    with pytest.raises(ValueError, match=r"prod\(image_shape\) = 3072"):
        plot_mean_image(mean, path)


def test_plot_misclassified_shows_only_the_mistakes(tmp_path):
    # Mistakes are solid red, correct predictions solid blue: only red may appear.
    red, blue = (230, 10, 10), (10, 10, 230)
    y_true = np.array([0, 1, 2, 0, 1, 2, 0])
    y_pred = np.array([1, 1, 2, 2, 1, 2, 0])
    images = np.empty((7, 4, 4, 3))
    images[:] = np.where((y_true != y_pred)[:, None, None, None], red, blue)
    path = tmp_path / "wrong.png"
    returned = plot_misclassified(images, y_true, y_pred, ["a", "b", "c"], path, 3)
    assert_png(path, returned)
    pixels = _pixels(path)
    assert _has_colour(pixels, red) and not _has_colour(pixels, blue, tolerance=60)


def test_plot_misclassified_checks_its_inputs(tmp_path):
    images, labels = np.zeros((4, 4, 4)), np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match="y_true and y_pred of shape"):
        plot_misclassified(images, labels[:3], labels, ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"y_pred holds labels outside \[0, 2\)"):
        plot_misclassified(images, labels, labels + 1, ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="examples_per_class must be >= 1"):
        plot_misclassified(images, labels, labels, ["a", "b"], tmp_path / "x.png", 0)


def test_template_images_min_max_scale_globally_or_per_class():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2 * 2 * 3 + 1, 3))
    W[:, 2] *= 100.0  # one class with much larger weights
    pixels = W[:-1].T.reshape(3, 2, 2, 3)
    overall = template_images(W, (2, 2, 3))
    low, high = pixels.min(), pixels.max()
    np.testing.assert_allclose(overall, 255.0 * (pixels - low) / (high - low))
    per_class = template_images(W, (2, 2, 3), per_class=True)
    for c in range(3):
        expected = (pixels[c] - pixels[c].min()) / (pixels[c].max() - pixels[c].min())
        np.testing.assert_allclose(per_class[c], 255.0 * expected)
    # Globally, the small classes are squeezed into a narrow band; per class they are not.
    assert np.ptp(overall[0]) < 20 and np.ptp(per_class[0]) == pytest.approx(255.0)
    constant = template_images(np.ones((4, 2)), (2, 2), per_class=True)
    np.testing.assert_array_equal(constant, np.zeros((2, 2, 2)))
