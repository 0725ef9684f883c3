"""The PyTorch CaptioningTransformer as a registered run model (`--model torch-transformer`).

`TorchCaptioner` wraps the nn.Module in the one model contract (`tinyvision.model`): its
`state_dict()` holds NumPy arrays under the NumPy CaptioningTransformer's names, so a run
folder's model.npz is the same file for both engines and never a pickle. `build_captioner`
makes one from a resolved CaptionConfig and `fit_captioner` trains it with the course's
CaptioningSolverTransformer, measuring the validation score after every epoch and keeping the
parameters of the best epoch, as the NumPy CaptioningSolver does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinyvision import parallel
from tinyvision.captioning import CaptionPrepared, evaluate_captions
from tinyvision.config import CaptionConfig
from tinyvision.model import Model
from tinyvision.schedules import StepDecay, named_schedule
from tinyvision.torch.captioning_solver_transformer import CaptioningSolverTransformer
from tinyvision.torch.classifiers.transformer import CaptioningTransformer
from tinyvision.torch.transformer_weights import load_numpy_state_dict, numpy_state_dict

__all__ = ["TorchCaptioner", "build_captioner", "fit_captioner"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class TorchCaptioner(Model):
    """The model contract around a PyTorch CaptioningTransformer (`module`).

    params / state_dict(): NumPy copies under the NumPy twin's names; load_state_dict()
    copies such arrays into the module; train() / eval() switch the module's mode.
    """

    def __init__(self, module: CaptioningTransformer) -> None:
        self.module = module
        self.training = module.training

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        """Copies of the module's parameters, by NumPy name."""
        return numpy_state_dict(self.module)

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        return iter(self.params.items())

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy NumPy-named arrays (a state_dict() of either engine) into the module."""
        load_numpy_state_dict(self.module, state)

    def train(self, mode: bool = True) -> TorchCaptioner:
        self.module.train(mode)
        self.training = bool(mode)
        return self

    def sample(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy captions, (N, max_length) int64 (see CaptioningTransformer.sample)."""
        return self.module.sample(features, max_length=max_length)

    def predict(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:  # type: ignore[override]
        """Greedy captions of the images: the model contract's predict."""
        return self.sample(features, max_length=max_length)


def build_captioner(
    config: CaptionConfig, prepared: CaptionPrepared, max_length: int
) -> TorchCaptioner:
    """A fresh model of config's sizes; an integer config.seed seeds torch's generator first
    (initial weights and dropout masks), as torch.manual_seed does in the notebooks."""
    if config.seed is not None:
        torch.manual_seed(config.seed)
    module = CaptioningTransformer(
        prepared.data["word_to_idx"],
        input_dim=prepared.input_dim,
        wordvec_dim=config.wordvec_dim,
        num_heads=config.num_heads,
        num_layers=config.num_layers,
        max_length=max_length,
        dim_feedforward=config.dim_feedforward or 4 * config.wordvec_dim,
        dropout=config.dropout,
    )
    return TorchCaptioner(module.to(_DTYPES[config.dtype]))


def fit_captioner(
    model: TorchCaptioner,
    config: CaptionConfig,
    prepared: CaptionPrepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    """Train with CaptioningSolverTransformer (Adam); returns the run's history.

    After every epoch the validation metric (config.val_metric) of greedy captions is measured
    and the best epoch's parameters are kept; training ends with them. run_dir and resume are
    unused: the PyTorch run writes no checkpoints (the pipeline refuses --resume for it).
    """
    torch.set_num_threads(parallel.num_threads())
    data = prepared.data
    iterations_per_epoch = max(len(data["train_captions"]) // config.batch_size, 1)
    if config.schedule == "step":
        schedule = StepDecay(config.learning_rate, config.lr_decay)
    else:
        schedule = named_schedule(
            config.schedule, config.learning_rate, config.epochs * iterations_per_epoch
        )
    val_history: list[float] = []
    best: dict[str, Any] = {"score": -np.inf, "state": model.state_dict()}

    def score_epoch(epoch: int) -> None:
        model.eval()
        score = evaluate_captions(model, data, "val", config.num_eval)[config.val_metric]
        val_history.append(score)
        if score > best["score"]:
            best.update(score=score, state=model.state_dict())

    solver = CaptioningSolverTransformer(
        model.module,
        data,
        idx_to_word=data["idx_to_word"],
        learning_rate=config.learning_rate,
        batch_size=config.batch_size,
        num_epochs=config.epochs,
        print_every=max(1, iterations_per_epoch // 4),
        verbose=verbose,
        lr_schedule=schedule,
        seed=config.seed,
        on_epoch_end=score_epoch,
    )
    solver.train()
    model.load_state_dict(best["state"])
    model.eval()
    # The course's loss averages over the T caption positions; the NumPy models (and so
    # metrics.json's train_loss) sum over them.
    positions = data["train_captions"].shape[1] - 1
    return {
        "loss_history": [loss * positions for loss in solver.loss_history],
        "val_acc_history": val_history,
        "train_acc_history": [],
        "epoch": solver.epoch,
        "iterations_per_epoch": iterations_per_epoch,
        "stopped_early": False,
        "best_val_acc": best["score"],
    }
