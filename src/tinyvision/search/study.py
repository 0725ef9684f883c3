"""The Optuna study of a search: its storage, sampler and pruner, and what one trial does.

A trial draws its settings from the SearchSpace, trains through the run pipeline
(`tinyvision.pipeline.fit`, the same code as `tinyvision train`), reports each epoch's
validation accuracy so poor trials are pruned, and returns the validation accuracy it reached.
A trial that diverges is recorded as failed with its reason and the study goes on.

The study lives in a database: an SQLite file in the run folder by default (so an interrupted
search continues with `resume`), or any URL Optuna accepts (e.g. postgresql://...), which lets
workers on many machines share one study. Workers (tinyvision.search.workers) send a
heartbeat; a trial whose worker died is marked failed by the next worker that looks.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import registry
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.errors import TrainingDivergedError
from tinyvision.pipeline import fit
from tinyvision.search.pruning import report_epoch
from tinyvision.search.space import LEAVE_ONE_OUT, Param, SearchSpace, check_leave_one_out

__all__ = [
    "STUDY_DB",
    "StudyOptions",
    "Objective",
    "create_study",
    "fold_splits",
    "grid_size",
    "load_study",
    "make_storage",
    "storage_url",
    "study_name",
    "suggest_config",
    "trial_config",
]

STUDY_DB = "study.db"


@dataclass(frozen=True)
class StudyOptions:
    """How a search runs, as opposed to what it searches (SearchSpace).

    trials: the study ends once it holds this many trials (those of earlier runs and of other
        workers count); a grid search also ends when its grid is done
    timeout: seconds after which this command starts no new trial (None: no limit)
    jobs: worker processes on this machine
    storage: database URL (None: sqlite in the run folder)
    study_name: the study's name in the database (None: tinyvision-<model>-<dataset>)
    seed: seed of the sampler (worker i uses seed + i)
    heartbeat: seconds between a running trial's heartbeats; a trial silent for three of them
        is marked failed
    """

    trials: int = 20
    timeout: float | None = None
    jobs: int = 1
    storage: str | None = None
    study_name: str | None = None
    seed: int = 0
    heartbeat: float = 10.0

    def __post_init__(self) -> None:
        for name in ("trials", "jobs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if not self.heartbeat > 0:
            raise ValueError(
                f"heartbeat must be a positive number of seconds, got {self.heartbeat!r}"
            )


def storage_url(options: StudyOptions, run_dir: Path) -> str:
    """The study's database: options.storage, or the SQLite file in run_dir."""
    return options.storage or f"sqlite:///{(Path(run_dir) / STUDY_DB).resolve()}"


def make_storage(url: str, heartbeat: float = 10.0) -> Any:
    """An Optuna RDB storage for url with heartbeats (a dead worker's trial becomes failed)."""
    import optuna

    # SQLAlchemy reads a bare postgresql:// as psycopg2; the `search` extra installs psycopg 3.
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Worker processes write to the same file: wait for the lock instead of failing.
        engine_kwargs["connect_args"] = {"timeout": 60}
    else:
        engine_kwargs["pool_pre_ping"] = True
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    # Heartbeats are marked experimental in Optuna; they are what fails a dead worker's trial.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for attempt in range(3):
            try:
                storage = optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=max(1, round(heartbeat)),
                    grace_period=max(3, round(3 * heartbeat)),
                )
                if url.startswith("sqlite"):
                    # Write-ahead logging: worker processes read while one writes, instead of
                    # queueing on the file lock at every reported epoch (it stays set).
                    with storage.engine.connect() as connection:
                        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                return storage
            except (IntegrityError, ProgrammingError):
                # Workers started together on a new database race to create its tables and
                # types (PostgreSQL: "type studydirection already exists"): the loser finds
                # them made and connects again.
                if attempt == 2:
                    raise
                time.sleep(0.5)
    raise AssertionError("unreachable")


def _encode(value: Any) -> Any:
    """A choice as Optuna stores it: tuples (hidden_dims) become strings like "64,64"."""
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else value


def _grid(space: SearchSpace) -> dict[str, list[Any]]:
    return {p.name: [_encode(v) for v in p.grid()] for p in space.params}


def grid_size(space: SearchSpace) -> int:
    """Points of the grid search over space."""
    return int(np.prod([len(p.grid()) for p in space.params]))


def _sampler(space: SearchSpace, seed: int) -> Any:
    import optuna

    if space.sampler == "grid":
        return optuna.samplers.GridSampler(_grid(space), seed=seed)
    if space.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)


def _pruner(name: str) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def study_name(space: SearchSpace, options: StudyOptions) -> str:
    """The study's name in its database: options.study_name or tinyvision-<model>-<dataset>."""
    return options.study_name or f"tinyvision-{space.model}-{space.dataset}"


def create_study(space: SearchSpace, options: StudyOptions, url: str) -> Any:
    """Create the study in url's database, or join it if it exists with the same space.

    raises ValueError when a study of that name searches another space
    """
    import optuna

    name = study_name(space, options)
    study = optuna.create_study(
        study_name=name,
        storage=make_storage(url, options.heartbeat),
        direction="maximize",
        load_if_exists=True,
    )
    recorded = study.user_attrs.get("space")
    if recorded is None:
        study.set_user_attr("space", space.to_dict())
    elif recorded != space.to_dict():
        raise ValueError(
            f"study {name!r} in {_redact(url)} searches another space ({recorded['model']} on "
            f"{recorded['dataset']}, {', '.join(recorded['search'])}); use another --study "
            "name or the same space"
        )
    return study


def load_study(url: str, name: str, space: SearchSpace, seed: int, heartbeat: float) -> Any:
    """The existing study `name`, with space's sampler and pruner, for one worker."""
    import optuna

    return optuna.load_study(
        study_name=name,
        storage=make_storage(url, heartbeat),
        sampler=_sampler(space, seed),
        pruner=_pruner(space.pruner),
    )


def _redact(url: str) -> str:
    """url without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def suggest_config(trial: Any, space: SearchSpace) -> TrainConfig:
    """The (unresolved) TrainConfig of one trial: the space's base with the trial's draws."""
    values = {p.name: _suggest(trial, p) for p in space.params}
    return dataclasses.replace(space.base_config(), **values)


def _suggest(trial: Any, param: Param) -> Any:
    if param.kind == "choice":
        labels = [_encode(v) for v in param.values]
        return param.values[labels.index(trial.suggest_categorical(param.name, labels))]
    if param.kind == "int":
        return trial.suggest_int(param.name, int(param.low), int(param.high), log=param.log)
    return trial.suggest_float(param.name, param.low, param.high, log=param.log)


def trial_config(trial: Any) -> TrainConfig:
    """The resolved TrainConfig a finished trial trained with (stored with the trial)."""
    values = dict(trial.user_attrs["config"])
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return TrainConfig(**values)


class Objective:
    """One trial: draw a config, train it through the pipeline, return its val accuracy."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.spec = registry.get(space.model)
        self._prepared: dict[tuple, Any] = {}

    def _prepare(self, config: TrainConfig) -> Any:
        # Data preparation depends only on the data settings: prepare once per combination.
        key = (config.dataset, config.data_dir, config.features, config.preprocess)
        key += (config.num_training, config.dtype, config.augment)
        if key not in self._prepared:
            self._prepared[key] = self.spec.task.prepare(config, self.spec, False)
        return self._prepared[key]

    def __call__(self, trial: Any) -> float:
        # Which worker ran a trial: a dead worker's trial is marked failed by the others.
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        config = resolve_config(suggest_config(trial, self.space))
        values = dataclasses.asdict(config)
        trial.set_user_attr(
            "config", {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        )
        prepared = self._prepare(config)
        started = time.perf_counter()
        if self.space.folds:
            fold_scores = []
            for fold, held_out in enumerate(fold_splits(prepared, self.space.folds)):
                fold_scores.append(self._train_and_score(trial, config, held_out, None))
                trial.set_user_attr("fold_val_acc", [s["val_acc"] for s in fold_scores])
                if self.space.pruner != "none":
                    mean = float(np.mean([s["val_acc"] for s in fold_scores]))
                    report_epoch(trial, fold + 1, mean, unit="fold")
            scores = {
                k: float(np.mean([s[k] for s in fold_scores])) for k in ("train_acc", "val_acc")
            }
            trial.set_user_attr("val_acc_std", float(np.std([s["val_acc"] for s in fold_scores])))
        else:
            # Without a pruner there is nothing to decide each epoch: report nothing.
            reports = None if self.space.pruner == "none" else trial
            scores = self._train_and_score(trial, config, prepared, reports)
        trial.set_user_attr("train_acc", scores["train_acc"])
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        return scores["val_acc"]

    def _train_and_score(
        self, trial: Any, config: TrainConfig, prepared: Any, reports: Any
    ) -> dict[str, float]:
        model = self.spec.build(config, prepared)
        try:
            # A diverging trial overflows on its way to the divergence check; it is reported
            # once, as a failed trial, rather than as a screen of NumPy warnings.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                history = fit(self.spec, model, config, prepared, None, False, trial=reports)
                if not all(np.isfinite(a).all() for a in model.state_dict().values()):
                    raise TrainingDivergedError("the parameters became non-finite")
        except TrainingDivergedError as error:
            trial.set_user_attr("fail_reason", f"diverged: {error}")
            raise
        if "epoch" in history:
            trial.set_user_attr("epochs_run", int(history["epoch"]))
        scores = self.spec.task.score(model, config, prepared, self.spec, splits=("train", "val"))
        return {"train_acc": float(scores["train_acc"]), "val_acc": float(scores["val_acc"])}


def fold_splits(prepared: Any, num_folds: int | str) -> Iterator[Any]:
    """prepared with each fold of its training split as the validation split, in turn.

    The folds are np.array_split of the training examples in order (the course's kNN
    cross-validation); the other folds are the training split. The inputs keep the
    preprocessing fitted on the whole training split.
    num_folds: K >= 2, or "loo" (leave-one-out): K = N, each example held out alone
    raises ValueError when there are fewer training examples than folds, or for "loo" more
        than LEAVE_ONE_OUT_LIMIT of them
    """
    count = len(prepared.data["y_train"])
    if num_folds == LEAVE_ONE_OUT:
        check_leave_one_out(count)
        num_folds = count
    if count < num_folds:
        raise ValueError(
            f"{num_folds}-fold cross-validation needs at least {num_folds} training examples, "
            f"got {count}; use fewer folds or more data"
        )
    for held_out in np.array_split(np.arange(count), num_folds):
        kept = np.setdiff1d(np.arange(count), held_out)
        data = dict(prepared.data)
        X = dict(prepared.X)
        for rows, split in ((kept, "train"), (held_out, "val")):
            data[f"X_{split}"] = prepared.data["X_train"][rows]
            data[f"y_{split}"] = prepared.data["y_train"][rows]
            X[split] = prepared.X["train"][rows]
        yield dataclasses.replace(prepared, data=data, X=X)
