"""The course's validation experiments as Python functions (`tinyvision tune` itself searches
with Optuna: tinyvision.search).

`tune_run` searches learning rate x regularisation (grid or log-uniform random) for any model
trained in epochs, or runs the model's own search where its registration has one (kNN chooses
k by cross-validation). It keeps the best model by validation accuracy and writes it as an
ordinary run folder (so `tinyvision evaluate` works on it) plus `search.json` and the course's
plots (`search.png`, or `knn_cross_validation.png`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tinyvision import registry, runs
from tinyvision.classification import Prepared
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.model_selection import cross_validate_knn, search_hyperparameters
from tinyvision.pipeline import RunResult, fit, write_run
from tinyvision.solver import TrainingDivergedError
from tinyvision.vis_utils import plot_hyperparameter_search, plot_knn_cross_validation

__all__ = ["DEFAULT_K_CHOICES", "SearchOptions", "cross_validate_k", "tune_run"]

DEFAULT_K_CHOICES = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)


@dataclass(frozen=True)
class SearchOptions:
    """What to search: learning_rates x regs (grid values or random bounds), or k by folds."""

    learning_rates: tuple[float, ...] = ()
    regs: tuple[float, ...] = ()
    search: Literal["grid", "random"] = "grid"
    num_samples: int = 10
    k_choices: tuple[int, ...] = DEFAULT_K_CHOICES
    num_folds: int = 5


def cross_validate_k(
    prepared: Prepared, config: TrainConfig, run_dir: Path, options: SearchOptions
) -> tuple[TrainConfig, dict[str, Any]]:
    """Cross-validate k on the training split; return the config with the best k and a record."""
    X, y = prepared.X["train"], prepared.data["y_train"]
    smallest_train = len(X) - -(-len(X) // options.num_folds)
    usable = [k for k in options.k_choices if k <= smallest_train]
    k_to_accuracies = cross_validate_knn(
        X, y, usable, num_folds=options.num_folds, metric=config.metric
    )
    mean_accuracy = {k: float(np.mean(v)) for k, v in k_to_accuracies.items()}
    best_k = max(mean_accuracy, key=lambda k: (mean_accuracy[k], -k))
    plot_knn_cross_validation(k_to_accuracies, run_dir / "knn_cross_validation.png")
    record = {
        "k_to_accuracies": {str(k): v for k, v in k_to_accuracies.items()},
        "best_k": best_k,
        "num_folds": options.num_folds,
        "metric": config.metric,
    }
    return dataclasses.replace(config, k=best_k), record


def _search_rates(
    spec: registry.ModelSpec,
    prepared: Prepared,
    config: TrainConfig,
    run_dir: Path,
    options: SearchOptions,
    verbose: bool,
) -> tuple[TrainConfig, dict[str, Any], Any, dict[str, Any]]:
    """Search (learning rate, reg) by validation accuracy: best config, record, model, history."""
    if not options.learning_rates or not options.regs:
        raise ValueError(
            "give the learning rates and regularisation strengths to search, e.g. "
            "SearchOptions(learning_rates=(1e-7, 5e-7), regs=(2.5e4, 5e4))"
        )
    histories: dict[tuple[float, float], dict[str, Any]] = {}

    def make_and_train(learning_rate: float, reg: float) -> Any:
        trial = dataclasses.replace(config, learning_rate=learning_rate, reg=reg)
        model = spec.build(trial, prepared)
        # A diverging pair overflows on its way to the divergence check; it is reported once,
        # as a failed pair, rather than as a screen of NumPy warnings.
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                histories[learning_rate, reg] = fit(spec, model, trial, prepared, None, verbose)
        except TrainingDivergedError:
            return None
        # Models with their own training have no divergence check: overflowed weights mark it.
        if not all(np.isfinite(array).all() for array in model.state_dict().values()):
            return None
        return model

    result = search_hyperparameters(
        make_and_train,
        options.learning_rates,
        options.regs,
        prepared.X["train"],
        prepared.data["y_train"],
        prepared.X["val"],
        prepared.data["y_val"],
        search=options.search,
        num_samples=options.num_samples,
        seed=config.seed,
    )
    plot_hyperparameter_search(result.results, run_dir / "search.png")
    best_lr, best_reg = result.best_params
    record = {
        "search": options.search,
        "results": [
            {
                "learning_rate": lr,
                "reg": reg,
                "train_acc": None if np.isnan(tr) else tr,
                "val_acc": None if np.isnan(va) else va,
                "diverged": bool(np.isnan(va)),
            }
            for (lr, reg), (tr, va) in result.results.items()
        ],
        "best_learning_rate": best_lr,
        "best_reg": best_reg,
        "best_val_acc": result.best_val,
    }
    best = dataclasses.replace(config, learning_rate=best_lr, reg=best_reg)
    return best, record, result.best_model, histories[best_lr, best_reg]


def tune_run(
    config: TrainConfig, options: SearchOptions = SearchOptions(), verbose: bool = True
) -> tuple[RunResult, dict[str, Any]]:
    """Search config's hyperparameters, retrain the best, and write its run folder.

    A model whose registration has its own search (kNN: k by options.num_folds-fold
    cross-validation over options.k_choices) uses it; the others search (learning rate, reg)
    pairs from learning_rates x regs (grid) or drawn log-uniformly between their (low, high)
    bounds (random, num_samples pairs).
    returns (the best model's RunResult, the search record also written to search.json)
    """
    started = (time.perf_counter(), time.process_time())
    config = resolve_config(config)
    spec = registry.get(config.model)
    prepared = spec.task.prepare(config, spec, verbose)
    with runs.claim_run_dir(config.out, f"tune-{config.model}-{config.dataset}") as run_dir:
        return _search_and_write(spec, prepared, config, run_dir, options, verbose, started)


def _search_and_write(
    spec: registry.ModelSpec,
    prepared: Prepared,
    config: TrainConfig,
    run_dir: Path,
    options: SearchOptions,
    verbose: bool,
    started: tuple[float, float],
) -> tuple[RunResult, dict[str, Any]]:
    if spec.tune is not None:
        best, record = spec.tune(prepared, config, run_dir, options)
        model = spec.build(best, prepared)
        history = fit(spec, model, best, prepared, run_dir, verbose)
    else:
        best, record, model, history = _search_rates(
            spec, prepared, config, run_dir, options, verbose
        )
    runs.write_json(run_dir / "search.json", record)
    result = write_run(spec, model, best, prepared, history, run_dir, started)
    return result, record
