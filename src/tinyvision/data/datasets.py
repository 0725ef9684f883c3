"""Datasets of the I2DL pipeline: indexable collections of {"image": ..., "label": ...} dicts.

`ImageFolderDataset` reads a folder with one sub-folder per class (e.g. train/cat/0001.jpg)
lazily, image by image; `MemoryImageFolderDataset` reads the same layout into memory once.
Images come back as float64 HWC arrays with values in [0, 255] (RGB, three channels).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from tinyvision.data.loader import stack_values
from tinyvision.errors import DataError
from tinyvision.validation import check_same_length

__all__ = [
    "IMAGE_EXTENSIONS",
    "ArrayDataset",
    "Dataset",
    "ImageFolderDataset",
    "MemoryImageFolderDataset",
    "read_image",
    "scan_image_folder",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp"}
)
Transform = Callable[[np.ndarray], np.ndarray]


class Dataset(abc.ABC):
    """Base class: `len(ds)` examples, `ds[i]` a dict {"image": array, "label": int}."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Return the number of examples."""

    @abc.abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return example `index` as {"image": array, "label": int}."""

    def source(self, index: int) -> str | None:
        """The file example `index` comes from, for error messages; None when in memory."""
        return None

    def _check_index(self, index: int) -> int:
        """Accept negative indices like a list; raise IndexError outside the dataset."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} examples")
        return index % n


class ArrayDataset(Dataset):
    """A dataset over in-memory arrays.

    Args:
        images: array of shape (N, ...), one example per row.
        labels: array of shape (N,).
        transform: optional callable applied to each image when it is read.
    """

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, transform: Transform | None = None
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be a 1-d vector, got shape {labels.shape}")
        check_same_length(images, labels, "images", "labels")
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        """Return the number of examples."""
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return {"image": transformed image, "label": label} of example `index`."""
        index = self._check_index(index)
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": self.labels[index]}

    def get_batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Return the examples at `indices` already stacked, with one fancy-indexing copy.

        DataLoader uses this instead of stacking `len(indices)` single items.

        Args:
            indices: int array of shape (B,).

        Returns:
            {"image": (B, ...) array, "label": (B,) array}, the same as stacking `self[i]`.
        """
        images = self.images[indices]
        if self.transform is not None:
            images = stack_values([self.transform(image) for image in images], "image", indices)
        return {"image": images, "label": self.labels[indices]}


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an RGB float64 array.

    Args:
        path: image file readable by Pillow.

    Returns:
        float64 array of shape (H, W, 3), values in [0, 255].

    Raises:
        DataError: the file is not a readable image, or it has more pixels than Pillow's
            decompression-bomb limit (the message names it).
    """
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float64)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # The warning too: it is raised as an error where warnings are turned into errors.
        raise DataError(
            f"refused the image {path}: {e} If the file is trusted, raise "
            "PIL.Image.MAX_IMAGE_PIXELS (or set it to None) before reading it"
        ) from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"cannot read the image {path}: {e}") from e


def scan_image_folder(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Return the sorted class names and (path, label) pairs of an image-folder tree.

    root: folder with one sub-folder per class (hidden folders are skipped).
    returns (classes, samples): label i is classes[i]; samples sorted by class, then file name,
    keeping only files with an extension in IMAGE_EXTENSIONS.
    Raises FileNotFoundError (no such folder) or DataError (no classes, an empty class).
    """
    if not root.is_dir():
        raise FileNotFoundError(
            f"image folder {root} does not exist; expected one sub-folder per class, "
            "e.g. root/cat/0001.png"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"{root} has no class sub-folders; expected one sub-folder per class, "
            "e.g. root/cat/0001.png"
        )
    samples: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        files = sorted(
            p
            for p in (root / name).iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not files:
            raise DataError(
                f"class folder {root / name} holds no images "
                f"(looked for {', '.join(sorted(IMAGE_EXTENSIONS))}); add images or remove it"
            )
        samples.extend((path, label) for path in files)
    return classes, samples


class ImageFolderDataset(Dataset):
    """Images in `root/<class name>/<file>`, read from disk on every access.

    Classes are the sub-folder names in sorted order; label i is `classes[i]`. Files whose
    extension is not in IMAGE_EXTENSIONS are ignored.

    Args:
        root: folder with one sub-folder per class.
        transform: optional callable applied to each (H, W, 3) float64 image.

    Raises:
        FileNotFoundError: `root` does not exist.
        DataError: no class folders, or a class folder without images.
    """

    def __init__(self, root: str | os.PathLike[str], transform: Transform | None = None) -> None:
        self.root = Path(root).expanduser()
        self.classes, self.samples = scan_image_folder(self.root)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.labels = np.array([label for _, label in self.samples], dtype=np.int64)
        self.transform = transform

    def __len__(self) -> int:
        """Return the number of images."""
        return len(self.samples)

    def source(self, index: int) -> str | None:
        """The path of image `index`."""
        return str(self.samples[self._check_index(index)][0])

    def _image(self, index: int) -> np.ndarray:
        return read_image(self.samples[index][0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return {"image": (transformed) image, "label": int} of image `index`."""
        index = self._check_index(index)
        image = self._image(index)
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": int(self.labels[index])}


class MemoryImageFolderDataset(ImageFolderDataset):
    """Like ImageFolderDataset, but every image is read once at construction and kept.

    All images must have the same size; they are stored as one uint8 array
    `images` of shape (N, H, W, 3) and handed out as float64.

    Raises:
        FileNotFoundError, DataError: as ImageFolderDataset; DataError also for unreadable
            images or images of different sizes.
    """

    def __init__(self, root: str | os.PathLike[str], transform: Transform | None = None) -> None:
        super().__init__(root, transform)
        first = read_image(self.samples[0][0])
        self.images = np.empty((len(self.samples), *first.shape), dtype=np.uint8)
        for i, (path, _) in enumerate(self.samples):
            image = first if i == 0 else read_image(path)
            if image.shape != first.shape:
                raise DataError(
                    f"{path} has shape {image.shape} but {self.samples[0][0]} has {first.shape}; "
                    "MemoryImageFolderDataset needs images of one size (resize them first)"
                )
            self.images[i] = image

    def _image(self, index: int) -> np.ndarray:
        return self.images[index].astype(np.float64)
