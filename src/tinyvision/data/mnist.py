"""The I2DL autoencoder exercise's MNIST files: reading them and downloading them safely.

The exercise downloads `mnist.zip` from the course server into `datasets/mnist/` and reads
eight files with `torch.load`, one tensor each: the labelled splits `train_images.pt` /
`train_labels.pt`, `val_images.pt` / `val_labels.pt`, `test_images.pt` / `test_labels.pt`
(100 images each in the course's copy) and the unlabelled `unlabeled_train_images.pt` and
`unlabeled_val_images.pt`. Images are (N, 28, 28) (or (N, 1, 28, 28)) grey digits, uint8 in
0-255 or floats in [0, 1]; labels (N,) integers 0-9.

The files are read with `torch.load(weights_only=True)`, which refuses anything but tensors
(no code runs from a file), so reading them needs torch. `download_mnist` goes through
tinyvision.data.download: a temporary file renamed into place when complete, an MD5 check when
a checksum is given (the course publishes none), every zip member checked before anything is
written, and the files moved into `<data dir>/mnist/` only when all eight are there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from tinyvision.data.download import fetch_url, safe_extract_zip
from tinyvision.data.paths import default_data_dir
from tinyvision.errors import DataError
from tinyvision.files import clean_stale_temp_files, temp_file_name

__all__ = [
    "LABELLED_SPLITS",
    "MNIST_ARCHIVE",
    "MNIST_FILES",
    "MNIST_FOLDER",
    "MNIST_URL",
    "UNLABELLED_SPLITS",
    "download_mnist",
    "load_mnist",
    "mnist_is_complete",
    "mnist_root",
    "read_mnist_images",
    "read_mnist_labels",
]

MNIST_URL = "https://i2dl.vc.in.tum.de/static/data/mnist.zip"
MNIST_ARCHIVE = "mnist.zip"
MNIST_FOLDER = "mnist"
LABELLED_SPLITS = ("train", "val", "test")
UNLABELLED_SPLITS = ("unlabeled_train", "unlabeled_val")
MNIST_FILES = (
    *(f"{split}_{kind}.pt" for split in LABELLED_SPLITS for kind in ("images", "labels")),
    *(f"{split}_images.pt" for split in UNLABELLED_SPLITS),
)
IMAGE_SIDE = 28


def mnist_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the eight files: `<data_dir>/mnist` (data_dir None: the data root), or
    data_dir itself when it already holds them."""
    base = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    return base if mnist_is_complete(base) else base / MNIST_FOLDER


def mnist_is_complete(root: str | os.PathLike[str]) -> bool:
    """True when root holds all eight files of MNIST_FILES."""
    return all((Path(root) / name).is_file() for name in MNIST_FILES)


def _load_tensor(path: Path) -> np.ndarray:
    import torch

    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; get the course's MNIST files with `tinyvision data "
            f"download mnist --data-dir {path.parent.parent}` or point --data-dir at them"
        )
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a file that is no tensor file
        raise DataError(
            f"{path} is not a tensor file torch.save wrote ({type(error).__name__}: {error}); "
            "download it again"
        ) from error
    if not isinstance(value, torch.Tensor):
        raise DataError(f"{path} holds a {type(value).__name__}, expected one tensor")
    return value.numpy()


def read_mnist_images(path: str | os.PathLike[str]) -> np.ndarray:
    """The images of one `*_images.pt` file as (N, 1, 28, 28) float32 in [0, 1].

    raises FileNotFoundError (saying how to get the files) or DataError when the tensor is not
    (N, 28, 28) / (N, 1, 28, 28) uint8, or floats outside [0, 1], NaN included
    """
    path = Path(path)
    images = _load_tensor(path)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{path} holds images of shape {images.shape}; MNIST images are (N, 28, 28) or "
            "(N, 1, 28, 28)"
        )
    if images.dtype == np.uint8:
        return (images[:, None] / np.float32(255)).astype(np.float32)
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"{path} holds {images.dtype} images; expected uint8 or floats in [0, 1]")
    if not np.all(np.isfinite(images)):
        raise DataError(f"{path} holds NaN or infinite pixels; download it again")
    if images.size and not 0 <= images.min() <= images.max() <= 1:
        raise DataError(
            f"{path} holds float images outside [0, 1]: min {images.min()}, max "
            f"{images.max()}; the course's files hold 0-255 bytes or [0, 1] floats"
        )
    return images[:, None].astype(np.float32)


def read_mnist_labels(path: str | os.PathLike[str]) -> np.ndarray:
    """The labels of one `*_labels.pt` file as (N,) int64 digits 0-9.

    raises FileNotFoundError or DataError (not 1-D integers, or a label outside 0-9)
    """
    path = Path(path)
    labels = _load_tensor(path)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{path} holds {labels.dtype} labels of shape {labels.shape}; expected (N,) integers"
        )
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if bad.size:
        raise DataError(
            f"{path} holds label {labels[bad[0]]} at index {bad[0]}; MNIST labels are 0-9"
        )
    return labels.astype(np.int64)


def load_mnist(data_dir: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """All eight files: X_<split> and y_<split> for train, val and test, and X_unlabeled_train,
    X_unlabeled_val, images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64.

    data_dir: the folder holding mnist/ (or the eight files); None: the data root
    raises DataError when a split has a different number of images and labels
    """
    root = mnist_root(data_dir)
    data: dict[str, np.ndarray] = {}
    for split in LABELLED_SPLITS:
        images = read_mnist_images(root / f"{split}_images.pt")
        labels = read_mnist_labels(root / f"{split}_labels.pt")
        if len(images) != len(labels):
            raise DataError(
                f"{root / f'{split}_images.pt'} holds {len(images)} images but "
                f"{split}_labels.pt {len(labels)} labels; the two must match"
            )
        data[f"X_{split}"], data[f"y_{split}"] = images, labels
    for split in UNLABELLED_SPLITS:
        data[f"X_{split}"] = read_mnist_images(root / f"{split}_images.pt")
    return data


def _find_files(extracted: Path) -> Path:
    """The folder of the extracted archive that holds all eight files (its top or one below)."""
    for folder in (extracted, *sorted(p for p in extracted.iterdir() if p.is_dir())):
        if mnist_is_complete(folder):
            return folder
    raise DataError(
        f"the archive does not hold the course's MNIST files ({', '.join(MNIST_FILES)}) at its "
        "top or in one folder; check --url"
    )


def download_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    url: str = MNIST_URL,
    md5: str | None = None,
    progress: bool = True,
) -> Path:
    """Download the course's mnist.zip and put its eight files into `<data_dir>/mnist/`.

    A complete folder means no network access at all. The archive is deleted once unpacked
    (as the course does); other files in the folder are kept, files of the same name replaced.

    Args:
        data_dir: where mnist/ goes; None means `default_data_dir()`.
        url: the archive (http(s) or file://); default the course's server.
        md5: expected MD5 of the archive, or None to skip the check (the course publishes none).
        progress: show a progress bar while downloading.

    Returns:
        Path: the mnist folder.

    Raises:
        ValueError: `md5` is not 32 hex digits.
        ConnectionError: the download failed.
        DataError: wrong checksum (the download is deleted), an unsafe or corrupt archive, or
            one without the eight files.
    """
    data_dir = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    root = data_dir / MNIST_FOLDER
    if mnist_is_complete(root):
        return root
    data_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(data_dir)
    archive = data_dir / MNIST_ARCHIVE
    fetch_url(url, archive, md5=md5, progress=progress)
    staging = temp_file_name(root, ".tmp")
    staging.mkdir()
    try:
        safe_extract_zip(archive, staging)
        found = _find_files(staging)
        root.mkdir(exist_ok=True)
        for name in MNIST_FILES:
            os.replace(found / name, root / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
    return root
