"""A ResNet of basic blocks (He et al., 2016) for 32x32 images.

    conv 3x3 (c_1) - batch norm - relu
    - [ResidualBlock] x n with c_1 channels
    - max pool 2x2 - [ResidualBlock] x n with c_2 channels (the first one projects)
    - ...
    - global average pool - linear (num_classes)

This is the paper's CIFAR-10 network (a 3x3 stem and three stages of 16, 32 and 64 channels;
n = 3 is ResNet-20) with one change: a stage halves the map with a 2x2 max pool before its
first block instead of a stride-2 first convolution, because a stride-2 3x3 convolution with
padding 1 would drop a border column of a 32-pixel side, which tinyvision's convolution refuses
(tinyvision.nn.ResidualBlock). The default n = 2 gives a 14-layer network (13 convolutions and
the linear layer; the 1x1 projections are not counted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyvision.nn import GlobalAvgPool2d, Linear, MaxPool2d, Module, ResidualBlock
from tinyvision.validation import check_positive_int

from .base import (
    ImageClassifier,
    check_image_shape,
    check_stage_widths,
    conv_bn_relu,
    layer_seeds,
)

__all__ = ["ResNet"]


class ResNet(ImageClassifier):
    """conv3x3-bn-relu stem - stages of basic residual blocks, pooled between - GAP - linear."""

    def __init__(
        self,
        channels: Sequence[int] = (16, 32, 64),
        blocks_per_stage: int = 2,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        reg: float = 0.0,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Build the layers with Kaiming-initialised weights.

        channels: each stage's width (the stem has the first stage's)
        blocks_per_stage: residual blocks per stage, >= 1
        num_classes: number of scores
        input_shape: (C, H, W), H and W multiples of 2 ** (len(channels) - 1)
        reg: L2 regularisation strength, >= 0
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of parameters and computations (float64 for gradient checks)
        """
        widths = check_stage_widths(channels, 16)
        blocks = check_positive_int(blocks_per_stage, "blocks_per_stage")
        factor = 2 ** (len(widths) - 1)
        in_channels, height, width = check_image_shape(input_shape, "resnet", factor, factor)
        num_classes = check_positive_int(num_classes, "num_classes")
        seeds = layer_seeds(seed)
        layers: list[Module] = conv_bn_relu(in_channels, widths[0], 3, seeds, dtype)
        channels_in = widths[0]
        for stage, stage_width in enumerate(widths):
            if stage > 0:
                layers.append(MaxPool2d(2))
            for _ in range(blocks):
                layers.append(
                    ResidualBlock(channels_in, stage_width, seed=next(seeds), dtype=dtype)
                )
                channels_in = stage_width
        layers.append(GlobalAvgPool2d())
        layers.append(Linear(channels_in, num_classes, seed=next(seeds), dtype=dtype))
        super().__init__(layers, (in_channels, height, width), reg, dtype)
