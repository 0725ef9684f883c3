"""The pictures of a search: accuracy against each parameter, the history, importances, and
the course's learning rate x regularisation scatter."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from tinyvision.search.space import SearchSpace
from tinyvision.vis_utils import plot_hyperparameter_search

__all__ = ["plot_history", "plot_importance", "plot_params", "plot_search"]


def _complete(study: Any) -> list[Any]:
    import optuna

    return study.get_trials(False, states=(optuna.trial.TrialState.COMPLETE,))


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    FigureCanvasAgg(fig).print_png(str(path))
    return path


def _two_and_five(value: float, _position: int) -> str:
    text = f"{value:.0e}"
    return f"{value:g}" if text[0] in "25" else ""


def plot_params(study: Any, space: SearchSpace, path: str | Path) -> Path:
    """Validation accuracy of each completed trial against each searched parameter."""
    trials = _complete(study)
    columns = len(space.params)
    fig = Figure(figsize=(4 * columns, 3.6))
    for i, param in enumerate(space.params):
        ax = fig.add_subplot(1, columns, i + 1)
        acc = [t.value for t in trials if param.name in t.params]
        drawn = [t.params[param.name] for t in trials if param.name in t.params]
        if param.kind == "choice":
            labels = [str(v) for v in dict.fromkeys(drawn)]
            ax.scatter([labels.index(str(v)) for v in drawn], acc, alpha=0.7)
            ax.set_xticks(range(len(labels)), labels)
        else:
            ax.scatter(drawn, acc, alpha=0.7)
            if param.log:
                ax.set_xscale("log")
                # An axis of about one decade needs labels between the decades (2 and 5 only:
                # all eight collide); a wider one has enough at the decades.
                narrow = bool(drawn) and math.log10(max(drawn) / min(drawn)) <= 1.5
                ax.xaxis.set_minor_formatter(
                    FuncFormatter(_two_and_five) if narrow else NullFormatter()
                )
        ax.set_xlabel(param.name)
        ax.set_ylabel("validation accuracy")
        ax.set_title(f"val accuracy vs {param.name}")
        ax.grid(alpha=0.3)
    return _save(fig, Path(path))


def plot_history(study: Any, path: str | Path) -> Path:
    """Optimisation history: each completed trial's accuracy and the best so far."""
    trials = sorted(_complete(study), key=lambda t: t.number)
    numbers = [t.number for t in trials]
    values = np.array([t.value for t in trials], dtype=np.float64)
    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(numbers, values, label="trial", alpha=0.7)
    if len(values):
        ax.step(
            numbers, np.maximum.accumulate(values), where="post", color="C3", label="best so far"
        )
    ax.set_xlabel("trial number")
    ax.set_ylabel("validation accuracy")
    ax.set_title("optimisation history")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, Path(path))


def plot_importance(study: Any, path: str | Path) -> Path | None:
    """Each parameter's importance for the validation accuracy (Optuna's fANOVA).

    returns None (and draws nothing) with fewer than two parameters or completed trials
    """
    import optuna

    if len(_complete(study)) < 2 or len(study.best_trial.params) < 2:
        return None
    with warnings.catch_warnings():
        # With few trials the evaluator may find every parameter equally important: say so
        # in the picture (equal bars), not as a warning.
        warnings.simplefilter("ignore", UserWarning)
        importances = optuna.importance.get_param_importances(study)
    names = list(importances)[::-1]
    fig = Figure(figsize=(6, 1.2 + 0.5 * len(names)))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(names, [importances[n] for n in names])
    ax.set_xlabel("importance for validation accuracy (fANOVA)")
    ax.set_title("parameter importance")
    return _save(fig, Path(path))


def plot_search(study: Any, path: str | Path) -> Path | None:
    """The course's learning rate x regularisation scatter (train and val accuracy); failed
    (diverged) trials are the course's black crosses, pruned ones are left out.

    returns None when the search did not vary both learning_rate and reg
    """
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    results = {}
    for trial in study.get_trials(deepcopy=False, states=states):
        config = trial.user_attrs.get("config", {})
        if "learning_rate" not in trial.params or "reg" not in trial.params:
            continue
        lr, reg = config.get("learning_rate"), config.get("reg")
        if not (lr and reg and lr > 0 and reg > 0):
            continue
        done = trial.value is not None and math.isfinite(trial.value)
        train = trial.user_attrs.get("train_acc", math.nan) if done else math.nan
        results[lr, reg] = (train, trial.value if done else math.nan)
    if not results:
        return None
    return plot_hyperparameter_search(results, path)
