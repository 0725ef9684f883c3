"""Pruning of a search trial on the PyTorch track: a Lightning callback.

optuna-integration's PyTorchLightningPruningCallback is written for the unified `lightning`
package, whose callbacks the `pytorch_lightning` Trainer we train with refuses; this callback
does the same for `pytorch_lightning` and reports through tinyvision.search.pruning, as the
NumPy Solver does.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from tinyvision.search.pruning import report_epoch

__all__ = ["LightningPruning"]


class LightningPruning(pl.Callback):
    """Report `monitor` to an Optuna trial after each validation epoch; prune when it says."""

    def __init__(self, trial: Any, monitor: str = "val_acc") -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning validates a few batches before training starts: that is not an epoch.
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        report_epoch(self.trial, trainer.current_epoch + 1, value)
