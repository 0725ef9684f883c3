"""How a torch model of the registry trains: PyTorch Lightning's Trainer, not a loop of ours.

`fit` is the `fit` of the torch models' registrations (tinyvision.models.torch_cnn): the run
pipeline builds the model, calls fit, then scores and writes the run folder as for any model.
Lightning supplies the checkpoints (`<run>/checkpoints/last.ckpt` after every epoch, which
`tinyvision train --resume RUN` continues from, and `best.ckpt`, whose weights the run keeps, as
the NumPy Solver keeps its best epoch), early stopping (`--patience`), the learning-rate
monitor, the progress bar and, where tensorboard is installed, event files in
`<run>/tensorboard` (`tensorboard --logdir <run>`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    TQDMProgressBar,
)
from pytorch_lightning.plugins.io import TorchCheckpointIO

from tinyvision import parallel
from tinyvision.classification import training_sample_weights
from tinyvision.files import atomic_write
from tinyvision.torch.contract import TorchClassifier
from tinyvision.torch.data import ImageDataModule
from tinyvision.torch.lightning import HistoryCallback

__all__ = ["fit", "train_module"]

LOG = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Keep Lightning's own info lines (device report, tips) and a known deprecation out of logs.

    torch 2.13 deprecates the LeafSpec check that Lightning 2.6 still makes; it is harmless.
    """
    names = ("pytorch_lightning", "lightning_fabric", "lightning")
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:
            logging.getLogger(name).setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
            # A resumed run writes into its own checkpoint folder on purpose.
            warnings.filterwarnings("ignore", message=r"Checkpoint directory .* is not empty")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint files, written to a temporary name and renamed into place.

    A run killed while it writes `last.ckpt` keeps the previous complete one (what `--resume`
    reads) and leaves a temporary file that the next run into the folder removes.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda file: torch.save(checkpoint, file))


class SeedEachEpoch(pl.Callback):
    """Reseed torch's generator (dropout masks) at each epoch's start from (seed, epoch).

    A resumed run continues from an epoch boundary with the masks an uninterrupted run draws;
    the data order and augmentation follow the same rule (tinyvision.torch.data.EpochShuffle).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, module: Any) -> None:
        state = np.random.SeedSequence([self.seed, trainer.current_epoch]).generate_state(1)
        torch.manual_seed(int(state[0]))


def _loggers(run_dir: Path) -> list[Any]:
    if importlib.util.find_spec("tensorboard") is None:
        return []
    return [pl.loggers.TensorBoardLogger(save_dir=run_dir, name="tensorboard", version="")]


def _on_stderr(make_bar: Any) -> Any:
    """make_bar (a TQDMProgressBar.init_*_tqdm) with sys.stdout, where it draws, as stderr."""

    def on_stderr(self: TQDMProgressBar) -> Any:
        with contextlib.redirect_stdout(sys.stderr):
            return make_bar(self)

    return on_stderr


class StderrProgressBar(TQDMProgressBar):
    """Lightning's progress bars on stderr, as every other tinyvision progress bar is.

    Lightning draws its bars on stdout, so `tinyvision train ... > log.txt` would fill the log
    with them; on stderr they stay on the terminal and stdout keeps the epochs and results.
    """

    init_sanity_tqdm = _on_stderr(TQDMProgressBar.init_sanity_tqdm)
    init_train_tqdm = _on_stderr(TQDMProgressBar.init_train_tqdm)
    init_validation_tqdm = _on_stderr(TQDMProgressBar.init_validation_tqdm)
    init_predict_tqdm = _on_stderr(TQDMProgressBar.init_predict_tqdm)
    init_test_tqdm = _on_stderr(TQDMProgressBar.init_test_tqdm)


def _trainer(
    config: Any, run_dir: Path, verbose: bool, callbacks: list[Any], steps_per_epoch: int
) -> pl.Trainer:
    loggers = _loggers(run_dir)
    if loggers:
        callbacks = [*callbacks, LearningRateMonitor(logging_interval="step")]
    if verbose:
        callbacks = [*callbacks, StderrProgressBar()]
    return pl.Trainer(
        max_epochs=config.epochs,
        accelerator="auto",
        devices=config.devices or 1,
        num_nodes=config.num_nodes or 1,
        strategy=config.strategy or "auto",
        logger=loggers or False,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=run_dir,
        enable_progress_bar=verbose,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        # EpochShuffle shards the training data itself (see tinyvision.torch.data).
        use_distributed_sampler=False,
        # Several GPU processes normalise with the statistics of the global batch (torch's
        # SyncBatchNorm runs on GPUs only; on CPUs each process normalises its own share).
        sync_batchnorm=torch.cuda.is_available()
        and (config.devices or 1) * (config.num_nodes or 1) > 1,
        gradient_clip_val=config.clip_norm or config.clip_value,
        gradient_clip_algorithm="norm" if config.clip_norm is not None else "value",
        log_every_n_steps=max(1, min(10, steps_per_epoch)),
    )


def train_val_arrays(prepared: Any) -> dict[str, np.ndarray]:
    """X_train, y_train, X_val and y_val of a prepared dataset, the ImageDataModule's arrays."""
    return {
        f"{kind}_{split}": prepared.X[split] if kind == "X" else prepared.data[f"y_{split}"]
        for split in ("train", "val")
        for kind in "Xy"
    }


def fit(
    model: TorchClassifier,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None = None,
    extra_callbacks: Sequence[pl.Callback] = (),
    trial: Any = None,
) -> dict[str, Any]:
    """Train model on prepared's train split, validating each epoch; keep the best epoch.

    --sampler balanced draws each epoch's examples with tinyvision.imbalance's balanced
    weights (EpochShuffle); --class-weights is the model's loss (ClassifierModule).

    run_dir: where checkpoints and event files go (None: a temporary folder)
    resume: a Lightning checkpoint (last.ckpt) to continue from
    extra_callbacks: more Lightning callbacks (benchmarks/torch_cnn.py times epochs with one)
    trial: an Optuna trial of a hyperparameter search: each epoch's val_acc is reported to it
        (tinyvision.torch.pruning.LightningPruning), which may prune the run
    returns the history, with the keys of the NumPy Solver's history()
    """
    arrays = train_val_arrays(prepared)
    data = ImageDataModule(
        arrays,
        batch_size=config.batch_size,
        augment=bool(config.augment),
        seed=config.seed,
        sample_weights=training_sample_weights(config, prepared),
    )
    history = train_module(
        model.module,
        data,
        config,
        run_dir,
        verbose,
        num_train=len(arrays["y_train"]),
        resume=resume,
        extra_callbacks=extra_callbacks,
        trial=trial,
    )
    model.eval()
    return history


def train_module(
    module: pl.LightningModule,
    data: pl.LightningDataModule,
    config: Any,
    run_dir: Path | None,
    verbose: bool,
    *,
    num_train: int,
    resume: Path | None = None,
    monitor: str = "val_acc",
    mode: str = "max",
    extra_callbacks: Sequence[pl.Callback] = (),
    trial: Any = None,
) -> dict[str, Any]:
    """Train any LightningModule of the PyTorch track as a run does; load its best epoch.

    The one Lightning setup behind every torch model of the registry: atomic `last.ckpt` and
    `best.ckpt` in `<run_dir>/checkpoints`, early stopping (`config.patience`), per-epoch
    reseeding, TensorBoard events, DDP settings and clipping from config.
    module: logs `monitor` once per validation epoch (and `train_loss` per step)
    num_train: training examples, for the logging interval
    monitor, mode: the validation metric that picks the best epoch ("max" or "min"); the
        history keeps it under val_acc_history, the Solver's slot for the validation metric
    trial: an Optuna trial, told `monitor` after each epoch (it may prune the run)
    returns the history, with the keys of the NumPy Solver's history()
    """
    torch.set_num_threads(parallel.num_threads())
    with tempfile.TemporaryDirectory(prefix="tinyvision-") as scratch:
        folder = Path(scratch) if run_dir is None else run_dir
        history = HistoryCallback(monitor, mode)
        best = ModelCheckpoint(
            dirpath=folder / "checkpoints",
            filename="best",
            monitor=monitor,
            mode=mode,
            save_last=True,
            enable_version_counter=False,
        )
        callbacks: list[Any] = [history, best, SeedEachEpoch(config.seed), *extra_callbacks]
        if trial is not None:
            from tinyvision.torch.pruning import LightningPruning

            callbacks.append(LightningPruning(trial, monitor))
        stopping = None
        if config.patience:
            stopping = EarlyStopping(monitor=monitor, mode=mode, patience=config.patience)
            callbacks.append(stopping)
        count = sum(p.numel() for p in module.parameters())
        LOG.info("%s: %s parameters, training on %s", config.model, f"{count:,}", folder)
        with _quiet_lightning():
            steps = -(-num_train // (config.batch_size * (config.devices or 1)))
            trainer = _trainer(config, folder, verbose, callbacks, steps)
            ckpt_path = None if resume is None else str(resume)
            trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
        if best.best_model_path and Path(best.best_model_path).is_file():
            saved = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
            module.load_state_dict(saved["state_dict"])
        module.eval()
        stopped_early = stopping is not None and stopping.stopped_epoch > 0
        return history.history(trainer.current_epoch, trainer.num_training_batches, stopped_early)
