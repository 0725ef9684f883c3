"""The I2DL semantic-segmentation layout: MSRC-v2 scenes with RGB-coded label images.

A data folder holds `train.txt`, `val.txt` and `test.txt` (one image id per line, with or
without ".bmp"), `images/<id>.bmp` (RGB photos) and `targets/<id>_GT.bmp` (the labels, one
colour per class). `SEG_LABELS_LIST` is the MSRC-v2 colour table of the course: 23 classes
with ids 0..22 and "void" (black) with id -1, which losses and accuracies ignore. Every image
is centre-cropped to a square (240 pixels in the course, with zero padding where an image is
smaller, as torchvision's CenterCrop); the padding of a target is black, so void.

A target pixel whose colour is not in the table is an error naming the file and the colour
(the course's reader would silently turn it into a wrong label).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.errors import DataError

__all__ = [
    "COURSE_CROP_SIZE",
    "NUM_CLASSES",
    "SEG_LABELS_LIST",
    "SegmentationData",
    "center_crop",
    "class_names",
    "label_img_to_rgb",
    "load_segmentation_split",
    "read_image_ids",
    "read_segmentation_pair",
    "rgb_to_label_img",
]

COURSE_CROP_SIZE = 240
VOID = -1

# The MSRC-v2 colour table as the I2DL exercise lists it: id -1 (void), then classes 0..22.
SEG_LABELS_LIST: list[dict[str, Any]] = [
    {"id": -1, "name": "void", "rgb_values": [0, 0, 0]},
    {"id": 0, "name": "building", "rgb_values": [128, 0, 0]},
    {"id": 1, "name": "grass", "rgb_values": [0, 128, 0]},
    {"id": 2, "name": "tree", "rgb_values": [128, 128, 0]},
    {"id": 3, "name": "cow", "rgb_values": [0, 0, 128]},
    {"id": 4, "name": "horse", "rgb_values": [128, 0, 128]},
    {"id": 5, "name": "sheep", "rgb_values": [0, 128, 128]},
    {"id": 6, "name": "sky", "rgb_values": [128, 128, 128]},
    {"id": 7, "name": "mountain", "rgb_values": [64, 0, 0]},
    {"id": 8, "name": "airplane", "rgb_values": [192, 0, 0]},
    {"id": 9, "name": "water", "rgb_values": [64, 128, 0]},
    {"id": 10, "name": "face", "rgb_values": [192, 128, 0]},
    {"id": 11, "name": "car", "rgb_values": [64, 0, 128]},
    {"id": 12, "name": "bicycle", "rgb_values": [192, 0, 128]},
    {"id": 13, "name": "flower", "rgb_values": [64, 128, 128]},
    {"id": 14, "name": "sign", "rgb_values": [192, 128, 128]},
    {"id": 15, "name": "bird", "rgb_values": [0, 64, 0]},
    {"id": 16, "name": "book", "rgb_values": [128, 64, 0]},
    {"id": 17, "name": "chair", "rgb_values": [0, 192, 0]},
    {"id": 18, "name": "road", "rgb_values": [128, 64, 128]},
    {"id": 19, "name": "cat", "rgb_values": [0, 192, 128]},
    {"id": 20, "name": "dog", "rgb_values": [128, 192, 128]},
    {"id": 21, "name": "body", "rgb_values": [64, 64, 0]},
    {"id": 22, "name": "boat", "rgb_values": [192, 64, 0]},
]
NUM_CLASSES = len(SEG_LABELS_LIST) - 1

# Row k holds the colour of label k - 1, so table[labels + 1] colours a label image.
_COLOURS = np.array([entry["rgb_values"] for entry in SEG_LABELS_LIST], dtype=np.uint8)
_CODES = _COLOURS.astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
_ORDER = np.argsort(_CODES)
_SORTED_CODES = _CODES[_ORDER]
_SORTED_IDS = np.array([SEG_LABELS_LIST[k]["id"] for k in _ORDER], dtype=np.int64)


def class_names() -> list[str]:
    """The 23 class names, index = label id (void excluded)."""
    return [entry["name"] for entry in SEG_LABELS_LIST[1:]]


def label_img_to_rgb(label_img: Any) -> np.ndarray:
    """Colour a label image with the MSRC-v2 table (the course's function).

    label_img: (H, W) integer labels in -1..22 (leading axes of size 1, as of a (1, H, W)
        tensor, are dropped)
    returns (H, W, 3) uint8 colours; void (-1) is black
    """
    if hasattr(label_img, "detach"):
        label_img = label_img.detach().cpu().numpy()
    labels = np.asarray(label_img)
    while labels.ndim > 2 and labels.shape[0] == 1:
        labels = labels[0]
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"label_img must be an (H, W) integer array, got shape {np.shape(label_img)} of "
            f"dtype {labels.dtype}"
        )
    if labels.size and (labels.min() < VOID or labels.max() >= NUM_CLASSES):
        raise ValueError(
            f"labels must lie in -1..{NUM_CLASSES - 1} (-1 is void), got values from "
            f"{labels.min()} to {labels.max()}"
        )
    return _COLOURS[labels.astype(np.int64) + 1]


def rgb_to_label_img(rgb: np.ndarray, source: str | os.PathLike[str] = "target") -> np.ndarray:
    """The labels of an RGB target image (the inverse of label_img_to_rgb).

    rgb: (H, W, 3) uint8 colours
    source: the file it came from, named in errors
    returns (H, W) int64 labels in -1..22
    raises DataError naming source, the first unknown colour and how many pixels have one
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DataError(f"{source}: a target must be an RGB image, got shape {rgb.shape}")
    codes = rgb.astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    where = np.clip(np.searchsorted(_SORTED_CODES, codes), 0, len(_SORTED_CODES) - 1)
    known = _SORTED_CODES[where] == codes
    if not known.all():
        row, col = np.argwhere(~known)[0]
        colour = tuple(int(v) for v in rgb[row, col])
        raise DataError(
            f"{source}: pixel (row {row}, column {col}) has the colour {colour}, which is not "
            f"in the MSRC-v2 table of SEG_LABELS_LIST ({int((~known).sum())} pixels have "
            "unknown colours); targets must use exactly the table's colours (black is void)"
        )
    return _SORTED_IDS[where]


def center_crop(array: np.ndarray, size: int) -> np.ndarray:
    """The centre size x size window of an (H, W, ...) array, zero-padded where it is smaller.

    Padding and rounding follow torchvision's CenterCrop (the course's transform): the odd
    pixel of padding goes after, the crop's offset is round((H - size) / 2).
    """
    height, width = array.shape[:2]
    pad_h, pad_w = max(size - height, 0), max(size - width, 0)
    if pad_h or pad_w:
        widths = [(pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2)]
        array = np.pad(array, widths + [(0, 0)] * (array.ndim - 2))
        height, width = array.shape[:2]
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return array[top : top + size, left : left + size]


def read_image_ids(split_file: str | os.PathLike[str]) -> list[str]:
    """The image ids listed in a split file (blank lines skipped, a ".bmp" ending removed)."""
    path = Path(split_file)
    if not path.is_file():
        raise FileNotFoundError(
            f"no split file {path}: a segmentation folder holds train.txt, val.txt and "
            "test.txt (one image id per line) beside images/ and targets/"
        )
    ids = [line.strip().removesuffix(".bmp") for line in path.read_text().splitlines()]
    return [image_id for image_id in ids if image_id]


def _open_rgb(path: Path, what: str, split_file: Path | None) -> np.ndarray:
    from PIL import Image

    if not path.is_file():
        listed = f" (listed in {split_file})" if split_file is not None else ""
        raise FileNotFoundError(f"the {what} {path} of image {path.stem}{listed} is missing")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def read_segmentation_pair(
    root: str | os.PathLike[str],
    image_id: str,
    crop_size: int = COURSE_CROP_SIZE,
    split_file: Path | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One image and its labels, centre-cropped to crop_size x crop_size.

    root: the data folder; image_id: the id as the split files list it
    split_file: the file that listed the id, named when a file is missing
    returns image (crop, crop, 3) uint8 and labels (crop, crop) int64 in -1..22
    raises FileNotFoundError for a missing image or target, DataError for an unknown colour
    """
    root = Path(root)
    image = _open_rgb(root / "images" / f"{image_id}.bmp", "image", split_file)
    target_path = root / "targets" / f"{image_id}_GT.bmp"
    target = _open_rgb(target_path, "target", split_file)
    if image.shape != target.shape:
        raise DataError(
            f"{target_path} is {target.shape[1]}x{target.shape[0]} pixels but its image is "
            f"{image.shape[1]}x{image.shape[0]}; a target must match its image"
        )
    labels = rgb_to_label_img(target, target_path)
    return center_crop(image, crop_size), center_crop(labels + 1, crop_size) - 1


def load_segmentation_split(
    root: str | os.PathLike[str],
    split: str,
    crop_size: int = COURSE_CROP_SIZE,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every image of a split as arrays.

    root: the data folder; split: "train", "val" or "test"
    limit: read only the first `limit` ids of the split file (None: all)
    returns images (N, 3, crop, crop) uint8 and labels (N, crop, crop) int64 in -1..22
    """
    split_file = Path(root) / f"{split}.txt"
    ids = read_image_ids(split_file)[:limit]
    if not ids:
        raise DataError(f"{split_file} lists no image ids")
    pairs = [read_segmentation_pair(root, i, crop_size, split_file) for i in ids]
    images = np.stack([image.transpose(2, 0, 1) for image, _ in pairs])
    return images, np.stack([labels for _, labels in pairs])


class SegmentationData:
    """The course's dataset: (image, labels) pairs of the ids a split file lists.

    image_paths_file: a split file (e.g. "<root>/train.txt"); its folder holds images/ and
        targets/
    crop_size: side of the centre crop (the course's 240)
    data[i] gives (image (3, crop, crop) float32 tensor in [0, 1], labels (crop, crop) int64
    tensor in -1..22); data[a:b] a list of such pairs. Needs torch (the torch extra).
    """

    def __init__(
        self, image_paths_file: str | os.PathLike[str], crop_size: int = COURSE_CROP_SIZE
    ) -> None:
        self.split_file = Path(image_paths_file)
        self.root_dir_name = str(self.split_file.parent)
        self.image_names = read_image_ids(self.split_file)
        self.crop_size = crop_size

    def __len__(self) -> int:
        return len(self.image_names)

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            return [self.get_item_from_index(i) for i in range(*key.indices(len(self)))]
        if not -len(self) <= key < len(self):
            raise IndexError(f"index {key} is out of range for {len(self)} images")
        return self.get_item_from_index(key % len(self))

    def get_item_from_index(self, index: int) -> tuple[Any, Any]:
        import torch

        image, labels = read_segmentation_pair(
            self.root_dir_name, self.image_names[index], self.crop_size, self.split_file
        )
        pixels = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        return pixels.float() / 255.0, torch.from_numpy(np.ascontiguousarray(labels))
