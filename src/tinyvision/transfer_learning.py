"""Classification with few labels: the task of models that learn from unlabelled images first.

A run of this task sees four image sets: unlabelled training images (for unsupervised
pre-training), the labelled training images (`--num-labels`), and the labelled validation and
test splits. It is scored like every classifier (tinyvision.classification: accuracies,
`evaluate`'s report), and `tinyvision train` prints, beside the accuracies, what a transfer
model records of its own (`scratch_test_acc`, `transfer_gain`, `test_reconstruction_mse`).

CIFAR-10: the first `--num-training` training images, of which the first `--num-labels` keep
their labels and the rest are unlabelled; the course's validation split (the `--num-val`
images after them) and the test batch (`--num-test`). Images are standardised per channel with
statistics of all training images, labelled and unlabelled (no label is needed for them).

MNIST: the I2DL exercise's files (tinyvision.data.mnist), whose split is fixed: the first
`--num-labels` of `train_images.pt` are the labelled images, `unlabeled_train_images.pt` the
unlabelled ones (the first `--num-training` of them when it is given), `val_*` and `test_*` the
validation and test splits (`--num-val`, `--num-test` keep their first N).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinyvision.classification import SPLITS, ClassificationTask, Prepared, _cifar10_dir
from tinyvision.config import TrainConfig
from tinyvision.errors import DataError
from tinyvision.registry import ModelSpec

__all__ = ["TRANSFER", "TransferTask", "load_transfer_splits"]

logger = logging.getLogger(__name__)


def _cifar10_splits(config: TrainConfig) -> dict[str, np.ndarray]:
    from tinyvision.data.cifar10 import get_CIFAR10_data

    data = get_CIFAR10_data(
        num_training=config.num_training,
        num_validation=config.num_val or 1000,
        num_test=config.num_test or 10000,
        subtract_mean=False,
        cifar10_dir=_cifar10_dir(config.data_dir),
        dtype=config.dtype,
    )
    labelled = config.num_labels
    return {
        "X_unlabelled": data["X_train"][labelled:],
        "X_train": data["X_train"][:labelled],
        "y_train": data["y_train"][:labelled],
        **{
            f"{kind}_{split}": data[f"{kind}_{split}"] for split in ("val", "test") for kind in "Xy"
        },
    }


def _mnist_splits(config: TrainConfig) -> dict[str, np.ndarray]:
    from tinyvision.data.mnist import load_mnist

    data = load_mnist(config.data_dir)
    available = len(data["y_train"])
    if config.num_labels > available:
        raise ValueError(
            f"--num-labels {config.num_labels} is more than the {available} labelled training "
            "images of the MNIST files; give at most that many"
        )
    # On the 0-255 scale of CIFAR-10's pixels, so both data sets are pictured alike.
    scaled = {name: array * 255 if name.startswith("X_") else array for name, array in data.items()}
    limits = {"val": config.num_val, "test": config.num_test}
    return {
        "X_unlabelled": scaled["X_unlabeled_train"][: config.num_training],
        "X_train": scaled["X_train"][: config.num_labels],
        "y_train": scaled["y_train"][: config.num_labels],
        **{
            f"{kind}_{split}": scaled[f"{kind}_{split}"][: limits[split]]
            for split in ("val", "test")
            for kind in "Xy"
        },
    }


SPLIT_LOADERS = {"cifar10": _cifar10_splits, "mnist": _mnist_splits}


def load_transfer_splits(config: TrainConfig) -> dict[str, np.ndarray]:
    """X_unlabelled, X_train, y_train, X_val, y_val, X_test, y_test of config.dataset.

    Images (N, C, H, W) in config.dtype, raw (0-255 for CIFAR-10); labels (N,) int64.
    """
    return SPLIT_LOADERS[config.dataset](config)


def _channel_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel mean and std (1, C, 1, 1) of (N, C, H, W) images."""
    axes = (0, 2, 3)
    return {
        "mean": images.mean(axis=axes, keepdims=True),
        "std": images.std(axis=axes, keepdims=True) + 1e-8,
    }


class TransferTask(ClassificationTask):
    """The Task (see tinyvision.registry) of classifiers pre-trained on unlabelled images."""

    # Its own name: the searches and `predict` of the classifiers expect their data sets.
    name = "transfer-learning"
    datasets = tuple(SPLIT_LOADERS)
    summary = (
        *ClassificationTask.summary,
        ("scratch_test_acc", "from scratch, test"),
        ("transfer_gain", "transfer gain"),
        ("test_reconstruction_mse", "reconstruction MSE"),
    )

    def check(self, config: TrainConfig, spec: ModelSpec) -> None:
        """The classifiers' rules, and labelled images that leave some unlabelled ones."""
        super().check(config, spec)
        if config.features:
            raise ValueError(f"--model {config.model} learns from images: leave out --features")
        if (
            config.dataset == "cifar10"
            and config.num_training is not None
            and config.num_labels >= config.num_training
        ):
            raise ValueError(
                f"--num-labels {config.num_labels} leaves no unlabelled image among the "
                f"--num-training {config.num_training} training images; give fewer labels or "
                "more training images"
            )

    def prepare(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        verbose: bool,
        prep: Mapping[str, np.ndarray] | None = None,
        splits: tuple[str, ...] = SPLITS,
    ) -> Prepared:
        """Load the four image sets and standardise the requested splits.

        prep: statistics saved with a trained model (None: fit them on every training image)
        X["unlabelled"] comes with the train split.
        """
        started = time.perf_counter()
        data = load_transfer_splits(config)
        logger.info(
            "loaded %s in %.1f s: %d unlabelled, %s",
            config.dataset,
            time.perf_counter() - started,
            len(data["X_unlabelled"]),
            ", ".join(f"{len(data[f'y_{s}'])} {s}" for s in SPLITS),
        )
        if prep is None:
            prep = _channel_statistics(np.concatenate([data["X_train"], data["X_unlabelled"]]))
        else:
            expected = {name: (1, data["X_train"].shape[1], 1, 1) for name in ("mean", "std")}
            got = {name: np.shape(value) for name, value in prep.items()}
            if got != expected:
                raise DataError(
                    f"model.npz holds the preprocessing statistics {got} (as prep/<name>), but "
                    f"a {config.model} run on {config.dataset} needs {expected}; the run folder "
                    "was altered or comes from another run"
                )
        wanted = (*splits, "unlabelled") if "train" in splits else splits
        X = {s: (data[f"X_{s}"] - prep["mean"]) / prep["std"] for s in wanted}
        return Prepared(data=data, prep=dict(prep), X=X)

    def artifacts(self, config: TrainConfig, prepared: Prepared, run_dir: Any, model: Any) -> None:
        """None beyond the model's own (the classifiers' pictures need flat inputs or points)."""


TRANSFER = TransferTask()
