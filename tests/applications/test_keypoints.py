"""Facial keypoints (I2DL): the course's CSV format read back, its score, the net learning, the
augmentation moving keypoints with the pixels, and `train --model keypoints` / `evaluate` end to
end on tiny generated data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision.cli import main  # noqa: E402
from tinyvision.config import TrainConfig, resolve_config  # noqa: E402
from tinyvision.data.facial_keypoints import (  # noqa: E402
    COORDINATE_COLUMNS,
    KEYPOINT_NAMES,
    read_keypoints_csv,
)
from tinyvision.data.facial_keypoints_generator import generate_keypoints_data  # noqa: E402
from tinyvision.errors import DataError  # noqa: E402
from tinyvision.i2dl.data.facial_keypoints_dataset import FacialKeypointsDataset  # noqa: E402
from tinyvision.i2dl.networks.keypoint_nn import KeypointModel  # noqa: E402
from tinyvision.keypoints import keypoint_score, load_keypoint_splits  # noqa: E402
from tinyvision.torch.applications.keypoints import KeypointArrays, soft_argmax  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per test worker: two on a busy 2-core machine slow small convs down."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# The Kaggle facial-keypoints header, written out here rather than taken from the module.
KAGGLE_HEADER = (
    "left_eye_center_x,left_eye_center_y,right_eye_center_x,right_eye_center_y,"
    "left_eye_inner_corner_x,left_eye_inner_corner_y,left_eye_outer_corner_x,"
    "left_eye_outer_corner_y,right_eye_inner_corner_x,right_eye_inner_corner_y,"
    "right_eye_outer_corner_x,right_eye_outer_corner_y,left_eyebrow_inner_end_x,"
    "left_eyebrow_inner_end_y,left_eyebrow_outer_end_x,left_eyebrow_outer_end_y,"
    "right_eyebrow_inner_end_x,right_eyebrow_inner_end_y,right_eyebrow_outer_end_x,"
    "right_eyebrow_outer_end_y,nose_tip_x,nose_tip_y,mouth_left_corner_x,mouth_left_corner_y,"
    "mouth_right_corner_x,mouth_right_corner_y,mouth_center_top_lip_x,mouth_center_top_lip_y,"
    "mouth_center_bottom_lip_x,mouth_center_bottom_lip_y,Image"
).split(",")


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(KAGGLE_HEADER)
        writer.writerows(rows)
    return path


def _row(rng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One complete row: its cells, its (96, 96) pixels and its 30 pixel coordinates."""
    pixels = rng.integers(0, 256, (96, 96))
    coordinates = np.round(rng.uniform(10, 86, 30), 4)
    cells = [f"{v:.4f}" for v in coordinates] + [" ".join(map(str, pixels.ravel()))]
    return cells, pixels, coordinates


def test_reader_keeps_complete_rows_normalised_and_drops_rows_with_nan(tmp_path):
    rng = np.random.default_rng(0)
    good = [_row(rng) for _ in range(3)]
    with_nan, _, _ = _row(rng)
    with_nan[4] = ""  # a missing keypoint, as in the raw Kaggle rows
    with_nan_word, _, _ = _row(rng)
    with_nan_word[29] = "NaN"
    no_image, _, _ = _row(rng)
    no_image[30] = ""
    rows = [good[0][0], with_nan, good[1][0], with_nan_word, no_image, good[2][0]]
    table = read_keypoints_csv(_write(tmp_path / "training.csv", rows))

    assert COORDINATE_COLUMNS == tuple(KAGGLE_HEADER[:30])
    assert len(table) == 3 and table.dropped == 3
    assert table.lines.tolist() == [2, 4, 7]
    np.testing.assert_array_equal(table.images, np.stack([g[1] for g in good]).astype(np.uint8))
    expected = (np.stack([g[2] for g in good]) - 48.0) / 48.0
    np.testing.assert_allclose(table.keypoints, expected.reshape(3, 15, 2), atol=1e-12)
    assert table.images.dtype == np.uint8 and table.keypoints.shape == (3, 15, 2)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (30, "1 2 3", "holds 3 pixel values, expected 96 x 96 = 9216"),
        (30, "x" + " 7" * 9215, "holds 'x', expected integer pixel values 0-255"),
        (30, "300" + " 7" * 9215, "holds the value 300"),
        (3, "eleven", "column 'right_eye_center_y' holds 'eleven', not a pixel coordinate"),
        (0, "inf", "not a finite number"),
    ],
)
def test_reader_rejects_a_bad_row_naming_file_line_and_problem(tmp_path, column, value, message):
    rng = np.random.default_rng(1)
    rows = [_row(rng)[0] for _ in range(3)]
    rows[1][column] = value
    path = _write(tmp_path / "val.csv", rows)
    with pytest.raises(DataError) as error:
        read_keypoints_csv(path)
    assert f"{path}, line 3" in str(error.value)
    assert message in str(error.value)


def test_reader_names_missing_columns_and_missing_files(tmp_path):
    path = tmp_path / "training.csv"
    path.write_text("left_eye_center_x,Image\n1,2\n")
    with pytest.raises(DataError, match="has no column.*left_eye_center_y"):
        read_keypoints_csv(path)
    with pytest.raises(FileNotFoundError, match="nothing.csv does not exist"):
        read_keypoints_csv(tmp_path / "nothing.csv")


def test_course_dataset_gives_the_exercise_items(tmp_path):
    rng = np.random.default_rng(2)
    train = [_row(rng) for _ in range(2)]
    val = [_row(rng) for _ in range(3)]
    _write(tmp_path / "training.csv", [r[0] for r in train])
    _write(tmp_path / "val.csv", [r[0] for r in val])

    dataset = FacialKeypointsDataset(train=True, root=str(tmp_path))
    assert len(dataset) == 2
    item = dataset[1]
    assert item["image"].shape == (96, 96, 1) and item["image"].dtype == np.uint8
    np.testing.assert_array_equal(item["image"][:, :, 0], train[1][1])
    assert isinstance(item["keypoints"], torch.Tensor) and item["keypoints"].dtype == torch.float32
    expected = ((train[1][2] - 48) / 48).reshape(15, 2)
    np.testing.assert_allclose(item["keypoints"].numpy(), expected, atol=1e-6)

    scaled = FacialKeypointsDataset(train=False, transform=lambda im: im / 255.0, root=tmp_path)
    assert len(scaled) == 3
    np.testing.assert_allclose(scaled[0]["image"][:, :, 0], val[0][1] / 255.0)
    with pytest.raises(FileNotFoundError, match="training.csv and val.csv"):
        FacialKeypointsDataset(root=tmp_path / "absent")


def test_score_is_one_over_twice_the_mse_as_the_course_evaluates_it():
    rng = np.random.default_rng(3)
    target = rng.uniform(-1, 1, (7, 15, 2))
    predicted = target + rng.normal(0, 0.1, target.shape)
    mse = mean_squared_error(target.reshape(7, -1), predicted.reshape(7, -1))
    assert keypoint_score(predicted, target) == pytest.approx(1 / (2 * mse), rel=1e-12)
    # The notebook's loop: one image per batch, torch's MSELoss, averaged over the images.
    per_image = [
        torch.nn.functional.mse_loss(torch.from_numpy(p), torch.from_numpy(t)).item()
        for p, t in zip(predicted, target, strict=True)
    ]
    assert keypoint_score(predicted, target) == pytest.approx(1 / (2 * np.mean(per_image)))
    assert keypoint_score(target, target) == float("inf")


def test_keypoint_model_learns_a_few_steps_with_falling_loss():
    from tinyvision.data.facial_keypoints_generator import render_faces

    images, pixels = render_faces(16, seed=4)
    x = torch.from_numpy(images[:, None] / 255.0).float()
    y = torch.from_numpy((pixels.reshape(16, -1) - 48) / 48).float()
    torch.manual_seed(0)
    model = KeypointModel({"channels": (8, 8, 16), "dropout": 0.0})
    assert model(x[0]).shape == (1, 30)  # one (1, 96, 96) image, as the notebook passes it
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert model.hparams["channels"] == (8, 8, 16)


def test_soft_argmax_reads_the_expected_cell_centre():
    heatmaps = torch.zeros(2, 15, 24, 24)
    heatmaps[0, :, 5, 17] = 50.0  # one cell: its centre, x from column 17, y from row 5
    predicted = soft_argmax(heatmaps)
    np.testing.assert_allclose(predicted[0, 0], [(17 * 4 + 2 - 48) / 48, (5 * 4 + 2 - 48) / 48])
    np.testing.assert_allclose(predicted[1], 0.0, atol=1e-6)  # flat: the image centre


def test_augmentation_moves_the_keypoints_with_the_pixels():
    """Dots drawn at the keypoints stay under them after mirroring and shifting: the person's
    left points on one dot colour, the right ones on the other, in every image."""
    rng = np.random.default_rng(5)
    count = 64
    # Distinct whole pixels away from the border, so no shift pushes a dot out of the image.
    cells = np.stack([rng.choice(56 * 56, 15, replace=False) for _ in range(count)])
    pixels = np.stack([cells % 56, cells // 56], axis=-1) + 20
    images = np.full((count, 1, 96, 96), 0.25, dtype=np.float32)
    shade = {"left": 1.0, "right": 0.0}
    for n, points in enumerate(pixels):
        for k, (px, py) in enumerate(points):
            side = next((s for s in shade if s in KEYPOINT_NAMES[k]), None)
            images[n, 0, py, px] = 0.6 if side is None else shade[side]
    normalised = ((pixels + 0.5 - 48) / 48).reshape(count, 30).astype(np.float32)
    arrays = KeypointArrays(images, normalised, augment=True, seed=0)
    moved, keypoints = arrays.__getitems__(list(range(count)))
    moved, keypoints = moved.numpy(), keypoints.numpy().reshape(count, 15, 2)
    where = np.floor(keypoints * 48 + 48).astype(int)
    flipped = 0
    for n in range(count):
        values = moved[n, 0, where[n, :, 1], where[n, :, 0]]
        sides = {
            s: [values[k] for k, name in enumerate(KEYPOINT_NAMES) if s in name] for s in shade
        }
        background = np.median(moved[n, 0])
        assert np.all(values != background)  # every keypoint on a dot
        assert np.ptp(sides["left"]) < 1e-5 and np.ptp(sides["right"]) < 1e-5
        flipped += sides["left"][0] < sides["right"][0]
    assert 10 < flipped < count - 10  # mirrored about half the time


def test_keypoints_dataset_is_the_default_and_course_layout_uses_val_as_test(tmp_path):
    rng = np.random.default_rng(6)
    _write(tmp_path / "training.csv", [_row(rng)[0] for _ in range(20)])
    _write(tmp_path / "val.csv", [_row(rng)[0] for _ in range(4)])
    config = resolve_config(TrainConfig(model="keypoints", data_dir=str(tmp_path)))
    assert config.dataset == "keypoints"
    splits = load_keypoint_splits(config)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [17, 3, 4]
    lines = np.concatenate([splits["train"].lines, splits["val"].lines])
    assert sorted(lines.tolist()) == list(range(2, 22))  # every training row, once
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'"):
        resolve_config(TrainConfig(model="keypoints", dataset="cifar10"))


def test_generator_writes_the_course_format_deterministically(tmp_path):
    sizes = {"train": 12, "val": 4, "test": 4}
    first = generate_keypoints_data(tmp_path / "a", sizes, seed=3)
    second = generate_keypoints_data(tmp_path / "b", sizes, seed=3)
    for split in sizes:
        assert first[split].read_bytes() == second[split].read_bytes()
    assert [first[s].name for s in sizes] == ["training.csv", "val.csv", "test.csv"]
    header = first["train"].read_text().splitlines()[0].split(",")
    assert header == KAGGLE_HEADER
    table = read_keypoints_csv(first["train"])
    assert len(table) == 12 and np.abs(table.keypoints).max() < 1


def test_train_and_evaluate_keypoints_end_to_end(tmp_path, capsys):
    data = tmp_path / "data"
    generate_keypoints_data(data, {"train": 40, "val": 12, "test": 12})
    out = tmp_path / "run"
    tiny = ["--channels", "8,8,16", "--batch-size", "20", "--epochs", "2"]
    code = main(["-q", "train", "--model", "keypoints", "--data-dir", str(data), *tiny,
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "test keypoint score" in printed and "model keypoints on keypoints" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["keypoint_score"] == metrics["test_keypoint_score"] > 0
    assert metrics["num_train"] == 40 and metrics["num_test"] == 12
    assert metrics["dropped_rows"] == {"train": 1, "val": 0, "test": 0}
    history = json.loads((out / "history.json").read_text())
    assert len(history["val_keypoint_score_history"]) == 2
    for name in ("keypoints_test.png", "loss.png", "model.npz", "checkpoints/last.ckpt"):
        assert (out / name).is_file(), name
    assert not (out / "accuracy.png").exists()

    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test keypoint score" in printed and "reproduced exactly" in printed
    assert "keypoints_test.png" in printed
