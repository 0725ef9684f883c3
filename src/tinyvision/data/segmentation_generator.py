"""Offline segmentation scenes in the course's exact layout, made of real photo textures.

No MSRC-v2 copy is available offline, so `write_segmentation_scenes` draws scenes whose every
pixel comes from the two photos scikit-learn bundles (`load_sample_images`: a temple by a
lake, a dahlia), with known masks, and writes them as the course's folder: `train.txt`,
`val.txt`, `test.txt`, `images/<id>.bmp` and `targets/<id>_GT.bmp` coloured with the MSRC-v2
table (tinyvision.data.segmentation).

Each class owns one region of one photo (its texture source, `CLASS_TEXTURES`); a scene is
 - a background of two or three regions split by wavy boundaries (mostly horizontal, as
   sky over land; sometimes vertical), each filled with one class's texture;
 - one to four objects (ellipses, star-shaped blobs, rotated rectangles) of any class, with
   random size (5% to 60% of the side), position and rotation;
 - zero to two clutter blobs cut from parts of the photos that no class owns, labelled void,
   as MSRC leaves unnamed things unlabelled;
 - void bands of 0 to 3 pixels along every boundary between labels, as MSRC's hand labels.
Every texture is a crop at a random place and scale (0.5x to 2x) of its region, flipped and
rotated by random multiples of 90 degrees, with random brightness and colour balance
(+-25% and +-10% per channel), and the image gets pixel noise. Classes with similar colours
(sky, water and the unlabelled haze; the dahlia and the orange roof tiles; grass and trees)
make colour alone insufficient. The scenes are deterministic (a fixed seed).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyvision.data.segmentation import SEG_LABELS_LIST, VOID, label_img_to_rgb
from tinyvision.errors import DataError

__all__ = [
    "CLASS_TEXTURES",
    "GENERATED_SIZE",
    "SceneSizes",
    "ensure_segmentation_scenes",
    "make_scene",
    "write_segmentation_scenes",
]

GENERATED_SIZE = 96
FOLDER = "segmentation"

# class name: (photo, (left, top, right, bottom) box of the 640x427 photo it takes texture from)
CLASS_TEXTURES: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "building": ("china", (100, 110, 310, 320)),
    "sky": ("china", (340, 0, 640, 150)),
    "tree": ("china", (380, 300, 640, 427)),
    "water": ("china", (330, 235, 545, 290)),
    "road": ("china", (210, 335, 350, 392)),
    "grass": ("flower", (0, 0, 170, 427)),
    "flower": ("flower", (190, 100, 430, 340)),
}
# Parts of the photos no class owns: clutter, labelled void.
CLUTTER_TEXTURES: tuple[tuple[str, tuple[int, int, int, int]], ...] = (
    ("china", (330, 160, 545, 225)),
    ("china", (0, 170, 80, 300)),
    ("flower", (290, 375, 470, 427)),
)
_IDS = {entry["name"]: entry["id"] for entry in SEG_LABELS_LIST}


@dataclass(frozen=True)
class SceneSizes:
    """How many scenes each split gets, and their side in pixels."""

    train: int = 300
    val: int = 50
    test: int = 100
    size: int = GENERATED_SIZE


def _photos() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    return {
        Path(name).stem: np.asarray(image)
        for name, image in zip(bunch.filenames, bunch.images, strict=True)
    }


def _texture(
    photo: np.ndarray, box: tuple[int, int, int, int], size: int, rng: np.random.Generator
) -> np.ndarray:
    """A size x size float texture: a random crop of the box, rescaled, turned and recoloured."""
    from PIL import Image

    left, top, right, bottom = box
    scale = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    side = int(min(max(8, round(size / scale)), right - left, bottom - top))
    x = int(rng.integers(left, right - side + 1))
    y = int(rng.integers(top, bottom - side + 1))
    crop = Image.fromarray(photo[y : y + side, x : x + side]).resize(
        (size, size), Image.Resampling.BILINEAR
    )
    texture = np.rot90(np.asarray(crop, dtype=np.float32), int(rng.integers(4)))
    if rng.random() < 0.5:
        texture = texture[:, ::-1]
    gain = rng.uniform(0.75, 1.25) * rng.uniform(0.9, 1.1, size=3)
    return texture * gain.astype(np.float32)


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size) region index 0..k-1 of a background split by wavy boundaries."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    along, across = (cols, rows) if rng.random() < 0.75 else (rows, cols)
    count = int(rng.integers(2, 4))
    levels = np.sort(rng.uniform(0.2, 0.8, size=count - 1))
    region = np.zeros((size, size), dtype=np.int64)
    for level in levels:
        wave = rng.uniform(0.02, 0.12) * np.sin(
            2 * np.pi * rng.uniform(0.5, 2.5) * along + rng.uniform(0, 2 * np.pi)
        )
        region += across > level + wave
    return region


def _shape_mask(size: int, rng: np.random.Generator, max_radius: float = 0.3) -> np.ndarray:
    """A random ellipse, star-shaped blob or rotated rectangle, as an (size, size) bool mask."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    radius = rng.uniform(0.05, max_radius)
    cy, cx = rng.uniform(0.1, 0.9, size=2)
    angle = rng.uniform(0, np.pi)
    dy, dx = rows - cy, cols - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    aspect = rng.uniform(0.4, 1.0)
    kind = rng.integers(3)
    if kind == 0:
        return (u / radius) ** 2 + (v / (radius * aspect)) ** 2 <= 1
    if kind == 1:
        theta = np.arctan2(v, u)
        bumps = sum(
            rng.uniform(0, 0.3) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)
        )
        return np.hypot(u, v) <= radius * (1 + bumps)
    return (np.abs(u) <= radius) & (np.abs(v) <= radius * aspect)


def _void_bands(labels: np.ndarray, width: int) -> np.ndarray:
    """A mask of pixels within `width` pixels (chessboard distance) of a label boundary."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[1:] |= labels[:-1] != labels[1:]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, :-1] != labels[:, 1:]
    band = edge.copy()
    for _ in range(width - 1):
        grown = band.copy()
        grown[1:] |= band[:-1]
        grown[:-1] |= band[1:]
        grown[:, 1:] |= band[:, :-1]
        grown[:, :-1] |= band[:, 1:]
        band = grown
    return band if width > 0 else np.zeros_like(edge)


def make_scene(
    photos: dict[str, np.ndarray], size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One scene: image (size, size, 3) uint8 and labels (size, size) int64 (-1 void).

    photos: {"china": ..., "flower": ...} (load_sample_images) as (427, 640, 3) uint8
    """
    names = list(CLASS_TEXTURES)
    image = np.zeros((size, size, 3), dtype=np.float32)
    labels = np.full((size, size), VOID, dtype=np.int64)

    def paint(mask: np.ndarray, source: tuple[str, tuple[int, int, int, int]], label: int):
        photo, box = source
        image[mask] = _texture(photos[photo], box, size, rng)[mask]
        labels[mask] = label

    region = _background(size, rng)
    classes = rng.choice(names, size=region.max() + 1, replace=False)
    for index, name in enumerate(classes):
        paint(region == index, CLASS_TEXTURES[name], _IDS[name])
    for _ in range(int(rng.integers(1, 5))):
        name = names[int(rng.integers(len(names)))]
        paint(_shape_mask(size, rng), CLASS_TEXTURES[name], _IDS[name])
    for _ in range(int(rng.integers(0, 3))):
        source = CLUTTER_TEXTURES[int(rng.integers(len(CLUTTER_TEXTURES)))]
        paint(_shape_mask(size, rng, max_radius=0.15), source, VOID)
    labels[_void_bands(labels, int(rng.integers(0, 4)))] = VOID
    image += rng.normal(0.0, 4.0, size=image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), labels


def write_segmentation_scenes(
    root: str | os.PathLike[str], sizes: SceneSizes = SceneSizes(), seed: int = 0
) -> Path:
    """Write the scenes into root in the course's layout (root is created; it must not exist).

    The folder is assembled beside root and renamed into place, so an interrupted run leaves
    no half-written data set. returns root
    """
    from PIL import Image

    root = Path(root)
    if root.exists():
        raise FileExistsError(f"{root} exists; remove it or write the scenes elsewhere")
    root.parent.mkdir(parents=True, exist_ok=True)
    photos = _photos()
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}-") as scratch:
        staging = Path(scratch) / root.name
        (staging / "images").mkdir(parents=True)
        (staging / "targets").mkdir()
        number = 0
        for split in ("train", "val", "test"):
            ids = []
            for _ in range(getattr(sizes, split)):
                number += 1
                image_id = f"scene_{number:04d}"
                image, labels = make_scene(photos, sizes.size, rng)
                Image.fromarray(image).save(staging / "images" / f"{image_id}.bmp")
                target = Image.fromarray(label_img_to_rgb(labels))
                target.save(staging / "targets" / f"{image_id}_GT.bmp")
                ids.append(image_id)
            (staging / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        staging.rename(root)
    return root


def ensure_segmentation_scenes(data_root: str | os.PathLike[str]) -> Path:
    """<data_root>/segmentation, written with the default sizes the first time it is asked for.

    raises DataError when that folder exists but is not a complete data set (no test.txt)
    """
    root = Path(data_root) / FOLDER
    if (root / "test.txt").is_file():
        return root
    if root.exists():
        raise DataError(
            f"{root} exists but holds no test.txt, so it is not the generated segmentation "
            "scenes; remove it to have them written again, or pass the course's folder with "
            "--data-dir"
        )
    try:
        return write_segmentation_scenes(root)
    except OSError:
        # Another process wrote the scenes first: its rename won.
        if (root / "test.txt").is_file():
            return root
        raise
