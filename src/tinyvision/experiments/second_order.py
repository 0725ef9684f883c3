"""Experiment: L-BFGS against full-batch gradient descent, minibatch SGD and Adam.

The CS231n notes set second-order methods beside SGD: L-BFGS (`tinyvision.full_batch`) needs
the exact loss and gradient, so every evaluation is a pass over the whole training set, but on
a small convex problem it reaches the optimum in a few dozen passes, where minibatch SGD keeps
bouncing around it. Two such problems on the digits: softmax regression (a FullyConnectedNet
with no hidden layer) over the ten classes, and logistic regression of one digit against the
rest. Every optimiser starts from the same weights.

Wall-clock seconds count the optimisation only: the full training loss recorded after every
epoch (or L-BFGS iteration) is measured off the clock. The first-order runs go through the one
Solver, which checks accuracy on 50 examples per epoch (negligible); full-batch gradient
descent is the Solver fed one batch holding the whole training set, so one update is one pass.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classifiers.fc_net import FullyConnectedNet
from tinyvision.classifiers.logistic_regression import LogisticRegression
from tinyvision.experiments.common import ExperimentOutput, finish_axes, new_figure, save_figure
from tinyvision.full_batch import minimize_lbfgs, model_objective
from tinyvision.solver import Solver

__all__ = ["lbfgs_comparison"]

# Examples the Solver checks accuracy on each epoch: enough for its bookkeeping, cheap to time.
_SOLVER_CHECK = 50


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))


def _curve_point(model: Any, data: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The full-batch training loss and the train and val accuracy of model as it is now."""
    loss, _ = model.loss(data["X_train"], data["y_train"])
    return {
        "loss": float(loss),
        "train_acc": _accuracy(model, data["X_train"], data["y_train"]),
        "val_acc": _accuracy(model, data["X_val"], data["y_val"]),
    }


def _run_lbfgs(
    model: Any, data: Mapping[str, np.ndarray], start: dict[str, np.ndarray], max_iter: int
) -> dict[str, Any]:
    """L-BFGS from start; its curve per iteration and the final accuracies."""
    objective = model_objective(model, data["X_train"], data["y_train"])
    params, history = minimize_lbfgs(objective, start, max_iter=max_iter)
    model.params = params
    end = _curve_point(model, data)
    return {
        "seconds": history.seconds,
        "passes": history.passes,
        "loss": history.losses,
        "train_acc": end["train_acc"],
        "val_acc": end["val_acc"],
        "message": history.message,
    }


def _run_solver(
    model: Any,
    data: Mapping[str, np.ndarray],
    start: dict[str, np.ndarray],
    *,
    update_rule: str,
    learning_rate: float,
    batch_size: int | None,
    epochs: int,
    seed: int,
) -> dict[str, Any]:
    """epochs passes of the Solver from start; batch_size None: one full batch per update.

    returns the curve after every epoch (seconds off the measuring clock, passes, full
    training loss) and the train and val accuracy after the last epoch
    """
    model.params = copy.deepcopy(start)
    if batch_size is None:
        solver_data: dict[str, Any] = {
            "train": [{"image": data["X_train"], "label": data["y_train"]}],
            "val": [{"image": data["X_val"], "label": data["y_val"]}],
        }
        batch_size = len(data["y_train"])
    else:
        solver_data = {name: data[name] for name in ("X_train", "y_train", "X_val", "y_val")}
    points = [_curve_point(model, data)]
    seconds = [0.0]
    measuring = 0.0
    started = time.perf_counter()

    def record(solver: Solver) -> None:
        nonlocal measuring
        measured_from = time.perf_counter()
        seconds.append(measured_from - started - measuring)
        points.append(_curve_point(model, data))
        measuring += time.perf_counter() - measured_from

    solver = Solver(
        model,
        solver_data,
        update_rule=update_rule,
        optim_config={"learning_rate": learning_rate},
        batch_size=batch_size,
        num_epochs=epochs,
        num_train_samples=_SOLVER_CHECK,
        num_val_samples=_SOLVER_CHECK,
        verbose=False,
        progress=False,
        seed=seed,
        on_epoch_end=record,
    )
    solver.train()
    return {
        "seconds": seconds,
        "passes": list(range(epochs + 1)),
        "loss": [point["loss"] for point in points],
        "train_acc": points[-1]["train_acc"],
        "val_acc": points[-1]["val_acc"],
    }


def _problems(
    data: Mapping[str, np.ndarray], settings: Mapping[str, Any], seed: int
) -> dict[str, tuple[Any, dict[str, np.ndarray]]]:
    """{title: (model, its data)} for softmax over all classes and one class against the rest."""
    num_features = data["X_train"].shape[1]
    num_classes = int(max(data["y_train"].max(), data["y_val"].max())) + 1
    softmax = FullyConnectedNet(
        [],
        input_dim=num_features,
        num_classes=num_classes,
        weight_scale=settings["weight_scale"],
        reg=settings["reg"],
        dtype=data["X_train"].dtype,
        seed=seed,
    )
    positive = settings["positive_class"]
    logistic = LogisticRegression(
        num_features, weight_scale=settings["weight_scale"], reg=settings["reg"], seed=seed
    )
    one_vs_rest = {
        "X_train": data["X_train"],
        "y_train": (data["y_train"] == positive).astype(np.int64),
        "X_val": data["X_val"],
        "y_val": (data["y_val"] == positive).astype(np.int64),
    }
    return {
        f"softmax, {num_classes} classes": (softmax, dict(data)),
        f"logistic regression, {positive} vs rest": (logistic, one_vs_rest),
    }


def lbfgs_comparison(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train softmax and logistic regression with L-BFGS and first-order rules from one start.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for loss_vs_time.png (training loss against seconds and against passes
        over the data, one row per model).
    settings: "epochs" (passes over the data of each first-order run), "batch_size" (of SGD
        and Adam), "learning_rates" {"gd", "sgd", "adam": rate}, "lbfgs_iterations" (L-BFGS's
        cap), "reg" (L2 strength, 0.5 * reg * sum(W * W)), "weight_scale" (std of the
        starting weights), "positive_class" (the digit logistic regression tells apart).
    seed: seed of the starting weights and of the minibatches.
    returns ExperimentOutput with results {model: {optimiser: curve}} and one table row per
        (model, optimiser): its final full training loss, train and val accuracy, passes and
        seconds.
    """
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    rates = settings["learning_rates"]
    first_order = {
        "full-batch GD": ("sgd", rates["gd"], None),
        f"SGD (batch {settings['batch_size']})": ("sgd", rates["sgd"], settings["batch_size"]),
        f"Adam (batch {settings['batch_size']})": ("adam", rates["adam"], settings["batch_size"]),
    }
    results: dict[str, Any] = {}
    rows = []
    figure, axes = new_figure(ncols=2, nrows=2, size=(5.5, 3.8))
    for row, (title, (model, problem)) in enumerate(_problems(data, settings, seed).items()):
        start = copy.deepcopy(model.params)
        runs = {"L-BFGS": _run_lbfgs(model, problem, start, settings["lbfgs_iterations"])}
        for label, (rule, learning_rate, batch_size) in first_order.items():
            runs[label] = _run_solver(
                model,
                problem,
                start,
                update_rule=rule,
                learning_rate=learning_rate,
                batch_size=batch_size,
                epochs=settings["epochs"],
                seed=seed,
            )
        results[title] = runs
        time_ax, passes_ax = axes[2 * row], axes[2 * row + 1]
        for label, run in runs.items():
            rows.append(
                {
                    "model": title.split(",")[0],
                    "optimiser": label,
                    "final_loss": run["loss"][-1],
                    "train_acc": run["train_acc"],
                    "val_acc": run["val_acc"],
                    "passes": run["passes"][-1],
                    "seconds": run["seconds"][-1],
                }
            )
            style = {"marker": "o", "ms": 2.5, "linewidth": 1.2, "label": label}
            time_ax.plot(run["seconds"], run["loss"], **style)
            passes_ax.plot(run["passes"], run["loss"], **style)
        time_ax.set_title(f"{title}: loss against time")
        passes_ax.set_title(f"{title}: loss against passes")
        for ax in (time_ax, passes_ax):
            ax.set_yscale("log")
            # Plain numbers on the log axis (the losses span about one decade), at 1, 2, 3, 5.
            ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2, 3, 5)))
            ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
            ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        finish_axes(time_ax, "wall-clock seconds", "full training loss (log scale)")
        finish_axes(passes_ax, "passes over the training data", "full training loss (log scale)")
    return ExperimentOutput(results, rows, [save_figure(figure, out_dir / "loss_vs_time.png")])
