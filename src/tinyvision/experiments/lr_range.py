"""Experiment: the learning-rate range test (Smith, 2017; the "LR finder" of fastai).

One net trains for a short while as the learning rate rises exponentially with every update,
from min_lr to max_lr. The loss first barely moves (the rate is too small), then falls fast,
then explodes (too large). Plotting the smoothed loss against the rate on a log axis shows the
useful range, and `suggest_learning_rate` picks a value from it:

- "steepest": the rate where the smoothed loss falls fastest per step of log(lr), searched
  before the minimum of the smoothed loss and after the first 1 / (1 - beta) updates (where
  the moving average is still noisy). This is the suggestion printed and recorded.
- "min_tenth": one tenth of the rate at the minimum of the smoothed loss, the other common
  rule of thumb, recorded next to it.

Training stops early once the smoothed loss exceeds `explode_factor` times its minimum (or the
loss becomes NaN/inf). The net is the registered "fc" model trained by the task's Solver, with
the rising rate as its per-update lr_schedule and the explosion check as its stop_when.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.experiments.common import (
    ExperimentOutput,
    build_net,
    finish_axes,
    new_figure,
    save_figure,
)
from tinyvision.schedules import ExponentialRamp
from tinyvision.solver import TrainingDivergedError

__all__ = ["LossWatch", "lr_range", "smooth_losses", "suggest_learning_rate"]


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction (as Adam corrects its moments).

    avg_t = beta * avg_{t-1} + (1 - beta) * loss_t, avg_{-1} = 0; smoothed_t = avg_t /
    (1 - beta**(t + 1)), so the first value is the first loss rather than a fraction of it.

    losses: T floats; beta: float in [0, 1), 0 means no smoothing
    returns (T,) float64
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    smoothed = np.empty(len(losses))
    avg = 0.0
    for t, loss in enumerate(losses):
        avg = beta * avg + (1.0 - beta) * float(loss)
        smoothed[t] = avg / (1.0 - beta ** (t + 1))
    return smoothed


def suggest_learning_rate(
    lrs: Sequence[float], losses: Sequence[float], skip_start: int = 0
) -> dict[str, float]:
    """Learning rates suggested by a range test's (smoothed) loss curve.

    lrs: T > 2 increasing positive learning rates; losses: T finite (smoothed) losses at them
    skip_start: int >= 0, points at the start left out of the search for the steepest slope
        (a moving average over its first few losses is still noisy)
    returns {"steepest": the rate of the most negative slope d loss / d log(lr), among the
        points from skip_start up to the minimum loss (np.gradient's centred differences),
        "min_tenth": the rate of the minimum loss / 10, "min_loss_lr": the rate of the minimum
        loss}
    """
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or lrs.shape != losses.shape or len(lrs) < 3:
        raise ValueError(
            f"lrs and losses must be two 1-d sequences of the same length >= 3, got shapes "
            f"{lrs.shape} and {losses.shape}; run the range test for more steps"
        )
    if not (np.all(lrs > 0) and np.all(np.diff(lrs) > 0)):
        raise ValueError("lrs must be positive and increasing, as a range test's rising rate")
    if not np.all(np.isfinite(losses)):
        raise ValueError("losses must be finite; cut the curve where the loss exploded")
    if isinstance(skip_start, bool) or not isinstance(skip_start, int) or skip_start < 0:
        raise ValueError(f"skip_start must be an int >= 0, got {skip_start!r}")
    best = int(np.argmin(losses))
    slopes = np.gradient(losses, np.log(lrs))
    # A minimum before skip_start leaves no descent to search: take the first point after it.
    start = min(skip_start, best)
    steepest = start + int(np.argmin(slopes[start : best + 1]))
    return {
        "steepest": float(lrs[steepest]),
        "min_tenth": float(lrs[best] / 10.0),
        "min_loss_lr": float(lrs[best]),
    }


class LossWatch:
    """The Solver's stop_when for a range test: True once the smoothed loss explodes.

    Keeps the bias-corrected moving average of smooth_losses, updated with each new loss.
    beta: smoothing as in smooth_losses; explode_factor: stop when the smoothed loss exceeds
    explode_factor times the lowest smoothed loss seen so far.
    """

    def __init__(self, beta: float, explode_factor: float) -> None:
        self.beta, self.explode_factor = beta, explode_factor
        self.average, self.count, self.best = 0.0, 0, math.inf

    def __call__(self, solver: Any) -> bool:
        self.average = self.beta * self.average + (1.0 - self.beta) * solver.loss_history[-1]
        self.count += 1
        smoothed = self.average / (1.0 - self.beta**self.count)
        self.best = min(self.best, smoothed)
        return smoothed > self.explode_factor * self.best


def lr_range(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Train a net while the learning rate rises exponentially; plot loss against rate.

    data: X_train (N, D), y_train (N,), X_val, y_val as from load_experiment_data.
    out_dir: folder for lr_range.png.
    settings: "min_lr", "max_lr", "num_steps" (updates from min_lr to max_lr), "beta"
        (smoothing), "explode_factor", "hidden_dims", "weight_init", "update_rule",
        "batch_size".
    seed: seeds the initialisation and the minibatches.
    returns ExperimentOutput with results {"lrs", "losses", "smoothed" (one per update run),
        "stopped_early" (the loss exploded before max_lr), "suggestion" (suggest_learning_rate
        of the smoothed curve)} and one table row.
    """
    ramp = ExponentialRamp(settings["min_lr"], settings["max_lr"], settings["num_steps"])
    iterations_per_epoch = max(len(data["y_train"]) // settings["batch_size"], 1)
    spec, config, prepared, model = build_net(
        data,
        settings["hidden_dims"],
        update_rule=settings["update_rule"],
        learning_rate=settings["min_lr"],
        epochs=math.ceil(settings["num_steps"] / iterations_per_epoch),
        batch_size=settings["batch_size"],
        weight_init=settings["weight_init"],
        seed=seed,
    )
    watch = LossWatch(settings["beta"], settings["explode_factor"])
    solver = spec.task.solver(
        model, config, prepared, verbose=False, progress=False, lr_schedule=ramp, stop_when=watch
    )
    try:
        solver.train()
    except TrainingDivergedError:
        pass  # the finite losses before the NaN are the curve
    losses = solver.loss_history[: settings["num_steps"]]
    lrs = [ramp(t) for t in range(len(losses))]
    smoothed = smooth_losses(losses, settings["beta"])
    stopped = len(losses) < settings["num_steps"]
    # The last point is the one that exploded: the suggestion reads the curve before it.
    curve = slice(None, -1) if stopped else slice(None)
    # About 1 / (1 - beta) losses make up the average: fewer leave it noisy.
    skip_start = math.ceil(1.0 / (1.0 - settings["beta"]))
    suggestion = suggest_learning_rate(lrs[curve], smoothed[curve], skip_start)
    results = {
        "lrs": lrs,
        "losses": list(losses),
        "smoothed": smoothed.tolist(),
        "stopped_early": stopped,
        "suggestion": suggestion,
    }
    row = {
        "steps": len(losses),
        "stopped_at_lr": lrs[-1],
        "min_loss": float(smoothed[curve].min()),
        "suggested_lr": suggestion["steepest"],
        "min_tenth_lr": suggestion["min_tenth"],
    }
    return ExperimentOutput(results, [row], [_plot(results, out_dir)])


def _plot(results: Mapping[str, Any], out_dir: Path) -> Path:
    figure, (ax,) = new_figure(size=(7.0, 4.5))
    ax.semilogx(results["lrs"], results["losses"], color="0.75", linewidth=0.8, label="loss")
    ax.semilogx(results["lrs"], results["smoothed"], color="C0", label="smoothed loss")
    suggestion = results["suggestion"]
    ax.axvline(
        suggestion["steepest"],
        color="C3",
        linestyle="--",
        label=f"steepest descent: {suggestion['steepest']:.2g}",
    )
    ax.axvline(
        suggestion["min_tenth"],
        color="C2",
        linestyle=":",
        label=f"minimum / 10: {suggestion['min_tenth']:.2g}",
    )
    # Keep the explosion from squashing the useful part of the curve.
    low = min(results["smoothed"])
    ax.set_ylim(low - 0.05 * abs(low), max(results["smoothed"][0], low) * 1.5 + 1e-12)
    ax.set_title("Learning-rate range test")
    finish_axes(ax, "learning rate (log scale)", "training loss")
    return save_figure(figure, out_dir / "lr_range.png")
