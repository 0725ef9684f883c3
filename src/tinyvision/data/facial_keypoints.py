"""The I2DL facial-keypoints CSV: 15 keypoints of a 96x96 grey face per row.

The course's files (`training.csv`, `val.csv`) have the Kaggle facial-keypoints columns: 30
coordinate columns `left_eye_center_x`, `left_eye_center_y`, ..., `mouth_center_bottom_lip_y`
in pixels (x to the right, y down; "left" is the person's left, so it appears on the image's
right), then `Image`, the 96 * 96 pixel values 0-255 separated by spaces, row by row.

`read_keypoints_csv` reads such a file the way the exercise's dataset does: a row with any
missing value is dropped, the coordinates are normalised as (v - 48) / 48 into [-1, 1]. A row
that is present but wrong (a coordinate that is not a number, a pixel that is not an integer in
0-255, not 9216 pixels) is refused with a DataError naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyvision.errors import DataError

__all__ = [
    "COORDINATE_COLUMNS",
    "IMAGE_SIZE",
    "KEYPOINT_NAMES",
    "KeypointTable",
    "denormalise_keypoints",
    "normalise_keypoints",
    "read_keypoints_csv",
    "write_keypoints_csv",
]

IMAGE_SIZE = 96
# The 15 keypoints in the course's order (keypoints[k] of a dataset item is KEYPOINT_NAMES[k]).
KEYPOINT_NAMES = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
COORDINATE_COLUMNS = tuple(f"{name}_{axis}" for name in KEYPOINT_NAMES for axis in "xy")
IMAGE_COLUMN = "Image"
_MISSING = frozenset({"", "na", "nan", "n/a", "null", "none"})
_HALF = IMAGE_SIZE / 2


def normalise_keypoints(pixels: np.ndarray) -> np.ndarray:
    """Pixel coordinates (any shape) as the course feeds them to a network: (v - 48) / 48."""
    return (pixels - _HALF) / _HALF


def denormalise_keypoints(normalised: np.ndarray) -> np.ndarray:
    """The inverse of normalise_keypoints: normalised coordinates back to pixels."""
    return normalised * _HALF + _HALF


@dataclass
class KeypointTable:
    """The complete rows of a keypoints CSV file.

    images: (N, 96, 96) uint8
    keypoints: (N, 15, 2) float64, normalised (x, y) in the order of KEYPOINT_NAMES
    lines: (N,) int64, the file line of each row (the header is line 1)
    dropped: how many rows were left out because a value was missing
    """

    images: np.ndarray
    keypoints: np.ndarray
    lines: np.ndarray
    dropped: int

    def __len__(self) -> int:
        return len(self.images)


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in _MISSING


def _coordinates(row: list[str], columns: list[int], where: str, header: list[str]) -> np.ndarray:
    values = np.empty(len(columns))
    for k, index in enumerate(columns):
        try:
            values[k] = float(row[index])
        except ValueError:
            raise DataError(
                f"{where}: column {header[index]!r} holds {row[index]!r}, not a pixel "
                "coordinate; fix the row or delete it"
            ) from None
        if not math.isfinite(values[k]):
            raise DataError(
                f"{where}: column {header[index]!r} holds {row[index]!r}, not a finite number; "
                "leave the cell empty if the keypoint is missing"
            )
    return values


def _pixels(text: str, where: str) -> np.ndarray:
    tokens = text.split()
    if len(tokens) != IMAGE_SIZE * IMAGE_SIZE:
        raise DataError(
            f"{where}: the Image column holds {len(tokens)} pixel values, expected "
            f"{IMAGE_SIZE} x {IMAGE_SIZE} = {IMAGE_SIZE * IMAGE_SIZE} separated by spaces"
        )
    try:
        pixels = np.array(tokens, dtype=np.int64)
    except ValueError:
        bad = next(t for t in tokens if not t.isdigit())
        raise DataError(
            f"{where}: the Image column holds {bad!r}, expected integer pixel values 0-255"
        ) from None
    outside = pixels[(pixels < 0) | (pixels > 255)]
    if outside.size:
        raise DataError(
            f"{where}: the Image column holds the value {int(outside[0])}, expected integer "
            "pixel values 0-255"
        )
    return pixels.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def read_keypoints_csv(path: str | os.PathLike[str]) -> KeypointTable:
    """Read a facial-keypoints CSV file (the course's training.csv / val.csv format).

    path: the file; its header names the 30 COORDINATE_COLUMNS and Image (in any order;
        other columns are ignored)
    returns a KeypointTable of the rows without a missing value
    raises FileNotFoundError when the file does not exist, DataError (naming the file, and the
        line and column) when it is not such a file or a row holds a value that is wrong
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"keypoints CSV file {path} does not exist")
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not a UTF-8 text file: {error}") from error
    if not rows:
        raise DataError(f"{path} is empty; expected a header line and rows of keypoints")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in (*COORDINATE_COLUMNS, IMAGE_COLUMN) if name not in header]
    if missing:
        raise DataError(
            f"{path} has no column(s) {', '.join(missing)}: a facial-keypoints CSV names the "
            f"30 coordinate columns ({COORDINATE_COLUMNS[0]}, ..., {COORDINATE_COLUMNS[-1]}) "
            f"and Image in its first line"
        )
    coordinate_index = [header.index(name) for name in COORDINATE_COLUMNS]
    image_index = header.index(IMAGE_COLUMN)
    images, keypoints, lines, dropped = [], [], [], 0
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        where = f"{path}, line {line}"
        if len(row) != len(header):
            raise DataError(f"{where} has {len(row)} cells, the header {len(header)}")
        if any(_is_missing(row[i]) for i in (*coordinate_index, image_index)):
            dropped += 1
            continue
        keypoints.append(_coordinates(row, coordinate_index, where, header))
        images.append(_pixels(row[image_index], where))
        lines.append(line)
    if not images:
        raise DataError(
            f"{path} has no complete row ({dropped} rows with missing values were dropped)"
        )
    pixels = np.stack(keypoints).reshape(-1, len(KEYPOINT_NAMES), 2)
    return KeypointTable(
        images=np.stack(images),
        keypoints=normalise_keypoints(pixels),
        lines=np.array(lines, dtype=np.int64),
        dropped=dropped,
    )


def write_keypoints_csv(
    path: str | os.PathLike[str], images: np.ndarray, pixel_keypoints: np.ndarray
) -> None:
    """Write rows in the course's format (used by the generator and by tests).

    images: (N, 96, 96) uint8; pixel_keypoints: (N, 15, 2) float pixel coordinates, NaN where
    a keypoint is missing (written as an empty cell)
    """
    from tinyvision.files import atomic_write

    def write(file: object) -> None:
        lines = [",".join((*COORDINATE_COLUMNS, IMAGE_COLUMN))]
        for image, points in zip(images, pixel_keypoints.reshape(len(images), -1), strict=True):
            cells = ["" if math.isnan(v) else f"{v:.4f}" for v in points.tolist()]
            cells.append(" ".join(map(str, image.reshape(-1).tolist())))
            lines.append(",".join(cells))
        file.write(("\n".join(lines) + "\n").encode("utf-8"))  # type: ignore[attr-defined]

    atomic_write(path, write)
