"""ArrayDataset and the image-folder datasets on PNGs written by the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyvision.data.datasets import (
    ArrayDataset,
    ImageFolderDataset,
    MemoryImageFolderDataset,
)
from tinyvision.data.loader import DataLoader
from tinyvision.data.transforms import RescaleTransform
from tinyvision.errors import DataError


def test_array_dataset() -> None:
    images = np.random.default_rng(0).standard_normal((5, 4, 4, 3))
    ds = ArrayDataset(images, np.arange(5), transform=lambda x: x * 2)
    assert len(ds) == 5
    item = ds[-1]
    np.testing.assert_array_equal(item["image"], images[4] * 2)
    assert item["label"] == 4
    with pytest.raises(IndexError, match="out of range"):
        ds[5]
    with pytest.raises(ValueError, match="images has 5 examples but labels has 4"):
        ArrayDataset(images, np.arange(4))


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, dict[str, list[np.ndarray]]]:
    """root/cat (2 images), root/ant (3 images, one grayscale), plus a stray text file."""
    rng = np.random.default_rng(0)
    root = tmp_path / "train"
    written: dict[str, list[np.ndarray]] = {}
    for name, count in (("cat", 2), ("ant", 3)):
        (root / name).mkdir(parents=True)
        written[name] = []
        for i in range(count):
            pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
            if name == "ant" and i == 2:
                gray = pixels[..., 0]
                Image.fromarray(gray).save(root / name / f"{i:04d}.png")
                pixels = np.repeat(gray[..., None], 3, axis=2)
            else:
                Image.fromarray(pixels).save(root / name / f"{i:04d}.png")
            written[name].append(pixels)
    (root / "cat" / "notes.txt").write_text("not an image")
    return root, written


def test_image_folder_dataset(folder) -> None:
    root, written = folder
    ds = ImageFolderDataset(root)
    assert ds.classes == ["ant", "cat"]
    assert ds.class_to_idx == {"ant": 0, "cat": 1}
    assert len(ds) == 5
    np.testing.assert_array_equal(ds.labels, [0, 0, 0, 1, 1])
    expected = written["ant"] + written["cat"]
    for i in range(5):
        item = ds[i]
        assert item["image"].dtype == np.float64 and item["image"].shape == (5, 7, 3)
        np.testing.assert_array_equal(item["image"], expected[i])
        assert item["label"] == ds.labels[i]


def test_memory_dataset_matches_lazy_one_and_batches(folder) -> None:
    root, _ = folder
    lazy = ImageFolderDataset(root, transform=RescaleTransform())
    memory = MemoryImageFolderDataset(root, transform=RescaleTransform())
    assert memory.images.shape == (5, 5, 7, 3)
    for i in range(5):
        np.testing.assert_array_equal(memory[i]["image"], lazy[i]["image"])
    batch = next(iter(DataLoader(memory, batch_size=4)))
    assert batch["image"].shape == (4, 5, 7, 3) and batch["label"].shape == (4,)
    assert batch["image"].max() <= 1.0


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="one sub-folder per class"):
        ImageFolderDataset(tmp_path / "missing")
    (tmp_path / "root").mkdir()
    with pytest.raises(DataError, match="has no class sub-folders"):
        ImageFolderDataset(tmp_path / "root")
    (tmp_path / "root" / "dog").mkdir()
    (tmp_path / "root" / "dog" / "readme.md").write_text("x")
    with pytest.raises(DataError, match=r"class folder .*dog holds no images"):
        ImageFolderDataset(tmp_path / "root")


def test_unreadable_image_is_named(folder) -> None:
    root, _ = folder
    (root / "cat" / "0002.png").write_bytes(b"not a png at all")
    ds = ImageFolderDataset(root)
    with pytest.raises(DataError, match=r"cannot read the image .*0002\.png"):
        ds[len(ds) - 1]
    with pytest.raises(DataError, match=r"0002\.png"):
        MemoryImageFolderDataset(root)


def test_memory_dataset_needs_one_size(folder) -> None:
    root, _ = folder
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(root / "cat" / "big.png")
    with pytest.raises(DataError, match=r"big\.png has shape \(9, 9, 3\)"):
        MemoryImageFolderDataset(root)
