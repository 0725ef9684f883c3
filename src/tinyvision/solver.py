"""The one training loop: the course's `Solver`, extended with seeding, checkpoints and resume.

The model interface is the course's: ``model.params`` is a dict name -> ndarray, and
``model.loss(X, y=None)`` returns class scores (N, C) when y is None (test mode) and
``(loss, grads)`` with grads keyed like params when y is given (train mode). Optional model
buffers (e.g. batchnorm running statistics) are checkpointed by the protocol described in
`tinyvision.checkpoint`.

Example (course usage)::

    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100, print_every=100)
    solver.train()

Each epoch runs in phases: set the learning rate, train steps, decay, evaluate, record the
best, write history and checkpoints, check early stopping. At the end the model gets a copy of
the parameters with the best validation accuracy.

Differences from the course starter code: every iteration updates the weights (also in epoch
0); ``best_params`` is a deep copy taken when validation accuracy improves (initially a copy of
the starting parameters); checkpoints are ``.npz`` (no pickle) written at epoch ends only.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from tinyvision import optim
from tinyvision.checkpoint import (
    TrainingState,
    atomic_write_json,
    capture_loader_rngs,
    check_resumable,
    get_buffers,
    load_checkpoint,
    restore_loader_rngs,
    save_checkpoint,
    save_weights,
    set_buffers,
)
from tinyvision.clipping import clip_by_global_norm, clip_by_value
from tinyvision.errors import TrainingDivergedError
from tinyvision.layers.regularization import max_norm_constraint
from tinyvision.schedules import named_schedule
from tinyvision.validation import check_int, check_labels, check_positive, check_same_length

__all__ = ["Solver", "TrainingDivergedError"]

logger = logging.getLogger(__name__)

_DEFAULTS: dict[str, Any] = {
    "update_rule": "sgd",
    "optim_config": None,
    "lr_decay": 1.0,
    "batch_size": 100,
    "num_epochs": 10,
    "num_train_samples": 1000,
    "num_val_samples": None,
    "checkpoint_name": None,
    "print_every": 10,
    "verbose": True,
    "seed": None,
    "progress": None,
    "patience": None,
    "out_dir": None,
    "checkpoint_every": 1,
    "resume": None,
    "lr_schedule": None,
    "schedule_options": None,
    "clip_value": None,
    "clip_norm": None,
    "max_norm": None,
    "stop_when": None,
    "on_epoch_end": None,
    "sample_weights": None,
}


# Book-keeping shared one to one between the Solver and TrainingState.
_RUN_FIELDS = tuple(
    "best_params best_buffers best_val_acc epoch iteration epochs_without_improvement "
    "loss_history train_acc_history val_acc_history acc_iterations lr_history".split()
)


def _check_int(name: str, value: Any, low: int, allow_none: bool = False) -> None:
    check_int(value, name, low, allow_none=allow_none)


def _is_loader(obj: Any) -> bool:
    return isinstance(obj, Iterable) and hasattr(obj, "__len__")


class Solver:
    """Train a model with minibatch gradient descent (the course's Solver, extended).

    model: object with ``params`` (dict name -> ndarray) and ``loss(X, y=None)``.
    data: {"X_train", "y_train", "X_val", "y_val"} arrays (X: (N, ...) float, y: (N,) int),
        or {"train": loader, "val": loader} where a loader is a sized iterable of dict batches
        {"image": (B, ...) float, "label": (B,) int}; an epoch iterates the train loader once.

    Keyword arguments (course): update_rule (name in tinyvision.optim or a callable, default
    "sgd"), optim_config (dict, copied per parameter), lr_decay (1.0, applied at each epoch
    end), batch_size (100), num_epochs (10), num_train_samples (1000, train examples for
    accuracy checks; None for all), num_val_samples (None = all), checkpoint_name (None; writes
    f"{checkpoint_name}_epoch_{epoch}.npz"), print_every (10), verbose (True, messages via
    tqdm.write). Whatever verbose says, every epoch also logs one INFO record (loss, train
    and val metric, learning rate, seconds) and, when not verbose, every print_every-th update
    one DEBUG record, on the logger "tinyvision.solver".
    Extensions: seed (None; seeds the Solver's Generator and numpy's legacy global RNG),
    progress (None = verbose; a tqdm bar per epoch, shown on a terminal or in a notebook, never
    in a pipe or a file), patience (None; stop after that many epochs
    without val-accuracy improvement), out_dir (None; run folder with history.json,
    checkpoint.npz and best.npz), checkpoint_every (1 epoch), resume (None; a checkpoint.npz
    to continue from), lr_schedule (None; a tinyvision.schedules schedule used instead of
    lr_decay, or a name from tinyvision.schedules.SCHEDULES: "cosine" anneals
    optim_config["learning_rate"] to 0 over all num_epochs * iterations_per_epoch updates,
    "step" is lr_decay; "inverse-time", "inverse-sqrt" and "multistep" count epochs, see
    named_schedule), schedule_options (None; keywords of named_schedule for a named
    lr_schedule: decay_k, milestones, gamma), clip_value (None; clamp every gradient element
    to [-clip_value, clip_value] before each update), clip_norm (None; rescale the gradients
    of each update so their global norm is at most clip_norm; after clip_value when both are
    given; see tinyvision.clipping), max_norm (None; after every update rescale each unit's
    incoming weight vector to L2 norm at most max_norm, for the weight matrices and conv
    filters: the parameters a Module regularises, or a course model's 2-d and 4-d "W..."
    parameters; see tinyvision.layers.max_norm_constraint), stop_when (None; a function
    solver -> bool called after every update: True ends training there, as an epoch end
    that stops early), on_epoch_end (None; a function solver -> None called after each
    epoch's evaluation, e.g. to report val_acc_history[-1] to a hyperparameter search,
    which may stop the run by raising), sample_weights (None; (N,) non-negative weights of
    the X_train examples: each minibatch is drawn with probabilities proportional to them,
    e.g. tinyvision.imbalance's balanced weights; arrays only, not loaders).

    Minibatches are drawn as in the course, ``choice(num_train, batch_size)`` per update (with
    replacement), but from the Solver's own Generator ``self.rng``. A resumed run restores that
    Generator, numpy's legacy global RNG and the loaders' ``rng`` Generators from the
    checkpoint (overriding seed), so it ends with the same parameters as an uninterrupted run.

    Subclasses (e.g. `tinyvision.captioning_solver.CaptioningSolver`) reuse this loop by
    overriding the data hooks: ``defaults`` (accepted keyword arguments), ``metric_name``,
    `_check_model_and_data`, `iterations_per_epoch`, `_sample_batch` and `_scores`.
    """

    defaults: ClassVar[dict[str, Any]] = _DEFAULTS
    # Name of the validation metric in log messages; "acc" gives the course's messages.
    metric_name: ClassVar[str] = "acc"

    def __init__(self, model: Any, data: Mapping[str, Any], **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"Unrecognized arguments {', '.join(unknown)}; "
                f"{type(self).__name__} accepts {sorted(self.defaults)}"
            )
        for name, default in self.defaults.items():
            setattr(self, name, kwargs.get(name, default))
        self.optim_config = dict(self.optim_config or {})
        self.update_rule = optim.get_update_rule(self.update_rule)
        if self.progress is None:
            self.progress = bool(self.verbose)
        self.model = model
        self._check_model_and_data(model, data)
        self._check_settings()
        self._reset()
        if self.resume is not None:
            self._restore(load_checkpoint(self.resume))

    def _check_model_and_data(self, model: Any, data: Mapping[str, Any]) -> None:
        if not isinstance(getattr(model, "params", None), Mapping) or not callable(
            getattr(model, "loss", None)
        ):
            raise ValueError("model must have a params dict and a loss(X, y=None) method")
        if not isinstance(data, Mapping):
            raise ValueError(f"data must be a dict, got {type(data).__name__}")
        self.train_loader = self.val_loader = None
        if "train" in data and "X_train" not in data:
            for key in ("train", "val"):
                if not _is_loader(data.get(key)) or len(data[key]) == 0:
                    raise ValueError(
                        f'data["{key}"] must be a non-empty loader (a sized iterable of '
                        f'{{"image", "label"}} batches), got {data.get(key)!r}'
                    )
            self.train_loader, self.val_loader = data["train"], data["val"]
            self.X_train = self.y_train = self.X_val = self.y_val = None
            return
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(
                f"data is missing {missing}; pass X_train, y_train, X_val, y_val arrays "
                f'or {{"train": loader, "val": loader}}'
            )
        for split in ("train", "val"):
            x, y = (
                np.asarray(data[f"X_{split}"]),
                check_labels(data[f"y_{split}"], name=f"y_{split}"),
            )
            check_same_length(x, y, f"X_{split}", f"y_{split}")
            if len(x) == 0:
                raise ValueError(f"X_{split} is empty; the Solver needs at least one example")
            setattr(self, f"X_{split}", x)
            setattr(self, f"y_{split}", y)
        self._check_label_range(model)

    def _check_label_range(self, model: Any) -> None:
        """Refuse labels the model has no score for, once, before any update.

        The number of classes is the width of the model's scores for one validation example
        (a forward pass in test mode, which changes no parameter); labels >= it would make the
        validation accuracy silently wrong (and the training loss fail later).
        """
        scores = np.asarray(model.loss(self.X_val[:1]))
        if scores.ndim != 2:
            return
        num_classes = scores.shape[1]
        for split in ("train", "val"):
            check_labels(
                getattr(self, f"y_{split}"),
                num_classes,
                f"y_{split}",
                hint=f"the model gives {num_classes} class scores; build it with as many "
                "classes as the data has",
            )

    def _check_settings(self) -> None:
        _check_int("batch_size", self.batch_size, 1)
        _check_int("num_epochs", self.num_epochs, 0)
        _check_int("print_every", self.print_every, 1)
        _check_int("checkpoint_every", self.checkpoint_every, 1)
        _check_int("num_train_samples", self.num_train_samples, 1, allow_none=True)
        _check_int("num_val_samples", self.num_val_samples, 1, allow_none=True)
        _check_int("patience", self.patience, 1, allow_none=True)
        _check_int("seed", self.seed, 0, allow_none=True)
        check_positive(self.lr_decay, "lr_decay")
        for name in ("clip_value", "clip_norm"):
            if getattr(self, name) is not None:
                check_positive(getattr(self, name), name, hint="or None for no clipping")
        if self.max_norm is not None:
            check_positive(self.max_norm, "max_norm", hint="or None for no constraint")
        if self.stop_when is not None and not callable(self.stop_when):
            raise ValueError(f"stop_when must be a function solver -> bool, got {self.stop_when!r}")
        if self.on_epoch_end is not None and not callable(self.on_epoch_end):
            raise ValueError(
                f"on_epoch_end must be a function solver -> None, got {self.on_epoch_end!r}"
            )
        if self.schedule_options is not None and not isinstance(self.lr_schedule, str):
            raise ValueError(
                "schedule_options configure a named lr_schedule (e.g. lr_schedule='multistep');"
                f" got lr_schedule={self.lr_schedule!r}"
            )
        if isinstance(self.lr_schedule, str):
            if "learning_rate" not in self.optim_config:
                raise ValueError(
                    f"lr_schedule={self.lr_schedule!r} scales optim_config['learning_rate']; "
                    "give it, e.g. optim_config={'learning_rate': 1e-3}"
                )
            self.lr_schedule = named_schedule(
                self.lr_schedule,
                self.optim_config["learning_rate"],
                self.num_epochs * self.iterations_per_epoch,
                **(self.schedule_options or {}),
            )
        self._schedule_unit = None
        if self.lr_schedule is not None:
            self._schedule_unit = getattr(self.lr_schedule, "unit", "epoch")
            if not callable(self.lr_schedule) or self._schedule_unit not in ("epoch", "iteration"):
                raise ValueError(
                    "lr_schedule must be callable t -> lr with unit 'epoch' or 'iteration', "
                    f"got {self.lr_schedule!r}"
                )
        optim.validate_config(self.optim_config)
        if self.sample_weights is not None:
            self.sample_weights = self._sampling_probabilities(self.sample_weights)

    def _sampling_probabilities(self, weights: Any) -> np.ndarray:
        """sample_weights checked against X_train and scaled to probabilities (N,) float64."""
        if self.X_train is None:
            raise ValueError(
                "sample_weights weight the examples of X_train arrays, but this Solver draws "
                "its batches from loaders or its own data: give arrays, or leave out "
                "sample_weights"
            )
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(self.X_train),):
            raise ValueError(
                f"sample_weights must be one weight per training example, shape "
                f"({len(self.X_train)},), got {weights.shape}"
            )
        if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
            raise ValueError(
                "sample_weights must be finite, non-negative and not all zero, got "
                f"min {weights.min()!r}, sum {weights.sum()!r}"
            )
        return weights / weights.sum()

    def _reset(self) -> None:
        """Set up the book-keeping for a fresh run. Don't call this manually."""
        self.epoch = 0
        self.iteration = 0
        self._epoch_started = time.perf_counter()
        self.best_val_acc = 0.0
        self.best_params = copy.deepcopy(self.model.params)
        self.best_buffers = get_buffers(self.model)
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.acc_iterations: list[int] = []
        self.lr_history: list[float] = []
        self.epochs_without_improvement = 0
        self.stopped_early = False
        self.last_checkpoint: str | None = None
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}
        self.rng = np.random.default_rng(self.seed)
        if self.seed is not None:
            # Course layers (dropout) draw from the legacy global RNG, so it is seeded too.
            np.random.seed(self.seed)

    @property
    def iterations_per_epoch(self) -> int:
        """Updates per epoch: len(train loader), or max(num_train // batch_size, 1)."""
        if self.train_loader is not None:
            return len(self.train_loader)
        return max(len(self.X_train) // self.batch_size, 1)

    def _meta(self) -> dict[str, Any]:
        rule = self.update_rule
        return {
            "update_rule": getattr(rule, "__name__", type(rule).__name__),
            "iterations_per_epoch": self.iterations_per_epoch,
            "batch_size": self.batch_size,
            "num_epochs": self.num_epochs,
            "seed": self.seed,
            "stopped_early": self.stopped_early,
        }

    def _state(self) -> TrainingState:
        loaders = {"train": self.train_loader, "val": self.val_loader}
        return TrainingState(
            params=self.model.params,
            buffers=get_buffers(self.model),
            optim_configs=self.optim_configs,
            **{name: getattr(self, name) for name in _RUN_FIELDS},
            rng_state=self.rng.bit_generator.state,
            legacy_rng_state=np.random.get_state(),
            loader_rng_states=capture_loader_rngs(loaders),
            meta=self._meta(),
        )

    def _restore(self, state: TrainingState) -> None:
        """Continue from a checkpoint: parameters, optimiser, counters, histories and RNGs."""
        check_resumable(state, self.model.params, self._meta(), self.resume)
        for name, value in state.params.items():
            self.model.params[name] = value
        set_buffers(self.model, state.buffers)
        self.optim_configs = {p: dict(state.optim_configs.get(p, {})) for p in self.model.params}
        for name in _RUN_FIELDS:
            setattr(self, name, getattr(state, name))
        if state.rng_state is not None:
            self.rng.bit_generator.state = state.rng_state
        if state.legacy_rng_state is not None:
            np.random.set_state(state.legacy_rng_state)
        restore_loader_rngs(state, {"train": self.train_loader, "val": self.val_loader})
        self.stopped_early = bool(state.meta.get("stopped_early", False))
        self.last_checkpoint = str(self.resume)

    def _learning_rate(self) -> float | None:
        for config in self.optim_configs.values():
            if "learning_rate" in config:
                return float(config["learning_rate"])
        return None

    def _set_learning_rate(self, lr: float) -> None:
        for config in self.optim_configs.values():
            config["learning_rate"] = float(lr)

    def _step(self, batch: Mapping[str, np.ndarray] | None = None) -> None:
        """Make a single gradient update on a sampled minibatch (or the given loader batch).

        Don't call this manually.
        """
        if batch is None:
            X_batch, y_batch = self._sample_batch()
        else:
            X_batch, y_batch = batch["image"], batch["label"]
        loss, grads = self.model.loss(X_batch, y_batch)
        if not np.isfinite(loss):
            self._diverged(float(loss))
        self.loss_history.append(float(loss))
        grads = self._clip(grads)
        if self._schedule_unit == "iteration":
            self._set_learning_rate(self.lr_schedule(self.iteration))
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        if self.max_norm is not None:
            self._apply_max_norm()
        self.iteration += 1

    def _apply_max_norm(self) -> None:
        """Clip every weight's incoming vectors to max_norm (after the update, as the notes do)."""
        params = self.model.params
        regularized = getattr(self.model, "regularized_names", None)
        names = regularized() if regularized is not None else list(params)
        for name in names:
            w = params[name]
            is_weight = regularized is not None or name.rsplit(".", 1)[-1].startswith("W")
            if is_weight and np.ndim(w) in (2, 4):
                params[name] = max_norm_constraint(w, self.max_norm)

    def _clip(self, grads: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """The gradients after clip_value and clip_norm (unchanged when neither is set)."""
        if self.clip_value is not None:
            grads = clip_by_value(grads, self.clip_value)
        if self.clip_norm is not None:
            grads, _ = clip_by_global_norm(grads, self.clip_norm)
        return grads

    def _sample_batch(self) -> tuple[Any, Any]:
        """The inputs and targets of one update, drawn with self.rng (a subclass hook)."""
        batch_mask = self.rng.choice(len(self.X_train), self.batch_size, p=self.sample_weights)
        return self.X_train[batch_mask], self.y_train[batch_mask]

    def _diverged(self, loss: float) -> None:
        self.model.params = copy.deepcopy(self.best_params)
        set_buffers(self.model, self.best_buffers)
        self._write_history()
        raise TrainingDivergedError(
            self.iteration + 1, loss, self._learning_rate(), self.last_checkpoint
        )

    def check_accuracy(
        self,
        X: Any,
        y: np.ndarray | None = None,
        num_samples: int | None = None,
        batch_size: int = 100,
    ) -> float:
        """Fraction of examples whose highest score is the true class.

        X: (N, ...) array of inputs with y (N,) int labels, or a loader of {"image", "label"}
            batches (then y is None).
        num_samples: if given and N is larger, accuracy on that many examples drawn with the
            Solver's Generator (or the first num_samples of a loader).
        batch_size: int, examples per forward pass (arrays only).
        returns the accuracy, a float in [0, 1].
        """
        if y is None:
            return self._loader_accuracy(X, num_samples)
        N = len(X)
        if N == 0:
            raise ValueError("check_accuracy needs at least one example, got N = 0")
        if num_samples is not None and N > num_samples:
            mask = self.rng.choice(N, num_samples)
            X, y, N = X[mask], y[mask], num_samples
        y_pred = [
            np.argmax(self.model.loss(X[i : i + batch_size]), axis=1)
            for i in range(0, N, batch_size)
        ]
        return float(np.mean(np.concatenate(y_pred) == y))

    def _loader_accuracy(self, loader: Iterable, num_samples: int | None) -> float:
        correct = seen = 0
        for batch in loader:
            labels = np.asarray(batch["label"])
            take = len(labels) if num_samples is None else min(len(labels), num_samples - seen)
            scores = self.model.loss(np.asarray(batch["image"])[:take])
            # One min/max per batch: a label without a score would count as silently wrong.
            check_labels(labels[:take], np.shape(scores)[1], 'a loader batch\'s "label"')
            correct += int(np.sum(np.argmax(scores, axis=1) == labels[:take]))
            seen += take
            if num_samples is not None and seen >= num_samples:
                break
        if seen == 0:
            raise ValueError("check_accuracy got a loader that yielded no examples")
        return correct / seen

    def _scores(self) -> tuple[float, float]:
        """Train and val accuracy: the metric _evaluate tracks (a subclass hook; higher is
        better)."""
        if self.train_loader is not None:
            train_acc = self.check_accuracy(self.train_loader, num_samples=self.num_train_samples)
            val_acc = self.check_accuracy(self.val_loader, num_samples=self.num_val_samples)
        else:
            train_acc = self.check_accuracy(
                self.X_train, self.y_train, num_samples=self.num_train_samples
            )
            val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        return train_acc, val_acc

    def _evaluate(self) -> bool:
        """Check the train and val metric, record them and the best params; True if improved."""
        train_acc, val_acc = self._scores()
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self.acc_iterations.append(self.iteration)
        if self.verbose:
            tqdm.write(
                f"(Epoch {self.epoch} / {self.num_epochs}) "
                f"train {self.metric_name}: {train_acc:f}; val_{self.metric_name}: {val_acc:f}"
            )
        if val_acc <= self.best_val_acc:
            return False
        self.best_val_acc = val_acc
        self.best_params = copy.deepcopy(self.model.params)
        self.best_buffers = get_buffers(self.model)
        return True

    def history(self) -> dict[str, Any]:
        """The curves and counters of the run so far, as written to history.json."""
        return {
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "acc_iterations": self.acc_iterations,
            "lr_history": [None if math.isnan(lr) else lr for lr in self.lr_history],
            "epoch": self.epoch,
            "iteration": self.iteration,
            "iterations_per_epoch": self.iterations_per_epoch,
            "best_val_acc": self.best_val_acc,
            "stopped_early": self.stopped_early,
        }

    def _write_history(self) -> None:
        if self.out_dir is not None:
            atomic_write_json(Path(self.out_dir) / "history.json", self.history())

    def _save_checkpoint(self) -> None:
        """Write the course-named checkpoint and/or the run folder's checkpoint and best.npz."""
        if self.checkpoint_name is None and self.out_dir is None:
            return
        state = self._state()
        if self.checkpoint_name is not None:
            path = save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz", state)
            self.last_checkpoint = str(path)
        if self.out_dir is not None:
            path = save_checkpoint(Path(self.out_dir) / "checkpoint.npz", state)
            save_weights(
                Path(self.out_dir) / "best.npz",
                self.best_params,
                self.best_buffers,
                best_val_acc=self.best_val_acc,
                epoch=self.epoch,
            )
            self.last_checkpoint = str(path)

    def _train_epoch(self, num_iterations: int) -> None:
        """Run one epoch of updates, printing the loss and checking accuracy after update 1."""
        ipe = self.iterations_per_epoch
        batches = iter(self.train_loader) if self.train_loader is not None else [None] * ipe
        # disable=None: a bar on a terminal or in a notebook, none in a pipe or a file.
        bar = tqdm(
            total=ipe,
            desc=f"Epoch {self.epoch + 1}/{self.num_epochs}",
            disable=None if self.progress else True,
            leave=False,
        )
        try:
            for batch in batches:
                self._step(batch)
                t = self.iteration - 1
                if t % self.print_every == 0:
                    self._report_iteration(t + 1, num_iterations)
                # The course also checks accuracy after the very first update.
                if t == 0 and ipe > 1:
                    self._evaluate()
                bar.update(1)
                bar.set_postfix(loss=f"{self.loss_history[-1]:.4f}")
                if self.stop_when is not None and self.stop_when(self):
                    logger.info("stop_when ended training after update %d", self.iteration)
                    self.stopped_early = True
                    break
        finally:
            bar.close()

    def _report_iteration(self, iteration: int, num_iterations: int) -> None:
        """The course's loss line when verbose; otherwise a debug log record."""
        loss = self.loss_history[-1]
        if self.verbose:
            tqdm.write(f"(Iteration {iteration} / {num_iterations}) loss: {loss:f}")
        else:
            logger.debug("iteration %d / %d: loss %f", iteration, num_iterations, loss)

    def _epoch_summary(self) -> str:
        """The scores of the epoch just ended, for its log line (a subclass hook)."""
        per_epoch = self.loss_history[-self.iterations_per_epoch :]
        finite = [v for v in per_epoch if math.isfinite(v)]
        loss = sum(finite) / len(finite) if finite else math.nan
        name = self.metric_name
        return (
            f"loss {loss:.4f}, train {name} {self.train_acc_history[-1]:.4f}, "
            f"val {name} {self.val_acc_history[-1]:.4f}"
        )

    def _log_epoch(self, lr: float | None, seconds: float) -> None:
        """One log record per epoch: what a log file of a long run should hold."""
        logger.info(
            "epoch %d / %d: %s, lr %s, %.1f s",
            self.epoch,
            self.num_epochs,
            self._epoch_summary(),
            "-" if lr is None else f"{lr:.3g}",
            seconds,
        )

    def _end_epoch(self) -> bool:
        """Decay, evaluate, write history and checkpoints; True when early stopping triggers."""
        self.epoch += 1
        lr = self._learning_rate()
        self.lr_history.append(math.nan if lr is None else lr)
        if self.lr_schedule is None:
            for config in self.optim_configs.values():
                if "learning_rate" in config:
                    config["learning_rate"] *= self.lr_decay
        if self._evaluate():
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        self._log_epoch(lr, time.perf_counter() - self._epoch_started)
        if self.patience is not None and self.epochs_without_improvement >= self.patience:
            self.stopped_early = True
            logger.info(
                "early stopping after epoch %d: no val-accuracy improvement in %d "
                "epochs (best %.4f)",
                self.epoch,
                self.patience,
                self.best_val_acc,
            )
        self._write_history()
        last = self.epoch == self.num_epochs or self.stopped_early
        if last or self.epoch % self.checkpoint_every == 0:
            self._save_checkpoint()
        if self.on_epoch_end is not None:
            self.on_epoch_end(self)
        return self.stopped_early

    def train(self) -> None:
        """Run the optimisation for num_epochs (or until early stopping) from the current epoch.

        At the end model.params is replaced by a copy of the best parameters (and buffers).
        Raises TrainingDivergedError when the loss becomes NaN or infinite.
        """
        num_iterations = self.num_epochs * self.iterations_per_epoch
        while self.epoch < self.num_epochs and not self.stopped_early:
            if self._schedule_unit == "epoch":
                self._set_learning_rate(self.lr_schedule(self.epoch))
            self._epoch_started = time.perf_counter()
            self._train_epoch(num_iterations)
            self._end_epoch()
        self.model.params = copy.deepcopy(self.best_params)
        set_buffers(self.model, self.best_buffers)
