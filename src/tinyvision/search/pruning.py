"""Pruning: a search trial reports each epoch's validation accuracy and stops when told.

The NumPy Solver calls `report_epoch` from its `on_epoch_end` hook (tinyvision.pipeline.fit);
the PyTorch track does it from a Lightning callback (tinyvision.torch.pruning).
"""

from __future__ import annotations

from typing import Any

__all__ = ["report_epoch"]


def report_epoch(trial: Any, epoch: int, val_acc: float, unit: str = "epoch") -> None:
    """Tell trial the validation accuracy after `epoch` epochs; raise TrialPruned if it says so.

    trial: an optuna.Trial; epoch: epochs trained so far (1, 2, ...); val_acc: in [0, 1]
    unit: what a step is, for the message ("fold" when a cross-validated trial reports the
        mean over its folds so far)
    """
    import optuna

    trial.report(float(val_acc), step=int(epoch))
    if trial.should_prune():
        raise optuna.TrialPruned(f"pruned after {unit} {epoch} at val accuracy {val_acc:.4f}")
