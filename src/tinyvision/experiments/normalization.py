"""Experiments on normalisation: sensitivity to the initial weight scale, and to the batch size.

These reproduce the comparisons of the course's BatchNormalization notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.experiments.common import (
    ExperimentOutput,
    finish_axes,
    new_figure,
    save_figure,
    train_net,
)

__all__ = ["batchnorm_weight_scale", "norm_batch_size"]

_LABELS = {None: "baseline", "batchnorm": "batchnorm", "layernorm": "layernorm"}


def batchnorm_weight_scale(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train a deep net with and without batch norm for each of log-spaced weight scales.

    Without batch norm a deep net learns only in a narrow band of initial scales (activations
    vanish below it and explode above it); with batch norm it learns across the whole range.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for batchnorm_weight_scale.png.
    settings: "weight_scales" {"low", "high", "num"} (exponents of ten: scales from 10**low to
        10**high), "hidden_dims", "update_rule", "learning_rate", "epochs", "batch_size".
    seed: seed of every run.
    returns ExperimentOutput with results {"weight_scales": [...], "baseline"/"batchnorm":
        {"best_val_acc", "best_train_acc", "final_loss", "diverged": lists, one per scale}}
        and one table row per weight scale.
    """
    spec = settings["weight_scales"]
    scales = [float(s) for s in np.logspace(spec["low"], spec["high"], spec["num"])]
    metrics = ("best_val_acc", "best_train_acc", "final_loss", "diverged")
    results: dict[str, Any] = {"weight_scales": scales}
    for normalization in (None, "batchnorm"):
        curves: dict[str, list[Any]] = {name: [] for name in metrics}
        for scale in scales:
            run = train_net(
                data,
                settings["hidden_dims"],
                update_rule=settings["update_rule"],
                learning_rate=settings["learning_rate"],
                weight_scale=scale,
                normalization=normalization,
                epochs=settings["epochs"],
                batch_size=settings["batch_size"],
                seed=seed,
            )
            for name in metrics:
                curves[name].append(run[name])
        results[_LABELS[normalization]] = curves
    rows = [
        {
            "weight_scale": scale,
            "baseline_val": results["baseline"]["best_val_acc"][i],
            "batchnorm_val": results["batchnorm"]["best_val_acc"][i],
            "baseline_train": results["baseline"]["best_train_acc"][i],
            "batchnorm_train": results["batchnorm"]["best_train_acc"][i],
            "baseline_loss": results["baseline"]["final_loss"][i],
            "batchnorm_loss": results["batchnorm"]["final_loss"][i],
        }
        for i, scale in enumerate(scales)
    ]
    figure, axes = new_figure(ncols=3)
    for ax, metric, title, ylabel in zip(
        axes,
        ("best_val_acc", "best_train_acc", "final_loss"),
        ("Best validation accuracy", "Best training accuracy", "Final training loss"),
        ("accuracy", "accuracy", "training loss"),
        strict=True,
    ):
        for label in ("baseline", "batchnorm"):
            ax.semilogx(scales, results[label][metric], marker="o", label=label)
        ax.set_title(f"{title} vs weight scale")
        # A badly scaled net's loss explodes by orders of magnitude.
        finish_axes(ax, "weight initialisation scale (log)", ylabel, log_if_decades=True)
    path = save_figure(figure, out_dir / "batchnorm_weight_scale.png")
    return ExperimentOutput(results, rows, [path])


def norm_batch_size(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train with batch norm, layer norm and no normalisation for each batch size of settings.

    Batch norm estimates its statistics from the minibatch, so it degrades at small batch
    sizes; layer norm normalises each example on its own and does not depend on the batch.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for norm_batch_size.png (train and val accuracy per epoch).
    settings: "batch_sizes", "normalizations" (names, "none" for the baseline), "hidden_dims",
        "weight_scale", "update_rule", "learning_rate", "epochs".
    seed: seed of every run.
    returns ExperimentOutput with results {normalization: {str(batch size): curves}} and one
        table row per (normalization, batch size).
    """
    results: dict[str, Any] = {}
    rows = []
    figure, (train_ax, val_ax) = new_figure(ncols=2, size=(6.0, 4.5))
    styles = {"none": ":", "batchnorm": "-", "layernorm": "--"}
    colours = [f"C{i}" for i in range(len(settings["batch_sizes"]))]
    for name in settings["normalizations"]:
        results[name] = {}
        for colour, batch_size in zip(colours, settings["batch_sizes"], strict=True):
            run = train_net(
                data,
                settings["hidden_dims"],
                update_rule=settings["update_rule"],
                learning_rate=settings["learning_rate"],
                weight_scale=settings["weight_scale"],
                normalization=None if name == "none" else name,
                epochs=settings["epochs"],
                batch_size=batch_size,
                seed=seed,
            )
            results[name][str(batch_size)] = run
            rows.append(
                {
                    "normalization": name,
                    "batch_size": batch_size,
                    "best_train_acc": run["best_train_acc"],
                    "best_val_acc": run["best_val_acc"],
                    "final_val_acc": run["val_acc_history"][-1] if run["val_acc_history"] else 0,
                }
            )
            label = f"{name}, batch {batch_size}"
            for ax, curve in ((train_ax, "train_acc_history"), (val_ax, "val_acc_history")):
                ax.plot(
                    run["acc_epochs"], run[curve], styles.get(name, "-"), color=colour, label=label
                )
    for ax, title in ((train_ax, "Training accuracy"), (val_ax, "Validation accuracy")):
        ax.set_title(title)
        finish_axes(ax, "epoch", "accuracy")
    return ExperimentOutput(results, rows, [save_figure(figure, out_dir / "norm_batch_size.png")])
