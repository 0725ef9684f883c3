"""Semantic segmentation runs (I2DL): data, scores and pictures of `--model segmentation`
and `--model unet`.

The Task (see tinyvision.registry) behind `tinyvision train --model segmentation` (PyTorch
Lightning, its own fit) and `--model unet` (NumPy, trained by the SegmentationSolver): it reads a
folder in the course's layout (tinyvision.data.segmentation) - the course's MSRC-v2 files
with `--data-dir`, else the generated scenes, written into `<data root>/segmentation` the
first time (tinyvision.data.segmentation_generator) - standardises the images per channel and
scores a trained model by its pixel accuracy over the non-void pixels of each split.

The centre crop is `--crop-size`, by default the course's 240 for a `--data-dir` folder and
the generated scenes' own side otherwise; it is saved with the model (prep/crop_size) so
`evaluate` crops as training did. With `--backbone RUN` (a torch-cnn run on CIFAR-10) the
images are standardised with the backbone's CIFAR-10 statistics, which its first convolution
was trained on; without, with the training split's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import runs
from tinyvision.config import TrainConfig
from tinyvision.data.segmentation import (
    COURSE_CROP_SIZE,
    NUM_CLASSES,
    VOID,
    class_names,
    label_img_to_rgb,
    load_segmentation_split,
)
from tinyvision.errors import DataError
from tinyvision.registry import ModelSpec
from tinyvision.segmentation_solver import pixel_accuracy

__all__ = [
    "SEGMENTATION",
    "SegmentationPrepared",
    "SegmentationTask",
    "draw_segmentations",
    "pixel_accuracy",
    "read_backbone",
]

SPLITS = ("train", "val", "test")
# Training images scored for train_pixel_acc, at the end and by the Solver after each epoch
# (the rest would only cost time).
_TRAIN_EVAL_LIMIT = 100

logger = logging.getLogger(__name__)

_COMMON_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 16,
    "update_rule": "adam",
    "learning_rate": 2e-3,
    "reg": 1e-4,
    "lr_decay": 0.95,
    "schedule": "cosine",
    "channels": (16, 32, 64, 128),
    "residual": True,
    "normalization": "batchnorm",
    "dropout": 0.0,
    "augment": False,
}


@dataclass
class SegmentationPrepared:
    """Segmentation data ready for a model.

    data: X_<split> (N, 3, S, S) uint8 images, y_<split> (N, S, S) int64 labels (-1 void)
    prep: "mean", "std" (1, 3, 1, 1) of the standardisation, "crop_size" (a 0-d int array)
    X: the standardised float images per split
    backbone: the TorchCNN state of --backbone (training only; None otherwise)
    """

    data: dict[str, np.ndarray]
    prep: dict[str, np.ndarray]
    X: dict[str, np.ndarray]
    backbone: dict[str, np.ndarray] | None = field(default=None, repr=False)
    num_classes: int = NUM_CLASSES

    @property
    def input_shape(self) -> tuple[int, ...]:
        return next(iter(self.X.values())).shape[1:]


def read_backbone(config: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The TorchCNN weights and input statistics of config.backbone, a torch-cnn run folder.

    returns (state: the model's state_dict arrays, prep: {"mean", "std"} (1, 3, 1, 1))
    raises ValueError when the folder is not a finished torch-cnn run on colour images or its
        architecture differs from config's (channels, residual, normalization)
    """
    from tinyvision.config import config_from_json

    run = Path(config.backbone or "")
    if not (run / "config.json").is_file() or not (run / "model.npz").is_file():
        raise ValueError(
            f"--backbone {run} is not a finished run folder (config.json and model.npz); train "
            "one with: tinyvision train --model torch-cnn --dataset cifar10 --out runs/backbone"
        )
    backbone = config_from_json(runs.load_json(run / "config.json"), str(run / "config.json"))
    if backbone.dataset != "cifar10":
        raise ValueError(
            f"--backbone {run} is a run on {backbone.dataset}; the encoder takes the stages of "
            "a torch-cnn run on cifar10 (colour images)"
        )
    arrays = runs.load_arrays(run / "model.npz")
    state = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    if not any(name.startswith("features.") for name in state):
        raise ValueError(
            f"--backbone {run} holds a {backbone.model} model, which has no TorchCNN feature "
            "stages; train the backbone with --model torch-cnn --dataset cifar10"
        )
    differing = [
        f"--{name} {getattr(backbone, name)} (this run: {getattr(config, name)})"
        for name in ("channels", "residual", "normalization")
        if getattr(backbone, name) != getattr(config, name)
    ]
    if differing:
        raise ValueError(
            f"--backbone {run} was trained with {', '.join(differing)}; give the backbone's "
            "settings so its stages fit the encoder"
        )
    prep = {k.removeprefix("prep/"): v for k, v in arrays.items() if k.startswith("prep/")}
    return state, {"mean": prep["mean"], "std": prep["std"]}


def _data_root(config: TrainConfig) -> Path:
    if config.data_dir is not None:
        root = Path(config.data_dir)
        if not root.is_dir():
            raise FileNotFoundError(
                f"--data-dir {root} is not a folder; give the course's segmentation folder "
                "(train.txt, val.txt, test.txt, images/, targets/)"
            )
        return root
    from tinyvision.data.paths import default_data_dir
    from tinyvision.data.segmentation_generator import ensure_segmentation_scenes

    return ensure_segmentation_scenes(default_data_dir())


def _crop_size(config: TrainConfig, prep: Mapping[str, np.ndarray] | None) -> int:
    if prep is not None and "crop_size" in prep:
        return int(prep["crop_size"])
    if config.crop_size is not None:
        return config.crop_size
    if config.data_dir is not None:
        return COURSE_CROP_SIZE
    from tinyvision.data.segmentation_generator import GENERATED_SIZE

    return GENERATED_SIZE


class SegmentationTask:
    """The Task (see tinyvision.registry) of semantic segmentation."""

    name = "segmentation"
    config_class = TrainConfig
    datasets = ("segmentation",)
    common_defaults = _COMMON_DEFAULTS
    folder_prefix = ""
    primary_metric = "test_pixel_acc"
    summary = (
        ("train_pixel_acc", "train pixel accuracy"),
        ("val_pixel_acc", "val pixel accuracy"),
        ("test_pixel_acc", "test pixel accuracy"),
        ("scratch_test_pixel_acc", "from scratch, test"),
        ("backbone_gain", "gain of the backbone"),
    )

    def check(self, config: TrainConfig, spec: ModelSpec) -> None:
        """Segmentation takes images whole: no features, PCA or augmentation."""
        unused = {
            "--features": bool(config.features),
            f"--preprocess {config.preprocess}": config.preprocess != "none",
            "--augment": bool(config.augment),
        }
        given = [flag for flag, is_set in unused.items() if is_set]
        if given:
            raise ValueError(f"{', '.join(given)} do not apply to --model {config.model}")

    def prepare(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        verbose: bool,
        prep: Mapping[str, np.ndarray] | None = None,
        splits: tuple[str, ...] = SPLITS,
    ) -> SegmentationPrepared:
        """Read the splits and standardise them (statistics from prep, the backbone or the
        training split); training with --backbone also reads the backbone's weights."""
        started = time.perf_counter()
        root = _data_root(config)
        crop = _crop_size(config, prep)
        limits = {"train": config.num_training, "val": config.num_val, "test": config.num_test}
        data: dict[str, np.ndarray] = {}
        for split in splits:
            images, labels = load_segmentation_split(root, split, crop, limits[split])
            data[f"X_{split}"], data[f"y_{split}"] = images, labels
        logger.info(
            "read %s from %s in %.1f s",
            ", ".join(f"{len(data[f'y_{s}'])} {s}" for s in splits),
            root,
            time.perf_counter() - started,
        )
        backbone = None
        if prep is None:
            if config.backbone is not None:
                backbone, stats = read_backbone(config)
            else:
                if "X_train" not in data:
                    raise ValueError("fitting the statistics needs the train split")
                train = data["X_train"].astype(np.float64)
                stats = {
                    "mean": train.mean(axis=(0, 2, 3), keepdims=True),
                    "std": train.std(axis=(0, 2, 3), keepdims=True) + 1e-8,
                }
            prep = {**stats, "crop_size": np.asarray(crop)}
        prep = dict(prep)
        if set(prep) != {"mean", "std", "crop_size"} or np.shape(prep["mean"]) != (1, 3, 1, 1):
            raise DataError(
                f"model.npz holds the statistics {sorted(prep)}, but a segmentation run needs "
                "prep/mean and prep/std (1, 3, 1, 1) and prep/crop_size; the run folder was "
                "altered or comes from another run"
            )
        dtype = np.dtype(config.dtype)
        X = {s: ((data[f"X_{s}"] - prep["mean"]) / prep["std"]).astype(dtype) for s in splits}
        return SegmentationPrepared(data=data, prep=prep, X=X, backbone=backbone)

    def solver(
        self, model: Any, config: TrainConfig, prepared: SegmentationPrepared, **kwargs: Any
    ) -> Any:
        """A SegmentationSolver for a NumPy model (--model unet) on the train and val splits,
        set up from config; kwargs (out_dir, verbose, ...) take precedence. The Lightning
        models (--model segmentation) train through their own fit and never ask for one."""
        from tinyvision.segmentation_solver import SegmentationSolver

        num_train = len(prepared.data["y_train"])
        options = config.solver_options(num_train) | {"num_train_samples": _TRAIN_EVAL_LIMIT}
        if "lr_schedule" in kwargs:
            del options["schedule_options"]
        data = {
            "X_train": prepared.X["train"],
            "y_train": prepared.data["y_train"],
            "X_val": prepared.X["val"],
            "y_val": prepared.data["y_val"],
        }
        return SegmentationSolver(model, data, **{**options, **kwargs})

    def score(
        self,
        model: Any,
        config: TrainConfig,
        prepared: SegmentationPrepared,
        spec: ModelSpec,
        splits: tuple[str, ...] = SPLITS,
    ) -> dict[str, Any]:
        """Pixel accuracy over non-void pixels per split (train: its first 100 images), the
        majority-class baseline on test, and the run's sizes."""
        metrics: dict[str, Any] = {}
        for split in splits:
            if f"y_{split}" not in prepared.data:
                continue
            limit = _TRAIN_EVAL_LIMIT if split == "train" else None
            X, y = prepared.X[split][:limit], prepared.data[f"y_{split}"][:limit]
            metrics[f"{split}_pixel_acc"] = pixel_accuracy(model.predict(X), y)
        if "y_train" in prepared.data and "y_test" in prepared.data:
            train = prepared.data["y_train"]
            majority = np.bincount(train[train != VOID], minlength=NUM_CLASSES).argmax()
            test = prepared.data["y_test"]
            metrics["test_majority_pixel_acc"] = pixel_accuracy(np.full_like(test, majority), test)
            metrics["num_train"] = len(train)
            metrics["num_test"] = len(test)
        metrics["num_params"] = int(sum(p.size for _, p in model.named_parameters()))
        return metrics

    def upgrade_v1(self, values: dict[str, Any]) -> dict[str, Any]:
        """Segmentation runs were never written with version 1."""
        return dict(values)

    def artifacts(
        self, config: TrainConfig, prepared: SegmentationPrepared, run_dir: Path, model: Any
    ) -> None:
        """segmentation.png: test images, their targets and the predictions."""
        if "y_test" in prepared.data:
            draw_segmentations(model, prepared, "test", run_dir / "segmentation.png")

    def report(
        self,
        model: Any,
        config: TrainConfig,
        prepared: SegmentationPrepared,
        spec: ModelSpec,
        run_dir: Path,
        split: str = "test",
    ) -> None:
        """Draw segmentation-<split>.png; the scores are the whole report."""
        draw_segmentations(model, prepared, split, run_dir / f"segmentation-{split}.png")


SEGMENTATION = SegmentationTask()


def draw_segmentations(
    model: Any, prepared: SegmentationPrepared, split: str, out: Path, count: int = 4
) -> Path:
    """A figure of the first `count` images of a split: input, target, prediction and, when
    the model has a from-scratch twin (model.scratch), its prediction; each prediction titled
    with its pixel accuracy. Void is black. returns out
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    images = prepared.data[f"X_{split}"][:count]
    targets = prepared.data[f"y_{split}"][:count]
    X = prepared.X[split][:count]
    columns = [("input", None), ("target", targets)]
    scratch = getattr(model, "scratch", None)
    name = "prediction (backbone)" if scratch is not None else "prediction"
    columns.append((name, model.predict(X)))
    if scratch is not None:
        columns.append(("prediction (from scratch)", scratch.predict(X)))
    figure = Figure(figsize=(2.4 * len(columns), 2.5 * len(images)))
    FigureCanvasAgg(figure)
    for row, (image, target) in enumerate(zip(images, targets, strict=True)):
        for col, (title, labels) in enumerate(columns):
            axes = figure.add_subplot(len(images), len(columns), row * len(columns) + col + 1)
            axes.set_xticks([])
            axes.set_yticks([])
            if labels is None:
                axes.imshow(image.transpose(1, 2, 0))
                axes.set_title(f"{split} image {row}", fontsize=9)
                continue
            axes.imshow(label_img_to_rgb(labels[row]))
            accuracy = ""
            if labels is not targets:
                accuracy = f"\npixel acc {pixel_accuracy(labels[row], target):.2f}"
            axes.set_title(f"{title}{accuracy}", fontsize=9)
    present = np.unique(np.concatenate([labels.ravel() for _, labels in columns[1:]]))
    names = class_names()
    handles = [
        Patch(color=label_img_to_rgb(np.array([[k]]))[0, 0] / 255.0, label=names[k])
        for k in present
        if k != VOID
    ]
    figure.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=8)
    figure.suptitle("semantic segmentation (MSRC-v2 colours, void black)", fontsize=10)
    figure.tight_layout(rect=(0, 0.06 if len(handles) <= 6 else 0.09, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    return out
