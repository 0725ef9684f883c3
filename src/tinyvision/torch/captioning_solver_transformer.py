"""CaptioningSolverTransformer: the course's trainer of the PyTorch CaptioningTransformer.

Course usage (CS231n assignment 3, Transformer_Captioning.ipynb)::

    solver = CaptioningSolverTransformer(transformer, data, idx_to_word=data["idx_to_word"],
                                         num_epochs=100, batch_size=25, learning_rate=0.001,
                                         verbose=True, print_every=10)
    solver.train()
    plt.plot(solver.loss_history)

As in the course, every update draws batch_size captions with replacement, scores the captions'
prefixes with the model, takes `transformer_temporal_softmax_loss` (the masked cross-entropy
averaged over all N * T positions) and steps torch.optim.Adam; an epoch is
max(num_train_captions // batch_size, 1) updates. Beyond the course's options it takes
`lr_schedule` (a `tinyvision.schedules` schedule), `seed` (of the minibatch draws; None follows
np.random.seed, as the course's sample_coco_minibatch does) and `on_epoch_end(epoch)`, called
after every epoch (the run pipeline measures validation scores there).

`temporal_softmax_loss` is the NumPy engine's loss (summed over time, averaged over N), the
one `tinyvision.classifiers.transformer.CaptioningTransformer.loss` computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from tinyvision.errors import TrainingDivergedError
from tinyvision.schedules import Schedule

__all__ = ["CaptioningSolverTransformer", "temporal_softmax_loss"]


def temporal_softmax_loss(
    scores: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of the next-word scores, summed over time and averaged over N.

    scores: (N, T, V) float scores
    targets: (N, T) integer word ids in [0, V)
    mask: (N, T) bool or 0/1; only positions where it is true count
    returns the scalar loss, differentiable with respect to scores
    """
    N, T, V = scores.shape
    per_word = F.cross_entropy(
        scores.reshape(N * T, V), targets.reshape(N * T).long(), reduction="none"
    )
    return (per_word * mask.reshape(N * T).to(per_word.dtype)).sum() / N


class CaptioningSolverTransformer:
    """Train a PyTorch captioning model with Adam (the course's class and signature).

    model: a torch.nn.Module called as model(features, captions) -> scores (N, T, V), with the
        padding id as `model._null` (tinyvision.torch.classifiers.transformer.CaptioningTransformer)
    data: dict with train_captions (N, T) int, train_image_idxs (N,) int and train_features
        (M, D) float (load_coco_data or load_digit_strips)
    idx_to_word: the vocabulary (kept as `solver.idx_to_word`, as the course does)
    kwargs: learning_rate (1e-3), batch_size (100), num_epochs (10), print_every (10),
        verbose (True), and ours: lr_schedule (None: constant rate), seed (None),
        on_epoch_end (None)
    """

    def __init__(
        self, model: Any, data: Mapping[str, Any], idx_to_word: Any, **kwargs: Any
    ) -> None:
        self.model = model
        self.data = data
        self.idx_to_word = idx_to_word
        self.learning_rate = float(kwargs.pop("learning_rate", 0.001))
        self.batch_size = int(kwargs.pop("batch_size", 100))
        self.num_epochs = int(kwargs.pop("num_epochs", 10))
        self.print_every = int(kwargs.pop("print_every", 10))
        self.verbose = bool(kwargs.pop("verbose", True))
        self.lr_schedule: Schedule | Callable[[int], float] | None = kwargs.pop("lr_schedule", None)
        seed = kwargs.pop("seed", None)
        self.on_epoch_end: Callable[[int], None] | None = kwargs.pop("on_epoch_end", None)
        if kwargs:
            raise ValueError(
                f"Unrecognized arguments {', '.join(map(repr, kwargs))}; the options are "
                "learning_rate, batch_size, num_epochs, print_every, verbose, lr_schedule, seed "
                "and on_epoch_end"
            )
        for name in ("learning_rate", "batch_size", "num_epochs", "print_every"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive, got {value!r}")
        self._captions, self._image_idxs, self._features = _train_arrays(data)
        # seed=None follows np.random.seed, as the course's minibatches do.
        self.rng = np.random.default_rng(np.random.randint(2**31) if seed is None else seed)
        self.optim = torch.optim.Adam(self.model.parameters(), self.learning_rate)
        self._reset()

    def _reset(self) -> None:
        """Book-keeping of a fresh run."""
        self.epoch = 0
        self.loss_history: list[float] = []

    def _set_learning_rate(self, t: int) -> None:
        """Apply the schedule's rate for counter t (epochs or updates, as it says)."""
        if self.lr_schedule is not None:
            for group in self.optim.param_groups:
                group["lr"] = float(self.lr_schedule(t))

    def _step(self) -> None:
        """One Adam update on a random minibatch (with replacement, as the course draws it)."""
        rows = self.rng.choice(len(self._captions), self.batch_size)
        captions = self._captions[rows]
        features = self._features[self._image_idxs[rows]]
        captions_in = torch.from_numpy(captions[:, :-1].astype(np.int64))
        captions_out = torch.from_numpy(captions[:, 1:].astype(np.int64))
        mask = captions_out != self.model._null
        scores = self.model(features, captions_in)
        loss = self.transformer_temporal_softmax_loss(scores, captions_out, mask)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingDivergedError(
                len(self.loss_history) + 1,
                value,
                self.optim.param_groups[0]["lr"],
                kept="The model holds the parameters of the last update with a finite loss",
            )
        self.loss_history.append(value)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()

    def train(self) -> None:
        """Run num_epochs epochs of updates, printing the loss every print_every updates."""
        self.model.train()
        iterations_per_epoch = max(len(self._captions) // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        per_iteration = getattr(self.lr_schedule, "unit", "epoch") == "iteration"
        for t in range(num_iterations):
            if t % iterations_per_epoch == 0 and not per_iteration:
                self._set_learning_rate(self.epoch)
            if per_iteration:
                self._set_learning_rate(t)
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                if self.on_epoch_end is not None:
                    self.on_epoch_end(self.epoch)
                    self.model.train()

    def transformer_temporal_softmax_loss(
        self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """The course's training loss: masked cross-entropy averaged over all N * T positions
        (temporal_softmax_loss divided by T).

        x: (N, T, V) scores; y: (N, T) word ids; mask: (N, T), true where the word counts
        returns the scalar loss
        """
        return temporal_softmax_loss(x, y, mask) / x.shape[1]


def _train_arrays(data: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked train_captions, train_image_idxs and train_features of a data dict."""
    missing = [k for k in ("train_captions", "train_image_idxs", "train_features") if k not in data]
    if missing:
        raise ValueError(
            f"data lacks {missing}; pass the dict returned by load_coco_data or load_digit_strips"
        )
    captions = np.asarray(data["train_captions"])
    image_idxs = np.asarray(data["train_image_idxs"])
    features = np.asarray(data["train_features"])
    if captions.ndim != 2 or captions.shape[1] < 2 or not np.issubdtype(captions.dtype, np.integer):
        raise ValueError(
            "train_captions must be an (N, T) integer array with T >= 2, got "
            f"{captions.dtype} {captions.shape}"
        )
    if len(captions) == 0:
        raise ValueError("train_captions is empty; the solver needs captions to train on")
    if image_idxs.shape != captions.shape[:1] or not np.issubdtype(image_idxs.dtype, np.integer):
        raise ValueError(
            f"train_image_idxs must hold one integer per caption ({len(captions)}), got "
            f"{image_idxs.dtype} {image_idxs.shape}"
        )
    if features.ndim != 2 or image_idxs.min() < 0 or image_idxs.max() >= len(features):
        raise ValueError(
            f"train_features must be (M, D) with every train_image_idxs in [0, M); got shape "
            f"{features.shape} and indices up to {image_idxs.max()}"
        )
    return captions, image_idxs, features
