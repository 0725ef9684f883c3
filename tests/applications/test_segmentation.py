"""Semantic segmentation (I2DL): the course's folder layout, the colour table, pixel accuracy,
the encoder-decoder, a CIFAR-10 backbone and `tinyvision train --model segmentation`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision import runs  # noqa: E402
from tinyvision.cli import main  # noqa: E402
from tinyvision.config import TrainConfig, resolve_config  # noqa: E402
from tinyvision.data.segmentation import (  # noqa: E402
    SEG_LABELS_LIST,
    SegmentationData,
    label_img_to_rgb,
    load_segmentation_split,
    rgb_to_label_img,
)
from tinyvision.data.segmentation_generator import (  # noqa: E402
    SceneSizes,
    write_segmentation_scenes,
)
from tinyvision.errors import DataError  # noqa: E402
from tinyvision.i2dl.data.segmentation_dataset import (  # noqa: E402
    SegmentationData as CourseSegmentationData,
)
from tinyvision.i2dl.networks.segmentation_nn import SegmentationNN  # noqa: E402
from tinyvision.segmentation import pixel_accuracy, read_backbone  # noqa: E402
from tinyvision.torch.applications.segmentation import (  # noqa: E402
    SegmentationNet,
    build_segmenter,
    fit,
    load_backbone,
)

# A few rows of the MSRC-v2 table, written out here so the reader is checked against them.
COLOURS = {-1: (0, 0, 0), 0: (128, 0, 0), 6: (128, 128, 128), 13: (64, 128, 128), 22: (192, 64, 0)}


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _write_pair(root: Path, image_id: str, labels: np.ndarray, rng: np.random.Generator) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "targets").mkdir(exist_ok=True)
    image = rng.integers(0, 256, size=(*labels.shape, 3), dtype=np.uint8)
    Image.fromarray(image).save(root / "images" / f"{image_id}.bmp")
    target = np.zeros((*labels.shape, 3), dtype=np.uint8)
    for label, colour in COLOURS.items():
        target[labels == label] = colour
    Image.fromarray(target).save(root / "targets" / f"{image_id}_GT.bmp")


def _course_folder(root: Path) -> dict[str, np.ndarray]:
    """A folder in the course's layout: 20x30 images, labels drawn from COLOURS."""
    rng = np.random.default_rng(0)
    labels = {}
    for image_id in ("1_1_s", "1_2_s", "2_1_s"):
        labels[image_id] = rng.choice(list(COLOURS), size=(20, 30))
        _write_pair(root, image_id, labels[image_id], rng)
    # The course's files list ids with ".bmp"; blank lines are skipped.
    (root / "train.txt").write_text("1_1_s.bmp\n1_2_s\n\n")
    (root / "val.txt").write_text("2_1_s\n")
    (root / "test.txt").write_text("2_1_s\n")
    return labels


def test_reader_maps_the_colour_table_and_centre_crops_as_the_course(tmp_path):
    labels = _course_folder(tmp_path)
    images, targets = load_segmentation_split(tmp_path, "train", crop_size=16)
    assert images.shape == (2, 3, 16, 16) and images.dtype == np.uint8
    assert targets.shape == (2, 16, 16) and targets.dtype == np.int64
    # CenterCrop(16) of 20x30: rows round(4 / 2) = 2.., columns round(14 / 2) = 7..
    np.testing.assert_array_equal(targets[0], labels["1_1_s"][2:18, 7:23])
    raw = np.asarray(Image.open(tmp_path / "images" / "1_2_s.bmp"))
    np.testing.assert_array_equal(images[1], raw[2:18, 7:23].transpose(2, 0, 1))
    # CenterCrop(40) pads: 10 rows above and below, 5 columns left and right; padding is void.
    images, targets = load_segmentation_split(tmp_path, "val", crop_size=40)
    np.testing.assert_array_equal(targets[0, 10:30, 5:35], labels["2_1_s"])
    assert (targets[0, :10] == -1).all() and (targets[0, :, :5] == -1).all()
    assert (images[0, :, :10] == 0).all()


def test_course_dataset_gives_tensors_and_slices(tmp_path):
    labels = _course_folder(tmp_path)
    data = CourseSegmentationData(str(tmp_path / "train.txt"), crop_size=16)
    assert len(data) == 2 and data.root_dir_name == str(tmp_path)
    image, target = data[-1]
    assert image.shape == (3, 16, 16) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert target.dtype == torch.int64
    np.testing.assert_array_equal(target.numpy(), labels["1_2_s"][2:18, 7:23])
    assert len(data[0:2]) == 2
    with pytest.raises(IndexError):
        data[2]


def test_unknown_target_colour_is_an_error_naming_file_and_colour(tmp_path):
    _course_folder(tmp_path)
    path = tmp_path / "targets" / "1_2_s_GT.bmp"
    target = np.asarray(Image.open(path)).copy()
    target[3, 4] = (1, 2, 3)
    Image.fromarray(target).save(path)
    with pytest.raises(DataError, match=r"1_2_s_GT\.bmp.*row 3, column 4.*\(1, 2, 3\)"):
        load_segmentation_split(tmp_path, "train", crop_size=16)


def test_missing_target_and_split_files_are_named(tmp_path):
    _course_folder(tmp_path)
    (tmp_path / "targets" / "2_1_s_GT.bmp").unlink()
    with pytest.raises(FileNotFoundError, match=r"2_1_s_GT\.bmp.*listed in .*val\.txt"):
        load_segmentation_split(tmp_path, "val", crop_size=16)
    with pytest.raises(FileNotFoundError, match="no split file"):
        SegmentationData(tmp_path / "missing.txt")


def test_label_img_to_rgb_round_trip_and_table_facts():
    labels = np.random.default_rng(1).integers(-1, 23, size=(7, 9))
    rgb = label_img_to_rgb(labels[None])  # a (1, H, W) label image is squeezed, as in the course
    assert rgb.shape == (7, 9, 3) and rgb.dtype == np.uint8
    for label, colour in COLOURS.items():
        assert (rgb[labels == label] == colour).all()
    np.testing.assert_array_equal(rgb_to_label_img(rgb), labels)
    np.testing.assert_array_equal(label_img_to_rgb(torch.from_numpy(labels)), rgb)
    assert len({tuple(entry["rgb_values"]) for entry in SEG_LABELS_LIST}) == 24
    with pytest.raises(ValueError, match=r"-1\.\.22"):
        label_img_to_rgb(np.array([[23, 0], [0, 0]]))


def test_pixel_accuracy_ignores_void_like_an_independent_count():
    rng = np.random.default_rng(2)
    target = rng.integers(-1, 5, size=(3, 11, 13))
    predicted = np.where(rng.random(target.shape) < 0.6, target, rng.integers(0, 5, target.shape))
    labelled = target != -1
    expected = accuracy_score(target[labelled], predicted[labelled])
    assert pixel_accuracy(predicted, target) == pytest.approx(expected)
    # What a model says at void pixels does not count.
    assert pixel_accuracy(np.where(labelled, predicted, 4), target) == pytest.approx(expected)
    assert np.isnan(pixel_accuracy(predicted, np.full_like(target, -1)))


def _tiny_config(**overrides) -> TrainConfig:
    settings = dict(
        model="segmentation", epochs=6, batch_size=4, learning_rate=1e-2, channels=(4, 8)
    )
    settings.update(overrides)
    return resolve_config(TrainConfig(**settings))


class _Prepared:
    """Colour-coded 16x16 scenes: class 0 dark, class 1 bright, a void border."""

    def __init__(self) -> None:
        rng = np.random.default_rng(3)
        y = (rng.random((8, 1, 16)) < 0.5).repeat(16, axis=1).astype(np.int64)
        y[:, 0] = -1
        X = (y[:, None] * 2.0 - 1.0).repeat(3, axis=1) + rng.normal(0, 0.3, (8, 3, 16, 16))
        self.X = {"train": X[:6].astype(np.float32), "val": X[6:].astype(np.float32)}
        self.data = {"y_train": y[:6], "y_val": y[6:]}
        self.backbone = None


def test_encoder_decoder_scores_every_pixel_and_its_loss_falls():
    net = SegmentationNet(23, channels=(4, 8, 16))
    assert net(torch.zeros(2, 3, 24, 16)).shape == (2, 23, 24, 16)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.zeros(1, 3, 10, 16))
    config = _tiny_config()
    model = build_segmenter(config, num_classes=23)
    history = fit(model, config, _Prepared(), None, verbose=False)
    losses = history["loss_history"]
    assert len(losses) == 12
    assert np.mean(losses[-2:]) < 0.85 * np.mean(losses[:2])
    assert model.predict(_Prepared().X["val"]).shape == (2, 16, 16)


def test_course_segmentation_nn_maps_images_to_class_scores(tmp_path):
    net = SegmentationNN(num_classes=23)
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 23, 32, 32)
    net.save(tmp_path / "segmentation_nn.model")
    assert (tmp_path / "segmentation_nn.model").is_file()


def _torch_cnn_run(folder: Path, channels: tuple[int, ...]) -> dict[str, np.ndarray]:
    """A run folder of a torch-cnn on cifar10 (config.json, model.npz), of a seeded TorchCNN."""
    from tinyvision.torch.models import TorchCNN

    torch.manual_seed(5)
    net = TorchCNN(3, 10, channels)
    config = resolve_config(TrainConfig(model="torch-cnn", dataset="cifar10", channels=channels))
    state = {name: value.detach().numpy() for name, value in net.state_dict().items()}
    stats = {"mean": np.full((1, 3, 1, 1), 120.0), "std": np.full((1, 3, 1, 1), 60.0)}
    runs.write_run_folder(
        folder, config=config.to_dict(), metrics={"test_acc": 0.1}, state=state, prep=stats
    )
    return state


def test_backbone_stages_load_into_the_encoder(tmp_path):
    state = _torch_cnn_run(tmp_path / "backbone", (4, 8))
    net = SegmentationNet(23, channels=(4, 8))
    load_backbone(net, state)
    for name, value in net.encoder.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[f"features.{name}"])
    with pytest.raises(ValueError, match="does not fit the encoder"):
        load_backbone(SegmentationNet(23, channels=(4, 16)), state)


def _cli(tmp_path: Path, *flags: str) -> dict:
    data = tmp_path / "scenes"
    if not data.exists():
        write_segmentation_scenes(data, SceneSizes(train=8, val=4, test=4, size=32))
    out = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    argv = ["-q", "train", "--model", "segmentation", "--data-dir", str(data), "--crop-size"]
    argv += ["32", "--channels", "4,8", "--epochs", "2", "--batch-size", "4", "--out", str(out)]
    assert main([*argv, *flags]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["run_dir"] = out
    return metrics


def test_cli_trains_scores_and_evaluates_end_to_end(tmp_path, capsys):
    metrics = _cli(tmp_path)
    assert metrics["dataset"] == "segmentation" and metrics["num_train"] == 8
    assert 0.0 <= metrics["test_pixel_acc"] <= 1.0
    assert "scratch_test_pixel_acc" not in metrics and metrics["backbone"] is None
    assert (metrics["run_dir"] / "segmentation.png").is_file()
    assert "test pixel accuracy" in capsys.readouterr().out
    assert main(["-q", "evaluate", str(metrics["run_dir"])]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_cli_with_a_backbone_trains_both_models(tmp_path):
    _torch_cnn_run(tmp_path / "backbone", (4, 8))
    metrics = _cli(tmp_path, "--backbone", str(tmp_path / "backbone"))
    assert 0.0 <= metrics["scratch_test_pixel_acc"] <= 1.0
    gain = metrics["test_pixel_acc"] - metrics["scratch_test_pixel_acc"]
    assert metrics["backbone_gain"] == pytest.approx(gain)
    assert (metrics["run_dir"] / "scratch" / "checkpoints" / "last.ckpt").is_file()
    other = _tiny_config(channels=(4, 16), backbone=str(tmp_path / "backbone"))
    with pytest.raises(ValueError, match=r"--channels \(4, 8\) \(this run: \(4, 16\)\)"):
        read_backbone(other)


def test_generated_scenes_are_in_the_course_layout_and_deterministic(tmp_path):
    sizes = SceneSizes(train=3, val=2, test=2, size=32)
    first = write_segmentation_scenes(tmp_path / "a", sizes, seed=7)
    second = write_segmentation_scenes(tmp_path / "b", sizes, seed=7)
    assert (first / "train.txt").read_text() == (second / "train.txt").read_text()
    images, labels = load_segmentation_split(first, "train", crop_size=32)
    again = load_segmentation_split(second, "train", crop_size=32)
    np.testing.assert_array_equal(images, again[0])
    np.testing.assert_array_equal(labels, again[1])
    assert images.shape == (3, 3, 32, 32)
    assert len(np.unique(labels)) >= 3 and (labels == -1).any()


def test_a_backbone_must_be_a_torch_cnn_run_on_cifar10(tmp_path):
    config = resolve_config(TrainConfig(model="softmax", dataset="cifar10"))
    state = {"W": np.zeros((3073, 10))}
    runs.write_run_folder(tmp_path / "softmax", config=config.to_dict(), metrics={}, state=state)
    with pytest.raises(ValueError, match="softmax model, which has no TorchCNN feature stages"):
        read_backbone(_tiny_config(backbone=str(tmp_path / "softmax")))
    with pytest.raises(ValueError, match="not a finished run folder"):
        read_backbone(_tiny_config(backbone=str(tmp_path)))
