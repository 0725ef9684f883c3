"""Data files tinyvision cannot use name themselves: refused pickles, image bombs, mixed sizes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyvision.cli import main
from tinyvision.data.cifar10 import load_CIFAR10
from tinyvision.data.datasets import ArrayDataset, ImageFolderDataset, read_image
from tinyvision.data.loader import DataLoader, collate
from tinyvision.data.safe_pickle import safe_load, safe_loads
from tinyvision.errors import DataError


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _refused(call, *names: str) -> str:
    """Run call, assert exactly a DataError whose message holds every name; return it."""
    with pytest.raises(DataError) as info:
        call()
    assert type(info.value) is DataError
    message = str(info.value)
    for name in names:
        assert name in message, (name, message)
    return message


# --- refused pickles -------------------------------------------------------------------------


def test_refused_global_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_2"
    path.write_bytes(pickle.dumps({b"data": _Payload()}, protocol=2))
    message = _refused(lambda: safe_load(path), str(path), "refused to unpickle the global")
    assert message.startswith(f"{path}: refused")


def test_refused_codec_names_the_file(tmp_path: Path) -> None:
    import _codecs

    class _Rot13:
        def __reduce__(self):
            return (_codecs.encode, ("payload", "rot13"))

    path = tmp_path / "batches.meta"
    path.write_bytes(pickle.dumps(_Rot13(), protocol=2))
    _refused(lambda: safe_load(path), str(path), "only latin1")


def test_safe_loads_names_its_source_when_given() -> None:
    blob = pickle.dumps(_Payload(), protocol=2)
    _refused(lambda: safe_loads(blob, source="https://example.org/x.pkl"), "example.org/x.pkl")
    _refused(lambda: safe_loads(b"\x80\x02junk", source="mirror/x"), "mirror/x is truncated")
    message = _refused(lambda: safe_loads(blob), "refused to unpickle")
    assert message.startswith("refused")  # no source: nothing invented


@pytest.fixture
def tampered_cifar(helpers, tmp_path: Path) -> Path:
    root = tmp_path / "cifar-10-batches-py"
    helpers.write_cifar_folder(root)
    (root / "data_batch_3").write_bytes(pickle.dumps({b"data": _Payload()}, protocol=2))
    return root


def test_load_cifar10_names_the_tampered_batch(tampered_cifar: Path) -> None:
    _refused(lambda: load_CIFAR10(tampered_cifar), str(tampered_cifar / "data_batch_3"))


def test_cli_train_on_a_tampered_batch_exits_2(tampered_cifar: Path, capsys) -> None:
    argv = ["train", "--dataset", "cifar10", "--data-dir", str(tampered_cifar.parent)]
    assert main(["-q", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tinyvision: error: {tampered_cifar / 'data_batch_3'}: refused")


def test_cli_data_info_on_a_tampered_batch(tampered_cifar: Path, capsys) -> None:
    # `tinyvision data` reports data errors with status 1, like its download errors
    assert main(["data", "info", "cifar10", "--dir", str(tampered_cifar.parent)]) == 2
    assert str(tampered_cifar / "data_batch_3") in capsys.readouterr().err


# --- images ----------------------------------------------------------------------------------


def _png(path: Path, height: int, width: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize("limit", [10, 40], ids=["error", "warning-as-error"])
def test_decompression_bomb_names_the_file(tmp_path: Path, monkeypatch, limit: int) -> None:
    # 8 x 8 = 64 pixels: above 2 x 10 Pillow raises DecompressionBombError; between 40 and 80
    # it warns, and the warning is an error here (pytest turns RuntimeWarnings into errors).
    path = _png(tmp_path / "train" / "cat" / "bomb.png", 8, 8)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    message = _refused(lambda: read_image(path), f"refused the image {path}", "MAX_IMAGE_PIXELS")
    assert "decompression bomb" in message.lower()
    dataset = ImageFolderDataset(tmp_path / "train")
    _refused(lambda: dataset[0], str(path))


def test_mixed_sizes_name_the_items_and_files(tmp_path: Path) -> None:
    root = tmp_path / "train"
    small = [_png(root / "ant" / f"{i}.png", 5, 7, seed=i) for i in range(3)]
    big = _png(root / "cat" / "big.png", 9, 9)
    loader = DataLoader(ImageFolderDataset(root), batch_size=4)
    message = _refused(lambda: next(iter(loader)), str(big), str(small[0]), "'image'")
    assert "shape (5, 7, 3) at dataset index 0 (" in message
    assert f"shape (9, 9, 3) at dataset index 3 ({big})" in message
    # a batch that happens to hold one size stacks fine
    batch = next(iter(DataLoader(ImageFolderDataset(root), batch_size=3)))
    assert batch["image"].shape == (3, 5, 7, 3)


def test_mixed_shapes_from_a_transform_name_the_indices() -> None:
    images = np.zeros((6, 4, 4, 3))
    images[4, 0, 0, 0] = 1.0  # the transform keeps 2 rows of image 4, 1 row of the others
    dataset = ArrayDataset(images, np.arange(6), transform=lambda x: x[: 1 + int(x[0, 0, 0])])
    message = _refused(lambda: list(DataLoader(dataset, batch_size=6)), "'image'")
    assert "shape (1, 4, 3) at dataset index 0, index 1, index 2 and 2 more" in message
    assert "shape (2, 4, 3) at dataset index 4" in message


def test_collate_names_examples_with_other_keys() -> None:
    items = [{"image": np.zeros(2), "label": 0}, {"image": np.zeros(2)}]
    message = _refused(lambda: collate(items, [7, 9], lambda i: f"file{i}.png"), "different keys")
    assert "index 9 (file9.png) has ['image']" in message
    assert "index 7 (file7.png) has ['image', 'label']" in message
