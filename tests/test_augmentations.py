"""Augmentations beyond flips and crops: what each does, seeded draws, --augment as a list, the
Solver's augmented batches and the picture grid."""

import json

import numpy as np
import pytest
from assertions import assert_close

from tinyvision.augmentation_plots import augmentation_columns, plot_augmentations
from tinyvision.classification import _AugmentedImages
from tinyvision.cli import build_parser, main
from tinyvision.config import TrainConfig, config_from_json
from tinyvision.data.augmentations import (
    AUGMENTATIONS,
    affine_batch,
    augment_batch,
    blur_batch,
    jitter_batch,
    random_affine_batch,
    random_blur_batch,
    random_jitter_batch,
)
from tinyvision.data.transforms import random_crop_batch, random_flip_batch
from tinyvision.experiments import run_experiment


def _batch(dtype=np.float64, shape=(4, 3, 9, 9), seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_augmentation_keeps_shape_and_dtype_and_repeats_with_its_seed(name, dtype):
    x = _batch(dtype)
    first = augment_batch(x, (name,), np.random.default_rng(7), padding=2)
    again = augment_batch(x, (name,), np.random.default_rng(7), padding=2)
    other = augment_batch(x, (name,), np.random.default_rng(8), padding=2)
    assert first.shape == x.shape and first.dtype == dtype
    assert_close(first, again, rtol=0)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, x)


def test_rotation_by_90_degrees_is_rot90_and_zero_is_the_identity():
    x = _batch(shape=(2, 3, 7, 7))
    assert_close(affine_batch(x, 90.0), np.rot90(x, 1, axes=(2, 3)), rtol=0, atol=1e-12)
    assert_close(affine_batch(x, -90.0), np.rot90(x, -1, axes=(2, 3)), rtol=0, atol=1e-12)
    assert_close(affine_batch(x, 0.0, 0.0), x, rtol=0, atol=1e-12)
    assert_close(affine_batch(x, np.array([90.0, 0.0]))[1], x[1], rtol=0, atol=1e-12)


def test_shear_moves_each_row_in_proportion_to_its_distance_from_the_centre():
    x = np.zeros((1, 1, 7, 7))
    x[0, 0, 5, 3] = 1.0  # two rows below the centre (3, 3)
    x[0, 0, 3, 3] = 1.0  # the centre stays
    sheared = affine_batch(x, 0.0, 1.0)[0, 0]
    # The output at (row, col) reads the input at (row, col + shear * (row - 3)).
    assert sheared[5, 1] == 1.0 and sheared[3, 3] == 1.0
    assert_close(sheared.sum(), 2.0, rtol=1e-12)


def test_jitter_shifts_the_mean_and_scales_the_spread_of_each_image():
    x = _batch()
    out = jitter_batch(x, np.array([0.1, -0.2, 0.0, 0.3]), np.array([1.2, 0.8, 1.0, 1.0]))
    mean, std = x.mean(axis=(1, 2, 3)), x.std(axis=(1, 2, 3))
    assert_close(out.mean(axis=(1, 2, 3)), mean + np.array([0.1, -0.2, 0.0, 0.3]) * std, rtol=1e-12)
    assert_close(out.std(axis=(1, 2, 3)), np.array([1.2, 0.8, 1.0, 1.0]) * std, rtol=1e-12)
    drawn = random_jitter_batch(x, np.random.default_rng(0), brightness=0.0, contrast=0.0)
    assert_close(drawn, x, rtol=1e-12)


def test_blur_keeps_constants_and_spreads_a_point_by_sigma():
    flat = np.full((1, 2, 9, 9), 0.7)
    assert_close(blur_batch(flat, 1.0), flat, rtol=1e-12)
    x = _batch()
    assert_close(blur_batch(x, 0.0), x, rtol=0)
    point = np.zeros((1, 1, 31, 31))
    point[0, 0, 15, 15] = 1.0
    blurred = blur_batch(point, 2.0)[0, 0]
    rows = np.arange(31) - 15
    assert_close(blurred.sum(), 1.0, rtol=1e-9)
    assert_close((blurred.sum(axis=1) * rows**2).sum(), 4.0, rtol=0.01)  # variance sigma^2
    assert_close(random_blur_batch(x, np.random.default_rng(0), max_sigma=0.0), x, rtol=0)
    assert_close(random_affine_batch(x, np.random.default_rng(0)), x, rtol=0, atol=1e-12)


def test_names_are_a_set_and_flip_crop_is_what_augment_always_did():
    x = _batch()
    a = augment_batch(x, ("jitter", "flip", "blur"), np.random.default_rng(3))
    b = augment_batch(x, ("blur", "jitter", "flip"), np.random.default_rng(3))
    assert_close(a, b, rtol=0)
    rng = np.random.default_rng(4)
    before = random_flip_batch(random_crop_batch(x, 2, rng), rng)
    assert_close(augment_batch(x, ("flip", "crop"), np.random.default_rng(4), 2), before, rtol=0)
    assert augment_batch(x, (), np.random.default_rng(0)) is x
    with pytest.raises(ValueError, match="unknown augmentation 'spin'"):
        augment_batch(x, ("spin",), np.random.default_rng(0))


def test_augment_flag_is_a_list_and_alone_means_flip_crop():
    parser = build_parser()
    base = ["train", "--model", "fc"]
    assert parser.parse_args([*base, "--augment"]).augment == ("flip", "crop")
    assert parser.parse_args([*base, "--augment", "jitter,blur"]).augment == ("jitter", "blur")
    assert TrainConfig(augment=parser.parse_args([*base, "--no-augment"]).augment).augment == ()
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--augment", "flip,spin"])
    # config.json files written when augment was a flag keep working.
    old = config_from_json({"config_version": 2, "model": "fc", "augment": True})
    assert old.augment == ("flip", "crop")
    assert config_from_json({"config_version": 2, "model": "fc", "augment": False}).augment == ()


def test_the_solver_batches_carry_the_listed_augmentations():
    images = _batch(shape=(6, 1, 8, 8))
    labels = np.arange(6)
    plain = _AugmentedImages(images, labels, 1, seed=0, names=())
    jittered = _AugmentedImages(images, labels, 1, seed=0, names=("jitter",))
    index = np.array([0, 3])
    assert_close(plain.get_batch(index)["image"], images[index], rtol=0)
    expected = augment_batch(images[index], ("jitter",), np.random.default_rng(0), 1)
    assert_close(jittered.get_batch(index)["image"], expected, rtol=0)


def test_train_records_the_augmentation_list(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["-q", "train", "--model", "fc", "--hidden-dims", "16", "--epochs", "1"]
    assert main([*args, "--augment", "rotate,jitter", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["augment"] == ["rotate", "jitter"]
    assert main(["-q", "evaluate", str(out)]) == 0


def test_picture_grid_has_one_column_per_augmentation(tmp_path):
    images = _batch(np.float32, shape=(3, 3, 16, 16))
    columns = augmentation_columns(images, ("flip", "blur"), seed=1)
    assert list(columns) == ["original", "flip", "blur"]
    path = plot_augmentations(images, tmp_path / "grid.png", seed=1)
    assert path.stat().st_size > 5000
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plot_augmentations(images[:, :2], tmp_path / "bad.png")
    result = run_experiment("augmentations", out=tmp_path / "experiment")
    assert (result.run_dir / "augmentations.png").is_file()
    assert [row["augmentation"] for row in result.rows] == list(AUGMENTATIONS)
    assert all(row["mean_abs_change"] > 0 for row in result.rows)
