"""CIFAR-10 loading with the CS231n course API (`load_CIFAR_batch`, `load_CIFAR10`,
`get_CIFAR10_data`), reading the official Python pickles through the restricted unpickler."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tinyvision.data.paths import CIFAR10_FOLDER, DATA_DIR_ENV, cifar10_root
from tinyvision.data.safe_pickle import safe_load
from tinyvision.errors import DataError
from tinyvision.validation import check_non_negative_int

__all__ = [
    "CIFAR10_FILES",
    "CLASS_NAMES",
    "get_CIFAR10_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
    "read_cifar_batch_uint8",
]

CLASS_NAMES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CIFAR10_FILES: tuple[str, ...] = (*TRAIN_BATCHES, TEST_BATCH, "batches.meta")
_PIXELS = 3 * 32 * 32


def _how_to_get(root: Path) -> str:
    """Download instructions for a missing cifar-10-batches-py folder `root`."""
    data_dir = root.parent if root.name == CIFAR10_FOLDER else root
    return (
        f"get the data with `tinyvision data download cifar10 --data-dir {data_dir}` and pass "
        f"--data-dir {data_dir} (or set {DATA_DIR_ENV}={data_dir}); --data-dir names the folder "
        f"that holds {CIFAR10_FOLDER}"
    )


def _check_file(path: Path) -> None:
    """Raise FileNotFoundError with download instructions when a CIFAR-10 file is missing."""
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 data dir {folder} is a file, not a folder; {_how_to_get(folder)}"
        )
    if not folder.is_dir():
        raise FileNotFoundError(f"CIFAR-10 folder {folder} does not exist; {_how_to_get(folder)}")
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file {path} is missing; {_how_to_get(folder)}")


def _pixels_as_uint8(data: np.ndarray, path: Path) -> npt.NDArray[np.uint8]:
    """The pixel rows of a batch as uint8, refusing values a cast would silently change.

    The official files hold uint8 and pass untouched. Other integer or float arrays must hold
    whole numbers in [0, 255] (floats also finite): casting 300 or -1 wraps around and a NaN
    becomes an arbitrary byte, so those are DataErrors naming the file, the image and the value.
    """
    if data.dtype == np.uint8:
        return data
    if data.dtype.kind not in "iuf":
        raise DataError(
            f"{path}: b'data' must hold pixel values as integers in [0, 255], got dtype "
            f"{data.dtype}; the file is not an official CIFAR-10 batch"
        )
    if data.size == 0:
        return data.astype(np.uint8)
    # min/max first (one pass each); NaN makes them NaN, which fails both comparisons.
    low, high = data.min(), data.max()
    whole = data.dtype.kind != "f" or bool(np.all(data == np.round(data)))
    if 0 <= low and high <= 255 and whole:
        return data.astype(np.uint8)
    with np.errstate(invalid="ignore"):
        bad = ~((data >= 0) & (data <= 255) & (data == np.round(data)))
    image, pixel = np.unravel_index(int(np.flatnonzero(bad)[0]), data.shape)
    raise DataError(
        f"{path}: b'data' must hold whole pixel values in [0, 255], got {data[image, pixel]} "
        f"(dtype {data.dtype}) in image {image}, value {pixel}; the file is corrupt or not "
        "an official CIFAR-10 batch, download it again"
    )


def read_cifar_batch_uint8(
    filename: str | os.PathLike[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Read one CIFAR-10 batch file without converting the pixels to float.

    Args:
        filename: path of a batch file (data_batch_1..5 or test_batch).

    Returns:
        X: uint8 array of shape (n, 32, 32, 3), images in HWC order.
        Y: int64 array of shape (n,), labels in [0, 10).

    Raises:
        FileNotFoundError: the file or its folder is missing (says how to download).
        DataError: not a CIFAR-10 batch: keys, shapes, pixels that are not whole numbers in
            [0, 255] (NaN, 300, -1, ...), labels outside [0, 10); the message names the file.
    """
    path = Path(filename)
    _check_file(path)
    batch = safe_load(path, encoding="bytes")
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(
            f"{path} is not a CIFAR-10 batch: expected a dict with keys b'data' and b'labels', "
            f"found {found}"
        )
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != _PIXELS:
        shape = getattr(data, "shape", type(data).__name__)
        raise DataError(f"{path}: b'data' must be an array of shape (n, {_PIXELS}), got {shape}")
    data = _pixels_as_uint8(data, path)
    labels = np.asarray(batch[b"labels"])
    if labels.shape != (data.shape[0],) or (
        labels.size
        and not (
            np.issubdtype(labels.dtype, np.integer) and labels.min() >= 0 and labels.max() < 10
        )
    ):
        raise DataError(
            f"{path}: b'labels' must hold {data.shape[0]} integers in [0, 10), got "
            f"shape {labels.shape} and dtype {labels.dtype}"
        )
    # Rows are stored channel-major (1024 red, 1024 green, 1024 blue); the course uses HWC.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int64)


def load_CIFAR_batch(
    filename: str | os.PathLike[str],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Load one CIFAR-10 batch file.

    Args:
        filename: path of a batch file (data_batch_1..5 or test_batch).

    Returns:
        X: float64 array of shape (n, 32, 32, 3) with values in [0, 255] (n = 10000 for the
            official files).
        Y: int64 array of shape (n,).

    Raises:
        FileNotFoundError: the file or its folder is missing (says how to download).
        DataError: the file is truncated, corrupt or not a CIFAR-10 batch.
    """
    images, labels = read_cifar_batch_uint8(filename)
    return images.astype(np.float64), labels


def _load_split(
    root: Path, names: tuple[str, ...], dtype: npt.DTypeLike
) -> tuple[np.ndarray, npt.NDArray[np.int64]]:
    """Read several batches into one preallocated array so the float copy is made only once."""
    parts = [read_cifar_batch_uint8(root / name) for name in names]
    total = sum(len(x) for x, _ in parts)
    images = np.empty((total, 32, 32, 3), dtype=dtype)
    start = 0
    for x, _ in parts:
        images[start : start + len(x)] = x
        start += len(x)
    return images, np.concatenate([y for _, y in parts])


def load_CIFAR10(
    root: str | os.PathLike[str],
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]:
    """Load all of CIFAR-10 from a `cifar-10-batches-py` folder.

    Args:
        root: folder holding data_batch_1..data_batch_5 and test_batch.

    Returns:
        Xtr: float64 (50000, 32, 32, 3) training images, values in [0, 255].
        Ytr: int64 (50000,) training labels.
        Xte: float64 (10000, 32, 32, 3) test images.
        Yte: int64 (10000,) test labels.

    Raises:
        FileNotFoundError: the folder or a batch file is missing (says how to download).
        DataError: a batch file is truncated or corrupt.
    """
    root = Path(root).expanduser()
    _check_file(root / TRAIN_BATCHES[0])
    Xtr, Ytr = _load_split(root, TRAIN_BATCHES, np.float64)
    Xte, Yte = _load_split(root, (TEST_BATCH,), np.float64)
    return Xtr, Ytr, Xte, Yte


def get_CIFAR10_data(
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    subtract_mean: bool = True,
    cifar10_dir: str | os.PathLike[str] | None = None,
    dtype: npt.DTypeLike = np.float64,
) -> dict[str, np.ndarray]:
    """Load CIFAR-10 split into train/val/test, ready for the course's conv nets.

    The validation set is the `num_validation` training examples right after the first
    `num_training` (course convention); the test set is the first `num_test` test examples.

    Args:
        num_training: number of training images (from the start of the training batches).
        num_validation: number of validation images.
        num_test: number of test images.
        subtract_mean: subtract the mean image of the training split from all three splits.
        cifar10_dir: the `cifar-10-batches-py` folder; None means
            `<default_data_dir()>/cifar-10-batches-py`.
        dtype: floating dtype of the returned images (float64 or float32).

    Returns:
        dict with X_train (num_training, 3, 32, 32), y_train (num_training,), X_val, y_val,
        X_test, y_test; images of `dtype` in NCHW order, labels int64.

    Raises:
        ValueError: counts are negative or ask for more images than CIFAR-10 holds.
        FileNotFoundError, DataError: as for `load_CIFAR10`.
    """
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a floating type such as np.float32, got {dtype}")
    for name, value in (
        ("num_training", num_training),
        ("num_validation", num_validation),
        ("num_test", num_test),
    ):
        check_non_negative_int(value, name)
    root = cifar10_root() if cifar10_dir is None else Path(cifar10_dir).expanduser()
    _check_file(root / TRAIN_BATCHES[0])
    X_train_all, y_train_all = _load_split(root, TRAIN_BATCHES, np.uint8)
    X_test_all, y_test_all = _load_split(root, (TEST_BATCH,), np.uint8)
    if num_training + num_validation > len(X_train_all):
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation} but the training "
            f"batches hold only {len(X_train_all)} images; lower one of them"
        )
    if num_test > len(X_test_all):
        raise ValueError(
            f"num_test = {num_test} but the test batch holds only {len(X_test_all)} images"
        )

    splits = {
        "train": (X_train_all[:num_training], y_train_all[:num_training]),
        "val": (
            X_train_all[num_training : num_training + num_validation],
            y_train_all[num_training : num_training + num_validation],
        ),
        "test": (X_test_all[:num_test], y_test_all[:num_test]),
    }
    # The mean is taken in float64 whatever `dtype` is, so float32 runs see the same mean.
    mean_image = (
        splits["train"][0].mean(axis=0, dtype=np.float64)
        if subtract_mean and num_training > 0
        else None
    )
    data: dict[str, np.ndarray] = {}
    for split, (images, labels) in splits.items():
        # Writing straight into the NCHW output touches each float byte once, which is what
        # dominates the load time for 49000 images.
        x = np.empty((len(images), 3, 32, 32), dtype=dtype)
        x[...] = images.transpose(0, 3, 1, 2)
        if mean_image is not None:
            x -= mean_image.transpose(2, 0, 1).astype(dtype)
        data[f"X_{split}"] = x
        data[f"y_{split}"] = labels.copy()
    return data
