"""Tiny-ImageNet in the CS231n course layout: `load_tiny_imagenet(path, dtype, subtract_mean)`.

The folder, as the course's download unpacks it:

    wnids.txt                         one WordNet id per line; the label is its line index
    words.txt                         "<wnid>\\t<name>, <name>, ..." (may list other wnids too)
    train/<wnid>/<wnid>_boxes.txt     "<file>\\t<x0>\\t<y0>\\t<x1>\\t<y1>" per training image
    train/<wnid>/images/<file>        64x64 JPEG images
    val/val_annotations.txt           "<file>\\t<wnid>\\t..." per validation image
    val/images/<file>
    test/images/<file>                unlabelled (test/test_annotations.txt, when present,
                                      labels them like val_annotations.txt)

Images are read with Pillow; grey ones are repeated over three channels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyvision.errors import DataError

__all__ = ["IMAGE_SIZE", "load_tiny_imagenet"]

IMAGE_SIZE = 64

_LAYOUT = (
    "wnids.txt, words.txt, train/<wnid>/<wnid>_boxes.txt, train/<wnid>/images/, "
    "val/val_annotations.txt, val/images/ and test/images/"
)


def _required(path: Path, what: str) -> Path:
    """path when it exists, else a FileNotFoundError naming it and the expected layout."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the Tiny-ImageNet folder needs {what}. Expected the course's "
            f"layout ({_LAYOUT}), as tiny-imagenet-200.zip unpacks"
        )
    return path


def _lines(path: Path) -> list[str]:
    """The non-blank lines of a text file, stripped of their line ends."""
    text = _required(path, path.name).read_text(encoding="utf-8")
    return [line.rstrip("\r\n") for line in text.splitlines() if line.strip()]


def _fields(path: Path, minimum: int) -> list[list[str]]:
    """The tab-separated fields of each line; a line with fewer than `minimum` is an error."""
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) < minimum:
            raise DataError(
                f"{path}, line {number}: expected at least {minimum} tab-separated fields, "
                f"got {line!r}"
            )
        rows.append(fields)
    return rows


def _read_image(path: Path) -> np.ndarray:
    """One image as (3, 64, 64) uint8; grey images repeated over the three channels."""
    from PIL import Image, UnidentifiedImageError

    _required(path, "every image its annotation file names")
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if image.mode in ("L", "1") else "RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"{path} is not a readable image: {error}") from error
    if pixels.shape[:2] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(
            f"{path} is {pixels.shape[1]}x{pixels.shape[0]} pixels; Tiny-ImageNet images are "
            f"{IMAGE_SIZE}x{IMAGE_SIZE}"
        )
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return pixels.transpose(2, 0, 1)


def _read_images(paths: list[Path], dtype: npt.DTypeLike) -> np.ndarray:
    """(N, 3, 64, 64) images in dtype (pixel values 0-255)."""
    images = np.empty((len(paths), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=dtype)
    for index, path in enumerate(paths):
        images[index] = _read_image(path)
    return images


def _label_of(wnid: str, index: dict[str, int], source: Path) -> int:
    if wnid not in index:
        raise DataError(f"{source} names the class {wnid!r}, which wnids.txt does not list")
    return index[wnid]


def load_tiny_imagenet(
    path: str | os.PathLike[str],
    dtype: npt.DTypeLike = np.float32,
    subtract_mean: bool = True,
) -> dict[str, Any]:
    """Load Tiny-ImageNet (or a folder of the same layout, e.g. a subset of its classes).

    path: the folder holding wnids.txt, words.txt, train/, val/ and test/ (see the module
        docstring for the layout)
    dtype: float dtype of the images
    subtract_mean: subtract the mean training image from every split
    returns a dict with
        class_names: per class (wnids.txt order) its list of names from words.txt
        X_train (N_tr, 3, 64, 64), y_train (N_tr,) int64: classes in wnids.txt order, each
            class's images in the order of its _boxes.txt
        X_val (N_val, 3, 64, 64), y_val (N_val,) int64: in the order of val_annotations.txt
        X_test (N_te, 3, 64, 64): test/images sorted by file name; y_test (N_te,) int64 from
            test/test_annotations.txt, or None without that file
        mean_image (3, 64, 64): the mean training image (before subtraction), in dtype
    raises FileNotFoundError naming a missing file or folder, DataError for a malformed one
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root} is not a folder; pass the Tiny-ImageNet folder (e.g. "
            f"datasets/tiny-imagenet-200) holding {_LAYOUT}"
        )
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a float type such as np.float32, got {dtype!r}")
    wnids = [line.strip() for line in _lines(root / "wnids.txt")]
    if not wnids:
        raise DataError(f"{root / 'wnids.txt'} lists no classes")
    index = {wnid: label for label, wnid in enumerate(wnids)}

    words: dict[str, list[str]] = {}
    for fields in _fields(root / "words.txt", 2):
        words[fields[0].strip()] = [name.strip() for name in fields[1].split(",")]
    missing = [wnid for wnid in wnids if wnid not in words]
    if missing:
        raise DataError(f"{root / 'words.txt'} has no names for the classes {missing[:5]}")
    class_names = [words[wnid] for wnid in wnids]

    train_paths: list[Path] = []
    y_train: list[int] = []
    for label, wnid in enumerate(wnids):
        folder = _required(root / "train" / wnid, f"a training folder for each class ({wnid})")
        boxes = folder / f"{wnid}_boxes.txt"
        train_paths += [folder / "images" / fields[0] for fields in _fields(boxes, 1)]
        y_train += [label] * (len(train_paths) - len(y_train))

    annotations = root / "val" / "val_annotations.txt"
    val_rows = _fields(annotations, 2)
    val_paths = [root / "val" / "images" / fields[0] for fields in val_rows]
    y_val = [_label_of(fields[1], index, annotations) for fields in val_rows]

    test_folder = _required(root / "test" / "images", "a test/images folder")
    test_paths = sorted(p for p in test_folder.iterdir() if p.is_file())
    y_test = None
    test_annotations = root / "test" / "test_annotations.txt"
    if test_annotations.is_file():
        labels = {
            fields[0]: _label_of(fields[1], index, test_annotations)
            for fields in _fields(test_annotations, 2)
        }
        unlabelled = [p.name for p in test_paths if p.name not in labels]
        if unlabelled:
            raise DataError(f"{test_annotations} has no label for {unlabelled[:5]}")
        y_test = np.array([labels[p.name] for p in test_paths], dtype=np.int64)

    X_train = _read_images(train_paths, dtype)
    X_val = _read_images(val_paths, dtype)
    X_test = _read_images(test_paths, dtype)
    if len(X_train) == 0:
        raise DataError(f"{root / 'train'} holds no training images (every _boxes.txt is empty)")
    mean_image = X_train.mean(axis=0, dtype=np.float64).astype(dtype)
    if subtract_mean:
        X_train -= mean_image
        X_val -= mean_image
        X_test -= mean_image
    return {
        "class_names": class_names,
        "X_train": X_train,
        "y_train": np.array(y_train, dtype=np.int64),
        "X_val": X_val,
        "y_val": np.array(y_val, dtype=np.int64),
        "X_test": X_test,
        "y_test": y_test,
        "mean_image": mean_image,
    }
