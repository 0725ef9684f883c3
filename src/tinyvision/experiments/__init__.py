"""The course's fully-connected-net experiments, each one function that writes plots and results.

`run_experiment(name, dataset=...)` loads the data, runs the experiment with its tuned settings
for that data set and writes a run folder holding the PNG plots and results.json (settings,
measurements and the summary table). Defaults take about a minute on the embedded digits; on
CIFAR-10 they use small training subsets as the course notebooks do.

    overfit                  3- and 5-layer nets memorise 50 examples (100% train accuracy)
    update-rules             SGD, momentum, RMSProp and Adam on the same net
    batchnorm-weight-scale   batch norm vs none across log-spaced initial weight scales
    norm-batch-size          batch norm vs layer norm vs none across batch sizes
    dropout                  dropout probabilities: train vs validation accuracy
    init                     activations and gradients of a deep net under each initialisation
    lr-range                 the learning-rate range test: loss against an exponentially rising rate
    augmentations            a picture grid of what each --augment augmentation does
    filters                  the notes' hand-made kernels on real images; a run's learned filters
    lbfgs                    L-BFGS vs full-batch GD, SGD and Adam: loss against time (digits)

`init` trains nothing and draws its batch from a unit gaussian, as the CS231n notes do, so it
loads no data set; `lr-range` trains for a number of updates rather than epochs;
`augmentations` and `filters` train nothing and load only the first few training images
(`filters` with settings "run" also loads that trained run and its test split).
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import runs
from tinyvision.data.augmentations import AUGMENTATIONS
from tinyvision.experiments.common import (
    DATASETS,
    ExperimentOutput,
    load_experiment_data,
    load_experiment_images,
    train_net,
)
from tinyvision.experiments.filters import filters
from tinyvision.experiments.initialisation import initialisation
from tinyvision.experiments.lr_range import lr_range, smooth_losses, suggest_learning_rate
from tinyvision.experiments.normalization import batchnorm_weight_scale, norm_batch_size
from tinyvision.experiments.optimisation import overfit, update_rules
from tinyvision.experiments.regularization import augmentations, dropout
from tinyvision.experiments.second_order import lbfgs_comparison
from tinyvision.image_filters import KERNEL_NAMES

__all__ = [
    "DATASETS",
    "EXPERIMENTS",
    "Experiment",
    "augmentations",
    "ExperimentOutput",
    "ExperimentResult",
    "batchnorm_weight_scale",
    "dropout",
    "experiment_settings",
    "filters",
    "initialisation",
    "lbfgs_comparison",
    "load_experiment_data",
    "load_experiment_images",
    "lr_range",
    "norm_batch_size",
    "overfit",
    "run_experiment",
    "smooth_losses",
    "suggest_learning_rate",
    "train_net",
    "update_rules",
]

ExperimentFunction = Callable[[Mapping[str, np.ndarray], Path, Mapping[str, Any], int], Any]


@dataclass(frozen=True)
class Experiment:
    """An experiment function with its tuned settings per data set.

    settings[dataset] holds "num_training" (training images loaded) when the experiment trains
    on the data set and "epochs" when it trains in epochs; the other keys are the function's
    own (see its docstring). Without "num_training" no data set is loaded, except the first
    "num_images" raw training images when that key is there.
    """

    function: ExperimentFunction
    description: str
    settings: Mapping[str, Mapping[str, Any]]


@dataclass
class ExperimentResult:
    """A finished experiment: its run folder, settings, measurements, table and plots."""

    name: str
    dataset: str
    run_dir: Path
    settings: dict[str, Any]
    results: dict[str, Any]
    rows: list[dict[str, Any]]
    plots: list[Path]
    seconds: float


def _overfit_nets(
    shallow: tuple[float, float], deep: tuple[float, float]
) -> dict[str, dict[str, Any]]:
    """The course's two overfitting nets with (weight_scale, learning_rate) for each."""
    return {
        "3-layer": {
            "hidden_dims": (100, 100),
            "weight_scale": shallow[0],
            "learning_rate": shallow[1],
        },
        "5-layer": {"hidden_dims": (100,) * 4, "weight_scale": deep[0], "learning_rate": deep[1]},
    }


EXPERIMENTS: dict[str, Experiment] = {
    "overfit": Experiment(
        overfit,
        "3- and 5-layer nets memorise 50 training examples",
        {
            "digits": {
                "num_training": 50,
                "epochs": 20,
                "batch_size": 25,
                "update_rule": "sgd",
                "nets": _overfit_nets((3e-1, 1e-1), (3e-1, 5e-2)),
            },
            "cifar10": {
                "num_training": 50,
                "epochs": 20,
                "batch_size": 25,
                "update_rule": "sgd",
                "nets": _overfit_nets((3e-2, 2e-3), (1e-1, 1e-3)),
            },
        },
    ),
    "update-rules": Experiment(
        update_rules,
        "SGD, momentum, RMSProp and Adam on the same net",
        {
            "digits": {
                "num_training": 1000,
                "epochs": 5,
                "batch_size": 100,
                "hidden_dims": (100,) * 5,
                # 8x8 digits in [0, 1] are far smaller inputs than CIFAR pixels in [0, 255].
                "weight_scale": 1e-1,
                "rules": {"sgd": 1e-1, "sgd_momentum": 1e-1, "rmsprop": 1e-3, "adam": 1e-3},
            },
            "cifar10": {
                "num_training": 4000,
                "epochs": 5,
                "batch_size": 100,
                "hidden_dims": (100,) * 5,
                "weight_scale": 5e-2,
                "rules": {"sgd": 1e-2, "sgd_momentum": 1e-2, "rmsprop": 1e-4, "adam": 1e-3},
            },
        },
    ),
    "batchnorm-weight-scale": Experiment(
        batchnorm_weight_scale,
        "batch norm vs none across log-spaced weight scales",
        {
            dataset: {
                "num_training": 1000,
                "epochs": 10 if dataset == "cifar10" else 5,
                "batch_size": 50,
                "hidden_dims": (50,) * 7,
                "update_rule": "adam",
                "learning_rate": 1e-3,
                "weight_scales": {
                    "low": -4.0,
                    "high": 0.0,
                    "num": 20 if dataset == "cifar10" else 9,
                },
            }
            for dataset in DATASETS
        },
    ),
    "norm-batch-size": Experiment(
        norm_batch_size,
        "batch norm vs layer norm vs none across batch sizes",
        {
            dataset: {
                "num_training": 1000,
                "epochs": 10 if dataset == "cifar10" else 5,
                "batch_sizes": (5, 10, 50),
                "normalizations": ("none", "batchnorm", "layernorm"),
                "hidden_dims": (100,) * 5,
                "weight_scale": 2e-2 if dataset == "cifar10" else 1e-1,
                "update_rule": "adam",
                "learning_rate": 1e-3,
            }
            for dataset in DATASETS
        },
    ),
    "dropout": Experiment(
        dropout,
        "dropout probabilities: train vs validation accuracy",
        {
            "digits": {
                "num_training": 200,
                "epochs": 25,
                "batch_size": 25,
                "drop_probabilities": (0.0, 0.5, 0.75),
                "hidden_dims": (500,),
                "weight_scale": 1e-2,
                "update_rule": "adam",
                "learning_rate": 2e-3,
            },
            "cifar10": {
                "num_training": 500,
                "epochs": 25,
                "batch_size": 100,
                "drop_probabilities": (0.0, 0.75),
                "hidden_dims": (500,),
                "weight_scale": 1e-2,
                "update_rule": "adam",
                "learning_rate": 5e-4,
            },
        },
    ),
    "augmentations": Experiment(
        augmentations,
        "a picture grid of what each --augment augmentation does",
        {dataset: {"num_images": 6, "augmentations": AUGMENTATIONS} for dataset in DATASETS},
    ),
    "filters": Experiment(
        filters,
        "hand-made kernels (edges, blur, sharpen) on photos; --run: a run's learned filters",
        {
            dataset: {
                "num_images": 2 if dataset == "digits" else 3,
                "photo_downscale": 4,
                "kernels": KERNEL_NAMES,
                "run": None,
                "num_run_images": 4,
                "num_maps": 8,
            }
            for dataset in DATASETS
        },
    ),
    "init": Experiment(
        initialisation,
        "activations and gradients of a deep net under each initialisation",
        {
            dataset: {
                "batch_size": 1000,
                "input_dim": 500,
                "hidden_dims": (500,) * 10,
                "nonlinearities": ("tanh", "relu"),
                "schemes": ("gaussian", "lecun", "xavier", "kaiming"),
                "weight_scale": 1e-2,
            }
            for dataset in DATASETS
        },
    ),
    "lr-range": Experiment(
        lr_range,
        "learning-rate range test: loss against an exponentially rising rate",
        {
            "digits": {
                "num_training": 1000,
                "batch_size": 50,
                "hidden_dims": (100,),
                "weight_init": "kaiming",
                "update_rule": "sgd",
                "min_lr": 1e-4,
                "max_lr": 10.0,
                "num_steps": 300,
                "beta": 0.9,
                "explode_factor": 4.0,
            },
            "cifar10": {
                "num_training": 4000,
                "batch_size": 100,
                "hidden_dims": (100,),
                "weight_init": "kaiming",
                "update_rule": "sgd",
                # Pixels in [0, 255] need far smaller rates than the digits' [0, 1].
                "min_lr": 1e-8,
                "max_lr": 1e-1,
                "num_steps": 300,
                "beta": 0.9,
                "explode_factor": 4.0,
            },
        },
    ),
    "lbfgs": Experiment(
        lbfgs_comparison,
        "L-BFGS vs full-batch GD, SGD and Adam: training loss against time",
        {
            # Softmax and logistic regression are small convex problems on the 8x8 digits;
            # on CIFAR-10 pixels they would say nothing the digits do not.
            "digits": {
                "num_training": 1257,
                "epochs": 50,
                "batch_size": 50,
                "learning_rates": {"gd": 1.0, "sgd": 0.1, "adam": 1e-2},
                "lbfgs_iterations": 100,
                "reg": 1e-3,
                "weight_scale": 1e-2,
                "positive_class": 8,
            },
        },
    ),
}


def experiment_settings(
    name: str,
    dataset: str = "digits",
    num_training: int | None = None,
    epochs: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings experiment `name` runs with on `dataset`, after the given overrides.

    name: a key of EXPERIMENTS; dataset: "digits" or "cifar10".
    num_training, epochs: replace the tuned values when given (both must be >= 1); an error
        for an experiment without that setting.
    overrides: further keys replacing the tuned ones (for example smaller "hidden_dims");
        keys the experiment does not use are an error.
    returns a new dict (the tuned defaults are never modified).
    """
    if name not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)} "
            "(see `tinyvision experiment --help`)"
        )
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if dataset not in EXPERIMENTS[name].settings:
        raise ValueError(
            f"experiment {name!r} runs on {', '.join(EXPERIMENTS[name].settings)} only, "
            f"not {dataset!r}; leave out --dataset"
        )
    settings = copy.deepcopy(dict(EXPERIMENTS[name].settings[dataset]))
    unknown = sorted(set(overrides or {}) - set(settings))
    if unknown:
        raise ValueError(
            f"experiment {name!r} has no settings {unknown}; it uses {sorted(settings)}"
        )
    settings.update(copy.deepcopy(dict(overrides or {})))
    for key, value in (("num_training", num_training), ("epochs", epochs)):
        if key not in settings:
            if value is not None:
                raise ValueError(
                    f"experiment {name!r} has no {key} setting (it uses {sorted(settings)}); "
                    f"leave out --{key.replace('_', '-')}"
                )
            continue
        if value is not None:
            settings[key] = value
        if (
            isinstance(settings[key], bool)
            or not isinstance(settings[key], int)
            or settings[key] < 1
        ):
            raise ValueError(f"{key} must be an integer >= 1, got {settings[key]!r}")
    return settings


def run_experiment(
    name: str,
    dataset: str = "digits",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    seed: int = 0,
    num_training: int | None = None,
    epochs: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ExperimentResult:
    """Run experiment `name` on `dataset` and write its run folder.

    name: a key of EXPERIMENTS; dataset: "digits" or "cifar10".
    data_dir: for cifar10, the folder holding cifar-10-batches-py (None: the default folder).
    out: the run folder (None: runs/experiment-<name>-<dataset>-<time>).
    seed: seeds every net's initialisation, minibatches and dropout masks.
    num_training, epochs, overrides: as for experiment_settings.
    returns an ExperimentResult; the folder holds the plots and results.json with keys
        experiment, dataset, seed, settings, seconds, rows and results.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    settings = experiment_settings(name, dataset, num_training, epochs, overrides)
    start = time.perf_counter()
    data = {}
    if "num_training" in settings:
        data = load_experiment_data(dataset, settings["num_training"], data_dir)
    elif "num_images" in settings:
        data = load_experiment_images(dataset, settings["num_images"], data_dir)
    with runs.claim_run_dir(out, f"experiment-{name}-{dataset}") as run_dir:
        output = EXPERIMENTS[name].function(data, run_dir, settings, seed)
        seconds = round(time.perf_counter() - start, 3)
        runs.write_run_folder(
            run_dir,
            config={"experiment": name, "dataset": dataset, "seed": seed, **settings},
            metrics={
                "experiment": name,
                "dataset": dataset,
                "seed": seed,
                "settings": settings,
                "seconds": seconds,
                "rows": output.rows,
                "results": output.results,
            },
            metrics_name="results.json",
        )
    return ExperimentResult(
        name=name,
        dataset=dataset,
        run_dir=run_dir,
        settings=settings,
        results=output.results,
        rows=output.rows,
        plots=output.plots,
        seconds=seconds,
    )
