"""The course's validation loops as a Python function, run as an Optuna study.

`tune_run` searches learning rate x regularisation (the course's grid, or pairs drawn
log-uniformly between bounds) for any model trained in epochs, or, for a model whose default
search cross-validates (kNN), the course's k choices by k-fold cross-validation. It is a thin
layer over `tinyvision.search.search_run` (the engine of `tinyvision tune`): every pair or k is
one trial of the study in the run folder's study.db, the best is trained again into
`<run folder>/best` (an ordinary run folder for `tinyvision evaluate`), and the course's record
(`search.json`) and pictures (`search.png`, or `knn_cross_validation.png`) are written beside
the study's own. It needs the `search` extra (Optuna); the course's loops themselves
(`model_selection.search_hyperparameters`, `cross_validate_knn`) need nothing beyond NumPy.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from tinyvision import registry
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.files import load_json, write_json
from tinyvision.pipeline import RunResult
from tinyvision.vis_utils import plot_knn_cross_validation

__all__ = ["DEFAULT_K_CHOICES", "SearchOptions", "tune_run"]

DEFAULT_K_CHOICES = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)

# Settings that say where a trial's data and folder are, not what it trains: never fixed.
_NOT_FIXED = ("model", "dataset", "out", "learning_rate", "reg", "k")


@dataclass(frozen=True)
class SearchOptions:
    """What to search: learning_rates x regs (grid values or random bounds), or k by folds."""

    learning_rates: tuple[float, ...] = ()
    regs: tuple[float, ...] = ()
    search: Literal["grid", "random"] = "grid"
    num_samples: int = 10
    k_choices: tuple[int, ...] = DEFAULT_K_CHOICES
    num_folds: int = 5


def tune_run(
    config: TrainConfig, options: SearchOptions = SearchOptions(), verbose: bool = True
) -> tuple[RunResult, dict[str, Any]]:
    """Search config's hyperparameters as trials of an Optuna study; retrain the best.

    A model whose default search cross-validates (kNN) tries each of options.k_choices that
    fits the folds, scored by options.num_folds-fold cross-validation; the others try the
    (learning rate, reg) pairs of learning_rates x regs (grid) or num_samples pairs drawn
    log-uniformly between their (low, high) bounds (random). Settings given in config (epochs,
    hidden_dims, ...) are shared by every trial. A diverging pair is a failed trial and the
    search goes on.
    returns (the best config's RunResult, in <run folder>/best; the search record, also
        written to <run folder>/search.json)
    raises ValueError when no pair was given, or when every trial diverged
    """
    from tinyvision.search import StudyOptions, parse_space, search_run

    folds = options.num_folds if _cross_validates(config) else 0
    if folds:
        ks = _usable_k(options, resolve_config(config))
        search: dict[str, Any] = {"k": {"type": "choice", "values": ks}}
        space_keys: dict[str, Any] = {"sampler": "grid", "pruner": "none", "folds": folds}
        trials = len(ks)
    else:
        search, space_keys, trials = _rate_search(options)
    space = parse_space(
        {
            "model": config.model,
            "dataset": config.dataset,
            **space_keys,
            "fixed": _fixed_settings(config),
            "search": search,
        },
        "tune_run",
    )
    result = search_run(
        space,
        StudyOptions(trials=trials, seed=config.seed),
        out=config.out,
        retrain=True,
        verbose=verbose,
    )
    record = _record(result.study, folds, options)
    write_json(result.run_dir / "search.json", record)
    if folds:
        accuracies = {int(k): v for k, v in record["k_to_accuracies"].items()}
        plot_knn_cross_validation(accuracies, result.run_dir / "knn_cross_validation.png")
    assert result.best_run is not None
    metrics = load_json(result.best_run / "metrics.json")
    return RunResult(run_dir=result.best_run, metrics=metrics), record


def _cross_validates(config: TrainConfig) -> bool:
    """Whether the model's default search scores by cross-validation (kNN: no epochs to tune)."""
    from tinyvision.search import default_space

    try:
        return default_space(config.model, config.dataset).folds > 0
    except ValueError:
        return False


def _fixed_settings(config: TrainConfig) -> dict[str, Any]:
    """The settings config gives (not left to the defaults) that every trial shares, as TOML
    values (lists for tuples)."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(config).items()
        if name not in _NOT_FIXED and value != defaults[name]
    }


def _usable_k(options: SearchOptions, config: TrainConfig) -> list[int]:
    """options.k_choices that are at most the smallest training part of the folds."""
    spec = registry.get(config.model)
    prepared = spec.task.prepare(config, spec, False, splits=("train",))
    count = len(prepared.data["y_train"])
    smallest_train = count - math.ceil(count / options.num_folds)
    usable = [k for k in options.k_choices if k <= smallest_train]
    if not usable:
        raise ValueError(
            f"every k in {options.k_choices} exceeds the smallest training part of the folds "
            f"({smallest_train} examples with {options.num_folds} folds); use smaller k"
        )
    return usable


def _rate_search(options: SearchOptions) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The search table, the space's sampler keys and the number of trials of a rate search."""
    learning_rates = [float(v) for v in options.learning_rates]
    regs = [float(v) for v in options.regs]
    if not learning_rates or not regs:
        raise ValueError(
            "give the learning rates and regularisation strengths to search, e.g. "
            "SearchOptions(learning_rates=(1e-7, 5e-7), regs=(2.5e4, 5e4))"
        )
    if options.search == "grid":
        search = {
            "learning_rate": {"type": "choice", "values": learning_rates},
            "reg": {"type": "choice", "values": regs},
        }
        return search, {"sampler": "grid", "pruner": "none"}, len(learning_rates) * len(regs)
    if options.search != "random":
        raise ValueError(f"search must be 'grid' or 'random', got {options.search!r}")
    for name, bounds in (("learning_rates", learning_rates), ("regs", regs)):
        if len(bounds) != 2:
            raise ValueError(
                f"random search takes {name} as two positive bounds (low, high), got {bounds}"
            )
    search = {
        "learning_rate": {
            "type": "log-uniform",
            "low": learning_rates[0],
            "high": learning_rates[1],
        },
        "reg": {"type": "log-uniform", "low": regs[0], "high": regs[1]},
    }
    return search, {"sampler": "random", "pruner": "none"}, options.num_samples


def _record(study: Any, folds: int, options: SearchOptions) -> dict[str, Any]:
    """The course's record of a search: each pair's accuracies (or each k's per fold)."""
    from tinyvision.search.results import best_trial

    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    best = best_trial(study)
    if folds:
        return {
            "k_to_accuracies": {
                str(t.params["k"]): t.user_attrs["fold_val_acc"]
                for t in trials
                if t.state.name == "COMPLETE"
            },
            "best_k": int(best.params["k"]),
            "num_folds": options.num_folds,
        }
    rows = []
    for t in trials:
        done = t.state.name == "COMPLETE"
        rows.append(
            {
                "learning_rate": float(t.params["learning_rate"]),
                "reg": float(t.params["reg"]),
                "train_acc": t.user_attrs.get("train_acc") if done else None,
                "val_acc": float(t.value) if done else None,
                "diverged": t.state.name == "FAIL",
            }
        )
    return {
        "search": options.search,
        "results": rows,
        "best_learning_rate": float(best.params["learning_rate"]),
        "best_reg": float(best.params["reg"]),
        "best_val_acc": float(best.value),
    }
