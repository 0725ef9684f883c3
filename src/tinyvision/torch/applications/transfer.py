"""Transfer learning from an autoencoder: pre-train on unlabelled images, fine-tune on few labels.

`fit_transfer` is the fit of `--model autoencoder-transfer` (tinyvision.models.
autoencoder_transfer). Three Lightning fits, each through tinyvision.torch.run.train_module
with its own checkpoints:

1. `pretrain/`: the Autoencoder on the unlabelled images, mean squared reconstruction error,
   its best epoch chosen by the validation images' reconstruction error;
2. the run folder itself: the Classifier on the pretrained encoder, fine-tuned (encoder and
   head) on the labelled images, its best epoch chosen by validation accuracy;
3. `scratch/`: the same Classifier with a freshly initialised encoder (the very initial
   weights the autoencoder started from), trained on the same labels with the same settings.

Each stage has its own copy of the encoder, so the autoencoder keeps its pretrained encoder
(its reconstructions are measured after all three fits) while the classifier fine-tunes a copy.

The run's model is the fine-tuned classifier; the scratch classifier's test accuracy and the
autoencoder's test reconstruction error are recorded beside it (`TransferClassifier.results`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tinyvision.torch.applications.autoencoder import Autoencoder, Classifier, Decoder, Encoder
from tinyvision.torch.contract import TorchClassifier
from tinyvision.torch.data import ImageDataModule
from tinyvision.torch.lightning import ClassifierModule
from tinyvision.torch.run import train_module

__all__ = ["ReconstructionModule", "TransferClassifier", "build_transfer", "fit_transfer"]

LOG = logging.getLogger(__name__)


class ReconstructionModule(ClassifierModule):
    """An Autoencoder trained to reproduce its input: mean squared error, labels ignored.

    The optimiser and schedule settings are ClassifierModule's (tinyvision's vocabulary).
    Logs train_loss per step and val_loss per epoch (the metric that picks the best epoch).
    """

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        images = batch[0]
        loss = F.mse_loss(self(images), images)
        on_step = split == "train"
        self.log(
            f"{split}_loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, sync_dist=True
        )
        return loss


class TransferClassifier(TorchClassifier):
    """The model contract over the fine-tuned Classifier, with the other two stages' models.

    module: ClassifierModule of the classifier on the (to be) pretrained encoder
    autoencoder: the Autoencoder whose encoder is pretrained, then copied into module's
    scratch: the ClassifierModule trained from scratch
    results: what the fit measured beyond the model's own scores (scratch_test_acc,
        test_reconstruction_mse), empty until fit_transfer ran
    """

    def __init__(
        self, module: ClassifierModule, autoencoder: Autoencoder, scratch: ClassifierModule
    ) -> None:
        super().__init__(module)
        self.autoencoder = autoencoder
        self.scratch = scratch
        self.results: dict[str, float] = {}

    @torch.no_grad()
    def reconstruct(self, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Reconstructions (N, C, H, W) of standardised images X, in evaluation mode."""
        self.autoencoder.eval()
        parameter = next(self.autoencoder.parameters())
        parts = [
            self.autoencoder(torch.as_tensor(X[i : i + batch_size], dtype=parameter.dtype)).numpy()
            for i in range(0, len(X), batch_size)
        ]
        return np.concatenate(parts)


def build_transfer(
    hparams: dict[str, Any],
    input_shape: tuple[int, int, int],
    latent_dim: int,
    config: Any,
) -> TransferClassifier:
    """The three stages' models; both classifiers' encoders start from the same weights.

    hparams: the exercise's dictionary (channels, n_hidden, dropout, num_classes)
    input_shape: (C, H, W) of the images; latent_dim: length of the encoder's output
    config: the run's TrainConfig (seed, dtype and the optimiser settings)
    """
    torch.manual_seed(config.seed)
    encoder = Encoder(hparams, input_shape, latent_dim)
    # Three copies of one initialisation: the autoencoder's keeps its pretrained weights (for
    # the reconstructions), the fine-tuned classifier's receives them, the scratch one never.
    tuned, fresh = copy.deepcopy(encoder), copy.deepcopy(encoder)
    decoder = Decoder(hparams, latent_dim, input_shape)
    dtype = getattr(torch, config.dtype)
    autoencoder = Autoencoder(hparams, encoder, decoder).to(dtype=dtype)
    options = dict(
        update_rule=config.update_rule,
        learning_rate=config.learning_rate,
        weight_decay=config.reg,
        schedule=config.schedule,
        lr_decay=config.lr_decay,
        epochs=config.epochs,
    )
    classifier = Classifier(hparams, tuned).to(dtype=dtype)
    scratch = Classifier(hparams, fresh).to(dtype=dtype)
    # The head of both starts equal too, so the encoder's weights are the only difference.
    scratch.model.load_state_dict(classifier.model.state_dict())
    return TransferClassifier(
        ClassifierModule(classifier, **options),
        autoencoder,
        ClassifierModule(scratch, **options),
    )


def _accuracy(module: ClassifierModule, X: np.ndarray, y: np.ndarray) -> float:
    scores = TorchClassifier(module).scores(X)
    return float(np.mean(scores.argmax(axis=1) == y))


def _stage_dir(run_dir: Path | None, name: str) -> Path | None:
    return None if run_dir is None else run_dir / name


def fit_transfer(
    model: TransferClassifier,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None = None,
) -> dict[str, Any]:
    """Pre-train, fine-tune and train from scratch (see the module docstring).

    config: the resolved TrainConfig (pretrain_epochs for stage 1, epochs for stages 2 and 3)
    prepared: the task's data; X["unlabelled"] the pretraining images, X["train"] with
        data["y_train"] the labelled ones, X/y val and test as usual
    resume: not used: the three-stage run starts from the beginning (its registration has no
        checkpoint for --resume)
    returns the fine-tuned classifier's history (the run's history.json)
    """
    X, data = prepared.X, prepared.data
    unlabelled = X["unlabelled"]
    pretraining = ImageDataModule(
        {
            "X_train": unlabelled,
            "y_train": np.zeros(len(unlabelled), dtype=np.int64),
            "X_val": X["val"],
            "y_val": data["y_val"],
        },
        batch_size=config.batch_size,
        seed=config.seed,
    )
    LOG.info("pre-training the autoencoder on %d unlabelled images", len(unlabelled))
    pretrain_config = dataclasses.replace(config, epochs=config.pretrain_epochs, patience=None)
    reconstruction = ReconstructionModule(
        model.autoencoder,
        update_rule=config.update_rule,
        learning_rate=config.learning_rate,
        schedule=config.schedule,
        lr_decay=config.lr_decay,
        epochs=config.pretrain_epochs,
    )
    train_module(
        reconstruction,
        pretraining,
        pretrain_config,
        _stage_dir(run_dir, "pretrain"),
        verbose,
        num_train=len(unlabelled),
        monitor="val_loss",
        mode="min",
    )
    model.module.net.encoder.load_state_dict(model.autoencoder.encoder.state_dict())
    labelled = {
        "X_train": X["train"],
        "y_train": data["y_train"],
        "X_val": X["val"],
        "y_val": data["y_val"],
    }
    stages = (
        ("fine-tuning", model.module, run_dir),
        ("training from scratch", model.scratch, _stage_dir(run_dir, "scratch")),
    )
    histories = []
    for name, module, folder in stages:
        LOG.info("%s the classifier on %d labelled images", name, len(data["y_train"]))
        labels = ImageDataModule(
            labelled, batch_size=config.batch_size, augment=bool(config.augment), seed=config.seed
        )
        histories.append(
            train_module(module, labels, config, folder, verbose, num_train=len(data["y_train"]))
        )
    model.eval()
    model.scratch.eval()
    reconstructed = model.reconstruct(X["test"])
    model.results = {
        "scratch_test_acc": _accuracy(model.scratch, X["test"], data["y_test"]),
        "test_reconstruction_mse": float(np.mean((reconstructed - X["test"]) ** 2)),
    }
    return histories[0]
