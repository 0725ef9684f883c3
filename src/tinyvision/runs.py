"""Run folders: where a training run leaves its configuration, metrics, history, model and plots.

A run folder holds
    config.json    the resolved TrainConfig
    metrics.json   train/val/test accuracy, seconds, model, dataset
    history.json   loss per iteration, accuracies per epoch
    model.npz      the learned arrays (never pickle)
    loss.png, accuracy.png
Every file is written atomically (temp file + rename), so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "load_arrays",
    "load_json",
    "new_run_dir",
    "plot_history",
    "save_arrays",
    "write_json",
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


def _atomic_write(path: Path, write: Any, mode: str) -> None:
    """Write through a temp file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Mapping[str, Any]) -> Path:
    """Write a mapping as indented JSON, atomically; NumPy values become plain numbers."""
    path = Path(path)
    text = json.dumps(_to_jsonable(data), indent=2, sort_keys=True) + "\n"
    _atomic_write(path, lambda handle: handle.write(text), "w")
    return path


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON file written by write_json, with an error that names a missing file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; is this a tinyvision run folder?")
    return json.loads(path.read_text())


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Save named arrays to an .npz file, atomically."""
    path = Path(path)
    _atomic_write(path, lambda handle: np.savez(handle, **arrays), "wb")
    return path


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an .npz file (pickled objects are refused)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; train a model first with `tinyvision train`"
        )
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


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
