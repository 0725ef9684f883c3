"""Offline facial-keypoints data in the course's exact CSV format: drawn faces on real photos.

The course's files hold 96x96 grey photos of faces from the Kaggle facial-keypoints data, which
this machine does not have. `generate_keypoints_data` writes `training.csv`, `val.csv` and
`test.csv` in that format: each row a face drawn with eyes (sclera, iris, lids), brows, nose
(tip highlight and nostrils) and lips exactly at its 15 keypoints, so the points can be read
off the image, on a background cropped from the photos scikit-learn ships
(`load_sample_images`: china.jpg and flower.jpg, in grey).

What varies from face to face (all drawn independently per row):
- identity: eye spacing, eye size and height, brow height, length, thickness and tilt, nose
  length, mouth height, width and opening, small jitter of every point;
- expression and gaze: smile or frown (mouth corners), open mouth, raised brows, the pupil
  (the eye-centre keypoint) anywhere in the eye;
- pose: head turn (yaw up to 30 degrees, pitch up to 12: the nose and lips move against the
  eyes, one side of the face narrows), in-plane rotation up to 20 degrees, face size 0.8-1.1,
  shifts of up to 8 pixels;
- appearance: skin and hair brightness, light direction, hair line, glasses (one face in four),
  photo background crops, 0-4 clutter blobs and strokes behind the face, contrast, brightness,
  gamma, blur, noise.
The course's faces are centred, upright and mostly frontal, so the keypoints move less between
rows; here a model has to find the face first. Backgrounds of the training rows come from the
left 70% of each photo, those of validation and test rows from the right 30%. A few rows per
file miss some keypoints (empty cells), as raw Kaggle rows do; readers drop them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from tinyvision.data.facial_keypoints import (
    IMAGE_SIZE,
    KEYPOINT_NAMES,
    denormalise_keypoints,
    write_keypoints_csv,
)

__all__ = [
    "KEYPOINT_FILES",
    "KEYPOINT_SPLIT_SIZES",
    "ensure_keypoints_data",
    "generate_keypoints_data",
    "render_faces",
]

# The course's file names; test.csv is ours (the course keeps its test rows on its server).
KEYPOINT_FILES = {"train": "training.csv", "val": "val.csv", "test": "test.csv"}
# Complete rows per split: the course's 1,546 training and 298 validation rows, and a test
# split as large as validation.
KEYPOINT_SPLIT_SIZES = {"train": 1546, "val": 298, "test": 298}
# Extra rows with missing keypoints per split (dropped by readers).
_INCOMPLETE_FRACTION = 0.03
_SEED = 15
_TRAIN_REGION = 0.7

_K = {name: k for k, name in enumerate(KEYPOINT_NAMES)}
# A frontal face in normalised coordinates (x right, y down; "left" is the person's left).
_TEMPLATE = np.array(
    [
        (0.40, -0.22),
        (-0.40, -0.22),
        (0.22, -0.21),
        (0.58, -0.21),
        (-0.22, -0.21),
        (-0.58, -0.21),
        (0.16, -0.42),
        (0.70, -0.40),
        (-0.16, -0.42),
        (-0.70, -0.40),
        (0.0, 0.16),
        (0.33, 0.52),
        (-0.33, 0.52),
        (0.0, 0.46),
        (0.0, 0.64),
    ]
)
# How far each keypoint stands out of the face plane (the nose most), for head turns.
_DEPTH = np.array(
    [0.0, 0.0, 0.02, -0.08, 0.02, -0.08, 0.05, -0.05, 0.05, -0.05, 0.45, 0.05, 0.05, 0.15, 0.12]
)
_HEAD_CENTRE_DEPTH = -0.35


def _identity(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """A frontal face: (15, 2) keypoints and the sizes only drawing needs."""
    points = _TEMPLATE.copy()
    eyes = [_K[n] for n in KEYPOINT_NAMES if "eye" in n and "brow" not in n]
    brows = [_K[n] for n in KEYPOINT_NAMES if "eyebrow" in n]
    mouth = [_K[n] for n in KEYPOINT_NAMES if n.startswith("mouth")]
    spacing, eye_y = rng.uniform(0.85, 1.12), rng.uniform(-0.06, 0.06)
    points[eyes + brows, 0] *= spacing
    points[eyes + brows, 1] += eye_y
    width, eye_ratio = rng.uniform(0.75, 1.2), rng.uniform(0.3, 0.55)
    halves = []
    for side in ("left", "right"):
        mid = points[[_K[f"{side}_eye_inner_corner"], _K[f"{side}_eye_outer_corner"]]].mean(0)
        for corner in ("inner", "outer"):
            k = _K[f"{side}_eye_{corner}_corner"]
            points[k] = mid + (points[k] - mid) * width
        half = float(np.linalg.norm(points[_K[f"{side}_eye_outer_corner"]] - mid))
        halves.append(half)
        # The eye-centre keypoint is the pupil: gaze moves it inside the eye.
        points[_K[f"{side}_eye_center"]] = mid + (
            rng.uniform(-0.35, 0.35) * half,
            rng.uniform(-0.25, 0.25) * half * eye_ratio,
        )
    raise_brows = rng.uniform(-0.06, 0.12)
    for side in ("left", "right"):
        for end in ("inner", "outer"):
            k = _K[f"{side}_eyebrow_{end}_end"]
            points[k, 1] -= raise_brows + rng.uniform(-0.04, 0.04)
        inner, outer = _K[f"{side}_eyebrow_inner_end"], _K[f"{side}_eyebrow_outer_end"]
        points[outer] = points[inner] + (points[outer] - points[inner]) * rng.uniform(0.8, 1.15)
    points[_K["nose_tip"], 1] = rng.uniform(0.06, 0.26)
    mouth_y = rng.uniform(0.44, 0.62)
    half_width = rng.uniform(0.22, 0.40)
    smile = rng.uniform(-0.05, 0.08)
    points[_K["mouth_left_corner"]] = (half_width, mouth_y - smile)
    points[_K["mouth_right_corner"]] = (-half_width, mouth_y - smile + rng.uniform(-0.03, 0.03))
    points[_K["mouth_center_top_lip"]] = (0.0, mouth_y - rng.uniform(0.04, 0.09))
    opening = rng.uniform(0.0, 0.22) if rng.random() < 0.4 else 0.0
    points[_K["mouth_center_bottom_lip"]] = (0.0, mouth_y + rng.uniform(0.05, 0.1) + opening)
    points[mouth, 0] += rng.uniform(-0.03, 0.03)
    points += rng.normal(0.0, 0.012, points.shape)
    sizes = {
        "eye_height": float(np.mean(halves) * eye_ratio),
        "brow_thickness": float(rng.uniform(0.02, 0.045)),
        "lip_fraction": float(rng.uniform(0.35, 0.6)),
        "opening": float(opening),
    }
    return points, sizes


def _pose(points: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Keypoints of a face turned by yaw and pitch (radians), seen from the front."""
    x = points[:, 0] * math.cos(yaw) + _DEPTH * math.sin(yaw)
    y = points[:, 1] * math.cos(pitch) + _DEPTH * math.sin(pitch)
    return np.stack([x, y], axis=1)


def _soft(distance: np.ndarray, pixel: float) -> np.ndarray:
    """Coverage of a shape from a signed distance (negative inside), anti-aliased over a pixel."""
    return np.clip(0.5 - distance / pixel, 0.0, 1.0)


def _ellipse(u: np.ndarray, v: np.ndarray, centre, a: float, b: float, angle: float = 0.0):
    """Approximate signed distance to an ellipse (semi-axes a, b, rotated by angle)."""
    c, s = math.cos(angle), math.sin(angle)
    du, dv = u - centre[0], v - centre[1]
    x, y = c * du + s * dv, -s * du + c * dv
    return (np.sqrt((x / a) ** 2 + (y / b) ** 2) - 1.0) * min(a, b)


def _segment(u: np.ndarray, v: np.ndarray, p, q, radius: float) -> np.ndarray:
    """Signed distance to a stroke of the given radius from p to q."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    t = np.clip(((u - p[0]) * d[0] + (v - p[1]) * d[1]) / max(d @ d, 1e-12), 0.0, 1.0)
    return np.hypot(u - p[0] - t * d[0], v - p[1] - t * d[1]) - radius


def _paint(image: np.ndarray, coverage: np.ndarray, value) -> None:
    image *= 1.0 - coverage
    image += coverage * value


def _draw_eye(image, u, v, points, side, height, iris_value, pixel) -> None:
    inner = points[_K[f"{side}_eye_inner_corner"]]
    outer = points[_K[f"{side}_eye_outer_corner"]]
    mid, span = (inner + outer) / 2, outer - inner
    half = max(float(np.linalg.norm(span)) / 2, 0.02)
    angle = math.atan2(span[1], span[0])
    eye = _ellipse(u, v, mid, half, height, angle)
    _paint(image, _soft(eye, pixel), 0.92)
    centre = points[_K[f"{side}_eye_center"]]
    inside = _soft(eye, pixel)
    _paint(
        image,
        _soft(_ellipse(u, v, centre, height * 0.95, height * 0.95), pixel) * inside,
        iris_value,
    )
    _paint(image, _soft(_ellipse(u, v, centre, height * 0.4, height * 0.4), pixel) * inside, 0.03)
    _paint(image, _soft(np.abs(eye) - 0.012, pixel), 0.12)


def _draw_mouth(image, u, v, points, lip_value, lip_fraction, opening, pixel) -> None:
    right, left = points[_K["mouth_right_corner"]], points[_K["mouth_left_corner"]]
    axis = left - right
    length = max(float(np.linalg.norm(axis)), 0.05)
    along = axis / length
    normal = np.array([-along[1], along[0]])  # points down the face
    t = ((u - right[0]) * along[0] + (v - right[1]) * along[1]) / length
    n = (u - right[0]) * normal[0] + (v - right[1]) * normal[1]
    on_line = right + axis / 2
    top = float((points[_K["mouth_center_top_lip"]] - on_line) @ normal)
    bottom = float((points[_K["mouth_center_bottom_lip"]] - on_line) @ normal)
    bulge = np.clip(1.0 - (2.0 * t - 1.0) ** 2, 0.0, 1.0) ** 0.7
    upper, lower = top * bulge, bottom * bulge
    ends = np.maximum(-t, t - 1.0) * length
    lips = np.maximum(np.maximum(upper - n, n - lower), ends)
    _paint(image, _soft(lips, pixel), lip_value)
    inner_top = upper * (1.0 - lip_fraction)
    inner_bottom = inner_top + (lower - upper) * opening * 2.0 + 0.004
    gap = np.maximum(np.maximum(inner_top - n, n - inner_bottom), ends)
    _paint(image, _soft(gap, pixel), 0.05)


def _draw_face(
    image: np.ndarray,
    points: np.ndarray,
    sizes: dict[str, float],
    yaw: float,
    transform: tuple[float, float, np.ndarray],
    rng: np.random.Generator,
) -> None:
    """Draw the posed face whose keypoints are points (in the face frame) onto image."""
    scale, roll, shift = transform
    pixel = 1.0 / (IMAGE_SIZE / 2 * scale)
    grid = (np.arange(IMAGE_SIZE) + 0.5 - IMAGE_SIZE / 2) / (IMAGE_SIZE / 2)
    gx, gy = np.meshgrid(grid - shift[0], grid - shift[1])
    c, s = math.cos(roll), math.sin(roll)
    # Each pixel in the face frame: undo the shift, the rotation and the scale.
    u, v = (c * gx + s * gy) / scale, (-s * gx + c * gy) / scale
    skin = rng.uniform(0.35, 0.85)
    light = rng.normal(0.0, 0.25, 2)
    head_centre = (_HEAD_CENTRE_DEPTH * math.sin(yaw), 0.05)
    head = _ellipse(u, v, head_centre, rng.uniform(0.82, 0.95), rng.uniform(1.0, 1.12))
    shading = np.clip(skin * (1.0 + light[0] * u + light[1] * v), 0.0, 1.0)
    covered = _soft(head, pixel)
    if rng.random() < 0.75:
        # Hair above a curved hair line, over a slightly larger outline than the face's.
        hair_line = -0.55 + rng.uniform(-0.2, 0.1) + 0.25 * u**2
        hair = _ellipse(u, v, (head_centre[0], 0.0), 1.02, 1.2)
        _paint(image, _soft(np.maximum(hair, v - hair_line), pixel), rng.uniform(0.02, 0.9))
        covered = covered * _soft(hair_line - v, pixel)
    image *= 1.0 - covered
    image += covered * shading
    dark = rng.uniform(0.02, 0.3)
    for side in ("left", "right"):
        _draw_eye(image, u, v, points, side, sizes["eye_height"], rng.uniform(0.1, 0.45), pixel)
        inner, outer = (
            points[_K[f"{side}_eyebrow_inner_end"]],
            points[_K[f"{side}_eyebrow_outer_end"]],
        )
        arch = (inner + outer) / 2 + (0.0, -rng.uniform(0.0, 0.05))
        thickness = sizes["brow_thickness"]
        brow = np.minimum(
            _segment(u, v, inner, arch, thickness), _segment(u, v, arch, outer, thickness)
        )
        _paint(image, _soft(brow, pixel), dark)
    tip = points[_K["nose_tip"]]
    bridge_top = (points[_K["left_eye_inner_corner"]] + points[_K["right_eye_inner_corner"]]) / 2
    side = 0.06 * (1 if light[0] > 0 else -1)
    _paint(
        image,
        0.35 * _soft(_segment(u, v, bridge_top + (side, 0.05), tip + (side, -0.05), 0.02), pixel),
        dark,
    )
    _paint(image, 0.8 * _soft(_ellipse(u, v, tip, 0.06, 0.05), pixel), min(1.0, skin + 0.25))
    spread = rng.uniform(0.06, 0.1)
    for direction in (-1.0, 1.0):
        nostril = _ellipse(u, v, tip + (direction * spread, 0.035), 0.03, 0.018)
        _paint(image, _soft(nostril, pixel), dark * 0.5)
    lip_value = np.clip(skin + rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.3), 0.0, 1.0)
    _draw_mouth(image, u, v, points, lip_value, sizes["lip_fraction"], sizes["opening"], pixel)
    if rng.random() < 0.25:
        frame = rng.uniform(0.0, 0.25)
        for eye_side in ("left", "right"):
            inner = points[_K[f"{eye_side}_eye_inner_corner"]]
            outer = points[_K[f"{eye_side}_eye_outer_corner"]]
            ring = _ellipse(u, v, (inner + outer) / 2, 0.26, 0.17)
            _paint(image, _soft(np.abs(ring) - 0.015, pixel), frame)
        bridge = _segment(
            u,
            v,
            points[_K["right_eye_inner_corner"]] + (0.03, -0.02),
            points[_K["left_eye_inner_corner"]] + (-0.03, -0.02),
            0.012,
        )
        _paint(image, _soft(bridge, pixel), frame)


def _backgrounds() -> list[np.ndarray]:
    """scikit-learn's two sample photos in grey, values in [0, 1]."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    return [np.asarray(p, dtype=np.float64) @ (0.299, 0.587, 0.114) / 255.0 for p in photos]


def _background(photos: list[np.ndarray], held_out: bool, rng: np.random.Generator) -> np.ndarray:
    """A 96x96 crop of a photo: from its left 70% for training, its right 30% otherwise."""
    from PIL import Image

    photo = photos[rng.integers(len(photos))]
    height, width = photo.shape
    cut = int(width * _TRAIN_REGION)
    low, high = (cut, width) if held_out else (0, cut)
    size = int(rng.integers(IMAGE_SIZE, min(high - low, height, 240) + 1))
    x = int(rng.integers(low, high - size + 1))
    y = int(rng.integers(0, height - size + 1))
    crop = Image.fromarray(photo[y : y + size, x : x + size].astype(np.float32), mode="F")
    image = np.asarray(crop.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR), dtype=np.float64)
    return image[:, ::-1].copy() if rng.random() < 0.5 else image


def _clutter(image: np.ndarray, rng: np.random.Generator) -> None:
    """0-4 blobs and strokes of random brightness (drawn behind the face)."""
    grid = (np.arange(IMAGE_SIZE) + 0.5 - IMAGE_SIZE / 2) / (IMAGE_SIZE / 2)
    u, v = np.meshgrid(grid, grid)
    pixel = 2.0 / IMAGE_SIZE
    for _ in range(int(rng.integers(0, 5))):
        centre = rng.uniform(-1.0, 1.0, 2)
        if rng.random() < 0.5:
            a, b = rng.uniform(0.04, 0.25, 2)
            shape = _ellipse(u, v, centre, a, b, rng.uniform(0, math.pi))
        else:
            shape = _segment(
                u, v, centre, centre + rng.uniform(-0.6, 0.6, 2), rng.uniform(0.01, 0.05)
            )
        _paint(image, _soft(shape, pixel), rng.uniform(0.0, 1.0))


def _finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast, brightness, gamma, blur and noise; returns uint8 pixels."""
    image = (image - 0.5) * rng.uniform(0.6, 1.3) + 0.5 + rng.uniform(-0.15, 0.15)
    image = np.clip(image, 0.0, 1.0) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.3:
        padded = np.pad(image, 1, mode="edge")
        image = (
            sum(padded[i : i + IMAGE_SIZE, j : j + IMAGE_SIZE] for i in range(3) for j in range(3))
            / 9.0
        )
    image = image + rng.normal(0.0, rng.uniform(0.0, 0.04), image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def render_faces(
    count: int, seed: int | list[int], held_out: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Draw count faces on photo backgrounds.

    seed: seed (or seed sequence) of every random choice; held_out: backgrounds from the
        photos' right 30% (validation and test) instead of their left 70% (training)
    returns images (count, 96, 96) uint8 and their keypoints (count, 15, 2) float64 in pixels
    """
    rng = np.random.default_rng(seed)
    photos = _backgrounds()
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    keypoints = np.empty((count, len(KEYPOINT_NAMES), 2))
    for index in range(count):
        points, sizes = _identity(rng)
        yaw, pitch = (
            rng.uniform(-math.radians(30), math.radians(30), 1)[0],
            rng.uniform(-math.radians(12), math.radians(12)),
        )
        posed = _pose(points, yaw, pitch)
        # Draw a pose until every keypoint lies at least 3 pixels inside the image.
        while True:
            scale, roll = rng.uniform(0.8, 1.1), rng.uniform(-math.radians(20), math.radians(20))
            shift = rng.uniform(-8, 8, 2) / (IMAGE_SIZE / 2)
            c, s = math.cos(roll), math.sin(roll)
            placed = scale * posed @ np.array([[c, s], [-s, c]]) + shift
            pixels = denormalise_keypoints(placed)
            if pixels.min() >= 3 and pixels.max() <= IMAGE_SIZE - 3:
                break
        image = _background(photos, held_out, rng)
        _clutter(image, rng)
        _draw_face(image, posed, sizes, yaw, (scale, roll, shift), rng)
        images[index] = _finish(image, rng)
        keypoints[index] = pixels
    return images, keypoints


def generate_keypoints_data(
    folder: str | os.PathLike[str],
    sizes: dict[str, int] | None = None,
    seed: int = _SEED,
) -> dict[str, Path]:
    """Write training.csv, val.csv and test.csv in the course's format into folder.

    sizes: complete rows per split (default KEYPOINT_SPLIT_SIZES); about 3% more rows with
        missing keypoints are mixed in, which readers drop
    seed: the same seed writes the same files, byte for byte
    returns {split: path}; each file is written atomically (test.csv last)
    """
    sizes = dict(KEYPOINT_SPLIT_SIZES if sizes is None else sizes)
    folder = Path(folder).expanduser()
    written = {}
    for number, split in enumerate(("train", "val", "test")):
        incomplete = int(round(sizes[split] * _INCOMPLETE_FRACTION))
        images, pixels = render_faces(sizes[split] + incomplete, [seed, number], split != "train")
        rng = np.random.default_rng([seed, number, 1])
        for row in rng.choice(len(images), incomplete, replace=False):
            lost = rng.choice(len(KEYPOINT_NAMES), int(rng.integers(1, 11)), replace=False)
            pixels[row, lost] = np.nan
        written[split] = folder / KEYPOINT_FILES[split]
        write_keypoints_csv(written[split], images, pixels)
    return written


def ensure_keypoints_data(folder: str | os.PathLike[str]) -> Path:
    """folder with the generated files, written first if any of them is missing."""
    folder = Path(folder).expanduser()
    if not all((folder / name).is_file() for name in KEYPOINT_FILES.values()):
        generate_keypoints_data(folder)
    return folder
