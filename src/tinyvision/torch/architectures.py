"""The named architectures (tinyvision.classifiers.architectures) written in torch.nn: twins.

Each builder makes the torch network of the same layers, in the same order, as the NumPy class
given the same arguments, so that module paths line up: the NumPy parameter "3.W" is torch's
"3.weight", "5.1.0.W" (branch 1 of an Inception block) is "5.1.0.weight", "4.conv1.W" (a
residual block's) is "4.conv1.weight". `load_numpy_state` copies a NumPy model's state_dict()
into a twin; the tests then ask both for the same outputs and gradients. Widths and defaults
are the NumPy classes' (tinyvision.classifiers.architectures); see those for what each
architecture changes from its paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from tinyvision.classifiers.architectures import INCEPTION_BLOCKS, VGG_CONFIGURATIONS

__all__ = [
    "BasicBlock",
    "Concat",
    "alexnet_small",
    "inception",
    "lenet5",
    "load_numpy_state",
    "resnet",
    "vgg",
]


class Concat(nn.Module):
    """Every branch on the same input, outputs concatenated along the channels (nn.Branches)."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        for index, branch in enumerate(branches):
            self.add_module(str(index), branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)


class BasicBlock(nn.Module):
    """ResNet's basic block with the children of tinyvision.nn.ResidualBlock (stride 1 or more)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.projection = stride != 1 or in_channels != out_channels
        if self.projection:
            self.proj_conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            self.proj_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        shortcut = self.proj_bn(self.proj_conv(x)) if self.projection else x
        return torch.relu(main + shortcut)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]


def _global_avg_pool() -> nn.Module:
    """(N, C, H, W) -> (N, C), as tinyvision.nn.GlobalAvgPool2d."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


def lenet5(in_channels: int = 3, num_classes: int = 10) -> nn.Sequential:
    """LeNet-5 on 32x32 images: tanh, 2x2 average pools, full C3."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(),
        nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


def alexnet_small(
    channels: Sequence[int] = (32, 64, 96, 96, 64),
    hidden_dims: Sequence[int] = (256, 256),
    num_classes: int = 10,
    input_shape: Sequence[int] = (3, 32, 32),
    dropout: float = 0.5,
) -> nn.Sequential:
    """Five convolutions, three 2x2 max pools, two hidden linear layers (dropout before each)."""
    c1, c2, c3, c4, c5 = channels
    h1, h2 = hidden_dims
    in_channels, height, width = input_shape

    def drop() -> list[nn.Module]:
        return [nn.Dropout(dropout)] if dropout > 0 else []

    return nn.Sequential(
        nn.Conv2d(in_channels, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        *drop(), nn.Linear(c5 * (height // 8) * (width // 8), h1), nn.ReLU(),
        *drop(), nn.Linear(h1, h2), nn.ReLU(),
        nn.Linear(h2, num_classes),
    )  # fmt: skip


def vgg(
    depth: int = 11,
    channels: Sequence[int] = (32, 64, 128, 128, 128),
    num_classes: int = 10,
    input_shape: Sequence[int] = (3, 32, 32),
    dropout: float = 0.0,
) -> nn.Sequential:
    """Five stages of conv3x3-bn-relu (VGG_CONFIGURATIONS[depth] per stage) and max pools."""
    in_channels, height, width = input_shape
    layers: list[nn.Module] = []
    for stage_width, convolutions in zip(channels, VGG_CONFIGURATIONS[depth], strict=True):
        for _ in range(convolutions):
            layers += _conv_bn_relu(in_channels, stage_width, 3)
            in_channels = stage_width
        layers.append(nn.MaxPool2d(2))
    layers.append(nn.Flatten())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(in_channels * (height // 32) * (width // 32), num_classes))
    return nn.Sequential(*layers)


def _inception_block(in_channels: int, widths: Sequence[int]) -> Concat:
    b1, r3, b3, r5, b5, pp = widths
    return Concat(
        nn.Sequential(*_conv_bn_relu(in_channels, b1, 1)),
        nn.Sequential(*_conv_bn_relu(in_channels, r3, 1), *_conv_bn_relu(r3, b3, 3)),
        nn.Sequential(*_conv_bn_relu(in_channels, r5, 1), *_conv_bn_relu(r5, b5, 5)),
        nn.Sequential(nn.ZeroPad2d(1), nn.MaxPool2d(3, 1), *_conv_bn_relu(in_channels, pp, 1)),
    )


def inception(
    blocks: Sequence[Sequence[int] | None] = INCEPTION_BLOCKS,
    stem_channels: int = 32,
    num_classes: int = 10,
    input_shape: Sequence[int] = (3, 32, 32),
    dropout: float = 0.0,
) -> nn.Sequential:
    """A 3x3 stem, Inception blocks (a tuple of widths) and 2x2 max pools (None), GAP, linear."""
    layers: list[nn.Module] = _conv_bn_relu(input_shape[0], stem_channels, 3)
    channels = stem_channels
    for block in blocks:
        if block is None:
            layers.append(nn.MaxPool2d(2))
            continue
        layers.append(_inception_block(channels, block))
        channels = block[0] + block[2] + block[4] + block[5]
    layers.append(_global_avg_pool())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(channels, num_classes))
    return nn.Sequential(*layers)


def resnet(
    channels: Sequence[int] = (16, 32, 64),
    blocks_per_stage: int = 2,
    num_classes: int = 10,
    input_shape: Sequence[int] = (3, 32, 32),
) -> nn.Sequential:
    """A conv3x3-bn-relu stem, stages of basic blocks with 2x2 max pools between, GAP, linear."""
    layers: list[nn.Module] = _conv_bn_relu(input_shape[0], channels[0], 3)
    in_channels = channels[0]
    for stage, stage_width in enumerate(channels):
        if stage > 0:
            layers.append(nn.MaxPool2d(2))
        for _ in range(blocks_per_stage):
            layers.append(BasicBlock(in_channels, stage_width))
            in_channels = stage_width
    layers += [_global_avg_pool(), nn.Linear(in_channels, num_classes)]
    return nn.Sequential(*layers)


# The NumPy name of each kind of array -> torch's.
_TORCH_NAMES = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}


def load_numpy_state(module: nn.Module, state: Mapping[str, np.ndarray]) -> None:
    """Copy a NumPy model's state_dict() (parameters and running statistics) into its twin.

    Linear weights are transposed (ours (in, out), torch's (out, in)); every torch parameter
    and running statistic must receive a value (strict), in the twin's dtype.
    """
    linear = {name for name, m in module.named_modules() if isinstance(m, nn.Linear)}
    reference = module.state_dict()
    converted = {}
    for name, value in state.items():
        owner, _, leaf = name.rpartition(".")
        torch_name = f"{owner}.{_TORCH_NAMES.get(leaf, leaf)}"
        array = value.T if owner in linear and leaf == "W" else value
        converted[torch_name] = torch.from_numpy(np.ascontiguousarray(array)).to(
            reference[torch_name].dtype
        )
    for name, value in reference.items():
        if name.endswith("num_batches_tracked"):
            converted[name] = value
    module.load_state_dict(converted, strict=True)
