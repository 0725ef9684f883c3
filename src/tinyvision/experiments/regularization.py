"""Experiments on regularisation: dropout probabilities on a net that overfits a small training
set (the comparison of the course's Dropout notebook), and a picture of the augmentations.
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

__all__ = ["augmentations", "dropout"]


def dropout(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train the same net with each dropout probability of settings; compare train and val.

    With few training examples the net without dropout memorises them (train accuracy near 1)
    while validation accuracy stalls; dropout narrows that gap.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for dropout.png (train and val accuracy per epoch).
    settings: "drop_probabilities" (probabilities of dropping a unit, 0 = no dropout),
        "hidden_dims", "weight_scale", "update_rule", "learning_rate", "epochs", "batch_size".
    seed: seed of every run (the same initialisation and batches for every ratio).
    returns ExperimentOutput with results {str(drop probability): curves} and one table row per
        ratio, including the final gap between train and val accuracy.
    """
    results: dict[str, Any] = {}
    rows = []
    figure, (train_ax, val_ax) = new_figure(ncols=2)
    for drop in settings["drop_probabilities"]:
        run = train_net(
            data,
            settings["hidden_dims"],
            update_rule=settings["update_rule"],
            learning_rate=settings["learning_rate"],
            weight_scale=settings["weight_scale"],
            dropout=drop,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            seed=seed,
        )
        results[str(drop)] = run
        final_train = run["train_acc_history"][-1] if run["train_acc_history"] else 0.0
        final_val = run["val_acc_history"][-1] if run["val_acc_history"] else 0.0
        rows.append(
            {
                "dropout": drop,
                "final_train_acc": final_train,
                "final_val_acc": final_val,
                "gap": final_train - final_val,
                "best_val_acc": run["best_val_acc"],
            }
        )
        label = f"dropout {drop:g}"
        train_ax.plot(run["acc_epochs"], run["train_acc_history"], marker="o", ms=3, label=label)
        val_ax.plot(run["acc_epochs"], run["val_acc_history"], marker="o", ms=3, label=label)
    for ax, title in ((train_ax, "Training accuracy"), (val_ax, "Validation accuracy")):
        ax.set_title(title)
        finish_axes(ax, "epoch", "accuracy")
    return ExperimentOutput(results, rows, [save_figure(figure, out_dir / "dropout.png")])


def augmentations(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Draw what each augmentation of --augment does to a few training images.

    data: "images" (N, C, H, W) raw training images, as from load_experiment_images.
    out_dir: folder for augmentations.png.
    settings: "num_images" (rows of the grid) and "augmentations" (its columns).
    seed: seed of the augmentations' Generator.
    returns ExperimentOutput with one table row per augmentation: the mean absolute change it
        made to the pixels, relative to the images' value range.
    """
    from tinyvision.augmentation_plots import augmentation_columns, plot_augmentations

    images = data["images"]
    names = tuple(settings["augmentations"])
    value_range = float(images.max() - images.min()) or 1.0
    columns = augmentation_columns(images, names, seed)
    rows = [
        {
            "augmentation": name,
            "mean_abs_change": float(np.mean(np.abs(columns[name] - images)) / value_range),
        }
        for name in names
    ]
    png = plot_augmentations(images, out_dir / "augmentations.png", names, seed)
    return ExperimentOutput(
        {"mean_abs_change": {r["augmentation"]: r["mean_abs_change"] for r in rows}}, rows, [png]
    )
