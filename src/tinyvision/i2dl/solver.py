"""I2DL's `Solver` (`exercise_code.solver`): loss-driven training from dataloaders.

Usage as in the exercise notebooks::

    solver = Solver(model, train_dataloader, val_dataloader,
                    loss_func=CrossEntropyFromLogits(), learning_rate=1e-3, optimizer=Adam,
                    verbose=True, print_every=1)
    solver.train(epochs=20, patience=5)
    plt.plot(solver.train_loss_history); plt.plot(solver.val_loss_history)

The dataloaders yield ``{"image": X, "label": y}`` batches (e.g. `tinyvision.data.DataLoader`).
Each training batch is one update: ``y_pred = model.forward(X)``, the loss is
``loss_func.forward(y_pred, y)`` plus ``sum(model.reg.values())`` when the model keeps the
exercise's ``reg`` dict, then ``optimizer.backward(y_pred, y)`` and ``optimizer.step()``. After
each epoch the mean validation loss is measured; the parameters with the lowest one are kept
and put back into the model at the end, and ``patience`` epochs without improvement stop the
run early.

It is the one `tinyvision.solver.Solver` loop (its epochs, early-stopping counter, divergence
stop and best-parameter restore), with the exercise's loss and optimiser objects in the update
step and the validation loss as the metric. Unlike the exercise's template it updates the
model from the very first epoch (the template only measured the loss in epoch 0) and keeps a
copy of the best parameters, not a reference to the arrays that training goes on changing.

Histories: ``train_loss_history`` / ``val_loss_history`` (one mean per epoch),
``train_batch_loss`` / ``val_batch_loss`` (one per batch), and the base Solver's
``loss_history`` (one per update). ``best_model_stats`` holds the best epoch's losses.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from tinyvision.checkpoint import get_buffers
from tinyvision.model import Model
from tinyvision.solver import Solver as _BaseSolver
from tinyvision.validation import check_int

from .networks.loss import CrossEntropyFromLogits
from .networks.optimizer import Adam

__all__ = ["Solver"]

# Options of the base Solver that this one passes on; other keyword arguments are ignored, as
# in the exercise, whose hyperparameter search passes one config dict to model and Solver.
_BASE_OPTIONS = ("seed", "progress")


def _is_loader(obj: Any) -> bool:
    return isinstance(obj, Iterable) and hasattr(obj, "__len__") and len(obj) > 0


class Solver(_BaseSolver):
    """Train an I2DL model with an exercise optimiser, early stopping on the validation loss."""

    metric_name = "loss"

    def __init__(
        self,
        model: Any,
        train_dataloader: Iterable[Mapping[str, np.ndarray]],
        val_dataloader: Iterable[Mapping[str, np.ndarray]],
        loss_func: Any = None,
        learning_rate: float = 1e-3,
        optimizer: type = Adam,
        verbose: bool = True,
        print_every: int = 1,
        lr_decay: float = 1.0,
        **kwargs: Any,
    ) -> None:
        """Set up training.

        model: forward(X), backward(dout), params (e.g. ClassificationNet)
        train_dataloader, val_dataloader: sized iterables of {"image", "label"} batches
        loss_func: an exercise loss object (default CrossEntropyFromLogits())
        learning_rate: the optimiser's initial rate
        optimizer: class called as optimizer(model, loss_func, learning_rate) (SGD,
          SGDMomentum, Adam, ...)
        verbose: print the losses every print_every epochs, as the exercise does
        lr_decay: the learning rate is multiplied by it after every epoch
        kwargs: seed and progress (a tqdm bar) of the base Solver; others are ignored
        """
        self.loss_func = CrossEntropyFromLogits() if loss_func is None else loss_func
        self.learning_rate = learning_rate
        self.opt = optimizer(model, self.loss_func, learning_rate)
        options = {key: kwargs[key] for key in _BASE_OPTIONS if key in kwargs}
        options.setdefault("progress", False)
        super().__init__(
            model,
            {"train": train_dataloader, "val": val_dataloader},
            verbose=verbose,
            print_every=print_every,
            lr_decay=lr_decay,
            num_epochs=0,
            **options,
        )

    def _check_model_and_data(self, model: Any, data: Mapping[str, Any]) -> None:
        missing = [
            name for name in ("forward", "backward") if not callable(getattr(model, name, None))
        ]
        if missing or not isinstance(getattr(model, "params", None), Mapping):
            raise ValueError(
                f"model must have forward(X), backward(dout) and a params dict (e.g. "
                f"ClassificationNet); {type(model).__name__} lacks "
                f"{missing or ['params']}"
            )
        for key in ("train", "val"):
            if not _is_loader(data[key]):
                raise ValueError(
                    f"{key}_dataloader must be a non-empty sized iterable of "
                    f'{{"image", "label"}} batches (e.g. tinyvision.data.DataLoader), got '
                    f"{data[key]!r}"
                )
        self.train_loader = self.train_dataloader = data["train"]
        self.val_loader = self.val_dataloader = data["val"]
        self.X_train = self.y_train = self.X_val = self.y_val = None

    def _reset(self) -> None:
        super()._reset()
        # The exercise's optimiser object owns the learning rate and the optimiser state.
        self.optim_configs = {}
        self.best_model_stats: dict[str, float] | None = None
        self.train_loss_history: list[float] = []
        self.val_loss_history: list[float] = []
        self.train_batch_loss: list[float] = []
        self.val_batch_loss: list[float] = []
        self._epoch_train_loss = math.nan

    @property
    def current_patience(self) -> int:
        """Epochs since the validation loss last improved (the exercise's name)."""
        return self.epochs_without_improvement

    def _learning_rate(self) -> float | None:
        lr = getattr(self.opt, "lr", None)
        return None if lr is None else float(lr)

    def _step(self, X: np.ndarray, y: np.ndarray, validation: bool = False) -> float:
        """The loss of one batch; unless validation, also one update of the model.

        X: (B, ...) inputs; y: (B, ...) targets
        returns the batch loss, the regularisation penalty included
        """
        if validation:
            y_pred = self._forward_for_validation(X)
        else:
            y_pred = self.model.forward(X)
        loss = float(self.loss_func.forward(y_pred, y)) + self._penalty()
        if validation:
            return loss
        if not math.isfinite(loss):
            self._diverged(loss)
        self.opt.backward(y_pred, y)
        self.opt.step()
        self.loss_history.append(loss)
        self.iteration += 1
        return loss

    def _penalty(self) -> float:
        """sum(model.reg.values()) for models that keep the exercise's reg dict, else 0."""
        reg = getattr(self.model, "reg", None)
        return float(sum(reg.values())) if isinstance(reg, Mapping) else 0.0

    def _forward_for_validation(self, X: np.ndarray) -> np.ndarray:
        """model.forward(X), in evaluation mode for tinyvision models (dropout, batch norm)."""
        if not isinstance(self.model, Model):
            return self.model.forward(X)
        training = self.model.training
        self.model.eval()
        try:
            return self.model.forward(X)
        finally:
            self.model.train(training)

    def _train_epoch(self, num_iterations: int) -> None:
        """One update per training batch (epoch 0 included), then the learning-rate decay."""
        losses = [
            self._step(np.asarray(batch["image"]), np.asarray(batch["label"]))
            for batch in self.train_loader
        ]
        self.train_batch_loss.extend(losses)
        self._epoch_train_loss = float(np.mean(losses))
        self.opt.lr *= self.lr_decay

    def _epoch_summary(self) -> str:
        """The exercise tracks losses: the epoch's mean train and validation loss."""
        return (
            f"train loss {self.train_loss_history[-1]:.4f}, "
            f"val loss {self.val_loss_history[-1]:.4f}"
        )

    def _evaluate(self) -> bool:
        """Record the epoch's train and validation loss and keep the best parameters.

        returns True when the validation loss is the lowest so far
        """
        val_losses = [
            self._step(np.asarray(batch["image"]), np.asarray(batch["label"]), validation=True)
            for batch in self.val_loader
        ]
        self.val_batch_loss.extend(val_losses)
        train_loss, val_loss = self._epoch_train_loss, float(np.mean(val_losses))
        self.train_loss_history.append(train_loss)
        self.val_loss_history.append(val_loss)
        if self.verbose and (self.epoch - 1) % self.print_every == 0:
            print(
                f"(Epoch {self.epoch} / {self.num_epochs}) train loss: {train_loss:f}; "
                f"val loss: {val_loss:f}"
            )
        best = self.best_model_stats
        if best is not None and not val_loss < best["val_loss"]:
            return False
        self.best_model_stats = {"val_loss": val_loss, "train_loss": train_loss}
        self.best_params = copy.deepcopy(dict(self.model.params))
        self.best_buffers = get_buffers(self.model)
        return True

    def train(self, epochs: int = 100, patience: int | None = None) -> None:
        """Train for epochs more epochs, or until patience epochs bring no lower val loss.

        epochs: int >= 0
        patience: int >= 1, or None / 0 for no early stopping (as in the exercise)
        At the end the model gets a copy of the parameters with the lowest validation loss.
        """
        check_int(epochs, "epochs", 0)
        check_int(patience, "patience", 0, allow_none=True)
        self.num_epochs = self.epoch + int(epochs)
        self.patience = int(patience) if patience else None
        self.stopped_early = False
        super().train()
        if self.stopped_early and self.verbose:
            print(f"Stopping early at epoch {self.epoch - 1}!")

    def get_dataset_accuracy(self, loader: Iterable[Mapping[str, np.ndarray]]) -> float:
        """Fraction of a loader's examples whose highest score is their label.

        loader: {"image", "label"} batches; the model's forward gives (B, C) scores
        returns the accuracy in [0, 1]
        """
        correct = total = 0
        for batch in loader:
            labels = np.asarray(batch["label"]).reshape(-1)
            scores = self._forward_for_validation(np.asarray(batch["image"]))
            correct += int(np.sum(np.argmax(scores, axis=1) == labels))
            total += labels.size
        if total == 0:
            raise ValueError("get_dataset_accuracy got a loader that yielded no examples")
        return correct / total
