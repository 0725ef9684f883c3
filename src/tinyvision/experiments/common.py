"""What every experiment shares: its data, one training run of a FullyConnectedNet, and figures.

The experiments train on flattened, mean-centred images, as the course notebooks do: the
embedded 8x8 digits (pixels in [0, 1]) or a small CIFAR-10 subset (pixels in [0, 255]).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DATASETS",
    "ExperimentOutput",
    "build_net",
    "load_experiment_data",
    "load_experiment_images",
    "finish_axes",
    "new_figure",
    "save_figure",
    "train_net",
]

logger = logging.getLogger(__name__)

DATASETS = ("digits", "cifar10")

# Digits are tiny, so float64 costs nothing; CIFAR-10 subsets train twice as fast in float32.
_DTYPES = {"digits": np.float64, "cifar10": np.float32}


@dataclass
class ExperimentOutput:
    """What one experiment function returns.

    results: JSON-serialisable measurements (curves and summary numbers).
    rows: the summary table, one dict per line, the same keys in every row.
    plots: paths of the PNG files written.
    """

    results: dict[str, Any]
    rows: list[dict[str, Any]]
    plots: list[Path] = field(default_factory=list)


def load_experiment_data(
    dataset: str,
    num_training: int,
    data_dir: str | os.PathLike[str] | None = None,
) -> dict[str, np.ndarray]:
    """Training and validation images as flat, mean-centred rows.

    dataset: "digits" (float64) or "cifar10" (float32).
    num_training: number of training images, taken from the start of the training split.
    data_dir: for cifar10, the folder holding cifar-10-batches-py (None: the default folder).
    returns {"X_train": (num_training, D), "y_train": (num_training,) int64, "X_val": (M, D),
        "y_val": (M,) int64}; D is 64 for digits and 3072 for cifar10, M is 270 or 1000.
    """
    from tinyvision import data_utils
    from tinyvision.data.paths import cifar10_root

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if isinstance(num_training, bool) or not isinstance(num_training, (int, np.integer)):
        raise ValueError(f"num_training must be an integer, got {num_training!r}")
    dtype = _DTYPES[dataset]
    if dataset == "digits":
        data = data_utils.load_digits_data(dtype=dtype)
        available = len(data["y_train"])
    else:
        available = 49000
    if not 1 <= num_training <= available:
        raise ValueError(
            f"num_training must be between 1 and {available} for {dataset}, got {num_training}"
        )
    if dataset == "cifar10":
        data = data_utils.get_CIFAR10_data(
            num_training=num_training,
            num_validation=1000,
            num_test=0,
            subtract_mean=False,
            cifar10_dir=cifar10_root(data_dir),
            dtype=dtype,
        )
    X_train = data["X_train"][:num_training].reshape(num_training, -1)
    X_val = data["X_val"].reshape(len(data["X_val"]), -1)
    mean = X_train.mean(axis=0)
    return {
        "X_train": X_train - mean,
        "y_train": data["y_train"][:num_training],
        "X_val": X_val - mean,
        "y_val": data["y_val"],
    }


def build_net(
    data: Mapping[str, np.ndarray],
    hidden_dims: Sequence[int],
    *,
    update_rule: str,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    weight_scale: float = 1e-2,
    weight_init: str = "gaussian",
    normalization: str | None = None,
    dropout: float = 0.0,
    reg: float = 0.0,
    lr_decay: float = 1.0,
    seed: int = 0,
    dataset: str = "digits",
) -> tuple[Any, Any, Any, Any]:
    """A fully-connected net (the registered "fc" model) and what its task's Solver needs.

    Arguments as for train_net. returns (spec, config, prepared, model): the model's
    registration, its resolved TrainConfig, data as the classification task's Prepared, and
    the built net; ``spec.task.solver(model, config, prepared, **solver_kwargs)`` trains it.
    """
    from tinyvision import registry
    from tinyvision.classification import Prepared
    from tinyvision.config import TrainConfig, resolve_config

    config = resolve_config(
        TrainConfig(
            model="fc",
            dataset=dataset,
            hidden_dims=tuple(hidden_dims),
            update_rule=update_rule,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            weight_scale=weight_scale,
            weight_init=weight_init,
            normalization=normalization or "none",
            dropout=dropout,
            reg=reg,
            lr_decay=lr_decay,
            schedule="step",
            dtype=str(data["X_train"].dtype),
            seed=seed,
        )
    )
    spec = registry.get(config.model)
    prepared = Prepared(
        data={name: data[name] for name in ("y_train", "y_val")},
        prep={},
        X={"train": data["X_train"], "val": data["X_val"]},
    )
    model = spec.build(config, prepared)
    return spec, config, prepared, model


def train_net(
    data: Mapping[str, np.ndarray],
    hidden_dims: Sequence[int],
    *,
    update_rule: str,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    weight_scale: float = 1e-2,
    weight_init: str = "gaussian",
    normalization: str | None = None,
    dropout: float = 0.0,
    reg: float = 0.0,
    lr_decay: float = 1.0,
    seed: int = 0,
    dataset: str = "digits",
) -> dict[str, Any]:
    """Train one fully-connected net (the registered "fc" model) with the Solver; its curves.

    data: X_train (N, D), y_train (N,) int, X_val (M, D), y_val (M,) int, as from
        load_experiment_data; the net takes the dtype of X_train.
    hidden_dims: sizes of the hidden layers.
    update_rule, learning_rate, epochs, batch_size, lr_decay: the Solver's settings.
    weight_scale, weight_init, normalization, dropout (drop probability), reg: the net's
        settings; dataset: the data set data came from (its tuned defaults fill the rest).
    seed: seeds the initialisation, the minibatches and the dropout masks.
    returns {"loss_history": per update, "train_acc_history" and "val_acc_history": per check
        (after update 1, then one per epoch), "acc_epochs": when each check ran, in (possibly
        fractional) epochs, "best_val_acc", "best_train_acc",
        "final_loss": mean loss of the last epoch, "diverged": bool}; a diverged run keeps the
        curves up to the failure.
    """
    spec, config, prepared, model = build_net(
        data,
        hidden_dims,
        update_rule=update_rule,
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        weight_scale=weight_scale,
        weight_init=weight_init,
        normalization=normalization,
        dropout=dropout,
        reg=reg,
        lr_decay=lr_decay,
        seed=seed,
        dataset=dataset,
    )
    from tinyvision.solver import TrainingDivergedError

    solver = spec.task.solver(model, config, prepared, verbose=False, progress=False)
    diverged = False
    try:
        solver.train()
    except TrainingDivergedError as error:
        logger.info("run diverged: %s", error)
        diverged = True
    losses = solver.loss_history
    last_epoch = losses[-solver.iterations_per_epoch :] if losses else [float("nan")]
    return {
        "loss_history": list(losses),
        "train_acc_history": list(solver.train_acc_history),
        "val_acc_history": list(solver.val_acc_history),
        "acc_epochs": [it / solver.iterations_per_epoch for it in solver.acc_iterations],
        "best_val_acc": max(solver.val_acc_history, default=0.0),
        "best_train_acc": max(solver.train_acc_history, default=0.0),
        "final_loss": float(np.mean(last_epoch)),
        "diverged": diverged,
    }


def load_experiment_images(
    dataset: str, num_images: int, data_dir: str | os.PathLike[str] | None = None
) -> dict[str, np.ndarray]:
    """The first training images, raw: {"images": (num_images, C, H, W)} in [0, 1] (digits)
    or [0, 255] (cifar10), for experiments that show pictures."""
    from tinyvision import data_utils
    from tinyvision.data.paths import cifar10_root

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if dataset == "digits":
        images = data_utils.load_digits_data()["X_train"]
    else:
        images = data_utils.get_CIFAR10_data(
            num_training=num_images,
            num_validation=0,
            num_test=0,
            subtract_mean=False,
            cifar10_dir=cifar10_root(data_dir),
        )["X_train"]
    return {"images": images[:num_images]}


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 4.0)) -> Any:
    """A matplotlib Figure with an Agg canvas and its axes (no global backend is touched).

    ncols, nrows: grid of subplots; size: inches per subplot (width, height).
    returns (figure, axes) with axes a flat list of nrows * ncols Axes
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, [ax for row in axes for ax in row]


def finish_axes(ax: Any, xlabel: str, ylabel: str, log_if_decades: bool = False) -> None:
    """Label both axes and put the legend below the plot, where it covers no curve.

    log_if_decades: use a log y axis when the drawn values span more than two decades (e.g. a
        loss that explodes to 3e4 beside one of 0.5)
    """
    from tinyvision.vis_utils import spans_decades

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_if_decades:
        drawn = [line.get_ydata() for line in ax.get_lines()]
        if drawn and spans_decades(np.concatenate([np.ravel(d) for d in drawn])):
            ax.set_yscale("log")
            ax.set_ylabel(f"{ylabel} (log scale)")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=min(len(handles), 3),
            fontsize="small",
            frameon=False,
        )


def save_figure(figure: Any, path: Path) -> Path:
    """Lay out and write figure as a PNG at path (legends below the axes included); returns
    path."""
    figure.tight_layout()
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path
