"""A torch classifier behind tinyvision's one model contract (tinyvision.model).

The run pipeline, run folders and `evaluate` treat every model alike: `state_dict()` gives NumPy
arrays (saved in model.npz, never a pickle), `load_state_dict` is strict, `predict` takes NumPy
inputs. `TorchClassifier` gives a LightningModule those answers without renaming its own torch
methods (a LightningModule's `state_dict` returns tensors, which Lightning's checkpoints need).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pytorch_lightning as pl
import torch

from tinyvision.model import Model, check_state_dict
from tinyvision.torch.lightning import ClassifierModule

__all__ = ["TorchClassifier", "TorchModel"]


class TorchModel(Model):
    """The Model contract over a LightningModule whose `net` (an nn.Module) holds the weights.

    state_dict(): NumPy copies of the net's parameters and buffers (model.npz, never a pickle);
    load_state_dict is strict. Subclasses add what their kind of model answers (scores,
    keypoints, samples).
    module: the LightningModule that trains
    """

    def __init__(self, module: pl.LightningModule) -> None:
        self.module = module

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return dict(self.named_parameters())

    @property
    def training(self) -> bool:  # type: ignore[override]
        return self.module.training

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        for name, value in self.module.net.named_parameters():
            yield name, value.detach().cpu().numpy()

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for name, value in self.module.net.named_buffers():
            yield name, value.detach().cpu().numpy()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {
            name: value.detach().cpu().numpy().copy() for name, value in self._tensors().items()
        }

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        tensors = self._tensors()
        check_state_dict(
            state,
            {n: t.detach().cpu().numpy() for n, t in tensors.items()},
            type(self.module.net).__name__,
        )
        self.module.net.load_state_dict(
            {n: torch.as_tensor(np.asarray(state[n]), dtype=t.dtype) for n, t in tensors.items()}
        )

    def _tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.module.net.state_dict())

    def train(self, mode: bool = True) -> TorchModel:
        self.module.train(mode)
        return self


class TorchClassifier(TorchModel):
    """The Model contract over a ClassifierModule: class scores of NumPy images."""

    module: ClassifierModule

    def scores(self, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """(N, num_classes) class scores of (N, C, H, W) inputs, batch by batch."""
        return np.concatenate(
            [self.loss(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
        )

    @torch.no_grad()
    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Class scores (N, num_classes) of the inputs, in evaluation mode (course-style)."""
        if y is not None:
            raise ValueError("a torch classifier trains through Lightning; call loss(X) for scores")
        was_training = self.module.training
        self.module.eval()
        try:
            parameter = next(self.module.parameters())
            x = torch.as_tensor(np.asarray(X), dtype=parameter.dtype, device=parameter.device)
            return self.module(x).cpu().numpy()
        finally:
            self.module.train(was_training)
