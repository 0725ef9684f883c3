"""Parts III and IV of the course's PyTorch notebook: nn.Module subclasses and nn.Sequential.

The same two networks as `barebones`, now holding their own parameters (Kaiming normal
weights as the course asks, zero biases), trained by any torch.optim optimiser with one loop,
`train` (the course's `train_part34`), and scored by `check_accuracy` (`check_accuracy_part34`).
Both run on DEVICE, the first CUDA device when there is one, else the CPU, and feed the model
inputs in the dtype of its parameters. They return their results and log through `logging`
(logger "tinyvision.torch.modules") instead of printing; the training loop shows a tqdm bar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from tinyvision.torch.barebones import DEVICE, flatten

__all__ = [
    "Flatten",
    "ThreeLayerConvNet",
    "TwoLayerFC",
    "check_accuracy",
    "check_accuracy_part34",
    "sequential_three_layer_convnet",
    "train",
    "train_part34",
]

logger = logging.getLogger(__name__)

Loader = Iterable[tuple[torch.Tensor, torch.Tensor]]


class Flatten(nn.Module):
    """(N, d1, ..., dk) -> (N, d1 * ... * dk), for nn.Sequential."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return flatten(x)


def _kaiming_init(layers: Iterable[nn.Module]) -> None:
    """Kaiming normal weights (fan_in, gain sqrt 2) and zero biases for every Linear and Conv2d."""
    for layer in layers:
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"{name} must be a positive int, got {value!r} ({type(value).__name__})"
            )


class TwoLayerFC(nn.Module):
    """fc - relu - fc on flattened inputs.

    input_size: D, the size of one flattened input
    hidden_size: H
    num_classes: C
    forward: x (N, d1, ..., dk) with d1 * ... * dk = D -> scores (N, C)
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int) -> None:
        super().__init__()
        _check_sizes(input_size=input_size, hidden_size=hidden_size, num_classes=num_classes)
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        _kaiming_init(self.children())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(flatten(x))))


class ThreeLayerConvNet(nn.Module):
    """conv 5x5 pad 2 - relu - conv 3x3 pad 1 - relu - fc; the convolutions keep H and W.

    in_channel: C of the input images
    channel_1, channel_2: filters of the first and second convolution
    num_classes: number of scores
    image_size: (H, W) of the inputs, which sizes the fc layer (CIFAR-10's 32 x 32 by default)
    forward: x (N, in_channel, H, W) -> scores (N, num_classes)
    """

    def __init__(
        self,
        in_channel: int,
        channel_1: int,
        channel_2: int,
        num_classes: int,
        *,
        image_size: tuple[int, int] = (32, 32),
    ) -> None:
        super().__init__()
        height, width = image_size
        _check_sizes(
            in_channel=in_channel,
            channel_1=channel_1,
            channel_2=channel_2,
            num_classes=num_classes,
            image_height=height,
            image_width=width,
        )
        self.conv1 = nn.Conv2d(in_channel, channel_1, 5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
        self.fc = nn.Linear(channel_2 * height * width, num_classes)
        _kaiming_init(self.children())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return self.fc(flatten(h))


def sequential_three_layer_convnet(
    in_channel: int,
    channel_1: int,
    channel_2: int,
    num_classes: int,
    *,
    image_size: tuple[int, int] = (32, 32),
) -> nn.Sequential:
    """ThreeLayerConvNet's layers as an nn.Sequential (Part IV), with the same initialisation.

    Arguments as ThreeLayerConvNet; the layers are numbered 0 (conv1), 2 (conv2) and 5 (fc).
    """
    height, width = image_size
    _check_sizes(
        in_channel=in_channel,
        channel_1=channel_1,
        channel_2=channel_2,
        num_classes=num_classes,
        image_height=height,
        image_width=width,
    )
    model = nn.Sequential(
        nn.Conv2d(in_channel, channel_1, 5, padding=2),
        nn.ReLU(),
        nn.Conv2d(channel_1, channel_2, 3, padding=1),
        nn.ReLU(),
        Flatten(),
        nn.Linear(channel_2 * height * width, num_classes),
    )
    _kaiming_init(model)
    return model


def _first_parameter(model: nn.Module) -> torch.Tensor:
    parameter = next(model.parameters(), None)
    if parameter is None:
        raise ValueError(f"{type(model).__name__} has no parameters to train or to place inputs by")
    return parameter


def check_accuracy(loader: Loader, model: nn.Module) -> float:
    """Fraction of the loader's examples whose highest score is their label, in eval mode.

    loader: yields (x, y) batches, x (N, ...) images and y (N,) integer labels
    model: maps x to scores (N, C); left in eval mode
    returns the accuracy in [0, 1], also logged at INFO
    """
    model.eval()
    like = _first_parameter(model)
    num_correct = num_samples = 0
    with torch.no_grad():
        for x, y in loader:
            x = x.to(device=like.device, dtype=like.dtype)
            preds = model(x).argmax(dim=1)
            num_correct += int((preds == y.to(device=like.device)).sum())
            num_samples += preds.shape[0]
    if num_samples == 0:
        raise ValueError("check_accuracy got a loader that yields no examples")
    acc = num_correct / num_samples
    logger.info("Got %d / %d correct (%.2f%%)", num_correct, num_samples, 100 * acc)
    return acc


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader_train: Loader,
    loader_val: Loader | None = None,
    epochs: int = 1,
    print_every: int = 100,
    *,
    progress: bool = True,
) -> list[float]:
    """Train on softmax cross-entropy with `optimizer`, the course's train_part34.

    model: moved to DEVICE and trained in place (train mode for the steps)
    optimizer: built on model.parameters()
    loader_train: yields (x, y) batches
    loader_val: when given, its accuracy is logged every print_every iterations
    epochs: passes over loader_train
    print_every: iterations between loss and accuracy log lines
    progress: show a tqdm bar per epoch
    returns the loss of every iteration
    """
    _check_sizes(epochs=epochs, print_every=print_every)
    model.to(DEVICE)
    like = _first_parameter(model)
    losses = []
    for epoch in range(epochs):
        for t, (x, y) in enumerate(
            tqdm(loader_train, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress)
        ):
            model.train()
            x = x.to(device=like.device, dtype=like.dtype)
            loss = F.cross_entropy(model(x), y.to(device=like.device, dtype=torch.int64))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if t % print_every == 0:
                logger.info("Epoch %d, iteration %d, loss = %.4f", epoch, t, loss.item())
                if loader_val is not None:
                    check_accuracy(loader_val, model)
    return losses


check_accuracy_part34 = check_accuracy
train_part34 = train
