"""An Inception network (GoogLeNet, Szegedy et al., 2015) for 32x32 images.

An Inception block runs four paths side by side on the same input and stacks their maps
(tinyvision.nn.Branches):

    1x1 conv (b1)
    1x1 conv (r3) - 3x3 conv (b3)         the 1x1 "reduces" the channels the 3x3 sees
    1x1 conv (r5) - 5x5 conv (b5)
    3x3 max pool, stride 1 - 1x1 conv (pp)

    -> b1 + b3 + b5 + pp channels, same H and W

The network: a 3x3 conv stem (32) - max pool - blocks 3a, 3b - max pool - blocks 4a, 4b -
global average pool - dropout - linear. Scaled from GoogLeNet's 224x224 to 32x32: the 7x7/2
stem with its pools and local response normalisation becomes one 3x3 conv and one 2x2 pool;
four of the nine blocks are kept (3a, 3b, 4a, 4b), each a quarter as wide (3a: 64 = 16 + 32 + 8
+ 8 channels instead of 256); the two auxiliary classifiers are left out; every convolution is
conv - batch norm - relu (as in the batch-normalised Inception that followed); the 3x3/2 pools
between the groups are 2x2/2. The pool path's padding is zeros (nn.ZeroPad2d) where the paper's
is -inf; after a ReLU the inputs are non-negative, so the maxima are the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from tinyvision.nn import (
    Branches,
    Dropout,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    Module,
    Sequential,
    ZeroPad2d,
)
from tinyvision.validation import check_positive_int

from .base import ImageClassifier, check_dropout, check_image_shape, conv_bn_relu, layer_seeds

__all__ = ["INCEPTION_BLOCKS", "InceptionNet", "inception_block"]

# (b1, r3, b3, r5, b5, pp) of each block, a quarter of GoogLeNet's 3a, 3b, 4a and 4b; None marks
# a 2x2 max pool.
INCEPTION_BLOCKS: tuple[tuple[int, ...] | None, ...] = (
    None,
    (16, 24, 32, 4, 8, 8),
    (32, 32, 48, 8, 24, 16),
    None,
    (48, 24, 52, 4, 12, 16),
    (40, 28, 56, 6, 16, 16),
)


def inception_block(
    in_channels: int,
    widths: Sequence[int],
    seeds: Iterator[int | None],
    dtype: type | np.dtype,
) -> Branches:
    """The four paths of one block on (N, in_channels, H, W) inputs.

    widths: (b1, r3, b3, r5, b5, pp), the channels of each convolution
    returns a Branches whose output is (N, b1 + b3 + b5 + pp, H, W)
    """
    b1, r3, b3, r5, b5, pp = (check_positive_int(w, "inception width") for w in widths)
    return Branches(
        Sequential(*conv_bn_relu(in_channels, b1, 1, seeds, dtype)),
        Sequential(
            *conv_bn_relu(in_channels, r3, 1, seeds, dtype), *conv_bn_relu(r3, b3, 3, seeds, dtype)
        ),
        Sequential(
            *conv_bn_relu(in_channels, r5, 1, seeds, dtype), *conv_bn_relu(r5, b5, 5, seeds, dtype)
        ),
        Sequential(
            ZeroPad2d(1), MaxPool2d(3, stride=1), *conv_bn_relu(in_channels, pp, 1, seeds, dtype)
        ),
    )


def block_channels(widths: Sequence[int]) -> int:
    """Output channels of a block of these widths: b1 + b3 + b5 + pp."""
    b1, _, b3, _, b5, pp = widths
    return b1 + b3 + b5 + pp


class InceptionNet(ImageClassifier):
    """conv3x3 stem - [Inception blocks and 2x2 max pools] - global average pool - linear."""

    def __init__(
        self,
        blocks: Sequence[Sequence[int] | None] = INCEPTION_BLOCKS,
        stem_channels: int = 32,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        dropout: float = 0.0,
        reg: float = 0.0,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Build the layers with Kaiming-initialised weights.

        blocks: after the stem, in order: (b1, r3, b3, r5, b5, pp) for an Inception block or
          None for a 2x2 max pool
        stem_channels: width of the 3x3 stem convolution
        num_classes: number of scores
        input_shape: (C, H, W), H and W multiples of 2 ** (number of pools)
        dropout: probability of dropping a feature before the linear layer, in [0, 1)
        reg: L2 regularisation strength, >= 0
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of parameters and computations (float64 for gradient checks)
        """
        pools = sum(block is None for block in blocks)
        in_channels, height, width = check_image_shape(input_shape, "inception", 2**pools, 2**pools)
        channels = check_positive_int(stem_channels, "stem_channels")
        num_classes = check_positive_int(num_classes, "num_classes")
        dropout = check_dropout(dropout)
        seeds = layer_seeds(seed)
        layers: list[Module] = conv_bn_relu(in_channels, channels, 3, seeds, dtype)
        for block in blocks:
            if block is None:
                layers.append(MaxPool2d(2))
                continue
            if len(block) != 6:
                raise ValueError(
                    f"an Inception block is (b1, r3, b3, r5, b5, pp), six widths, got {block!r}"
                )
            layers.append(inception_block(channels, block, seeds, dtype))
            channels = block_channels(block)
        layers.append(GlobalAvgPool2d())
        if dropout > 0:
            layers.append(Dropout(dropout))
        layers.append(Linear(channels, num_classes, seed=next(seeds), dtype=dtype))
        super().__init__(layers, (in_channels, height, width), reg, dtype)
        self.blocks = tuple(None if b is None else tuple(b) for b in blocks)
        self.stem_channels = int(stem_channels)
