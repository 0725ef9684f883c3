"""ConvNet: a deeper, configurable convolutional network built with the Module API.

Each stage is `blocks_per_stage` x [conv3x3 - batch norm - relu] (or residual blocks, for the
small-ResNet variant) followed by a 2x2 max pool that halves the size; after the last stage a
global average pool gives one value per channel, and a linear layer (with optional dropout
before it) gives the class scores:

    ConvNet(channels=(32, 64, 128), blocks_per_stage=2)
    = [conv(32)-bn-relu x2 - pool] - [conv(64)-bn-relu x2 - pool] - [conv(128)-bn-relu x2 - pool]
      - global average pool - linear(10)

ConvNet is an ImageClassifier (a Sequential that checks its images, as the named architectures
are), so it has `params` / `loss(X, y)` for the Solver, `state_dict()` (running statistics
included) and train/eval modes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyvision.nn import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    ResidualBlock,
)
from tinyvision.validation import check_positive_int

from .architectures.base import ImageClassifier, check_dropout, check_stage_widths, layer_seeds

__all__ = ["ConvNet"]


def _check_input_shape(input_shape: Sequence[int], stages: int) -> tuple[int, int, int]:
    """(C, H, W) of positive ints with H and W divisible by 2**stages (one 2x2 pool per stage)."""
    if isinstance(input_shape, (int, np.integer)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), e.g. (3, 32, 32), got {input_shape!r}")
    channels, height, width = (
        check_positive_int(v, f"input_shape[{i}]") for i, v in enumerate(input_shape)
    )
    factor = 2**stages
    if height % factor or width % factor:
        raise ValueError(
            f"{stages} stages halve the image {stages} times, so H and W must be multiples of "
            f"{factor}, got input_shape {tuple(input_shape)}; use fewer channels entries"
        )
    return channels, height, width


class ConvNet(ImageClassifier):
    """[{conv-bn-relu or residual block} x blocks_per_stage - maxpool] per stage - GAP - linear.

    Parameter names are Sequential's dotted paths ("0.W", "1.gamma", ...); L2 regularisation
    (reg) applies to every convolution and linear weight.
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int = 2,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        use_residual: bool = False,
        dropout: float = 0.0,
        reg: float = 0.0,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Build the layers with Kaiming-initialised weights.

        channels: output channels of each stage, e.g. (32, 64, 128); one 2x2 pool per stage
        blocks_per_stage: conv-bn-relu layers (or residual blocks) per stage, >= 1
        num_classes: number of scores
        input_shape: (C, H, W) of one image; H and W divisible by 2 ** len(channels)
        use_residual: stages of ResidualBlock (the small-ResNet variant) instead of plain
          conv-bn-relu layers; the first block of a stage projects to the stage's channels
        dropout: probability of dropping each feature before the classifier, in [0, 1); 0 = none
        reg: L2 regularisation strength, >= 0
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of parameters and computations (float64 for gradient checks)
        """
        widths = check_stage_widths(channels, 32)
        blocks = check_positive_int(blocks_per_stage, "blocks_per_stage")
        num_classes = check_positive_int(num_classes, "num_classes")
        image_shape = _check_input_shape(input_shape, len(widths))
        in_channels = image_shape[0]
        dropout = check_dropout(dropout)
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"dtype must be a float type such as np.float32, got {dtype!r}")
        seeds = layer_seeds(seed)

        layers: list[Module] = []
        for width in widths:
            for _ in range(blocks):
                if use_residual:
                    layers.append(ResidualBlock(in_channels, width, seed=next(seeds), dtype=dtype))
                else:
                    layers += [
                        Conv2d(in_channels, width, 3, padding=1, seed=next(seeds), dtype=dtype),
                        BatchNorm2d(width, dtype=dtype),
                        ReLU(),
                    ]
                in_channels = width
            layers.append(MaxPool2d(2))
        layers.append(GlobalAvgPool2d())
        if dropout > 0:
            layers.append(Dropout(dropout))
        layers.append(Linear(in_channels, num_classes, seed=next(seeds), dtype=dtype))
        super().__init__(layers, image_shape, reg, dtype)
