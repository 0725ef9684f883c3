"""CIFAR-10 loading on tiny folders written in the official format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyvision.data.cifar10 import (
    CLASS_NAMES,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
)
from tinyvision.data.paths import cifar10_root, default_data_dir
from tinyvision.errors import DataError

TRAIN_NAMES = [f"data_batch_{i}" for i in range(1, 6)]


def _hwc(rows: np.ndarray) -> np.ndarray:
    """Independent reference: pixel (h, w) of channel c is row[c * 1024 + h * 32 + w]."""
    n = len(rows)
    out = np.empty((n, 32, 32, 3))
    for c in range(3):
        out[..., c] = rows[:, c * 1024 : (c + 1) * 1024].reshape(n, 32, 32)
    return out


def test_load_batch_shapes_dtypes_and_pixel_order(cifar_folder) -> None:
    root, raw = cifar_folder
    X, Y = load_CIFAR_batch(root / "data_batch_2")

    assert X.shape == (12, 32, 32, 3) and X.dtype == np.float64
    assert Y.shape == (12,) and Y.dtype == np.int64
    np.testing.assert_array_equal(X, _hwc(raw["data_batch_2"]))
    np.testing.assert_array_equal(Y, raw["data_batch_2_labels"])


def test_load_cifar10_concatenates_batches_in_order(cifar_folder) -> None:
    root, raw = cifar_folder
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root)

    assert Xtr.shape == (60, 32, 32, 3) and Xte.shape == (10, 32, 32, 3)
    assert Xtr.dtype == Xte.dtype == np.float64
    assert Ytr.dtype == Yte.dtype == np.int64
    np.testing.assert_array_equal(Xtr, _hwc(np.concatenate([raw[n] for n in TRAIN_NAMES])))
    np.testing.assert_array_equal(Ytr, np.concatenate([raw[n + "_labels"] for n in TRAIN_NAMES]))
    np.testing.assert_array_equal(Xte, _hwc(raw["test_batch"]))
    np.testing.assert_array_equal(Yte, raw["test_batch_labels"])


def test_missing_folder_says_how_to_download(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"tinyvision data download cifar10 --data-dir"):
        load_CIFAR10(tmp_path / "nowhere" / "cifar-10-batches-py")


def test_missing_file_is_named(cifar_folder) -> None:
    root, _ = cifar_folder
    (root / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_batch is missing.*TINYVISION_DATA_DIR"):
        load_CIFAR10(root)


def test_truncated_batch_is_a_data_error_naming_the_file(cifar_folder) -> None:
    root, _ = cifar_folder
    path = root / "data_batch_4"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"data_batch_4 is truncated or corrupt"):
        load_CIFAR10(root)


def test_batch_of_the_wrong_form(helpers, cifar_folder) -> None:
    root, _ = cifar_folder
    (root / "data_batch_1").write_bytes(helpers.py2_pickle({b"pixels": np.zeros(3)}))
    with pytest.raises(DataError, match=r"expected a dict with keys b'data' and b'labels'"):
        load_CIFAR_batch(root / "data_batch_1")

    bad = helpers.batch_dict(np.zeros((2, 100), np.uint8), [0, 1], b"training batch")
    (root / "data_batch_1").write_bytes(helpers.py2_pickle(bad))
    with pytest.raises(DataError, match=r"shape \(n, 3072\), got \(2, 100\)"):
        load_CIFAR_batch(root / "data_batch_1")

    bad = helpers.batch_dict(np.zeros((2, 3072), np.uint8), [0, 10], b"training batch")
    (root / "data_batch_1").write_bytes(helpers.py2_pickle(bad))
    with pytest.raises(DataError, match=r"2 integers in \[0, 10\)"):
        load_CIFAR_batch(root / "data_batch_1")


def test_get_cifar10_data_splits_and_mean(cifar_folder) -> None:
    root, _ = cifar_folder
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root)

    data = get_CIFAR10_data(num_training=40, num_validation=15, num_test=7, cifar10_dir=root)

    assert sorted(data) == sorted(["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"])
    assert data["X_train"].shape == (40, 3, 32, 32)
    assert data["X_val"].shape == (15, 3, 32, 32)
    assert data["X_test"].shape == (7, 3, 32, 32)
    mean_image = Xtr[:40].mean(axis=0)
    expected = {
        "train": (Xtr[:40], Ytr[:40]),
        "val": (Xtr[40:55], Ytr[40:55]),
        "test": (Xte[:7], Yte[:7]),
    }
    for split, (X, y) in expected.items():
        np.testing.assert_allclose(
            data[f"X_{split}"], (X - mean_image).transpose(0, 3, 1, 2), rtol=0, atol=1e-12
        )
        np.testing.assert_array_equal(data[f"y_{split}"], y)
        assert data[f"X_{split}"].flags.c_contiguous
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0.0, atol=1e-12)


def test_get_cifar10_data_without_mean_and_in_float32(cifar_folder) -> None:
    root, _ = cifar_folder
    Xtr, _, _, _ = load_CIFAR10(root)

    raw = get_CIFAR10_data(20, 5, 5, subtract_mean=False, cifar10_dir=root)
    np.testing.assert_array_equal(raw["X_val"], Xtr[20:25].transpose(0, 3, 1, 2))

    f32 = get_CIFAR10_data(20, 5, 5, cifar10_dir=root, dtype=np.float32)
    f64 = get_CIFAR10_data(20, 5, 5, cifar10_dir=root)
    assert all(f32[k].dtype == np.float32 for k in ("X_train", "X_val", "X_test"))
    np.testing.assert_allclose(f32["X_train"], f64["X_train"], rtol=0, atol=1e-4)


def test_get_cifar10_data_uses_the_data_dir_env(cifar_folder, monkeypatch) -> None:
    root, _ = cifar_folder
    monkeypatch.setenv("TINYVISION_DATA_DIR", str(root.parent))
    assert cifar10_root() == root
    data = get_CIFAR10_data(num_training=10, num_validation=2, num_test=3)
    assert data["X_train"].shape == (10, 3, 32, 32)


def test_get_cifar10_data_rejects_impossible_counts(cifar_folder) -> None:
    root, _ = cifar_folder
    with pytest.raises(ValueError, match=r"num_training \+ num_validation = 61 .* only 60"):
        get_CIFAR10_data(num_training=50, num_validation=11, cifar10_dir=root)
    with pytest.raises(ValueError, match=r"num_test = 11 .* only 10"):
        get_CIFAR10_data(num_training=50, num_validation=10, num_test=11, cifar10_dir=root)
    with pytest.raises(ValueError, match="num_validation must be a non-negative integer"):
        get_CIFAR10_data(num_validation=-1, cifar10_dir=root)
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        get_CIFAR10_data(cifar10_dir=root, dtype=np.int32)


def test_default_data_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TINYVISION_DATA_DIR", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("TINYVISION_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".cache" / "tinyvision"
    assert cifar10_root(tmp_path) == tmp_path / "cifar-10-batches-py"


def test_class_names() -> None:
    assert len(CLASS_NAMES) == 10
    assert CLASS_NAMES[0] == "airplane" and CLASS_NAMES[9] == "truck"
