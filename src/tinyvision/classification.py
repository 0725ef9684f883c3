"""Image classification runs: data, preprocessing, the Solver's inputs and accuracy.

The task behind `tinyvision train`: it loads the splits of a data set (digits, spiral,
CIFAR-10), turns them into what the registered model takes (`ModelSpec.inputs`: flat rows or
(N, C, H, W) images, optionally HOG/colour features), fits the preprocessing statistics on the
training split only (they are saved with the model, so evaluation applies exactly the same
transform), hands the Solver arrays or augmenting loaders, and scores a trained model by its
accuracy on each split. `--preprocess` adds PCA or whitening of the flat inputs after
centring, stored as one projection matrix with the mean (tinyvision.pca).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.config import TrainConfig
from tinyvision.data.augmentations import DEFAULT_AUGMENTATIONS, augment_batch
from tinyvision.errors import DataError
from tinyvision.pca import PCAFit, fit_pca, parse_preprocess, projection_matrix
from tinyvision.registry import ModelSpec

__all__ = [
    "CLASSIFICATION",
    "Prepared",
    "load_dataset",
    "num_classes",
    "training_class_weights",
    "training_sample_weights",
]

SPLITS = ("train", "val", "test")

logger = logging.getLogger(__name__)

# Shared by every classifier; each model's registration tunes them per data set.
_COMMON_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 100,
    "learning_rate": 1e-2,
    "reg": 0.0,
    "lr_decay": 0.95,
    "schedule": "step",
    "update_rule": "sgd",
    "hidden_dims": (100,),
    "weight_scale": 1e-2,
    "weight_init": "gaussian",
    "normalization": "none",
    "dropout": 0.0,
    "k": 1,
    "metric": "l2",
    "num_filters": 32,
    "filter_size": 7,
    "channels": (32, 64, 128),
    "blocks_per_stage": 2,
    "residual": False,
    "augment": (),
}


@dataclass
class Prepared:
    """A data set ready for a model: raw splits, preprocessing statistics, model inputs.

    data: X_<split> raw (N, C, H, W) images or (N, 2) points, y_<split> (N,) int64 labels
    prep: the preprocessing statistics ("mean", and "std" for standardised inputs;
        "projection" (D, K) with --preprocess)
    X: the model's input per split, preprocessed
    pca: with --preprocess, the PCA fitted in this process on the training inputs and a
        sample of those inputs (standardised, before projection) for the pictures; None when
        the statistics were loaded from a run folder
    shape, classes: the model input's shape and the number of classes when no split was
        loaded (a trained model rebuilt to predict new pictures); None: read off the splits
    """

    data: dict[str, np.ndarray]
    prep: dict[str, np.ndarray]
    X: dict[str, np.ndarray]
    pca: tuple[PCAFit, np.ndarray] | None = None
    shape: tuple[int, ...] | None = None
    classes: int | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one model input (any split)."""
        if self.shape is not None:
            return self.shape
        return next(iter(self.X.values())).shape[1:]

    @property
    def num_classes(self) -> int:
        return self.classes if self.classes is not None else num_classes(self.data)


def _cifar10_dir(data_dir: str | None) -> Path | None:
    """The cifar-10-batches-py folder: inside data_dir, or data_dir itself when it is that."""
    if data_dir is None:
        return None
    inside = Path(data_dir) / "cifar-10-batches-py"
    return inside if inside.is_dir() else Path(data_dir)


def _load_cifar10(config: TrainConfig, dtype: np.dtype) -> dict[str, np.ndarray]:
    from tinyvision import data_utils

    return data_utils.get_CIFAR10_data(
        num_training=config.num_training or 49000,
        num_validation=1000,
        num_test=10000,
        subtract_mean=False,
        cifar10_dir=_cifar10_dir(config.data_dir),
        dtype=dtype,
    )


def _load_digits(config: TrainConfig, dtype: np.dtype) -> dict[str, np.ndarray]:
    from tinyvision import data_utils

    return data_utils.load_digits_data(dtype=dtype)


def _load_spiral(config: TrainConfig, dtype: np.dtype) -> dict[str, np.ndarray]:
    from tinyvision import data_utils

    return data_utils.load_spiral_data(dtype=dtype)


DATASET_LOADERS = {"digits": _load_digits, "spiral": _load_spiral, "cifar10": _load_cifar10}
# (shape of one raw example, number of classes) of each data set, for a model rebuilt without
# its data (tinyvision predict on a machine that does not hold the data set).
DATASET_SHAPES = {"digits": ((1, 8, 8), 10), "spiral": ((2,), 3), "cifar10": ((3, 32, 32), 10)}


def load_dataset(config: TrainConfig) -> dict[str, np.ndarray]:
    """The splits of config.dataset as X_train, y_train, X_val, y_val, X_test, y_test.

    Images come as (N, C, H, W) in config.dtype, raw (no mean subtracted); spiral points (N, 2).
    The split is fixed by the data set, not by config.seed, so every run sees the same test set.
    --imbalance thins the training split (after --num-training) with
    tinyvision.imbalance.imbalanced_subset; val and test stay as they are.
    """
    data = DATASET_LOADERS[config.dataset](config, np.dtype(config.dtype))
    splits = {f"{kind}_{split}": data[f"{kind}_{split}"] for split in SPLITS for kind in "Xy"}
    wanted = {
        "train": None if config.dataset == "cifar10" else config.num_training,
        "val": config.num_val,
        "test": config.num_test,
    }
    for split, count in wanted.items():
        available = len(splits[f"y_{split}"])
        if count is None:
            continue
        if count > available:
            flag = {"train": "--num-training", "val": "--num-val", "test": "--num-test"}[split]
            raise ValueError(
                f"{flag} {count} is more than the {available} {split} examples of "
                f"{config.dataset}; give at most {available}"
            )
        splits[f"X_{split}"] = splits[f"X_{split}"][:count]
        splits[f"y_{split}"] = splits[f"y_{split}"][:count]
    if config.imbalance is not None:
        from tinyvision.imbalance import imbalanced_subset

        keep = imbalanced_subset(splits["y_train"], config.imbalance, num_classes(splits))
        splits["X_train"], splits["y_train"] = splits["X_train"][keep], splits["y_train"][keep]
    return splits


def training_class_weights(config: TrainConfig, prepared: Prepared) -> np.ndarray | None:
    """The loss weight of each class (C,) float64 that --class-weights asks for, or None.

    balanced: n_samples / (n_classes * count_c) of the training labels
    (tinyvision.imbalance.balanced_class_weights)
    """
    if config.class_weights == "none":
        return None
    from tinyvision.imbalance import balanced_class_weights

    return balanced_class_weights(prepared.data["y_train"], prepared.num_classes)


def training_sample_weights(config: TrainConfig, prepared: Prepared) -> np.ndarray | None:
    """The probability of drawing each training example (N,) float64 that --sampler asks for,
    or None for uniform draws.

    balanced: 1 / count of the example's class, normalised (every class equally likely)
    """
    if config.sampler == "uniform":
        return None
    from tinyvision.imbalance import balanced_sample_weights

    return balanced_sample_weights(prepared.data["y_train"], prepared.num_classes)


def num_classes(data: Mapping[str, np.ndarray]) -> int:
    """Number of classes: one more than the largest label of any split."""
    return int(max(data[f"y_{split}"].max() for split in SPLITS if f"y_{split}" in data)) + 1


def _image_features(images: np.ndarray, verbose: bool) -> np.ndarray:
    """HOG and hue-histogram features of (N, 3, H, W) images with values in [0, 255]."""
    from tinyvision.features import color_histogram_hsv, extract_features, hog_feature

    channels_last = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
    logger.info("extracting HOG and hue-histogram features of %d images", len(images))
    # The bar only on a terminal: in a log file its frames would bury the epoch lines.
    bar = verbose and sys.stderr.isatty()
    return extract_features(channels_last, [hog_feature, color_histogram_hsv], verbose=bar)


def _model_inputs(
    config: TrainConfig, spec: ModelSpec, images: np.ndarray, verbose: bool
) -> np.ndarray:
    """One split as the model takes it, before preprocessing: features, images or flat rows."""
    if config.features:
        return _image_features(images, verbose).astype(config.dtype)
    # Augmentation shifts and mirrors images; the fully-connected nets flatten them themselves.
    if spec.inputs == "images" or config.augment:
        return images
    return images.reshape(len(images), -1)


# Rows of the training inputs kept for the PCA pictures (scatter plots need no more).
_PCA_SAMPLE = 2000


def _fit_preprocessing(
    config: TrainConfig, spec: ModelSpec, X: np.ndarray
) -> tuple[dict[str, np.ndarray], tuple[PCAFit, np.ndarray] | None]:
    """The statistics preprocessing needs, from the training split only (saved with the model).

    returns the statistics and, with --preprocess, the PCA fit with a sample of the inputs it
    was fitted on
    """
    if spec.inputs == "images":
        # Per-channel statistics, shaped (1, C, 1, 1) to broadcast over (N, C, H, W) images.
        axes = (0, 2, 3)
        state = {
            "mean": X.mean(axis=axes, keepdims=True),
            "std": X.std(axis=axes, keepdims=True) + 1e-8,
        }
        return state, None
    mode, count = parse_preprocess(config.preprocess)
    if spec.inputs == "raw" and mode == "none":
        return {}, None
    state = {"mean": X.mean(axis=0)}
    if config.features:
        state["std"] = X.std(axis=0) + 1e-8
    if mode == "none":
        return state, None
    standardised = _apply_preprocessing(spec, X, state, bias=False)
    dim = X.shape[1]
    if count is not None and count > dim:
        raise ValueError(
            f"--preprocess {config.preprocess} keeps {count} components, but the inputs have "
            f"only {dim} dimensions; choose K <= {dim}"
        )
    pca = fit_pca(standardised, count)
    state["projection"] = projection_matrix(pca, mode).astype(X.dtype)
    return state, (pca, standardised[:_PCA_SAMPLE])


def _projection_shape(config: TrainConfig, dim: int) -> tuple[int, int]:
    """The (D, K) shape of the saved projection of --preprocess on D-dimensional inputs."""
    mode, count = parse_preprocess(config.preprocess)
    return (dim, dim if count is None else count)


def _check_saved_preprocessing(
    config: TrainConfig, spec: ModelSpec, prep: Mapping[str, np.ndarray], X: np.ndarray
) -> None:
    """Raise DataError unless prep holds exactly the statistics this model's inputs need."""
    expected: dict[str, tuple[int, ...]] = {}
    if spec.inputs == "images":
        shape = (1, X.shape[1], 1, 1)
        expected = {"mean": shape, "std": shape}
    elif spec.inputs == "flat" or config.preprocess != "none":
        expected = {"mean": X.shape[1:], **({"std": X.shape[1:]} if config.features else {})}
    if config.preprocess != "none":
        expected["projection"] = _projection_shape(config, X.shape[1])
    got = {name: np.shape(value) for name, value in prep.items()}
    if got != expected:
        raise DataError(
            f"model.npz holds the preprocessing statistics {got} (as prep/<name>), but a "
            f"{config.model} run on {config.dataset} needs {expected}; the run folder was "
            "altered or comes from another run"
        )


def _apply_preprocessing(
    spec: ModelSpec, X: np.ndarray, prep: Mapping[str, np.ndarray], bias: bool = True
) -> np.ndarray:
    """Centre (and standardise, and project) X; append the bias column for the models that
    use one (unless bias is False)."""
    if "mean" in prep:
        X = X - prep["mean"]
    if "std" in prep:
        X = X / prep["std"]
    if "projection" in prep:
        X = X @ prep["projection"]
    if bias and spec.bias_column:
        X = np.hstack([X, np.ones((len(X), 1), dtype=X.dtype)])
    return X


class _AugmentedImages:
    """(N, C, H, W) images whose batches come augmented, for training.

    names are tinyvision.data.augmentations.AUGMENTATIONS: with "crop" each image is
    zero-padded by `padding` pixels (after standardisation, so zero is the mean colour) and
    cropped back at a random offset, with "flip" flipped left-right with probability 1/2, and
    so on (augment_batch), all drawn from one Generator seeded with seed.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        padding: int,
        seed: int,
        names: tuple[str, ...] = DEFAULT_AUGMENTATIONS,
    ) -> None:
        self.images = images
        self.labels = labels
        self.padding = padding
        self.names = names
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One augmented example {"image": (C, H, W), "label": int}."""
        batch = self.get_batch(np.array([index]))
        return {"image": batch["image"][0], "label": batch["label"][0]}

    def get_batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Augmented examples at indices (B,): {"image": (B, C, H, W), "label": (B,)}."""
        images = augment_batch(self.images[indices], self.names, self.rng, self.padding)
        return {"image": images, "label": self.labels[indices]}


def _per_class_scores(
    split: str, y: np.ndarray, predicted: np.ndarray, count: int, config: TrainConfig
) -> dict[str, Any]:
    """{split}_per_class_acc (the recall of each class), and with --imbalance the mean over
    the minority and the majority classes."""
    from tinyvision.classification_metrics import precision_recall_f1
    from tinyvision.imbalance import majority_classes, minority_classes

    recall = precision_recall_f1(y, predicted, count)[1]
    scores: dict[str, Any] = {f"{split}_per_class_acc": [round(float(r), 6) for r in recall]}
    if config.imbalance is not None:
        scores[f"{split}_minority_acc"] = float(recall[list(minority_classes(count))].mean())
        scores[f"{split}_majority_acc"] = float(recall[list(majority_classes(count))].mean())
    return scores


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray, limit: int | None = None) -> float:
    if limit is not None and len(y) > limit:
        X, y = X[:limit], y[:limit]
    return float(np.mean(model.predict(X) == y))


class ClassificationTask:
    """The Task (see tinyvision.registry) of the image classifiers."""

    name = "classification"
    config_class = TrainConfig
    datasets = tuple(DATASET_LOADERS)
    common_defaults = _COMMON_DEFAULTS
    folder_prefix = ""
    primary_metric = "test_acc"
    summary = (
        ("train_acc", "train accuracy"),
        ("val_acc", "val accuracy"),
        ("test_acc", "test accuracy"),
        ("test_majority_acc", "test majority"),
        ("test_minority_acc", "test minority"),
    )

    def check(self, config: TrainConfig, spec: ModelSpec) -> None:
        """Rules across fields: features need colour images, --augment needs an image model."""
        if config.features and config.dataset != "cifar10":
            raise ValueError(
                "--features (HOG and colour histograms) needs colour images: use --dataset cifar10"
            )
        if spec.inputs == "images" and config.dataset == "spiral":
            raise ValueError(
                f"--model {config.model} takes images: use --dataset digits or cifar10"
            )
        segmentation_only = [
            flag
            for flag, value in (("--backbone", config.backbone), ("--crop-size", config.crop_size))
            if value is not None
        ]
        if segmentation_only:
            raise ValueError(f"{', '.join(segmentation_only)} apply only to --model segmentation")
        distributed = {
            "--devices": config.devices not in (None, 1),
            "--num-nodes": config.num_nodes not in (None, 1),
            "--strategy": config.strategy not in (None, "auto"),
        }
        given = [flag for flag, is_set in distributed.items() if is_set]
        if given and not spec.distributed:
            able = ", ".join(n for n in _registered() if _registered()[n].distributed)
            raise ValueError(
                f"{', '.join(given)} train through PyTorch Lightning: use a torch model "
                f"({able or 'install the torch extra'}), not --model {config.model}"
            )
        if config.augment:
            if not spec.augmentable:
                able = ", ".join(_augmentable_models())
                raise ValueError(
                    f"--augment transforms the training images of a net: use it with --model {able}"
                )
            if config.dataset == "spiral" or config.features:
                raise ValueError(
                    "--augment needs images to transform: use --dataset digits or "
                    "cifar10 without --features"
                )
            if spec.fit is not None and set(config.augment) != set(DEFAULT_AUGMENTATIONS):
                raise ValueError(
                    f"--model {config.model} trains in its own loop, which augments with "
                    f"flip,crop only; got --augment {','.join(config.augment)}: use "
                    "--augment flip,crop or a model the Solver trains"
                )
        self._check_balancing(config, spec)
        if config.preprocess != "none" and (spec.inputs == "images" or config.augment):
            flat = ", ".join(_flat_input_models())
            raise ValueError(
                f"--preprocess {config.preprocess} projects flat rows, but --model "
                f"{config.model}{' --augment' if config.augment else ''} trains on images; "
                f"use it without --augment and with --model {flat}"
            )

    def _check_balancing(self, config: TrainConfig, spec: ModelSpec) -> None:
        """--class-weights needs a model whose loss takes weights (the PyTorch track's
        classifiers); --sampler balanced also works for nets the Solver trains on arrays."""
        balancing = ", ".join(n for n, s in _registered().items() if s.balancing)
        balancing = balancing or "install the torch extra"
        solver = ", ".join(n for n, s in _registered().items() if s.fit is None)
        if config.class_weights != "none" and not spec.balancing:
            raise ValueError(
                f"--class-weights {config.class_weights} weights the cross-entropy of the "
                f"PyTorch track's classifiers ({balancing}); --model {config.model} computes "
                f"its loss in its own function: use one of those, or --sampler balanced with a "
                f"net the Solver trains ({solver})"
            )
        if config.sampler == "uniform" or spec.balancing:
            return
        if spec.fit is not None:
            raise ValueError(
                f"--sampler {config.sampler} draws the minibatches of the nets trained by the "
                f"Solver ({solver}) or by Lightning ({balancing}); --model {config.model} "
                "trains in its own way"
            )
        if config.augment:
            raise ValueError(
                f"--sampler {config.sampler} weights the Solver's draws from arrays, but "
                f"--augment trains --model {config.model} from a shuffling loader: leave out "
                "one of them (a torch model takes both)"
            )

    def prepare(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        verbose: bool,
        prep: Mapping[str, np.ndarray] | None = None,
        splits: tuple[str, ...] = SPLITS,
    ) -> Prepared:
        """Load config's data set and preprocess the requested splits.

        prep: statistics saved with a trained model (None: fit them on the training split,
            which then must be among splits)
        splits: with prep and no split, nothing is loaded: the result only knows the input
            shape and the number of classes (enough to rebuild a model and predict)
        """
        if prep is not None and not splits:
            raw_shape, classes = DATASET_SHAPES[config.dataset]
            probe = self.model_inputs(config, spec, prep, np.zeros((1, *raw_shape), config.dtype))
            return Prepared({}, dict(prep), {}, shape=probe.shape[1:], classes=classes)
        started = time.perf_counter()
        logger.info("loading %s", config.dataset)
        data = load_dataset(config)
        logger.info(
            "loaded %s in %.1f s: %s",
            config.dataset,
            time.perf_counter() - started,
            ", ".join(f"{len(data[f'y_{s}'])} {s}" for s in SPLITS),
        )
        inputs = {s: _model_inputs(config, spec, data[f"X_{s}"], verbose) for s in splits}
        pca = None
        if prep is None:
            prep, pca = _fit_preprocessing(config, spec, inputs["train"])
        else:
            _check_saved_preprocessing(config, spec, prep, next(iter(inputs.values())))
        X = {s: _apply_preprocessing(spec, m, prep) for s, m in inputs.items()}
        return Prepared(data=data, prep=dict(prep), X=X, pca=pca)

    def model_inputs(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        prep: Mapping[str, np.ndarray],
        images: np.ndarray,
    ) -> np.ndarray:
        """New raw images (N, C, H, W), as the loader gives them, turned into model inputs with
        a trained run's preprocessing statistics prep (the same steps as prepare)."""
        return _apply_preprocessing(spec, _model_inputs(config, spec, images, False), prep)

    def solver(self, model: Any, config: TrainConfig, prepared: Prepared, **kwargs: Any) -> Any:
        """A Solver for model on prepared's train and val splits, set up from config.

        kwargs: further Solver keywords (out_dir, verbose, ...), which take precedence over
        those config gives (e.g. an lr_schedule object instead of config.schedule)
        """
        from tinyvision.solver import Solver

        y_train = prepared.data["y_train"]
        options = config.solver_options(len(y_train)) | {
            "sample_weights": training_sample_weights(config, prepared)
        }
        # A named schedule's options mean nothing to a schedule object given in kwargs.
        if "lr_schedule" in kwargs:
            del options["schedule_options"]
        return Solver(model, _solver_data(config, prepared), **{**options, **kwargs})

    def score(
        self,
        model: Any,
        config: TrainConfig,
        prepared: Prepared,
        spec: ModelSpec,
        splits: tuple[str, ...] = SPLITS,
    ) -> dict[str, Any]:
        """Accuracy on each split, per class on val and test, and the sizes metrics.json
        records.

        <split>_per_class_acc: the fraction of each class's examples predicted right (the
        recall), a list of C floats; with --imbalance also <split>_minority_acc and
        <split>_majority_acc, their means over tinyvision.imbalance's minority and majority
        classes (val and test are balanced, so these are what balancing should raise).
        """
        limits = {"train": spec.train_eval_limit}
        metrics: dict[str, Any] = {}
        per_class: dict[str, Any] = {}
        for s in splits:
            X, y = prepared.X[s], prepared.data[f"y_{s}"]
            if s == "train":
                metrics[f"{s}_acc"] = _accuracy(model, X, y, limits.get(s))
                continue
            predicted = model.predict(X)
            metrics[f"{s}_acc"] = float(np.mean(predicted == y))
            per_class.update(_per_class_scores(s, y, predicted, prepared.num_classes, config))
        metrics.update(per_class)
        metrics.update(
            num_train=int(len(prepared.data["y_train"])),
            num_test=int(len(prepared.data["y_test"])),
            num_classes=prepared.num_classes,
        )
        return metrics

    def upgrade_v1(self, values: dict[str, Any]) -> dict[str, Any]:
        """Version 1 stored dropout as a keep probability: turn it into a drop probability."""
        values = dict(values)
        if isinstance(values.get("dropout"), (int, float)):
            values["dropout"] = 1.0 - values["dropout"]
        return values

    def artifacts(self, config: TrainConfig, prepared: Prepared, run_dir: Path, model: Any) -> None:
        """decision_boundary.png on 2-D points (the spiral); with --preprocess:
        pca_scatter.png, pca_variance.png and, on pixels, pca_components.png."""
        points = prepared.data["X_train"]
        if points.ndim == 2 and points.shape[1] == 2:
            self._plot_decision_boundary(config, prepared, run_dir, model)
        if prepared.pca is None:
            return
        from tinyvision.pca_plots import (
            plot_explained_variance,
            plot_pca_components,
            plot_pca_scatter,
        )

        pca, sample = prepared.pca
        zca = parse_preprocess(config.preprocess)[0] == "zca"
        if sample.shape[1] > 1:
            plot_pca_scatter(sample, pca, run_dir / "pca_scatter.png", zca=zca)
        plot_explained_variance(pca, run_dir / "pca_variance.png")
        images = prepared.data["X_train"]
        if images.ndim == 4 and not config.features:
            plot_pca_components(pca, images.shape[1:], run_dir / "pca_components.png")

    def _plot_decision_boundary(
        self, config: TrainConfig, prepared: Prepared, run_dir: Path, model: Any
    ) -> None:
        from tinyvision import registry
        from tinyvision.vis_utils import plot_decision_boundary

        spec = registry.get(config.model)

        def predict(points: np.ndarray) -> np.ndarray:
            inputs = self.model_inputs(config, spec, prepared.prep, points.astype(config.dtype))
            return model.predict(inputs)

        plot_decision_boundary(
            predict,
            prepared.data["X_train"],
            prepared.data["y_train"],
            run_dir / "decision_boundary.png",
            title=f"{config.model} on {config.dataset}: decision regions, training points",
        )

    def report(
        self,
        model: Any,
        config: TrainConfig,
        prepared: Prepared,
        spec: ModelSpec,
        run_dir: Path,
        split: str = "test",
    ) -> Any:
        """The split's confusion matrix (drawn as run_dir/confusion.png), per-class precision,
        recall and F1, top-k accuracy, and for images the misclassified examples
        (run_dir/errors.png): a ClassifierEvaluation."""
        from tinyvision.classification_evaluation import class_names, evaluate_classifier

        names = class_names(config.dataset, prepared.num_classes)
        raw = prepared.data[f"X_{split}"]
        images = None
        if raw.ndim == 4:
            # To (N, H, W, C) on the 0-255 scale of the gallery; the digits come in [0, 1].
            scale = 255.0 if config.dataset == "digits" else 1.0
            images = np.asarray(raw, dtype=np.float64).transpose(0, 2, 3, 1) * scale
        return evaluate_classifier(
            model,
            spec,
            prepared.X[split],
            prepared.data[f"y_{split}"],
            names,
            run_dir / "confusion.png",
            images=images,
            gallery=run_dir / "errors.png",
            split=split,
        )


def _registered() -> dict[str, ModelSpec]:
    from tinyvision import registry

    return {n: registry.get(n) for n in registry.names("classification")}


def _augmentable_models() -> list[str]:
    return [name for name, spec in _registered().items() if spec.augmentable]


def _flat_input_models() -> list[str]:
    from tinyvision import registry

    return [n for n in registry.names("classification") if registry.get(n).inputs != "images"]


def _solver_data(config: TrainConfig, prepared: Prepared) -> dict[str, Any]:
    """The Solver's data: arrays, or with config.augment loaders with augmented training batches."""
    X, data = prepared.X, prepared.data
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
    train = _AugmentedImages(X["train"], data["y_train"], padding, config.seed, config.augment)
    return {
        "train": DataLoader(train, batch_size=config.batch_size, shuffle=True, seed=config.seed),
        "val": DataLoader(ArrayDataset(X["val"], data["y_val"]), batch_size=500),
    }


CLASSIFICATION = ClassificationTask()
