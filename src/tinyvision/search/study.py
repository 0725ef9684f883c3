"""A hyperparameter search on Optuna: one study, any number of workers, one pipeline run a trial.

A trial draws its settings from the SearchSpace, trains through the run pipeline
(`tinyvision.pipeline.fit`, the same code as `tinyvision train`), reports each epoch's
validation accuracy so poor trials are pruned, and returns the validation accuracy it reached.
A trial that diverges is recorded as failed with its reason and the study goes on.

The study lives in a database: an SQLite file in the run folder by default (so an interrupted
search continues with `resume`), or any URL Optuna accepts (e.g. postgresql://...), which lets
workers on many machines share one study. Workers send a heartbeat; a trial whose worker died
is marked failed by the next worker that looks.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import registry
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.errors import TrainingDivergedError
from tinyvision.pipeline import fit
from tinyvision.search.space import Param, SearchSpace

__all__ = [
    "StudyOptions",
    "create_study",
    "load_study",
    "make_storage",
    "run_trials",
    "suggest_config",
    "trial_config",
]

LOG = logging.getLogger(__name__)
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
    from sqlalchemy.exc import IntegrityError

    # Heartbeats are marked experimental in Optuna; they are what fails a dead worker's trial.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for attempt in range(2):
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
            except IntegrityError:
                # Workers started together on a new database race to create its tables: the
                # loser finds them made and connects again.
                if attempt:
                    raise
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


class _Objective:
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
        model = self.spec.build(config, prepared)
        started = time.perf_counter()
        try:
            # A diverging trial overflows on its way to the divergence check; it is reported
            # once, as a failed trial, rather than as a screen of NumPy warnings.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                # Without a pruner there is nothing to decide each epoch: report nothing.
                reports = None if self.space.pruner == "none" else trial
                history = fit(self.spec, model, config, prepared, None, False, trial=reports)
                if not all(np.isfinite(a).all() for a in model.state_dict().values()):
                    raise TrainingDivergedError("the parameters became non-finite")
        except TrainingDivergedError as error:
            trial.set_user_attr("fail_reason", f"diverged: {error}")
            raise
        scores = self.spec.task.score(model, config, prepared, self.spec, splits=("train", "val"))
        trial.set_user_attr("train_acc", float(scores["train_acc"]))
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        if "epoch" in history:
            trial.set_user_attr("epochs_run", int(history["epoch"]))
        return float(scores["val_acc"])


def _finished_or_running(study: Any) -> int:
    """Trials that ran or run (enqueued ones waiting for a worker are still to come)."""
    import optuna

    waiting = optuna.trial.TrialState.WAITING
    return sum(t.state != waiting for t in study.get_trials(deepcopy=False))


def _worker(
    url: str,
    name: str,
    space_dict: dict[str, Any],
    seed: int,
    heartbeat: float,
    target: int,
    quota: int,
    deadline: float | None,
    threads: int | None,
    verbosity: int | None = None,
) -> None:
    """One worker: run trials one at a time, at most `quota` of them, until the study holds
    `target` trials (those of other workers count) or time is up."""
    import optuna
    from threadpoolctl import threadpool_limits

    from tinyvision import parallel
    from tinyvision.search.space import parse_space

    if verbosity is not None:  # a spawned worker logs as its parent does
        optuna.logging.set_verbosity(verbosity)
    space = parse_space(space_dict)
    study = load_study(url, name, space, seed, heartbeat)
    objective = _Objective(space)
    if threads is not None:
        parallel.set_num_threads(threads)
    with threadpool_limits(threads):
        for _ in range(quota):
            if _finished_or_running(study) >= target:
                break
            if deadline is not None and time.time() >= deadline:
                break
            study.optimize(objective, n_trials=1, catch=(TrainingDivergedError,))
            if space.sampler == "grid" and _grid_done(study, space):
                break
    _wait_for_running(study, heartbeat)


def _wait_for_running(study: Any, heartbeat: float) -> None:
    """Wait until no trial of the study runs: other workers' trials end or, when their worker
    died, are marked failed once their heartbeat is overdue; then every worker reports the
    same finished table."""
    import optuna

    running = (optuna.trial.TrialState.RUNNING,)
    while study.get_trials(False, states=running):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        time.sleep(min(heartbeat, 1.0))


def _grid_done(study: Any, space: SearchSpace) -> bool:
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    done = {tuple(sorted(t.params.items())) for t in study.get_trials(False, states=finished)}
    return len(done) >= grid_size(space)


def _fail_interrupted(study: Any) -> None:
    """Mark failed the trials an interrupted search left running in its run folder's study.

    Only for the run folder's own SQLite study: the folder's lock says no other process runs
    it, so a running trial there was stopped with its search (shared studies wait for the
    heartbeat instead).
    """
    import optuna

    storage = study._storage
    for trial in study.get_trials(False, states=(optuna.trial.TrialState.RUNNING,)):
        reason = "interrupted: the search stopped during this trial"
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)


def run_trials(space: SearchSpace, options: StudyOptions, run_dir: Path) -> Any:
    """Run the study's trials in options.jobs worker processes (1: in this process).

    returns the optuna.Study, reloaded after the workers finished
    """
    url = storage_url(options, run_dir)
    study = create_study(space, options, url)
    name = study_name(space, options)
    if options.storage is None:
        _fail_interrupted(study)
    existing = _finished_or_running(study)
    # A continued study draws on from new seeds rather than repeating its first trials.
    seed = options.seed + 1000 * existing
    target = options.trials
    if space.sampler == "grid":
        target = min(target, grid_size(space))
    deadline = None if options.timeout is None else time.time() + options.timeout
    args = (url, name, space.to_dict())
    # This command's processes share out what is missing, so that they alone never overshoot;
    # workers of other commands (other machines) can add at most one trial each at the end.
    missing = max(0, target - existing)
    quotas = [missing // options.jobs + (i < missing % options.jobs) for i in range(options.jobs)]
    if options.jobs == 1:
        _worker(*args, seed, options.heartbeat, target, quotas[0], deadline, None)
    else:
        # Spawned, not forked: a worker starts with no threads or open connections of ours;
        # each computes on one core so that J workers share J cores without contention.
        import optuna

        verbosity = optuna.logging.get_verbosity()
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(
                target=_worker,
                args=(
                    *args,
                    seed + i,
                    options.heartbeat,
                    target,
                    quotas[i],
                    deadline,
                    1,
                    verbosity,
                ),
            )
            for i in range(options.jobs)
            if quotas[i] > 0
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        failed = [w.exitcode for w in workers if w.exitcode != 0]
        if failed:
            LOG.warning("%d worker(s) ended with exit codes %s", len(failed), failed)
    return load_study(url, name, space, options.seed, options.heartbeat)
