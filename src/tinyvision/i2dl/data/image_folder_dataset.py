"""`exercise_code.data.image_folder_dataset`: the exercise's CIFAR-10 image-folder datasets.

`ImageFolderDataset` reads `root/<class>/<image>` lazily, `MemoryImageFolderDataset` the
course's `cifar10.pckl` (all images in one pickle) into memory. Both split the images into
train / val / test the way the exercise does: one fixed permutation (NumPy's legacy generator
seeded with 0; the exercise seeds the global one, which this does not touch), cut by the
`split` fractions. Files are listed and read by the core (`tinyvision.data.datasets`:
`scan_image_folder`, `read_image`), the pickle by the restricted unpickler
(`tinyvision.data.safe_pickle`). The exercise's transforms are importable from here too, as
they were in the years that defined them in this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.data.datasets import read_image, scan_image_folder
from tinyvision.data.safe_pickle import safe_load
from tinyvision.errors import DataError
from tinyvision.i2dl.data.base_dataset import Dataset
from tinyvision.i2dl.data.transforms import (
    ComposeTransform,
    FlattenTransform,
    NormalizeTransform,
    RandomHorizontalFlip,
    RescaleTransform,
    compute_image_mean_and_std,
)
from tinyvision.validation import check_positive_int

__all__ = [
    "CIFAR10_MEMORY_URL",
    "CIFAR10_URL",
    "DEFAULT_SPLIT",
    "ComposeTransform",
    "FlattenTransform",
    "ImageFolderDataset",
    "MemoryImageFolderDataset",
    "NormalizeTransform",
    "RandomHorizontalFlip",
    "RescaleTransform",
    "compute_image_mean_and_std",
    "load_memory_file",
    "split_indices",
]

CIFAR10_URL = "https://i2dl.vc.in.tum.de/static/data/cifar10.zip"
CIFAR10_MEMORY_URL = "https://i2dl.vc.in.tum.de/static/data/cifar10memory.zip"
DEFAULT_SPLIT: dict[str, float] = {"train": 0.6, "val": 0.2, "test": 0.2}
MODES = ("train", "val", "test")
MEMORY_FILE = "cifar10.pckl"
MEMORY_KEYS = ("images", "labels", "classes", "class_to_idx")
Transform = Callable[[np.ndarray], Any]


def _check_split(split: Mapping[str, float] | None) -> dict[str, float]:
    """The exercise's split dict, checked: train and val fractions in [0, 1], summing to <= 1."""
    if split is None:
        return dict(DEFAULT_SPLIT)
    if not isinstance(split, Mapping) or not {"train", "val"} <= set(split):
        raise ValueError(
            f"split must be a dict like {DEFAULT_SPLIT}, got {split!r}; it needs the fractions "
            "'train' and 'val' (the rest is the test set)"
        )
    fractions = {name: float(value) for name, value in split.items()}
    if any(not 0.0 <= value <= 1.0 for value in fractions.values()):
        raise ValueError(f"split fractions must lie in [0, 1], got {split!r}")
    total = sum(fractions.values()) if "test" in fractions else 1.0
    if not math.isclose(total, 1.0) or fractions["train"] + fractions["val"] > 1.0 + 1e-12:
        raise ValueError(f"split fractions must add up to 1, got {split!r} (sum {total})")
    return fractions


def split_indices(
    num_samples: int, split: Mapping[str, float], mode: str, limit_files: int | None = None
) -> np.ndarray:
    """Indices of the `mode` part of `num_samples` examples, as the exercise splits them.

    The examples are permuted by `np.random.RandomState(0)`; the first int(N * train) are
    the training set, the next int(N * val) the validation set, the rest the test set.

    Args:
        num_samples: N, the number of examples.
        split: {"train": fraction, "val": fraction, ...}.
        mode: "train", "val" or "test".
        limit_files: keep only the first `limit_files` indices of the part (None: all).

    Returns:
        int array of indices into the N examples, in permuted order.
    """
    num_train = int(num_samples * split["train"])
    num_val = int(num_samples * split["val"])
    order = np.random.RandomState(0).permutation(num_samples)
    bounds = {
        "train": (0, num_train),
        "val": (num_train, num_train + num_val),
        "test": (num_train + num_val, num_samples),
    }
    start, stop = bounds[mode]
    part = order[start:stop]
    return part if limit_files is None else part[:limit_files]


class ImageFolderDataset(Dataset):
    """CIFAR-10 (or any image folder): `root/<class name>/<image file>`, read image by image.

    Args:
        root: folder with one sub-folder per class (str or path).
        force_download: download (again) from `download_url`, or from the course's
            CIFAR10_URL when none is given.
        verbose: show the download's progress bar.
        download_url: download from here when `root` is missing or empty; None never downloads.
        mode: "train", "val" or "test" for that part of the split; None for every image in
            class and file order (the exercise's first version, which had no split).
        split: {"train": 0.6, "val": 0.2, "test": 0.2} (the default when None).
        limit_files: keep at most this many images of the part.
        transform: callable applied to each (H, W, 3) float64 image.

    Attributes: root_path, classes (sorted folder names), class_to_idx, images (file paths),
    labels (ints), split, limit_files, transform.

    Raises:
        FileNotFoundError: `root` is missing or empty and nothing was to be downloaded (the
            message says how to get the data).
        ValueError: a bad mode, split or limit_files.
        DataError: no class folders, or a class folder without images.
    """

    default_download_url = CIFAR10_URL
    how_to_get_data = "or put one sub-folder of images per class in it (root/cat/0001.png)"

    def __init__(
        self,
        root: str | os.PathLike[str],
        force_download: bool = False,
        verbose: bool = False,
        download_url: str | None = None,
        mode: str | None = "train",
        split: Mapping[str, float] | None = None,
        limit_files: int | None = None,
        transform: Transform | None = None,
    ) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} or None, got {mode!r}")
        self.split = _check_split(split)
        if limit_files is not None:
            limit_files = check_positive_int(limit_files, "limit_files")
        self.limit_files = limit_files
        self.mode = mode
        super().__init__(
            root, download_url=download_url, force_download=force_download, verbose=verbose
        )
        root_path = self.check_root()
        self.classes, self.class_to_idx = self._find_classes(root_path)
        self.images, self.labels = self.make_dataset(root_path, self.class_to_idx, mode)
        self.transform = transform

    @staticmethod
    def _find_classes(directory: str | os.PathLike[str]) -> tuple[list[str], dict[str, int]]:
        """Return (classes, class_to_idx): the sorted class folder names and name -> label."""
        classes, _ = scan_image_folder(Path(directory))
        return classes, {name: label for label, name in enumerate(classes)}

    def select_split(
        self, images: Sequence[Any] | np.ndarray, labels: Sequence[int], mode: str
    ) -> tuple[Any, list[int]]:
        """Keep the `mode` part of (images, labels) by `self.split` and `self.limit_files`.

        Returns a list of images when `images` is a list (else an array) and a list of labels.
        """
        idx = split_indices(len(images), self.split, mode, self.limit_files)
        kept = [images[i] for i in idx] if isinstance(images, list) else images[idx]
        return kept, [int(labels[i]) for i in idx]

    def make_dataset(
        self,
        directory: str | os.PathLike[str],
        class_to_idx: Mapping[str, int],
        mode: str | None = None,
    ) -> tuple[list[str], list[int]]:
        """List the image files of the classes in `class_to_idx`, by class then file name.

        Returns (images, labels): file paths and their labels, only the `mode` part of the
        split when mode is given.
        """
        _, samples = scan_image_folder(Path(directory))
        kept = [path for path, _ in samples if path.parent.name in class_to_idx]
        images = [str(path) for path in kept]
        labels = [class_to_idx[path.parent.name] for path in kept]
        if mode is None:
            return images, labels
        return self.select_split(images, labels, mode)

    @staticmethod
    def load_image_as_numpy(image_path: str | os.PathLike[str]) -> np.ndarray:
        """Read an image file as a float64 (H, W, 3) RGB array with values in [0, 255]."""
        return read_image(image_path)

    def __len__(self) -> int:
        """Return the number of images in this part of the split."""
        return len(self.images)

    def source(self, index: int) -> str | None:
        """The file of image `index` (DataLoader names it when shapes disagree)."""
        image = self.images[self._check_index(index)]
        return image if isinstance(image, str) else None

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return {"image": (transformed) image, "label": int} of image `index`."""
        index = self._check_index(index)
        image = self.load_image_as_numpy(self.images[index])
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": self.labels[index]}


def load_memory_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the course's cifar10.pckl with the restricted unpickler and check its contents.

    Args:
        path: the pickle: a dict with "images" ((N, H, W, C) or (N, H, W) array), "labels"
            (N ints), "classes" (names) and "class_to_idx" (name -> label).

    Returns:
        that dict, with labels as an int64 array of shape (N,).

    Raises:
        FileNotFoundError: no such file.
        DataError: not a pickle of that form (the message names the file and what is wrong),
            or a pickle that would run code (refused before it can).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: MemoryImageFolderDataset needs the course's {MEMORY_FILE} "
            f"there; pass download_url={CIFAR10_MEMORY_URL!r} (or force_download=True)"
        )
    saved = safe_load(path, encoding="latin1")
    if not isinstance(saved, dict) or not set(MEMORY_KEYS) <= set(saved):
        found = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise DataError(f"{path} must hold a dict with the keys {MEMORY_KEYS}, got {found}")
    images, labels = saved["images"], np.asarray(saved["labels"])
    if not isinstance(images, np.ndarray) or images.ndim not in (3, 4):
        raise DataError(
            f"{path}: 'images' must be an (N, H, W, C) array, got "
            f"{getattr(images, 'shape', type(images).__name__)}"
        )
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{path}: 'labels' must hold one integer per image ({len(images)}), got "
            f"shape {labels.shape} of {labels.dtype}"
        )
    num_classes = len(saved["classes"])
    if labels.size and not 0 <= labels.min() <= labels.max() < num_classes:
        raise DataError(
            f"{path}: labels must lie in [0, {num_classes}) for the {num_classes} classes, "
            f"got {labels.min()}..{labels.max()}"
        )
    return {**saved, "labels": labels.astype(np.int64)}


class MemoryImageFolderDataset(ImageFolderDataset):
    """The course's in-memory CIFAR-10: every image held in one array read from cifar10.pckl.

    Takes the arguments of ImageFolderDataset. As in the exercise, "memory" is appended to
    `root` unless it already ends with it (datasets/cifar10 -> datasets/cifar10memory).
    Images come out as float64 (H, W, C) arrays, as ImageFolderDataset's do.

    Raises:
        FileNotFoundError: the folder or its cifar10.pckl is missing (the message says how to
            get it); DataError: a pickle of the wrong form, or one that would run code.
    """

    default_download_url = CIFAR10_MEMORY_URL
    how_to_get_data = f"or put the course's {MEMORY_FILE} in it"

    def __init__(
        self,
        root: str | os.PathLike[str],
        force_download: bool = False,
        verbose: bool = False,
        download_url: str | None = None,
        mode: str | None = "train",
        split: Mapping[str, float] | None = None,
        limit_files: int | None = None,
        transform: Transform | None = None,
    ) -> None:
        root = os.fspath(root).rstrip("/\\")
        if not root.endswith("memory"):
            root += "memory"
        self._saved: dict[str, Any] | None = None
        super().__init__(
            root, force_download, verbose, download_url, mode, split, limit_files, transform
        )

    def _memory_file(self, directory: str | os.PathLike[str]) -> dict[str, Any]:
        """The checked contents of directory/cifar10.pckl, read once per dataset."""
        if self._saved is None:
            self._saved = load_memory_file(Path(directory) / MEMORY_FILE)
        return self._saved

    def _find_classes(self, directory: str | os.PathLike[str]) -> tuple[list[str], dict[str, int]]:
        """Return (classes, class_to_idx) as saved in the pickle."""
        saved = self._memory_file(directory)
        return list(saved["classes"]), dict(saved["class_to_idx"])

    def make_dataset(
        self,
        directory: str | os.PathLike[str],
        class_to_idx: Mapping[str, int],
        mode: str | None = None,
    ) -> tuple[np.ndarray, list[int]]:
        """Return (images array, labels list), only the `mode` part when mode is given."""
        saved = self._memory_file(directory)
        images, labels = saved["images"], saved["labels"]
        if mode is None:
            return images, [int(label) for label in labels]
        return self.select_split(images, labels, mode)

    def load_image_as_numpy(self, image_path: np.ndarray) -> np.ndarray:
        """The image is already in memory (the exercise passes it for the path): as float64."""
        return np.asarray(image_path, dtype=np.float64)
