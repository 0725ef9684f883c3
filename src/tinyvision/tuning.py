"""Hyperparameter search runs: the course's validation experiments, one command each.

`tune_run` searches learning rate x regularisation (grid or log-uniform random) for the linear
classifiers and the nets, or k by cross-validation for kNN; it keeps the best model by
validation accuracy and writes it as an ordinary run folder (so `tinyvision evaluate` works on
it) plus `search.json` and the course's plots (`search.png`, or `knn_cross_validation.png`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tinyvision import runs
from tinyvision.config import TrainConfig
from tinyvision.model_selection import cross_validate_knn, search_hyperparameters
from tinyvision.pipeline import Predictor, Prepared, RunResult, fit, prepare, write_run
from tinyvision.solver import TrainingDivergedError
from tinyvision.vis_utils import plot_hyperparameter_search, plot_knn_cross_validation

__all__ = ["DEFAULT_K_CHOICES", "tune_run"]

DEFAULT_K_CHOICES = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)


def _tune_k(
    prepared: Prepared, k_choices: Sequence[int], num_folds: int, run_dir: Path
) -> tuple[TrainConfig, dict[str, Any]]:
    """Cross-validate k on the training split; return the config with the best k."""
    X, y = prepared.X["train"], prepared.data["y_train"]
    smallest_train = len(X) - -(-len(X) // num_folds)
    usable = [k for k in k_choices if k <= smallest_train]
    k_to_accuracies = cross_validate_knn(
        X, y, usable, num_folds=num_folds, metric=prepared.config.metric
    )
    mean_accuracy = {k: float(np.mean(v)) for k, v in k_to_accuracies.items()}
    best_k = max(mean_accuracy, key=lambda k: (mean_accuracy[k], -k))
    plot_knn_cross_validation(k_to_accuracies, run_dir / "knn_cross_validation.png")
    search = {
        "k_to_accuracies": {str(k): v for k, v in k_to_accuracies.items()},
        "best_k": best_k,
        "num_folds": num_folds,
    }
    return dataclasses.replace(prepared.config, k=best_k), search


def _tune_rates(
    prepared: Prepared,
    learning_rates: Sequence[float],
    regs: Sequence[float],
    search: Literal["grid", "random"],
    num_samples: int,
    run_dir: Path,
    verbose: bool,
) -> tuple[TrainConfig, dict[str, Any], tuple[Predictor, dict[str, Any]]]:
    """Search (learning rate, reg) by validation accuracy: the best config, record, model."""
    histories: dict[tuple[float, float], dict[str, Any]] = {}

    def make_and_train(learning_rate: float, reg: float) -> Predictor | None:
        config = dataclasses.replace(prepared.config, learning_rate=learning_rate, reg=reg)
        # A diverging pair overflows on its way to the divergence check; it is reported once,
        # as a failed pair, rather than as a screen of NumPy warnings.
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                trained, histories[learning_rate, reg] = fit(prepared, config, None, verbose)
        except TrainingDivergedError:
            return None
        # Linear classifiers have no divergence check of their own: overflowed weights mark it.
        if not all(np.isfinite(array).all() for array in trained.arrays().values()):
            return None
        return trained

    X, data = prepared.X, prepared.data
    result = search_hyperparameters(
        make_and_train,
        learning_rates,
        regs,
        X["train"],
        data["y_train"],
        X["val"],
        data["y_val"],
        search=search,
        num_samples=num_samples,
        seed=prepared.config.seed,
    )
    plot_hyperparameter_search(result.results, run_dir / "search.png")
    best_lr, best_reg = result.best_params
    search_record = {
        "search": search,
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
    best_config = dataclasses.replace(prepared.config, learning_rate=best_lr, reg=best_reg)
    return best_config, search_record, (result.best_model, histories[best_lr, best_reg])


def tune_run(
    config: TrainConfig,
    learning_rates: Sequence[float] = (),
    regs: Sequence[float] = (),
    search: Literal["grid", "random"] = "grid",
    num_samples: int = 10,
    k_choices: Sequence[int] = DEFAULT_K_CHOICES,
    num_folds: int = 5,
    verbose: bool = True,
) -> tuple[RunResult, dict[str, Any]]:
    """Search config's hyperparameters, retrain the best, and write its run folder.

    For kNN, k is chosen by num_folds-fold cross-validation over k_choices. For the other
    models, (learning rate, reg) pairs come from learning_rates x regs (grid) or are drawn
    log-uniformly between their (low, high) bounds (random, num_samples pairs).
    returns (the best model's RunResult, the search record also written to search.json)
    """
    start = time.perf_counter()
    prepared = prepare(config, verbose)
    resolved = prepared.config
    run_dir = runs.new_run_dir(resolved.out, f"tune-{resolved.model}-{resolved.dataset}")
    if resolved.model == "knn":
        best_config, record = _tune_k(prepared, k_choices, num_folds, run_dir)
        trained, history = fit(prepared, best_config, run_dir, verbose)
    else:
        if not learning_rates or not regs:
            raise ValueError(
                "give the learning rates and regularisation strengths to search, e.g. "
                "--learning-rates 1e-7,5e-7 --regs 2.5e4,5e4"
            )
        best_config, record, (trained, history) = _tune_rates(
            prepared, learning_rates, regs, search, num_samples, run_dir, verbose
        )
    runs.write_json(run_dir / "search.json", record)
    result = write_run(
        prepared, best_config, trained, history, run_dir, time.perf_counter() - start
    )
    return result, record
