"""The one run function: from a config to a run folder, and from a run folder back to a model.

Every command that trains (`train`, `tune`, `caption train`, `experiment`) goes through
`train_run` or its phases, whatever the model:

1. resolve the config (the model's tuned defaults filled in; tinyvision.config);
2. prepare the data with the model's task (load, preprocess; tinyvision.classification or
   tinyvision.captioning);
3. build the model with its registered builder and fit it (its own fit, or the task's Solver);
4. score it with the task and write the run folder (tinyvision.runs.write_run_folder).

`load_run` rebuilds a trained model from a run folder alone and `evaluate_run` scores it again.
Nothing here knows a model by name: each model's registration (tinyvision.registry) answers.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyvision import registry, runs
from tinyvision.config import RunConfig, config_from_json, resolve_config
from tinyvision.errors import DataError
from tinyvision.registry import ModelSpec
from tinyvision.solver import TrainingDivergedError

__all__ = [
    "LoadedRun",
    "RunResult",
    "evaluate_run",
    "fit",
    "load_run",
    "read_run_config",
    "resume_run",
    "train_run",
    "write_run",
]

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a finished run reports: its folder and its metrics.json contents."""

    run_dir: Path
    metrics: dict[str, Any]


@dataclass
class LoadedRun:
    """A trained model rebuilt from its run folder, with its config and data."""

    config: RunConfig
    spec: ModelSpec
    prepared: Any
    model: Any


def fit(
    spec: ModelSpec,
    model: Any,
    config: RunConfig,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None = None,
    trial: Any = None,
) -> dict[str, Any]:
    """Train model on prepared data: the model's own fit, or its task's Solver.

    run_dir receives the Solver's checkpoints (None: none); resume continues from a
    checkpoint.npz. trial: an Optuna trial of a hyperparameter search (tinyvision.search),
    told each epoch's validation accuracy so it can prune the run (optuna.TrialPruned) by
    models trained by the Solver and those whose registration says `pruning`; others train
    to the end. Returns the training history. A TrainingDivergedError carries the history
    up to the divergence as its `history` attribute.
    """
    if spec.fit is not None:
        if trial is not None and spec.pruning:
            return spec.fit(model, config, prepared, run_dir, verbose, resume, trial=trial)
        return spec.fit(model, config, prepared, run_dir, verbose, resume)
    # The course's per-update prints stay off: the Solver logs one line per epoch instead, and
    # its bar shows only on a terminal.
    on_epoch_end = None
    if trial is not None:
        from tinyvision.search.pruning import report_epoch

        def on_epoch_end(solver: Any) -> None:
            report_epoch(trial, solver.epoch, solver.val_acc_history[-1])

    solver = spec.task.solver(
        model,
        config,
        prepared,
        verbose=False,
        progress=verbose,
        out_dir=run_dir,
        resume=resume,
        on_epoch_end=on_epoch_end,
    )
    try:
        solver.train()
    except TrainingDivergedError as error:
        error.history = solver.history()
        raise
    return solver.history()


def _split_sizes(prepared: Any) -> list[str]:
    """Each split with its size ("test (10000)") when prepared holds y_<split> labels."""
    return [
        f"{name.removeprefix('y_')} ({len(values)})"
        for name, values in prepared.data.items()
        if name.startswith("y_") and hasattr(values, "__len__")
    ]


def _history_metrics(history: dict[str, Any]) -> dict[str, Any]:
    """What metrics.json reports of the training itself (for models trained in epochs)."""
    if "epoch" not in history:
        return {}
    per_epoch = history["iterations_per_epoch"]
    last_epoch = history["loss_history"][-per_epoch:]
    finite = [v for v in last_epoch if math.isfinite(v)]
    return {
        "epochs_run": history["epoch"],
        "stopped_early": history["stopped_early"],
        "best_val_metric": history["best_val_acc"],
        "train_loss": sum(finite) / len(finite) if finite else None,
    }


def write_run(
    spec: ModelSpec,
    model: Any,
    config: RunConfig,
    prepared: Any,
    history: dict[str, Any],
    run_dir: Path,
    started: tuple[float, float],
    status: str = "completed",
    fit_seconds: float | None = None,
) -> RunResult:
    """Score the trained model and write metrics, history, model.npz and plots.

    started: (time.perf_counter(), time.process_time()) when the run began
    status: "completed", or "diverged" for a run stopped by a non-finite loss (the model then
        holds the last good parameters, which are scored and saved)
    fit_seconds: how long the fit took, recorded as metrics["fit_seconds"] (None: not recorded)
    """
    metrics: dict[str, Any] = {"model": config.model, "dataset": config.dataset, "status": status}
    scoring = time.perf_counter()
    logger.info("scoring the model on %s", ", ".join(_split_sizes(prepared)) or "every split")
    metrics.update(spec.task.score(model, config, prepared, spec))
    eval_seconds = time.perf_counter() - scoring
    logger.info("scored in %.1f s", eval_seconds)
    metrics.update(_history_metrics(history))
    if spec.metrics is not None:
        metrics.update(spec.metrics(model, config, prepared, history))
    if fit_seconds is not None:
        metrics["fit_seconds"] = round(fit_seconds, 3)
    metrics["eval_seconds"] = round(eval_seconds, 3)
    metrics["total_seconds"] = round(time.perf_counter() - started[0], 3)
    # CPU time says how much work the run was on a machine shared with other jobs.
    metrics["cpu_seconds"] = round(time.process_time() - started[1], 3)
    if spec.artifacts is not None:
        spec.artifacts(model, config, prepared, run_dir)
    spec.task.artifacts(config, prepared, run_dir, model)
    runs.write_run_folder(
        run_dir,
        config=config.to_dict(),
        metrics=metrics,
        history=history,
        state=model.state_dict(),
        prep=prepared.prep,
    )
    return RunResult(run_dir=run_dir, metrics=metrics)


def _fit_and_write(
    spec: ModelSpec,
    config: RunConfig,
    prepared: Any,
    run_dir: Path,
    verbose: bool,
    started: tuple[float, float],
    resume: Path | None = None,
) -> RunResult:
    """Build, fit and write; a diverged run still writes its folder, then the error goes on."""
    model = spec.build(config, prepared)
    fitting = time.perf_counter()
    try:
        history = fit(spec, model, config, prepared, run_dir, verbose, resume)
    except TrainingDivergedError as error:
        history = getattr(error, "history", {})
        seconds = time.perf_counter() - fitting
        write_run(spec, model, config, prepared, history, run_dir, started, "diverged", seconds)
        raise
    seconds = time.perf_counter() - fitting
    logger.info("fitted in %.1f s", seconds)
    return write_run(spec, model, config, prepared, history, run_dir, started, "completed", seconds)


def _train_as_worker(spec: ModelSpec, config: RunConfig, prepared: Any) -> RunResult:
    """A later process of a distributed run: train along, write nothing (the first one does)."""
    model = spec.build(config, prepared)
    fit(spec, model, config, prepared, None, verbose=False)
    return RunResult(run_dir=Path(config.out or "."), metrics={})


def train_run(config: RunConfig, verbose: bool = True, overwrite: bool = False) -> RunResult:
    """Train config's model on config's data set and write a complete run folder.

    config: the run's settings (None fields take the tuned defaults)
    verbose: progress bars and per-epoch messages
    overwrite: empty config.out first if it holds a run (otherwise that is an error)
    raises TrainingDivergedError after writing the folder (status "diverged") when the loss
        became non-finite
    """
    started = (time.perf_counter(), time.process_time())
    config = resolve_config(config)
    spec = registry.get(config.model)
    prepared = spec.task.prepare(config, spec, verbose)
    if not runs.is_primary_process():
        return _train_as_worker(spec, config, prepared)
    name = f"{spec.task.folder_prefix}{config.model}-{config.dataset}"
    with runs.claim_run_dir(config.out, name, overwrite=overwrite) as run_dir:
        runs.write_json(run_dir / "config.json", config.to_dict())
        return _fit_and_write(spec, config, prepared, run_dir, verbose, started)


def resume_run(run_dir: str | Path, verbose: bool = True) -> RunResult:
    """Continue a stopped run (killed, interrupted) from its last checkpoint to the end.

    The settings come from run_dir/config.json; the result is the run an uninterrupted
    training would have written (the same final parameters, bit for bit).
    raises ValueError when the folder holds no run to continue
    """
    started = (time.perf_counter(), time.process_time())
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    spec = registry.get(config.model)
    if spec.checkpoint is None:
        raise ValueError(
            f"--model {config.model} trains in one go and writes no checkpoints: train it "
            f"again with --out {run_dir} --overwrite"
        )
    if (run_dir / "metrics.json").is_file():
        raise ValueError(f"{run_dir} holds a finished run; there is nothing to resume")
    checkpoint = run_dir / spec.checkpoint
    if not checkpoint.is_file():
        raise ValueError(
            f"{run_dir} has no {spec.checkpoint} yet (the run stopped in its first epoch): "
            f"train it again with --out {run_dir} --overwrite"
        )
    prepared = spec.task.prepare(config, spec, verbose)
    with runs.claim_run_dir(run_dir, run_dir.name, resume=True):
        return _fit_and_write(spec, config, prepared, run_dir, verbose, started, checkpoint)


def read_run_config(run_dir: str | Path) -> RunConfig:
    """The resolved config of a run folder (older versions converted)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DataError(f"{run_dir} is not a run folder: it has no config.json")
    path = run_dir / "config.json"
    return resolve_config(config_from_json(runs.load_json(path), str(path)))


def load_run(
    run_dir: str | Path,
    splits: tuple[str, ...] = ("test",),
    verbose: bool = False,
    data_dir: str | Path | None = None,
) -> LoadedRun:
    """Rebuild the trained model of a run folder, with the data of the given splits.

    data_dir: where the run's data set lives on this machine (None: the run's own data_dir)
    raises DataError (naming the file and the key) when the folder is not a complete run of
    this or an earlier version of tinyvision
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if data_dir is not None:
        config = dataclasses.replace(config, data_dir=str(data_dir))
    if not (run_dir / "model.npz").is_file():
        raise DataError(
            f"{run_dir} holds no model.npz: the run did not finish (continue it with "
            f"`tinyvision train --resume {run_dir}`)"
        )
    spec = registry.get(config.model)
    arrays = runs.load_arrays(run_dir / "model.npz")
    state = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    prep = {k.removeprefix("prep/"): v for k, v in arrays.items() if k.startswith("prep/")}
    if spec.refit_on_load:
        splits = tuple(dict.fromkeys(("train", *splits)))
    prepared = spec.task.prepare(config, spec, verbose, prep=prep, splits=splits)
    model = spec.build(config, prepared)
    if spec.refit_on_load:
        fit(spec, model, config, prepared, None, verbose)
    else:
        try:
            model.load_state_dict(state)
        except ValueError as error:
            raise DataError(
                f"{run_dir / 'model.npz'} does not hold the model its config.json describes: "
                f"{error}"
            ) from error
    return LoadedRun(config=config, spec=spec, prepared=prepared, model=model)


def evaluate_run(
    run_dir: str | Path,
    verbose: bool = False,
    split: str = "test",
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Reload a run folder's model and score it on one split again.

    The task's report (classifiers: confusion matrix, per-class scores, top-k accuracy,
    drawn as confusion.png and errors.png in the run folder; captioning: its scores) comes
    too. Only the test split's score can be compared with metrics.json; for the val split
    "recorded" is the val score of metrics.json.
    split: "val" or "test"
    data_dir: where the run's data set lives on this machine (None: the run's own data_dir)
    returns {"metric": the task's headline metric on split (e.g. "test_acc"), "value":
        reproduced, "recorded": from metrics.json or None, "model", "dataset", "run_dir",
        "split", "scores": every score on split, "report": the task's report or None}
    """
    if split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    run_dir = Path(run_dir)
    loaded = load_run(run_dir, (split,), verbose, data_dir=data_dir)
    spec, task = loaded.spec, loaded.spec.task
    recorded = runs.load_json(run_dir / "metrics.json")
    scores = task.score(loaded.model, loaded.config, loaded.prepared, spec, splits=(split,))
    metric = task.primary_metric.replace("test_", f"{split}_", 1)
    if not isinstance(recorded, dict) or task.primary_metric not in recorded:
        raise DataError(
            f"{run_dir / 'metrics.json'} has no {task.primary_metric!r}; the run did not finish"
        )
    report = task.report(loaded.model, loaded.config, loaded.prepared, spec, run_dir, split)
    return {
        "run_dir": str(run_dir),
        "model": loaded.config.model,
        "dataset": loaded.config.dataset,
        "split": split,
        "metric": metric,
        "value": scores[metric],
        "recorded": recorded.get(metric),
        "scores": scores,
        "report": report,
    }
