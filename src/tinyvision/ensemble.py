"""Model ensembles, as the CS231n notes recommend: average the class probabilities of K runs.

`evaluate_ensemble([RUN1, RUN2, ...])` rebuilds each run folder's classifier
(`pipeline.load_run`), takes its class probabilities on one split (the softmax of its scores;
kNN's vote shares, `prediction.class_probabilities`), averages them with equal weights and
scores the average's argmax next to each member's own accuracy. Runs may differ in anything
but their data: they must be classifiers of the same data set with the same split, which is
checked on the configs and again on the labels loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyvision.errors import DataError

__all__ = ["EnsembleMember", "EnsembleResult", "average_probabilities", "evaluate_ensemble"]


@dataclass(frozen=True)
class EnsembleMember:
    """One run of an ensemble: its folder, model name and its own accuracy on the split."""

    run_dir: Path
    model: str
    accuracy: float


@dataclass(frozen=True)
class EnsembleResult:
    """An ensemble scored on one split.

    probabilities: (N, C) float64, the members' mean class probabilities
    labels: (N,) int64, the split's true labels
    accuracy: the accuracy of argmax(probabilities)
    """

    dataset: str
    split: str
    members: tuple[EnsembleMember, ...]
    probabilities: np.ndarray
    labels: np.ndarray
    accuracy: float


def average_probabilities(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """The equal-weight mean of K members' class probabilities.

    probabilities: K arrays of shape (N, C), each row summing to 1
    returns (N, C) float64
    """
    if not probabilities:
        raise ValueError("an ensemble needs at least one member's probabilities, got none")
    shapes = {np.shape(p) for p in probabilities}
    if len(shapes) != 1:
        raise ValueError(
            f"the members' probabilities must all have one shape (N, C), got {sorted(shapes)}"
        )
    return np.mean(np.stack(probabilities).astype(np.float64), axis=0)


def _check_same_data(run_dirs: Sequence[Path], split: str) -> None:
    """Raise DataError unless every run is a classifier of the same data set and split."""
    from tinyvision.pipeline import read_run_config

    configs = [read_run_config(run_dir) for run_dir in run_dirs]
    first = configs[0]
    for run_dir, config in zip(run_dirs, configs, strict=True):
        if not hasattr(config, "num_test"):
            raise DataError(
                f"{run_dir} is a {config.model} run, not an image classifier: an ensemble "
                "averages class probabilities"
            )
        # The data set and the split's size decide which examples it holds, in what order.
        for field in ("dataset", f"num_{split}"):
            if getattr(config, field) != getattr(first, field):
                raise DataError(
                    f"the runs' data differ: {run_dirs[0]} has {field} = "
                    f"{getattr(first, field)!r}, {run_dir} has {getattr(config, field)!r}; an "
                    f"ensemble scores runs of one data set on the same {split} split"
                )


def evaluate_ensemble(
    run_dirs: Sequence[str | Path],
    split: str = "test",
    data_dir: str | Path | None = None,
    verbose: bool = False,
) -> EnsembleResult:
    """Score the average of several runs' class probabilities on one split.

    run_dirs: two or more run folders of classifiers trained on the same data set and split
    split: "val" or "test"
    data_dir: where the data set lives on this machine (None: each run's own data_dir)
    raises DataError when a folder is not a finished run or the runs' data sets or splits differ
    """
    from tinyvision.pipeline import load_run
    from tinyvision.prediction import class_probabilities

    if split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    paths = [Path(run_dir) for run_dir in run_dirs]
    if len(paths) < 2:
        raise ValueError(f"an ensemble needs two or more run folders, got {len(paths)}")
    _check_same_data(paths, split)
    members, probabilities, labels = [], [], None
    for path in paths:
        loaded = load_run(path, (split,), verbose, data_dir=data_dir)
        y = np.asarray(loaded.prepared.data[f"y_{split}"])
        if labels is None:
            labels = y
        elif not np.array_equal(labels, y):
            raise DataError(
                f"the {split} labels of {path} differ from those of {paths[0]}: the runs were "
                "trained on different splits of the data"
            )
        probs = class_probabilities(loaded, loaded.prepared.X[split])
        if probabilities and probs.shape != probabilities[0].shape:
            raise DataError(
                f"{path} gives {probs.shape[1]} class probabilities per example, {paths[0]} "
                f"gives {probabilities[0].shape[1]}: the runs have different classes"
            )
        probabilities.append(probs)
        accuracy = float(np.mean(probs.argmax(axis=1) == y))
        members.append(EnsembleMember(path, loaded.config.model, accuracy))
    mean = average_probabilities(probabilities)
    return EnsembleResult(
        dataset=loaded.config.dataset,
        split=split,
        members=tuple(members),
        probabilities=mean,
        labels=labels,
        accuracy=float(np.mean(mean.argmax(axis=1) == labels)),
    )
