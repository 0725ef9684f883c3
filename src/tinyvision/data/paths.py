"""Where tinyvision keeps downloaded data sets."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CIFAR10_FOLDER", "DATA_DIR_ENV", "cifar10_root", "default_data_dir"]

DATA_DIR_ENV = "TINYVISION_DATA_DIR"
CIFAR10_FOLDER = "cifar-10-batches-py"


def default_data_dir() -> Path:
    """Return the data directory: $TINYVISION_DATA_DIR when set, else ~/.cache/tinyvision.

    Returns:
        Path: the directory (not created here; downloaders create it when they need it).
    """
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tinyvision"


def cifar10_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the CIFAR-10 folder `<data_dir>/cifar-10-batches-py`.

    Args:
        data_dir: directory holding the extracted archive; None means `default_data_dir()`.

    Returns:
        Path: the folder that holds data_batch_1..5, test_batch and batches.meta.
    """
    base = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    return base / CIFAR10_FOLDER
