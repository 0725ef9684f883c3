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

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.files import clean_stale_temp_files, load_arrays, load_json, save_arrays, write_json

__all__ = [
    "is_primary_process",
    "claim_run_dir",
    "load_arrays",
    "load_json",
    "new_run_dir",
    "plot_history",
    "save_arrays",
    "write_json",
    "write_run_folder",
]


def is_primary_process() -> bool:
    """False in the second and later processes of a distributed run (Lightning's DDP, torchrun).

    Those processes train along with the first but leave its run folder to it: the launchers
    mark them with a non-zero RANK, LOCAL_RANK or NODE_RANK in the environment.
    """
    return all(
        int(os.environ.get(name, "0") or 0) == 0 for name in ("RANK", "LOCAL_RANK", "NODE_RANK")
    )


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


LOCK_NAME = ".lock"
# Files that make a folder a tinyvision run folder (written by train, tune, caption, experiment).
RUN_MARKERS = ("config.json", "metrics.json", "results.json", "model.npz", "checkpoint.npz")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _acquire_lock(folder: Path) -> Path:
    """Create folder/.lock holding our pid, atomically; a lock of a dead process is taken over."""
    lock = folder / LOCK_NAME
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            text = lock.read_text().strip() if lock.exists() else ""
            owner = int(text) if text.isdigit() else None
            if owner is not None and _process_alive(owner):
                raise ValueError(
                    f"another run (process {owner}) is writing into {folder}; wait for it to "
                    "finish or choose another --out"
                ) from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(os.getpid()))
        return lock
    raise ValueError(f"could not lock {folder}: another run keeps claiming it; try again")


def _empty(folder: Path) -> None:
    """Remove everything in folder but its lock."""
    for entry in folder.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextlib.contextmanager
def claim_run_dir(
    out: str | os.PathLike | None,
    name: str,
    *,
    overwrite: bool = False,
    resume: bool = False,
    root: str | os.PathLike = "runs",
) -> Iterator[Path]:
    """The run folder, locked against other runs for as long as the block runs.

    out: the folder (None: a new runs/<name>-<timestamp>); an empty string is an error
    overwrite: empty a folder that holds a finished or stopped run first (no stale files of
        another model are left); a non-empty folder that is not a run folder is never emptied
    resume: continue the run in the folder (its files are kept)
    raises ValueError when another live run holds the folder, or the folder holds a run and
        neither overwrite nor resume is set
    """
    if out is not None and not str(out).strip():
        raise ValueError("--out must name a folder, got an empty string")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; choose a folder")
    folder = new_run_dir(out, name, root)
    lock = _acquire_lock(folder)
    try:
        existing = sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)
        is_run = any(marker in existing for marker in RUN_MARKERS)
        if existing and not resume:
            if not is_run:
                raise ValueError(
                    f"{folder} is not empty ({', '.join(existing[:5])}) and is not a run "
                    "folder; choose another --out"
                )
            if not overwrite:
                hint = (
                    f", or --resume {folder} to continue it" if "checkpoint.npz" in existing else ""
                )
                raise ValueError(
                    f"{folder} already holds a run; pass --overwrite to empty it and train "
                    f"again{hint}"
                )
            _empty(folder)
        # Temp files of writers killed mid-write in an earlier run into this folder.
        clean_stale_temp_files(folder)
        yield folder
    finally:
        lock.unlink(missing_ok=True)


def plot_history(history: Mapping[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """Draw loss.png (loss per iteration) and accuracy.png (accuracy per epoch) into out_dir.

    history: may hold "loss_history" (per iteration), "train_acc_history" and
             "val_acc_history" (per epoch, at the epochs "acc_epochs" when given, else 0, 1,
             ...); missing or empty curves are left out. A loss spanning more than two
             decades is drawn on a log axis.
    returns the paths written
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tinyvision.vis_utils import spans_decades

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
        if spans_decades(losses):  # an early spike would flatten the rest on a linear axis
            axes.set_yscale("log")
            axes.set_ylabel("training loss (log scale)")
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
                epochs = history.get("acc_epochs") or np.arange(len(curve))
                axes.plot(epochs, curve, marker="o", markersize=3, label=label)
        axes.set_xlabel("epoch")
        axes.set_ylabel("accuracy")
        axes.set_title("Accuracy per epoch")
        # Below the plot, where it covers no curve.
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
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
