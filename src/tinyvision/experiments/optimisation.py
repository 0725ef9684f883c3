"""Experiments on optimisation: overfitting a tiny training set, and comparing update rules.

These are the sanity checks and the comparison of the course's FullyConnectedNets notebook.
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

__all__ = ["overfit", "update_rules"]


def overfit(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train each net of settings["nets"] on the whole (tiny) training set until it is memorised.

    A net that cannot reach 100% training accuracy on about 50 examples has a bug or a bad
    initialisation scale; the loss curves show how quickly each depth gets there.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for overfit_loss.png.
    settings: "nets" {label: {"hidden_dims", "weight_scale", "learning_rate"}}, "update_rule",
        "epochs", "batch_size".
    seed: seed of every run.
    returns ExperimentOutput with results {label: curves and final accuracies} and one table row
        per net (final train accuracy is measured after the last update).
    """
    results: dict[str, Any] = {}
    rows = []
    figure, (axes,) = new_figure(size=(6.0, 4.0))
    for label, net in settings["nets"].items():
        run = train_net(
            data,
            net["hidden_dims"],
            update_rule=settings["update_rule"],
            learning_rate=net["learning_rate"],
            weight_scale=net["weight_scale"],
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            seed=seed,
        )
        run["final_train_acc"] = run["train_acc_history"][-1] if run["train_acc_history"] else 0.0
        results[label] = run
        rows.append(
            {
                "net": label,
                "hidden_dims": "x".join(str(h) for h in net["hidden_dims"]),
                "weight_scale": net["weight_scale"],
                "learning_rate": net["learning_rate"],
                "final_train_acc": run["final_train_acc"],
                "final_val_acc": run["val_acc_history"][-1] if run["val_acc_history"] else 0.0,
                "final_loss": run["final_loss"],
            }
        )
        axes.plot(np.arange(1, len(run["loss_history"]) + 1), run["loss_history"], label=label)
    axes.set_title(f"Overfitting {len(data['y_train'])} training examples")
    finish_axes(axes, "iteration", "training loss", log_if_decades=True)
    return ExperimentOutput(results, rows, [save_figure(figure, out_dir / "overfit_loss.png")])


def update_rules(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train the same net from the same initialisation with each update rule of settings.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for update_rules.png (loss, train and val accuracy side by side).
    settings: "rules" {update rule name: learning rate}, "hidden_dims", "weight_scale",
        "epochs", "batch_size".
    seed: seed of every run, so all rules start from the same weights and see the same batches.
    returns ExperimentOutput with results {rule: curves} and one table row per rule.
    """
    results: dict[str, Any] = {}
    rows = []
    figure, (loss_ax, train_ax, val_ax) = new_figure(ncols=3)
    for rule, learning_rate in settings["rules"].items():
        run = train_net(
            data,
            settings["hidden_dims"],
            update_rule=rule,
            learning_rate=learning_rate,
            weight_scale=settings["weight_scale"],
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            seed=seed,
        )
        results[rule] = run
        rows.append(
            {
                "update_rule": rule,
                "learning_rate": learning_rate,
                "final_loss": run["final_loss"],
                "best_train_acc": run["best_train_acc"],
                "best_val_acc": run["best_val_acc"],
            }
        )
        loss_ax.plot(run["loss_history"], linewidth=0.6, alpha=0.8, label=rule)
        train_ax.plot(run["acc_epochs"], run["train_acc_history"], marker="o", ms=3, label=rule)
        val_ax.plot(run["acc_epochs"], run["val_acc_history"], marker="o", ms=3, label=rule)
    for axes, title, xlabel, ylabel in (
        (loss_ax, "Training loss", "iteration", "training loss"),
        (train_ax, "Training accuracy", "epoch", "accuracy"),
        (val_ax, "Validation accuracy", "epoch", "accuracy"),
    ):
        axes.set_title(title)
        finish_axes(axes, xlabel, ylabel, log_if_decades=axes is loss_ax)
    return ExperimentOutput(results, rows, [save_figure(figure, out_dir / "update_rules.png")])
