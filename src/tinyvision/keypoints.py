"""Facial-keypoint runs: the data, the course's score and the pictures (the Task of --model
keypoints; the model is registered in tinyvision/models/keypoints.py).

Data: `--dataset keypoints` reads the I2DL exercise's CSV files (tinyvision.data.
facial_keypoints). Without --data-dir they are generated once, offline, into
`<data root>/keypoints/` (training.csv, val.csv, test.csv; tinyvision.data.
facial_keypoints_generator). With `--data-dir DIR` they are the course's files: when DIR has
no test.csv (the course keeps its test rows on its server), its val.csv is the held-out test
split and a fixed 15% of training.csv (the same rows on every run) is the validation split
that picks the best epoch.

Score: the exercise's `1 / (2 * MSE)` of the normalised coordinates ((v - 48) / 48), over
every coordinate of every image of a split. metrics.json records it per split
(`train_keypoint_score`, `val_keypoint_score`, `test_keypoint_score`), `keypoint_score` (the
held-out test rows) and the MSEs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.config import TrainConfig
from tinyvision.data.facial_keypoints import (
    IMAGE_SIZE,
    KeypointTable,
    denormalise_keypoints,
    read_keypoints_csv,
)
from tinyvision.registry import ModelSpec

__all__ = [
    "KEYPOINTS",
    "KeypointPrepared",
    "KeypointsTask",
    "keypoint_score",
    "load_keypoint_splits",
    "plot_keypoints",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
# Share of the course's training.csv held out for validation when there is no test.csv.
_VALIDATION_SHARE = 0.15
_PICTURED = 12


def keypoint_score(predicted: np.ndarray, target: np.ndarray) -> float:
    """The I2DL exercise's score, 1 / (2 * MSE), of normalised keypoint coordinates.

    predicted, target: the same shape, e.g. (N, 30) or (N, 15, 2)
    returns the score (inf for a perfect prediction)
    """
    mse = float(np.mean((np.asarray(predicted, np.float64) - np.asarray(target, np.float64)) ** 2))
    return math.inf if mse == 0.0 else 1.0 / (2.0 * mse)


def _folder(config: TrainConfig) -> Path:
    """The folder of the CSV files: --data-dir, or the generated data (written if missing)."""
    if config.data_dir is not None:
        folder = Path(config.data_dir).expanduser()
        needed = [name for name in ("training.csv", "val.csv") if not (folder / name).is_file()]
        if needed:
            raise FileNotFoundError(
                f"--data-dir {folder} has no {' and '.join(needed)}: give the folder of the I2DL "
                "facial-keypoints files (datasets/facial_keypoints: training.csv, val.csv, "
                "optionally test.csv), or leave out --data-dir to use the generated faces"
            )
        return folder
    from tinyvision.data.facial_keypoints_generator import ensure_keypoints_data
    from tinyvision.data.paths import default_data_dir

    folder = default_data_dir() / "keypoints"
    logger.info("facial keypoints: generated faces in %s (written on first use)", folder)
    return ensure_keypoints_data(folder)


def _rows(table: KeypointTable, keep: np.ndarray) -> KeypointTable:
    return KeypointTable(table.images[keep], table.keypoints[keep], table.lines[keep], 0)


def load_keypoint_splits(
    config: TrainConfig, splits: tuple[str, ...] = SPLITS
) -> dict[str, KeypointTable]:
    """The complete rows of each requested split (see the module docstring for which file).

    The first --num-training / --num-val / --num-test rows are kept when those are set.
    """
    folder = _folder(config)
    if (folder / "test.csv").is_file():
        files = {"train": "training.csv", "val": "val.csv", "test": "test.csv"}
        tables = {split: read_keypoints_csv(folder / files[split]) for split in splits}
    else:
        tables = {}
        if "test" in splits:
            tables["test"] = read_keypoints_csv(folder / "val.csv")
        if "train" in splits or "val" in splits:
            training = read_keypoints_csv(folder / "training.csv")
            order = np.random.RandomState(0).permutation(len(training))
            cut = int(round(len(training) * _VALIDATION_SHARE))
            parts = {"val": np.sort(order[:cut]), "train": np.sort(order[cut:])}
            tables.update({s: _rows(training, parts[s]) for s in ("train", "val") if s in splits})
    limits = {"train": config.num_training, "val": config.num_val, "test": config.num_test}
    for split, table in tables.items():
        count = limits[split]
        if count is not None and count < len(table):
            tables[split] = _rows(table, np.arange(count))
    return tables


@dataclass
class KeypointPrepared:
    """Keypoint data ready for a model.

    data: X_<split> (N, 1, 96, 96) images in [0, 1] and y_<split> (N, 30) normalised
        keypoints, in the config's dtype
    prep: preprocessing statistics (none: the images go in as the course feeds them)
    dropped: rows of each split's file left out for a missing value
    """

    data: dict[str, np.ndarray]
    prep: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


def plot_keypoints(
    images: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray | None,
    path: str | Path,
    title: str,
) -> Path:
    """Draw images with their true and predicted keypoints on top, into a PNG.

    images: (N, 96, 96) or (N, 1, 96, 96) grey images (any scale); true, predicted: (N, 30)
    or (N, 15, 2) normalised keypoints (predicted may be None)
    returns path
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    images = np.asarray(images).reshape(len(images), IMAGE_SIZE, IMAGE_SIZE)
    columns = min(6, len(images))
    rows = math.ceil(len(images) / columns)
    figure = Figure(figsize=(2.0 * columns, 2.0 * rows + 0.9))
    FigureCanvasAgg(figure)
    # Pixel centres: pixel k spans [k, k + 1), so coordinate v is drawn at v - 0.5.
    points = {"true": denormalise_keypoints(np.asarray(true).reshape(len(images), -1, 2)) - 0.5}
    if predicted is not None:
        points["predicted"] = (
            denormalise_keypoints(np.asarray(predicted).reshape(len(images), -1, 2)) - 0.5
        )
    for k, image in enumerate(images):
        axes = figure.add_subplot(rows, columns, k + 1)
        axes.imshow(image, cmap="gray")
        axes.scatter(*points["true"][k].T, s=14, c="lime", edgecolors="black", linewidths=0.4)
        if predicted is not None:
            axes.scatter(*points["predicted"][k].T, s=18, c="red", marker="x", linewidths=1.0)
        axes.set_xlim(-0.5, IMAGE_SIZE - 0.5)
        axes.set_ylim(IMAGE_SIZE - 0.5, -0.5)
        axes.set_xticks([])
        axes.set_yticks([])
    handles = [Line2D([], [], ls="", marker="o", c="lime", mec="black", label="true")]
    if predicted is not None:
        handles.append(Line2D([], [], ls="", marker="x", c="red", label="predicted"))
    figure.legend(handles=handles, loc="lower center", ncol=2, frameon=False)
    figure.suptitle(title)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    path = Path(path)
    figure.savefig(path, dpi=100)
    return path


class KeypointsTask:
    """The Task (see tinyvision.registry) of facial-keypoint regression."""

    name = "keypoints"
    config_class = TrainConfig
    datasets = ("keypoints",)
    common_defaults: dict[str, Any] = {}
    folder_prefix = ""
    primary_metric = "test_keypoint_score"
    summary = (
        ("train_keypoint_score", "train keypoint score"),
        ("val_keypoint_score", "val keypoint score"),
        ("test_keypoint_score", "test keypoint score"),
        ("test_mse", "test MSE"),
    )

    def check(self, config: TrainConfig, spec: ModelSpec) -> None:
        """Keypoint models take the images themselves, on one process."""
        if config.features or config.preprocess != "none":
            raise ValueError(
                f"--model {config.model} regresses keypoints from the images: leave out "
                "--features and --preprocess"
            )
        if config.devices not in (None, 1) or config.num_nodes not in (None, 1):
            raise ValueError(f"--model {config.model} trains on one process: leave out --devices")

    def prepare(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        verbose: bool,
        prep: Any = None,
        splits: tuple[str, ...] = SPLITS,
    ) -> KeypointPrepared:
        """The requested splits as arrays; nothing is fitted (prep is always empty)."""
        tables = load_keypoint_splits(config, splits)
        dtype = np.dtype(config.dtype)
        data: dict[str, np.ndarray] = {}
        for split, table in tables.items():
            data[f"X_{split}"] = (table.images[:, None] / 255.0).astype(dtype)
            data[f"y_{split}"] = table.keypoints.reshape(len(table), -1).astype(dtype)
        logger.info("keypoints: %s", ", ".join(f"{len(t)} {s}" for s, t in tables.items()))
        return KeypointPrepared(data=data, dropped={s: t.dropped for s, t in tables.items()})

    def solver(self, model: Any, config: TrainConfig, prepared: Any, **kwargs: Any) -> Any:
        raise ValueError(f"--model {config.model} trains through Lightning, not the Solver")

    def score(
        self,
        model: Any,
        config: TrainConfig,
        prepared: KeypointPrepared,
        spec: ModelSpec,
        splits: tuple[str, ...] = SPLITS,
    ) -> dict[str, Any]:
        """The course's score and the MSE per split; keypoint_score is the test rows' score."""
        metrics: dict[str, Any] = {}
        for split in splits:
            predicted = model.predict(prepared.data[f"X_{split}"])
            target = prepared.data[f"y_{split}"]
            # Ten digits: `evaluate` reproduces them exactly, the last float64 bits aside.
            score = keypoint_score(predicted, target)
            mse = np.mean((np.asarray(predicted, np.float64) - target) ** 2)
            metrics[f"{split}_keypoint_score"] = float(f"{score:.10g}")
            metrics[f"{split}_mse"] = float(f"{mse:.10g}")
            metrics[f"num_{split}"] = len(target)
        if "test" in splits:
            metrics["keypoint_score"] = metrics["test_keypoint_score"]
        metrics["dropped_rows"] = dict(prepared.dropped)
        return metrics

    def upgrade_v1(self, values: dict[str, Any]) -> dict[str, Any]:
        """Keypoint runs were never written as version 1."""
        return dict(values)

    def artifacts(
        self, config: TrainConfig, prepared: KeypointPrepared, run_dir: Path, model: Any
    ) -> None:
        """keypoints_test.png: the first test images with true and predicted keypoints."""
        self._draw(model, prepared, "test", run_dir)

    def _draw(self, model: Any, prepared: KeypointPrepared, split: str, run_dir: Path) -> Path:
        images, true = prepared.data[f"X_{split}"], prepared.data[f"y_{split}"]
        predicted = model.predict(images)
        return plot_keypoints(
            images[:_PICTURED],
            true[:_PICTURED],
            predicted[:_PICTURED],
            run_dir / f"keypoints_{split}.png",
            f"{split} images: true and predicted keypoints (score "
            f"{keypoint_score(predicted, true):.1f} on {len(true)} images)",
        )

    def report(
        self,
        model: Any,
        config: TrainConfig,
        prepared: KeypointPrepared,
        spec: ModelSpec,
        run_dir: Path,
        split: str = "test",
    ) -> str:
        """Draws run_dir/keypoints_<split>.png; returns the line saying where."""
        path = self._draw(model, prepared, split, run_dir)
        return f"true and predicted keypoints: {path}"


KEYPOINTS = KeypointsTask()
