"""What the VAE and the GAN share: the model contract over a LightningModule, and loss terms.

`TorchGenerative` gives a LightningModule with a `net` (an nn.Module holding every trained
weight) tinyvision's model contract (`tinyvision.model`): `state_dict()` of NumPy arrays for
model.npz, a strict `load_state_dict`, `train()` / `eval()`. Subclasses add `sample` and
`loss_terms`, which the generation task scores (tinyvision.generation).

`TermHistory` records the separate loss terms a module logs (per step or per epoch) for
history.json; Lightning saves it in the checkpoints, so a resumed run keeps the curves.
`fit_generative` trains either model with the one Lightning setup (tinyvision.torch.run).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from tinyvision.torch.contract import TorchModel

__all__ = ["TermHistory", "TorchGenerative", "fit_generative", "image_grid_noise"]


class TorchGenerative(TorchModel):
    """The Model contract (TorchModel) of a generative model: it samples, it does not classify.

    module: the LightningModule that trains (module.net: an nn.Module)
    history: the last fit's history (set by the fit), for the pictures of the run folder
    """

    def __init__(self, module: pl.LightningModule) -> None:
        super().__init__(module)
        self.history: dict[str, Any] | None = None

    def predict(self, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
        raise ValueError(
            f"a {type(self).__name__} generates images (sample) rather than classifying them"
        )

    @property
    def _dtype(self) -> torch.dtype:
        return next(self.module.net.parameters()).dtype


def image_grid_noise(count: int, latent_dim: int, seed: int, dtype: torch.dtype) -> torch.Tensor:
    """(count, latent_dim) standard normal codes from their own generator (global RNG untouched)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, latent_dim, generator=generator, dtype=torch.float64).to(dtype)


class TermHistory(pl.Callback):
    """Loss terms for history.json: per training step and per epoch.

    step_keys: entries of the dict training_step returns, one value per step
    epoch_keys: metrics the module logs per epoch; those starting with "train_" are read when
        the training epoch ends (its own values), the others when validation ends
    history() -> {"<key>_history": [values]}
    """

    def __init__(self, step_keys: Sequence[str] = (), epoch_keys: Sequence[str] = ()) -> None:
        self.step_keys = tuple(step_keys)
        self.epoch_keys = tuple(epoch_keys)
        self.values: dict[str, list[float]] = {k: [] for k in (*self.step_keys, *self.epoch_keys)}

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: Any, outputs: Any, *args: Any
    ) -> None:
        for key in self.step_keys:
            self.values[key].append(float(outputs[key]))

    def _record(self, trainer: pl.Trainer, train: bool) -> None:
        for key in self.epoch_keys:
            if key.startswith("train_") == train:
                self.values[key].append(float(trainer.callback_metrics[key]))

    def on_validation_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
        if not trainer.sanity_checking:
            self._record(trainer, train=False)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
        self._record(trainer, train=True)

    def history(self) -> dict[str, list[float]]:
        return {f"{key}_history": list(values) for key, values in self.values.items()}

    def state_dict(self) -> dict[str, Any]:
        return {key: list(values) for key, values in self.values.items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.values = {key: list(state_dict.get(key, [])) for key in self.values}


def fit_generative(
    model: TorchGenerative,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
    *,
    monitor: str,
    mode: str,
    terms: TermHistory,
    callbacks: Sequence[pl.Callback] = (),
) -> dict[str, Any]:
    """Train model.module on prepared's train split (val each epoch); keep the best epoch.

    monitor, mode: the logged validation metric that picks the best epoch ("min" or "max");
        the history keeps it as "<monitor>_history" (no accuracy curves: these are no
        classifiers, so no accuracy.png)
    terms: the loss terms to record; callbacks: more Lightning callbacks
    returns the history (the Solver's keys, plus the terms' "<key>_history" lists)
    """
    from tinyvision.torch.data import ImageDataModule
    from tinyvision.torch.run import train_module, train_val_arrays

    arrays = train_val_arrays(prepared)
    data = ImageDataModule(arrays, batch_size=config.batch_size, seed=config.seed)
    history = train_module(
        model.module,
        data,
        config,
        run_dir,
        verbose,
        num_train=len(arrays["y_train"]),
        resume=resume,
        monitor=monitor,
        mode=mode,
        extra_callbacks=[terms, *callbacks],
    )
    history[f"{monitor}_history"] = history.pop("val_acc_history")
    del history["train_acc_history"]
    history.update(terms.history())
    model.eval()
    model.history = history
    return history
