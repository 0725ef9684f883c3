"""The open-ended CIFAR-10 model of the PyTorch track (`--model torch-cnn`).

A small ResNet in the style of the fast CIFAR-10 training recipes: a stem convolution, then
stages that each widen with a 3x3 conv - batch norm - ReLU, halve the resolution with max
pooling and (optionally) refine with a residual block of two such convolutions; a global
average pool and one linear layer give the class scores. No activation follows the linear layer: the
scores are logits for the cross-entropy loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ResidualBlock", "TorchCNN", "conv_bn_relu"]


def conv_bn_relu(in_channels: int, out_channels: int, batchnorm: bool = True) -> nn.Sequential:
    """3x3 convolution (padding 1), batch norm, ReLU; without batch norm the conv has a bias."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=not batchnorm)
    norm = nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity()
    return nn.Sequential(conv, norm, nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """x + f(x), where f is two conv - batch norm - ReLU layers of the same width."""

    def __init__(self, channels: int, batchnorm: bool = True) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(channels, channels, batchnorm), conv_bn_relu(channels, channels, batchnorm)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TorchCNN(nn.Module):
    """Stem, then per stage: widen, max-pool by 2, residual block; global average pool, linear.

    in_channels: channels of the input images (3 for CIFAR-10, 1 for the digits)
    num_classes: number of class scores
    channels: width of the stem and of each stage, e.g. (32, 64, 128, 256): the stem takes the
        first, and one stage follows per further entry, so len(channels) - 1 poolings
    residual: add a residual block after each stage's pooling
    dropout: probability of dropping a feature before the linear layer
    batchnorm: batch norm after every convolution (without it, each process of a CPU
        distributed run trains exactly as one process on the global batch would)
    forward: (N, in_channels, H, W) float images -> (N, num_classes) scores
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: Sequence[int] = (32, 64, 128, 256),
        residual: bool = True,
        dropout: float = 0.0,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"channels needs a stem width and at least one stage, got {channels}")
        layers: list[nn.Module] = [conv_bn_relu(in_channels, channels[0], batchnorm)]
        for previous, width in zip(channels[:-1], channels[1:], strict=True):
            layers += [conv_bn_relu(previous, width, batchnorm), nn.MaxPool2d(2)]
            if residual:
                layers.append(ResidualBlock(width, batchnorm))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels[-1], num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels-last convolutions are about 1.5x faster on CPUs (oneDNN's preferred layout).
        return self.head(self.features(x.contiguous(memory_format=torch.channels_last)))
