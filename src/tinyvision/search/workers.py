"""Worker processes of a search: each runs trials of the shared study until it is complete.

`run_trials` starts this command's workers (in this process for one job, spawned processes for
several); every worker, here or on another machine, runs trials one at a time until the study
holds the trials asked for, then waits until no trial runs, so that all report one table.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import warnings
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from tinyvision import interrupts, parallel
from tinyvision.errors import TrainingDivergedError
from tinyvision.search.space import SearchSpace, parse_space
from tinyvision.search.study import (
    Objective,
    StudyOptions,
    create_study,
    grid_size,
    load_study,
    storage_url,
    study_name,
)

__all__ = ["run_trials"]

LOG = logging.getLogger(__name__)


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

    if verbosity is not None:  # a spawned worker logs as its parent does
        optuna.logging.set_verbosity(verbosity)
    space = parse_space(space_dict)
    study = load_study(url, name, space, seed, heartbeat)
    objective = Objective(space)
    if threads is not None:
        parallel.set_num_threads(threads)
    with threadpool_limits(threads), interrupts.honoured():
        for _ in range(quota):
            interrupts.raise_if_requested()
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
