"""LeNet-5 (LeCun et al., 1998), the first convolutional network of the notes, on 32x32 images.

    C1 conv 5x5 (6) - tanh - S2 avg pool 2x2 - C3 conv 5x5 (16) - tanh - S4 avg pool 2x2
    - C5 fc (120) - tanh - F6 fc (84) - tanh - output fc (num_classes)

32x32 in, as the original: C1 gives 28x28, S2 14x14, C3 10x10, S4 5x5, so C5 sees 16 * 5 * 5 =
400 values. Choices where the original differs from today's layers: the activation is tanh
(the paper's scaled tanh, 1.7159 tanh(2x/3), without its scaling); the subsampling layers are
plain 2x2 average pools (the paper's had a learned coefficient and bias per map); C3 connects
to all six maps of S2 (the paper's sparse connection table is dropped); the output layer is a
linear layer under the softmax loss instead of Euclidean RBF units; the input may have three
colour channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyvision.nn import AvgPool2d, Conv2d, Flatten, Linear, Module, Tanh
from tinyvision.validation import check_positive_int

from .base import ImageClassifier, check_image_shape, layer_seeds

__all__ = ["LeNet5"]


class LeNet5(ImageClassifier):
    """conv5(6) - tanh - avgpool - conv5(16) - tanh - avgpool - fc120 - tanh - fc84 - tanh - fc."""

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        reg: float = 0.0,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Build the layers (Xavier initialisation, the scale tanh units need).

        num_classes: number of scores
        input_shape: (C, 32, 32), any number of channels
        reg: L2 regularisation strength, >= 0
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of parameters and computations (float64 for gradient checks)
        """
        channels, height, width = check_image_shape(input_shape, "lenet5", 32, 32)
        if (height, width) != (32, 32):
            raise ValueError(
                f"lenet5 takes 32x32 images (its C5 layer sees 16 maps of 5x5), got "
                f"input_shape {tuple(input_shape)}; use --dataset cifar10"
            )
        num_classes = check_positive_int(num_classes, "num_classes")
        seeds = layer_seeds(seed)
        xavier = {"weight_init": "xavier", "dtype": dtype}
        layers: list[Module] = [
            Conv2d(channels, 6, 5, seed=next(seeds), **xavier),
            Tanh(),
            AvgPool2d(2),
            Conv2d(6, 16, 5, seed=next(seeds), **xavier),
            Tanh(),
            AvgPool2d(2),
            Flatten(),
            Linear(16 * 5 * 5, 120, seed=next(seeds), **xavier),
            Tanh(),
            Linear(120, 84, seed=next(seeds), **xavier),
            Tanh(),
            Linear(84, num_classes, seed=next(seeds), **xavier),
        ]
        super().__init__(layers, (channels, height, width), reg, dtype)
