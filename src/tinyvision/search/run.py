"""`tinyvision tune` as a function: run a search into a run folder and report its results.

The run folder holds space.toml (what is searched), study.db (the study, unless it lives in
another database), trials.json (every trial, best first), best.toml (the best trial's config,
which `tinyvision train --config` reads), the plots, and best/ (the best config trained again
as an ordinary run folder that `tinyvision evaluate` reads).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyvision import runs
from tinyvision.config import TrainConfig
from tinyvision.config_files import write_config_toml
from tinyvision.search.plots import plot_history, plot_importance, plot_params, plot_search
from tinyvision.search.results import TrialRow, best_trial, trial_rows
from tinyvision.search.space import SearchSpace, load_space, space_to_toml
from tinyvision.search.study import StudyOptions, trial_config
from tinyvision.search.workers import run_trials

__all__ = ["SearchResult", "search_run"]

SPACE_FILE = "space.toml"


@dataclass
class SearchResult:
    """A finished search: its folder, the study, the table, the best trial and its config.

    best_run: the best config's own run folder (None when it was not trained again)
    """

    run_dir: Path
    study: Any
    rows: list[TrialRow]
    best_number: int
    best_value: float
    best_config: TrainConfig
    best_run: Path | None


def search_run(
    space: SearchSpace | None = None,
    options: StudyOptions | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    retrain: bool = True,
    verbose: bool = False,
) -> SearchResult:
    """Search space's hyperparameters with Optuna and write the results into a run folder.

    space: what to search (None with resume: the folder's space.toml)
    options: trials, timeout, worker processes, storage (None: StudyOptions())
    out: the run folder (None: runs/tune-<model>-<dataset>-<time>)
    resume: a run folder of an interrupted search, continued until it holds options.trials
    retrain: train the best config again into <run folder>/best (for `tinyvision evaluate`)
    raises ValueError when no trial completed (with how they ended)
    """
    options = StudyOptions() if options is None else options
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / SPACE_FILE).is_file():
            raise FileNotFoundError(
                f"{run_dir} holds no {SPACE_FILE}: it is not the folder of a search; give the "
                "folder that `tinyvision tune` printed"
            )
        recorded = load_space(run_dir / SPACE_FILE)
        if space is not None and space != recorded:
            raise ValueError(
                f"--resume {run_dir} continues the search of its {SPACE_FILE}; leave out the "
                "space (file, --model, --dataset)"
            )
        space = recorded
    if space is None:
        raise ValueError("give the space to search (a TOML file or --model), or --resume RUN")
    name = f"tune-{space.model}-{space.dataset}"
    with runs.claim_run_dir(resume or out, name, resume=resume is not None) as run_dir:
        (run_dir / SPACE_FILE).write_text(space_to_toml(space), encoding="utf-8")
        study = run_trials(space, options, run_dir)
        return _report(space, study, run_dir, retrain, verbose)


def _report(
    space: SearchSpace, study: Any, run_dir: Path, retrain: bool, verbose: bool
) -> SearchResult:
    rows = trial_rows(study)
    runs.write_json(run_dir / "trials.json", [row.to_dict() for row in rows])
    best = best_trial(study)
    config = trial_config(best)
    write_config_toml(dataclasses.replace(config, out=None), run_dir / "best.toml")
    plot_params(study, space, run_dir / "val_acc_vs_params.png")
    plot_history(study, run_dir / "history.png")
    plot_importance(study, run_dir / "importance.png")
    plot_search(study, run_dir / "search.png")
    best_run = None
    if retrain:
        from tinyvision.pipeline import train_run

        result = train_run(
            dataclasses.replace(config, out=str(run_dir / "best")), verbose, overwrite=True
        )
        best_run = result.run_dir
    return SearchResult(run_dir, study, rows, best.number, float(best.value), config, best_run)
