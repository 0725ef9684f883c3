"""VGG (Simonyan and Zisserman, 2015): stages of 3x3 convolutions, each closed by a 2x2 max pool.

    [conv 3x3 - batch norm - relu] x n_1 - max pool - ... - [...] x n_5 - max pool
    - flatten - dropout - fc (num_classes)

`depth` picks the paper's configuration, which fixes the convolutions per stage: 11 is A
(1, 1, 2, 2, 2), 13 is B (2, 2, 2, 2, 2), 16 is D (2, 2, 3, 3, 3) and 19 is E (2, 2, 4, 4, 4);
the depth counts those convolutions plus the three fully-connected layers of the original.
Scaled to 32x32 inputs as the CIFAR versions of VGG are: five pools take 32x32 to 1x1, so the
classifier is one linear layer on the last stage's channels (the original's two 4096-unit
layers on a 7x7 map of 224x224 inputs are left out, so depth 11 has 8 convolutions and one
linear layer here); batch norm follows every convolution (the original, before batch norm,
had to train the deeper configurations from the shallower ones); the widths 64-128-256-512-512
are quartered or halved to the default 32-64-128-128-128.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyvision.nn import Dropout, Flatten, Linear, MaxPool2d, Module
from tinyvision.validation import check_positive_int

from .base import (
    ImageClassifier,
    check_dropout,
    check_image_shape,
    check_widths,
    conv_bn_relu,
    layer_seeds,
)

__all__ = ["VGG", "VGG_CONFIGURATIONS"]

# The paper's configurations: depth -> convolutions in each of the five stages.
VGG_CONFIGURATIONS: dict[int, tuple[int, ...]] = {
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}


class VGG(ImageClassifier):
    """Five stages of conv3x3-bn-relu layers and a 2x2 max pool, then dropout and a linear layer."""

    def __init__(
        self,
        depth: int = 11,
        channels: Sequence[int] = (32, 64, 128, 128, 128),
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        dropout: float = 0.0,
        reg: float = 0.0,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Build the layers with Kaiming-initialised weights.

        depth: 11, 13, 16 or 19, the paper's configuration (convolutions per stage)
        channels: the five stages' widths
        num_classes: number of scores
        input_shape: (C, H, W), H and W multiples of 32 (five 2x2 pools)
        dropout: probability of dropping a feature before the linear layer, in [0, 1)
        reg: L2 regularisation strength, >= 0
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of parameters and computations (float64 for gradient checks)
        """
        if depth not in VGG_CONFIGURATIONS:
            raise ValueError(
                f"depth must be one of {sorted(VGG_CONFIGURATIONS)} (the VGG paper's "
                f"configurations A, B, D, E), got {depth!r}"
            )
        widths = check_widths(channels, 5, "channels", "(32, 64, 128, 128, 128)")
        in_channels, height, width = check_image_shape(input_shape, "vgg", 32, 32)
        num_classes = check_positive_int(num_classes, "num_classes")
        dropout = check_dropout(dropout)
        seeds = layer_seeds(seed)
        layers: list[Module] = []
        channels_in = in_channels
        for stage_width, convolutions in zip(widths, VGG_CONFIGURATIONS[depth], strict=True):
            for _ in range(convolutions):
                layers += conv_bn_relu(channels_in, stage_width, 3, seeds, dtype)
                channels_in = stage_width
            layers.append(MaxPool2d(2))
        layers.append(Flatten())
        if dropout > 0:
            layers.append(Dropout(dropout))
        features = channels_in * (height // 32) * (width // 32)
        layers.append(Linear(features, num_classes, seed=next(seeds), dtype=dtype))
        super().__init__(layers, (in_channels, height, width), reg, dtype)
        self.depth = depth
