"""The LightningModule of the PyTorch track's classifiers, and the callback that keeps history.

`ClassifierModule` wraps any image classifier (an nn.Module from images to logits) with the
cross-entropy loss, accuracy logging, and the optimiser and schedule named by tinyvision's
config vocabulary (`--update-rule`, `--schedule`, `--lr-decay`, `--reg` as weight decay).
`HistoryCallback` records what the NumPy Solver records (losses per step, accuracies per
epoch, learning rates) so a torch run folder has the same history.json and plots.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ClassifierModule", "HistoryCallback", "make_optimizer"]


def make_optimizer(
    update_rule: str, parameters: Any, learning_rate: float, weight_decay: float
) -> torch.optim.Optimizer:
    """The torch optimiser for a tinyvision update rule name.

    weight_decay: the L2 strength `reg` (for adamw the decoupled decay, as in PyTorch)
    """
    rules = {
        "sgd": lambda: torch.optim.SGD(parameters, learning_rate, weight_decay=weight_decay),
        "sgd_momentum": lambda: torch.optim.SGD(
            parameters, learning_rate, momentum=0.9, weight_decay=weight_decay
        ),
        "nesterov_momentum": lambda: torch.optim.SGD(
            parameters, learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay
        ),
        "adagrad": lambda: torch.optim.Adagrad(
            parameters, learning_rate, weight_decay=weight_decay
        ),
        "rmsprop": lambda: torch.optim.RMSprop(
            parameters, learning_rate, alpha=0.99, weight_decay=weight_decay
        ),
        "adam": lambda: torch.optim.Adam(parameters, learning_rate, weight_decay=weight_decay),
        "adamw": lambda: torch.optim.AdamW(parameters, learning_rate, weight_decay=weight_decay),
    }
    if update_rule not in rules:
        raise ValueError(f"update rule must be one of {', '.join(rules)}, got {update_rule!r}")
    return rules[update_rule]()


class ClassifierModule(pl.LightningModule):
    """Cross-entropy training of `net` with tinyvision's optimiser and schedule settings.

    net: (N, C, H, W) images -> (N, num_classes) logits
    update_rule, learning_rate, weight_decay: see make_optimizer
    schedule: "step" (times lr_decay after each epoch), "cosine" (per step, down to 0 at the
        end of the last epoch) or "onecycle" (per step: up to learning_rate in the first 30%,
        then down, torch's OneCycleLR)
    lr_decay: the factor of "step"; epochs: the length of the schedule
    class_weights: None, or (num_classes,) weights of each class's cross-entropy in training
        (torch's weighted mean: sum of w_y * loss over sum of w_y; --class-weights balanced);
        validation and test losses stay unweighted, their splits are not the imbalanced one
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        update_rule: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        schedule: str = "step",
        lr_decay: float = 1.0,
        epochs: int = 1,
        class_weights: Any = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.update_rule = update_rule
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_decay = lr_decay
        self.epochs = epochs
        weights = None if class_weights is None else torch.as_tensor(class_weights)
        # A buffer, so checkpoints carry it and a resumed run weights the loss alike.
        self.register_buffer("class_weights", weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        x, y = batch
        scores = self(x)
        weights = self.class_weights if split == "train" else None
        loss = F.cross_entropy(scores, y, None if weights is None else weights.to(scores.dtype))
        accuracy = (scores.argmax(dim=1) == y).float().mean()
        on_step = split == "train"
        # sync_dist: in a distributed run an epoch's value averages over every process's share.
        self.log(
            f"{split}_loss", loss, on_step=on_step, on_epoch=True, prog_bar=on_step, sync_dist=True
        )
        self.log(
            f"{split}_acc", accuracy, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True
        )
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        return self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        return self._step(batch, "test")

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = make_optimizer(
            self.update_rule, self.parameters(), self.learning_rate, self.weight_decay
        )
        steps = int(self.trainer.estimated_stepping_batches)
        if self.schedule == "cosine":
            scheduler: Any = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
            interval = "step"
        elif self.schedule == "onecycle":
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.learning_rate, total_steps=steps, pct_start=0.3
            )
            interval = "step"
        elif self.schedule == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=self.lr_decay)
            interval = "epoch"
        else:
            raise ValueError(
                f"schedule must be step, cosine or onecycle for a torch model, got "
                f"{self.schedule!r}"
            )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": interval},
        }


class HistoryCallback(pl.Callback):
    """The Solver's history (history.json keys) from a Lightning run; saved in checkpoints.

    monitor: the logged validation metric kept as val_acc_history (the Solver's slot for the
        validation metric; "val_acc" for classifiers); train_acc_history keeps its train_
        twin where the module logs one
    mode: "max" if a higher monitor is better, "min" if lower (best_val_acc follows it)
    """

    def __init__(self, monitor: str = "val_acc", mode: str = "max") -> None:
        self.monitor = monitor
        self.best = {"max": max, "min": min}[mode]
        self.train_metric = "train_" + monitor.removeprefix("val_")
        self.loss_history: list[float] = []
        self.lr_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.acc_iterations: list[int] = []

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: Any, outputs: Any, *args: Any
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.loss_history.append(float(loss.detach()))
        self.lr_history.append(float(trainer.optimizers[0].param_groups[0]["lr"]))

    def on_validation_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        self.val_acc_history.append(float(metrics[self.monitor]))
        train_acc = metrics.get(self.train_metric)
        self.train_acc_history.append(math.nan if train_acc is None else float(train_acc))
        self.acc_iterations.append(int(trainer.global_step))

    def on_train_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
        # Validation ran before the epoch's train_acc was final: take the epoch's own value.
        train_acc = trainer.callback_metrics.get(self.train_metric)
        if self.train_acc_history and train_acc is not None:
            self.train_acc_history[-1] = float(train_acc)

    def history(self, epochs_run: int, steps_per_epoch: int, stopped_early: bool) -> dict[str, Any]:
        """The curves as the NumPy Solver's history() writes them."""
        return {
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "acc_iterations": self.acc_iterations,
            "lr_history": self.lr_history,
            "epoch": epochs_run,
            "iteration": len(self.loss_history),
            "iterations_per_epoch": steps_per_epoch,
            "best_val_acc": self.best(self.val_acc_history, default=0.0),
            "stopped_early": stopped_early,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "loss_history": self.loss_history,
            "lr_history": self.lr_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "acc_iterations": self.acc_iterations,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for name, values in state_dict.items():
            setattr(self, name, list(values))
