"""Use a trained classifier on one's own pictures (`tinyvision predict`).

Each picture is read with Pillow and made to look like the run's data set before the run's own
preprocessing: the embedded digits are 8x8 grey images with bright ink on a dark background
and values in [0, 1] (sklearn's 0..16 divided by 16), so a picture is turned grey, inverted when
its background is light (ink on paper), and shrunk to 8x8 by averaging; CIFAR-10 images are
32x32 RGB with values 0..255. Probabilities are the softmax of the model's class scores; kNN,
which only votes, gives the share of its k neighbours' votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyvision.errors import DataError
from tinyvision.layers.losses import log_softmax
from tinyvision.pipeline import LoadedRun

__all__ = [
    "IMAGE_SUFFIXES",
    "Prediction",
    "class_probabilities",
    "image_files",
    "predict_files",
    "read_image",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# The shape of one raw image of each data set: (C, H, W).
_IMAGE_SHAPES = {"digits": (1, 8, 8), "cifar10": (3, 32, 32)}


@dataclass
class Prediction:
    """The top classes of one picture: names and probabilities, most probable first."""

    path: Path
    classes: list[str]
    probabilities: list[float]


def image_files(paths: list[str | Path]) -> list[Path]:
    """The PNG and JPEG files among paths, with those inside folders (sorted by name).

    raises FileNotFoundError for a path that does not exist, and ValueError when no picture is
    found or a file given by name is not a PNG or JPEG
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(
                    f"{path} is not a PNG or JPEG file (expected a name ending in "
                    f"{', '.join(IMAGE_SUFFIXES)})"
                )
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist; give image files or folders")
    if not found:
        raise ValueError(f"no PNG or JPEG files in {', '.join(map(str, paths))}")
    return found


def read_image(path: str | Path, dataset: str) -> np.ndarray:
    """One picture as a raw image of dataset: (C, H, W) float64 in the loader's value range.

    raises ValueError for a data set of points (spiral) and DataError for an unreadable file
    """
    from PIL import Image, UnidentifiedImageError

    if dataset not in _IMAGE_SHAPES:
        raise ValueError(
            f"a {dataset} model takes points, not pictures; predict needs a run trained on "
            f"{' or '.join(_IMAGE_SHAPES)}"
        )
    channels, height, width = _IMAGE_SHAPES[dataset]
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            # BOX averages every source pixel into the small image, as a downscale should.
            image = image.resize((width, height), Image.Resampling.BOX)
            pixels = np.asarray(image, dtype=np.float64)
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"cannot read {path} as an image: {error}") from error
    if channels == 1:
        if pixels.mean() > 127.5:  # a light background: dark ink on paper
            pixels = 255.0 - pixels
        return (pixels / 255.0)[None]
    return pixels.transpose(2, 0, 1)


def class_probabilities(loaded: LoadedRun, X: np.ndarray) -> np.ndarray:
    """(N, C) class probabilities of the loaded run's model for model inputs X (N, ...)."""
    from tinyvision.classification_evaluation import class_scores

    model, spec = loaded.model, loaded.spec
    num_classes = loaded.prepared.num_classes
    scores = class_scores(model, spec, X)
    if scores is not None:
        return np.exp(log_softmax(np.asarray(scores, dtype=np.float64), axis=1))
    # A model that only votes (kNN): the share of the k neighbours' votes per class.
    votes = model.y_train[model.kneighbors(X, model.k)]
    counts = np.stack([np.bincount(row, minlength=num_classes) for row in votes])
    return counts / model.k


def predict_files(loaded: LoadedRun, paths: list[Path], top: int = 3) -> list[Prediction]:
    """The top classes of each picture for a classifier rebuilt by pipeline.load_run.

    top: classes reported per picture, at least 1 (at most the number of classes)
    """
    from tinyvision.classification_evaluation import class_names

    if loaded.spec.task.name != "classification":
        raise ValueError(
            f"{loaded.config.model} writes captions; predict needs a classifier run (use "
            "`tinyvision caption sample` for captioning runs)"
        )
    if top < 1:
        raise ValueError(f"--top must be at least 1, got {top}")
    config = loaded.config
    images = np.stack([read_image(path, config.dataset) for path in paths])
    images = images.astype(config.dtype)
    X = loaded.spec.task.model_inputs(config, loaded.spec, loaded.prepared.prep, images)
    probabilities = class_probabilities(loaded, X)
    names = class_names(config.dataset, probabilities.shape[1])
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :top]
    return [
        Prediction(
            path=path,
            classes=[names[c] for c in row],
            probabilities=[float(probabilities[i, c]) for c in row],
        )
        for i, (path, row) in enumerate(zip(paths, order, strict=True))
    ]
