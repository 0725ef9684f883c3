"""`tinyvision experiment filters`: the kernel figure on real images, and a trained run's first
conv layer (cnn, convnet) drawn from its run folder. The torch-cnn run is in
tests/torch_track/test_learned_filters_torch.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from assertions import assert_close
from PIL import Image
from scipy import ndimage, signal

from tinyvision import runs
from tinyvision.classifiers.fc_net import FullyConnectedNet
from tinyvision.cli import main
from tinyvision.data_utils import load_digits_data
from tinyvision.experiments import run_experiment
from tinyvision.experiments.filters import downscale, sample_photos
from tinyvision.image_filters import KERNEL_NAMES, to_grey
from tinyvision.learned_filters import feature_maps, first_conv_layer
from tinyvision.pipeline import load_run

ZERO_SUM = {"sobel-horizontal-edges", "sobel-vertical-edges", "laplacian"}


def _correlate(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
    """Stride-1 convolution layer by SciPy: per filter, the channels' 2-d correlations summed."""
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return np.array(
        [
            [
                sum(signal.correlate2d(image[c], w[f, c], mode="valid") for c in range(len(image)))
                + b[f]
                for f in range(len(w))
            ]
            for image in padded
        ]
    )


def _assert_png(path, min_width: int) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= min_width


def test_downscale_averages_blocks_and_drops_the_remainder():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(2, 3, 9, 13))
    out = downscale(images, 4)
    assert out.shape == (2, 3, 2, 3)
    for n, c, i, j in np.ndindex(out.shape):
        block = images[n, c, 4 * i : 4 * i + 4, 4 * j : 4 * j + 4]
        assert out[n, c, i, j] == pytest.approx(block.mean())
    names, photos = sample_photos(8)
    assert names == ["china", "flower"] and photos.shape == (2, 3, 427 // 8, 640 // 8)


def test_filters_experiment_writes_the_kernel_figure_and_its_table(tmp_path):
    result = run_experiment("filters", out=tmp_path / "x", overrides={"photo_downscale": 16})
    assert result.plots == [result.run_dir / "filters.png"]
    _assert_png(result.run_dir / "filters.png", 800)
    assert [row["kernel"] for row in result.rows] == list(KERNEL_NAMES)
    for row in result.rows:
        assert row["weight_sum"] == pytest.approx(0.0 if row["kernel"] in ZERO_SUM else 1.0)
    saved = json.loads((result.run_dir / "results.json").read_text())
    assert saved["results"]["images"] == ["china", "flower", "training image 1", "training image 2"]
    assert "learned" not in saved["results"]

    # The Laplacian's mean response, recomputed with SciPy on the same images.
    _, photos = sample_photos(16)
    digits = load_digits_data()["X_train"][:2]
    images = [image[0] for image in to_grey(photos)] + [digit[0] for digit in digits]
    expected = np.mean(
        [np.abs(ndimage.laplace(image, mode="constant")).mean() / np.ptp(image) for image in images]
    )
    laplacian = next(row for row in result.rows if row["kernel"] == "laplacian")
    assert laplacian["mean_abs_response"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("model", "flags", "first_weight"),
    [
        ("cnn", ["--num-filters", "5", "--hidden-dims", "8"], "model/W1"),
        ("convnet", ["--channels", "4,6", "--residual"], "model/0.conv1.W"),
    ],
)
def test_filters_run_draws_the_first_conv_layer_of_a_trained_run(
    tmp_path, capsys, model, flags, first_weight
):
    run = tmp_path / "run"
    train = ["-q", "train", "--model", model, "--epochs", "1", "--num-training", "100"]
    assert main([*train, *flags, "--out", str(run)]) == 0
    out = tmp_path / "filters"
    args = ["experiment", "filters", "--run", str(run), "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    for name in ("filters.png", "learned_filters.png", "feature_maps.png"):
        assert f"plot: {out / name}" in printed
        _assert_png(out / name, 300)

    saved = json.loads((out / "results.json").read_text())["results"]["learned"]
    stored = runs.load_arrays(run / "model.npz")[first_weight]
    assert saved["filter_shape"] == list(stored.shape)
    assert saved["model"] == model and saved["num_images"] == 4

    loaded = load_run(run)
    layer = first_conv_layer(loaded.model)
    assert_close(layer.w, stored, rtol=0)
    x = loaded.prepared.X["test"][:3]
    expected = _correlate(x, layer.w, layer.b, layer.conv_param["pad"])
    # The trained models are float32: agreement to float32 rounding of the largest response.
    scale = np.abs(expected).max()
    assert_close(feature_maps(layer, x), expected, rtol=1e-5, atol=1e-6 * scale)
    assert saved["feature_map_shape"] == list(expected.shape[1:])


def test_a_run_without_convolutions_is_refused_before_any_picture(tmp_path, capsys):
    run = tmp_path / "softmax"
    assert main(["-q", "train", "--model", "softmax", "--epochs", "1", "--out", str(run)]) == 0
    out = tmp_path / "filters"
    assert main(["experiment", "filters", "--run", str(run), "--out", str(out)]) != 0
    error = capsys.readouterr().err
    assert "run of --model softmax, which has no convolution layer" in error
    assert "--model cnn, convnet or torch-cnn" in error
    assert not (out / "filters.png").exists()
    with pytest.raises(ValueError, match="FullyConnectedNet has no convolution layer"):
        first_conv_layer(FullyConnectedNet([10], input_dim=64, num_classes=10))


def test_run_is_an_option_of_the_filters_experiment_only(tmp_path, capsys):
    args = ["experiment", "init", "--run", str(tmp_path), "--out", str(tmp_path / "x")]
    assert main(args) != 0
    assert "--run applies to `tinyvision experiment filters` only" in capsys.readouterr().err
    assert main(["experiment", "filters", "--run", str(tmp_path / "nothing")]) != 0
    assert "is not a run folder: it has no config.json" in capsys.readouterr().err


def test_colour_images_such_as_cifar10_are_filtered_in_grey(tmp_path):
    from tinyvision.experiments import experiment_settings
    from tinyvision.experiments.filters import filters

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(3, 3, 32, 32)).astype(np.float32)
    settings = experiment_settings("filters", "cifar10", overrides={"photo_downscale": 16})
    output = filters({"images": images}, tmp_path, settings, seed=0)
    assert output.results["images"][2:] == [f"training image {i}" for i in (1, 2, 3)]
    _assert_png(tmp_path / "filters.png", 800)
    grey = to_grey(images.astype(np.float64))[:, 0]
    expected = np.mean(
        [np.abs(ndimage.uniform_filter(g, 3, mode="constant")).mean() / np.ptp(g) for g in grey]
    )
    box = next(row for row in output.rows if row["kernel"] == "box-blur")
    _, photos = sample_photos(16)
    photo_part = [
        np.abs(ndimage.uniform_filter(p, 3, mode="constant")).mean() / np.ptp(p)
        for p in to_grey(photos)[:, 0]
    ]
    assert box["mean_abs_response"] == pytest.approx((sum(photo_part) + 3 * expected) / 5)
