"""load_tiny_imagenet on a tiny folder in the course's Tiny-ImageNet layout, written here."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyvision import data_utils
from tinyvision.data.tiny_imagenet import load_tiny_imagenet
from tinyvision.errors import DataError

WNIDS = ["n01443537", "n01629819"]
WORDS = {
    "n01443537": "goldfish, Carassius auratus",
    "n01629819": "European fire salamander, Salamandra salamandra",
    "n09999999": "a class this subset leaves out",
}


def _save(path: Path, pixels: np.ndarray) -> np.ndarray:
    """Write an image and return the (3, 64, 64) pixels Pillow reads back (JPEG is lossy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="JPEG" if path.suffix == ".JPEG" else "PNG")
    with Image.open(path) as image:
        read = np.asarray(image, dtype=np.float64)
    if read.ndim == 2:  # grey: the same values in every channel
        read = np.stack([read] * 3, axis=-1)
    return read.transpose(2, 0, 1)


def _write_dataset(root: Path, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Two classes (3 and 2 training images, one of them grey), 3 val and 2 test images.

    returns the pixels Pillow reads back, per split, in the order the loader should give
    """
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    (root / "words.txt").write_text("".join(f"{w}\t{names}\n" for w, names in WORDS.items()))
    images: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label, (wnid, count) in enumerate(zip(WNIDS, (3, 2), strict=True)):
        boxes = []
        for i in range(count):
            name = f"{wnid}_{i}.{'JPEG' if i % 2 else 'png'}"
            if label == 0 and i == 1:
                pixels = rng.integers(0, 256, (64, 64), dtype=np.uint8)  # a grey image
            else:
                pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            images["train"].append(_save(root / "train" / wnid / "images" / name, pixels))
            boxes.append(f"{name}\t0\t0\t63\t63\n")
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(boxes))
    annotations = []
    for i, wnid in enumerate([WNIDS[1], WNIDS[0], WNIDS[1]]):
        name = f"val_{i}.png"
        pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        images["val"].append(_save(root / "val" / "images" / name, pixels))
        annotations.append(f"{name}\t{wnid}\t0\t0\t63\t63\n")
    (root / "val" / "val_annotations.txt").write_text("".join(annotations))
    for name in ("test_1.png", "test_0.png"):
        pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        images["test"].append((name, _save(root / "test" / "images" / name, pixels)))
    images["test"] = [pixels for _, pixels in sorted(images["test"], key=lambda item: item[0])]
    return images


@pytest.fixture
def tiny(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    return root, _write_dataset(root, np.random.default_rng(0))


def test_splits_labels_and_class_names_follow_the_files(tiny):
    root, images = tiny
    data = load_tiny_imagenet(root, subtract_mean=False)
    assert data["class_names"] == [
        ["goldfish", "Carassius auratus"],
        ["European fire salamander", "Salamandra salamandra"],
    ]
    assert data["X_train"].shape == (5, 3, 64, 64) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (3, 3, 64, 64) and data["X_test"].shape == (2, 3, 64, 64)
    np.testing.assert_array_equal(data["y_train"], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(data["y_val"], [1, 0, 1])
    assert data["y_train"].dtype == np.int64 and data["y_test"] is None
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(data[f"X_{split}"], np.array(images[split]))
    grey = data["X_train"][1]
    assert np.all(grey[0] == grey[1]) and np.all(grey[1] == grey[2])
    np.testing.assert_allclose(
        data["mean_image"], np.mean(images["train"], axis=0), rtol=1e-6, atol=1e-4
    )
    assert data_utils.load_tiny_imagenet is load_tiny_imagenet


def test_the_mean_training_image_is_subtracted_from_every_split(tiny):
    root, _ = tiny
    raw = load_tiny_imagenet(root, dtype=np.float64, subtract_mean=False)
    centred = load_tiny_imagenet(root, dtype=np.float64)
    mean = raw["X_train"].mean(axis=0)
    np.testing.assert_allclose(centred["mean_image"], mean, rtol=1e-12)
    for split in ("X_train", "X_val", "X_test"):
        assert centred[split].dtype == np.float64
        np.testing.assert_allclose(centred[split], raw[split] - mean, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(centred["X_train"].mean(axis=0), 0.0, atol=1e-9)


def test_test_annotations_label_the_test_images_when_present(tiny):
    root, _ = tiny
    lines = f"test_0.png\t{WNIDS[1]}\t0\t0\t1\t1\ntest_1.png\t{WNIDS[0]}\t0\t0\t1\t1\n"
    (root / "test" / "test_annotations.txt").write_text(lines)
    np.testing.assert_array_equal(load_tiny_imagenet(root)["y_test"], [1, 0])


def test_missing_and_malformed_files_are_named(tiny, tmp_path):
    root, _ = tiny
    with pytest.raises(FileNotFoundError, match="is not a folder; pass the Tiny-ImageNet"):
        load_tiny_imagenet(tmp_path / "nowhere")
    (root / "words.txt").rename(root / "words.bak")
    with pytest.raises(FileNotFoundError, match=r"words\.txt is missing.*wnids\.txt, words"):
        load_tiny_imagenet(root)
    (root / "words.bak").rename(root / "words.txt")

    shutil.move(root / "train" / WNIDS[1], tmp_path / "moved")
    with pytest.raises(FileNotFoundError, match=f"train/{WNIDS[1]} is missing"):
        load_tiny_imagenet(root)
    shutil.move(tmp_path / "moved", root / "train" / WNIDS[1])

    annotations = root / "val" / "val_annotations.txt"
    good = annotations.read_text()
    annotations.write_text(good + "val_9.png\tn00000000\t0\t0\t1\t1\n")
    with pytest.raises(DataError, match="names the class 'n00000000'"):
        load_tiny_imagenet(root)
    annotations.write_text(good + "val_9.png\n")
    with pytest.raises(DataError, match="line 4: expected at least 2 tab-separated fields"):
        load_tiny_imagenet(root)
    annotations.write_text(good)

    Image.new("RGB", (32, 32)).save(root / "val" / "images" / "val_0.png")
    with pytest.raises(DataError, match="val_0.png is 32x32 pixels; Tiny-ImageNet images are"):
        load_tiny_imagenet(root)
    (root / "val" / "images" / "val_0.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="val_0.png is not a readable image"):
        load_tiny_imagenet(root)
    (root / "val" / "images" / "val_0.png").unlink()
    with pytest.raises(FileNotFoundError, match="val_0.png is missing"):
        load_tiny_imagenet(root)
