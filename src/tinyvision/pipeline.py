"""From a TrainConfig to a finished run folder, and from a run folder back to its test accuracy.

Phases of `train_run`: load the data set, fit the preprocessing on the training split, build and
train the model, measure train/val/test accuracy, write the run folder. `evaluate_run` rebuilds
the same data and model from the folder alone and measures the test accuracy again.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import runs
from tinyvision.config import TrainConfig, resolve_config

__all__ = [
    "Predictor",
    "Prepared",
    "RunResult",
    "apply_preprocessing",
    "evaluate_run",
    "feature_matrices",
    "fit_preprocessing",
    "fit",
    "load_dataset",
    "prepare",
    "train_run",
    "write_run",
]

logger = logging.getLogger(__name__)

LINEAR_MODELS = ("softmax", "svm")
NET_MODELS = ("two-layer", "fc")
# Conv models keep images as (N, C, H, W) and are standardised per channel.
CONV_MODELS = ("cnn", "convnet")


@dataclass
class RunResult:
    """What a finished run reports: its folder and its metrics.json contents."""

    run_dir: Path
    metrics: dict[str, Any]


def _cifar10_dir(data_dir: str | None) -> Path | None:
    """The cifar-10-batches-py folder: inside data_dir, or data_dir itself when it is that."""
    if data_dir is None:
        return None
    inside = Path(data_dir) / "cifar-10-batches-py"
    return inside if inside.is_dir() else Path(data_dir)


def load_dataset(config: TrainConfig) -> dict[str, np.ndarray]:
    """The splits of config.dataset as X_train, y_train, X_val, y_val, X_test, y_test.

    Images come as (N, C, H, W) in config.dtype, raw (no mean subtracted); spiral points (N, 2).
    The split is fixed by the data set, not by config.seed, so every run sees the same test set.
    """
    from tinyvision import data_utils

    dtype = np.dtype(config.dtype)
    if config.dataset == "digits":
        data = data_utils.load_digits_data(dtype=dtype)
    elif config.dataset == "spiral":
        data = data_utils.load_spiral_data(dtype=dtype)
    else:
        data = data_utils.get_CIFAR10_data(
            num_training=config.num_training or 49000,
            num_validation=1000,
            num_test=10000,
            subtract_mean=False,
            cifar10_dir=_cifar10_dir(config.data_dir),
            dtype=dtype,
        )
    return {
        name: data[name] for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
    }


def _image_features(images: np.ndarray, verbose: bool) -> np.ndarray:
    """HOG and hue-histogram features of (N, 3, H, W) images with values in [0, 255]."""
    from tinyvision.features import color_histogram_hsv, extract_features, hog_feature

    channels_last = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
    return extract_features(channels_last, [hog_feature, color_histogram_hsv], verbose=verbose)


def feature_matrices(
    config: TrainConfig, data: dict[str, np.ndarray], splits: tuple[str, ...], verbose: bool
) -> dict[str, np.ndarray]:
    """Each requested split as a flat (N, D) matrix (raw pixels or the selected image features),
    or as (N, C, H, W) images for the conv models and for augmented training (which shifts and
    mirrors images; the fully-connected nets flatten them themselves)."""
    matrices = {}
    for split in splits:
        images = data[f"X_{split}"]
        if config.features:
            matrices[split] = _image_features(images, verbose).astype(config.dtype)
        elif config.model in CONV_MODELS or config.augment:
            matrices[split] = images
        else:
            matrices[split] = images.reshape(len(images), -1)
    return matrices


def fit_preprocessing(config: TrainConfig, X_train: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics preprocessing needs, from the training split only (saved with the model)."""
    if config.model in CONV_MODELS:
        # Per-channel statistics, shaped (1, C, 1, 1) to broadcast over (N, C, H, W) images.
        axes = (0, 2, 3)
        return {
            "mean": X_train.mean(axis=axes, keepdims=True),
            "std": X_train.std(axis=axes, keepdims=True) + 1e-8,
        }
    state = {"mean": X_train.mean(axis=0)}
    if config.features:
        state["std"] = X_train.std(axis=0) + 1e-8
    return state


def apply_preprocessing(
    config: TrainConfig, X: np.ndarray, state: dict[str, np.ndarray]
) -> np.ndarray:
    """Centre (and for features, scale) X; append the bias column for the linear models."""
    if config.model == "knn":
        return X
    X = X - state["mean"]
    if "std" in state:
        X = X / state["std"]
    if config.model in LINEAR_MODELS:
        X = np.hstack([X, np.ones((len(X), 1), dtype=X.dtype)])
    return X


def _build_net(config: TrainConfig, input_shape: tuple[int, ...], num_classes: int) -> Any:
    from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet

    if config.model == "cnn":
        from tinyvision.classifiers.cnn import ThreeLayerConvNet

        return ThreeLayerConvNet(
            input_dim=input_shape,
            num_filters=config.num_filters,
            filter_size=config.filter_size,
            hidden_dim=config.hidden_dims[0],
            num_classes=num_classes,
            weight_scale=config.weight_scale,
            reg=config.reg,
            dtype=np.dtype(config.dtype),
            seed=config.seed,
            weight_init=config.weight_init,
        )
    if config.model == "convnet":
        from tinyvision.classifiers.convnet import ConvNet

        return ConvNet(
            channels=config.channels,
            blocks_per_stage=config.blocks_per_stage,
            num_classes=num_classes,
            input_shape=input_shape,
            use_residual=config.residual,
            dropout=config.dropout,
            reg=config.reg,
            seed=config.seed,
            dtype=np.dtype(config.dtype),
        )
    input_dim = math.prod(input_shape)
    if config.model == "two-layer":
        return TwoLayerNet(
            input_dim=input_dim,
            hidden_dim=config.hidden_dims[0],
            num_classes=num_classes,
            weight_scale=config.weight_scale,
            reg=config.reg,
            weight_init=config.weight_init,
            seed=config.seed,
            dtype=np.dtype(config.dtype),
        )
    model = FullyConnectedNet(
        list(config.hidden_dims),
        input_dim=input_dim,
        num_classes=num_classes,
        dropout_keep_ratio=config.dropout,
        normalization=config.normalization,
        reg=config.reg,
        weight_scale=config.weight_scale,
        weight_init=config.weight_init,
        dtype=np.dtype(config.dtype),
        seed=config.seed,
    )
    # A seeded dropout_param reseeds NumPy before every mask, so each update would drop the
    # same units; the Solver's seed already makes the run reproducible.
    model.dropout_param.pop("seed", None)
    return model


def _build_linear(config: TrainConfig) -> Any:
    from tinyvision.classifiers.linear_classifier import LinearSVM, Softmax

    return (Softmax if config.model == "softmax" else LinearSVM)(seed=config.seed)


def _predict_net(model: Any, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    scores = [model.loss(X[start : start + batch_size]) for start in range(0, len(X), batch_size)]
    return np.argmax(np.concatenate(scores), axis=1)


class Predictor:
    """A trained model of any family behind one predict(X) and one arrays() for the checkpoint."""

    def __init__(self, config: TrainConfig, model: Any):
        self.config = config
        self.model = model

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.config.model == "knn":
            return self.model.predict(X, k=self.config.k)
        if self.config.model in LINEAR_MODELS:
            return self.model.predict(X)
        return _predict_net(self.model, X)

    def arrays(self) -> dict[str, np.ndarray]:
        if self.config.model == "knn":
            return {"k": np.array(self.config.k)}
        if self.config.model in LINEAR_MODELS:
            return {"W": self.model.W}
        state = getattr(self.model, "state_dict", None)
        return dict(state()) if state is not None else dict(self.model.params)


def _fit(
    config: TrainConfig,
    X: dict[str, np.ndarray],
    data: dict[str, np.ndarray],
    run_dir: Path | None,
    verbose: bool,
) -> tuple[Predictor, dict[str, Any]]:
    """Train the model of config on preprocessed matrices X; return it and its history."""
    y_train = data["y_train"]
    if config.model == "knn":
        from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor

        model = KNearestNeighbor()
        model.train(X["train"], y_train)
        return Predictor(config, model), {}
    if config.model in LINEAR_MODELS:
        model = _build_linear(config)
        num_iters = config.epochs * math.ceil(len(y_train) / config.batch_size)
        loss_history = model.train(
            X["train"],
            y_train,
            learning_rate=config.learning_rate,
            reg=config.reg,
            num_iters=num_iters,
            batch_size=config.batch_size,
            verbose=verbose,
            lr_decay=config.lr_decay,
        )
        return Predictor(config, model), {"loss_history": [float(v) for v in loss_history]}

    from tinyvision.solver import Solver

    model = _build_net(config, X["train"].shape[1:], num_classes(data))
    solver = Solver(
        model,
        _solver_data(config, X, data),
        update_rule=config.update_rule,
        optim_config={"learning_rate": config.learning_rate},
        lr_decay=config.lr_decay,
        lr_schedule=config.schedule,
        batch_size=config.batch_size,
        num_epochs=config.epochs,
        print_every=max(1, len(y_train) // config.batch_size // 4),
        verbose=verbose,
        seed=config.seed,
        out_dir=run_dir,
    )
    solver.train()
    history = solver.history()
    return Predictor(config, model), history


class _AugmentedImages:
    """(N, C, H, W) images whose batches come randomly shifted and mirrored, for training.

    Each image is zero-padded by `padding` pixels (after standardisation, so zero is the mean
    colour) and cropped back at a random offset, then flipped left-right with probability 1/2.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, padding: int, seed: int) -> None:
        self.images = images
        self.labels = labels
        self.padding = padding
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One augmented example {"image": (C, H, W), "label": int}."""
        batch = self.get_batch(np.array([index]))
        return {"image": batch["image"][0], "label": batch["label"][0]}

    def get_batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Augmented examples at indices (B,): {"image": (B, C, H, W), "label": (B,)}."""
        from tinyvision.data.transforms import random_crop_batch, random_flip_batch

        images = random_crop_batch(self.images[indices], self.padding, self.rng)
        return {"image": random_flip_batch(images, self.rng), "label": self.labels[indices]}


def _solver_data(
    config: TrainConfig, X: dict[str, np.ndarray], data: dict[str, np.ndarray]
) -> dict[str, Any]:
    """The Solver's data: arrays, or with config.augment loaders with augmented training batches."""
    if not config.augment:
        return {
            "X_train": X["train"],
            "y_train": data["y_train"],
            "X_val": X["val"],
            "y_val": data["y_val"],
        }
    from tinyvision.data.datasets import ArrayDataset
    from tinyvision.data.loader import DataLoader

    # Shifts of up to 1/8 of the image: the usual 4 pixels on 32x32 CIFAR-10, 1 on 8x8 digits.
    padding = max(1, X["train"].shape[-1] // 8)
    train = _AugmentedImages(X["train"], data["y_train"], padding, config.seed)
    return {
        "train": DataLoader(train, batch_size=config.batch_size, shuffle=True, seed=config.seed),
        "val": DataLoader(ArrayDataset(X["val"], data["y_val"]), batch_size=500),
    }


def num_classes(data: dict[str, np.ndarray]) -> int:
    """Number of classes: one more than the largest label of any split."""
    return int(max(data[f"y_{split}"].max() for split in ("train", "val", "test"))) + 1


def _accuracy(trained: Predictor, X: np.ndarray, y: np.ndarray, limit: int | None = None) -> float:
    if limit is not None and len(y) > limit:
        X, y = X[:limit], y[:limit]
    return float(np.mean(trained.predict(X) == y))


@dataclass
class Prepared:
    """A data set ready for training: raw splits, preprocessing statistics, model inputs."""

    config: TrainConfig
    data: dict[str, np.ndarray]
    prep: dict[str, np.ndarray]
    X: dict[str, np.ndarray]


def prepare(config: TrainConfig, verbose: bool = True) -> Prepared:
    """Resolve config, load its data set and fit the preprocessing on the training split."""
    config = resolve_config(config)
    data = load_dataset(config)
    matrices = feature_matrices(config, data, ("train", "val", "test"), verbose)
    prep = fit_preprocessing(config, matrices["train"])
    X = {split: apply_preprocessing(config, m, prep) for split, m in matrices.items()}
    return Prepared(config, data, prep, X)


def fit(
    prepared: Prepared, config: TrainConfig, out_dir: Path | None, verbose: bool
) -> tuple[Predictor, dict[str, Any]]:
    """Train config's model on prepared data; out_dir receives the Solver's checkpoints."""
    return _fit(config, prepared.X, prepared.data, out_dir, verbose)


def write_run(
    prepared: Prepared,
    config: TrainConfig,
    trained: Predictor,
    history: dict[str, Any],
    run_dir: Path,
    seconds: float,
) -> RunResult:
    """Measure train/val/test accuracy and write metrics, history, model.npz and plots."""
    X, data = prepared.X, prepared.data
    # kNN on its own training set is a leave-nothing-out lookup: measure it on a subsample.
    train_limit = 2000 if config.model == "knn" else None
    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        "train_acc": _accuracy(trained, X["train"], data["y_train"], train_limit),
        "val_acc": _accuracy(trained, X["val"], data["y_val"]),
        "test_acc": _accuracy(trained, X["test"], data["y_test"]),
        "num_train": int(len(data["y_train"])),
        "num_test": int(len(data["y_test"])),
        "num_classes": num_classes(data),
        "seconds": round(seconds, 3),
    }
    arrays = {f"model/{k}": np.asarray(v) for k, v in trained.arrays().items()}
    arrays.update({f"prep/{k}": v for k, v in prepared.prep.items()})
    runs.write_json(run_dir / "config.json", config.to_dict())
    runs.save_arrays(run_dir / "model.npz", arrays)
    runs.write_json(run_dir / "history.json", history)
    runs.plot_history(history, run_dir)
    if config.model in CONV_MODELS:
        from tinyvision.vis_utils import plot_first_layer_filters

        first_filters = next(w for w in trained.model.params.values() if np.ndim(w) == 4)
        plot_first_layer_filters(first_filters, run_dir / "filters.png")
    if config.model in LINEAR_MODELS and config.dataset == "cifar10" and not config.features:
        from tinyvision.data.cifar10 import CLASS_NAMES
        from tinyvision.vis_utils import plot_class_templates

        # Rows of W follow the flattened (C, H, W) pixels, then the bias row; templates want HWC.
        pixels = trained.model.W[:-1].reshape(3, 32, 32, -1).transpose(1, 2, 0, 3)
        plot_class_templates(pixels.reshape(3072, -1), CLASS_NAMES, run_dir / "templates.png")
    runs.write_json(run_dir / "metrics.json", metrics)
    return RunResult(run_dir=run_dir, metrics=metrics)


def train_run(config: TrainConfig, verbose: bool = True) -> RunResult:
    """Train config's model on config's data set and write a complete run folder."""
    start = time.perf_counter()
    prepared = prepare(config, verbose)
    config = prepared.config
    run_dir = runs.new_run_dir(config.out, f"{config.model}-{config.dataset}")
    runs.write_json(run_dir / "config.json", config.to_dict())
    trained, history = fit(prepared, config, run_dir, verbose)
    return write_run(prepared, config, trained, history, run_dir, time.perf_counter() - start)


def _restore(
    config: TrainConfig,
    arrays: dict[str, np.ndarray],
    X: dict[str, np.ndarray],
    y_train: np.ndarray,
    classes: int,
) -> Predictor:
    """Rebuild a trained model from its checkpoint arrays (kNN: from the training split)."""
    model_arrays = {
        k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")
    }
    if config.model == "knn":
        from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor

        model = KNearestNeighbor()
        model.train(X["train"], y_train)
    elif config.model in LINEAR_MODELS:
        model = _build_linear(config)
        model.W = model_arrays["W"]
    else:
        model = _build_net(config, X["test"].shape[1:], classes)
        if hasattr(model, "load_state_dict"):
            model.load_state_dict(model_arrays)
        else:
            model.params = model_arrays
    return Predictor(config, model)


def evaluate_run(run_dir: str | Path, verbose: bool = False) -> dict[str, Any]:
    """Reload a run folder's model and measure its test accuracy again.

    returns {"test_acc": reproduced, "recorded_test_acc": from metrics.json, "model", "dataset"}
    """
    run_dir = Path(run_dir)
    config = TrainConfig.from_dict(runs.load_json(run_dir / "config.json"))
    recorded = runs.load_json(run_dir / "metrics.json")
    arrays = runs.load_arrays(run_dir / "model.npz")
    data = load_dataset(config)
    prep = {k.removeprefix("prep/"): v for k, v in arrays.items() if k.startswith("prep/")}
    splits = ("train", "test") if config.model == "knn" else ("test",)
    matrices = feature_matrices(config, data, splits, verbose)
    X = {split: apply_preprocessing(config, m, prep) for split, m in matrices.items()}
    trained = _restore(config, arrays, X, data["y_train"], int(recorded["num_classes"]))
    return {
        "run_dir": str(run_dir),
        "model": config.model,
        "dataset": config.dataset,
        "test_acc": _accuracy(trained, X["test"], data["y_test"]),
        "recorded_test_acc": recorded["test_acc"],
    }
