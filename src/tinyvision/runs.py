"""Run folders: where a training run leaves its configuration, metrics, history, model and plots.

A run folder holds
    config.json    the resolved configuration (with its config_version)
    metrics.json   the scores (train/val/test accuracy, or exact match and BLEU), seconds,
                   model, dataset; an experiment writes results.json instead
    history.json   loss per iteration, accuracies per epoch
    model.npz      the model's state_dict() as model/<name> and the preprocessing statistics
                   as prep/<name> (never pickle)
    loss.png, accuracy.png
`write_run_folder` writes them for every kind of run (train, tune, caption, experiment).
Every file is written atomically (tinyvision.files), so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.files import load_arrays, load_json, save_arrays, write_json

__all__ = [
    "load_arrays",
    "load_json",
    "new_run_dir",
    "plot_history",
    "save_arrays",
    "write_json",
    "write_run_folder",
]


def new_run_dir(out: str | os.PathLike | None, name: str, root: str | os.PathLike = "runs") -> Path:
    """Create the run folder: `out` when given, else runs/<name>-<timestamp>."""
    if out is not None:
        path = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(root) / f"{name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path(root) / f"{name}-{stamp}-{suffix}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def plot_history(history: Mapping[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """Draw loss.png (loss per iteration) and accuracy.png (accuracy per epoch) into out_dir.

    history: may hold "loss_history" (per iteration), "train_acc_history" and
             "val_acc_history" (per epoch); missing or empty curves are left out.
    returns the paths written
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    written = []
    losses = history.get("loss_history") or []
    if losses:
        figure = Figure(figsize=(6, 4))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.plot(np.arange(1, len(losses) + 1), losses, linewidth=0.8)
        axes.set_xlabel("iteration")
        axes.set_ylabel("training loss")
        axes.set_title("Training loss")
        figure.tight_layout()
        figure.savefig(out_dir / "loss.png", dpi=100)
        written.append(out_dir / "loss.png")
    train_acc = history.get("train_acc_history") or []
    val_acc = history.get("val_acc_history") or []
    if train_acc or val_acc:
        figure = Figure(figsize=(6, 4))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for label, curve in (("train", train_acc), ("val", val_acc)):
            if curve:
                axes.plot(np.arange(len(curve)), curve, marker="o", label=label)
        axes.set_xlabel("epoch")
        axes.set_ylabel("accuracy")
        axes.set_title("Classification accuracy")
        axes.legend()
        figure.tight_layout()
        figure.savefig(out_dir / "accuracy.png", dpi=100)
        written.append(out_dir / "accuracy.png")
    return written


def write_run_folder(
    run_dir: Path,
    *,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    history: Mapping[str, Any] | None = None,
    state: Mapping[str, np.ndarray] | None = None,
    prep: Mapping[str, np.ndarray] | None = None,
    metrics_name: str = "metrics.json",
) -> Path:
    """Write a finished run: config, history (with its plots), model arrays, then the metrics.

    run_dir: the folder (from new_run_dir)
    config: the resolved settings, as config.json
    metrics: the scores, written last so that a folder with metrics is complete
    history: the training curves (history.json, loss.png, accuracy.png), if any
    state: the model's state_dict(), saved in model.npz as model/<name>
    prep: preprocessing statistics, saved in model.npz as prep/<name>
    metrics_name: the metrics file's name (experiments write results.json)
    returns run_dir
    """
    write_json(run_dir / "config.json", config)
    if history is not None:
        write_json(run_dir / "history.json", history)
        plot_history(history, run_dir)
    if state is not None:
        arrays = {f"model/{name}": np.asarray(value) for name, value in state.items()}
        arrays.update({f"prep/{name}": np.asarray(value) for name, value in (prep or {}).items()})
        save_arrays(run_dir / "model.npz", arrays)
    write_json(run_dir / metrics_name, metrics)
    return run_dir
