"""A small AlexNet (Krizhevsky et al., 2012) for 32x32 images.

    conv 5x5 (c1) - relu - max pool 2x2 - conv 5x5 (c2) - relu - max pool 2x2
    - conv 3x3 (c3) - relu - conv 3x3 (c4) - relu - conv 3x3 (c5) - relu - max pool 2x2
    - dropout - fc (h1) - relu - dropout - fc (h2) - relu - fc (num_classes)

The original's shape (five convolutions, three max pools, two hidden fully-connected layers
with dropout) scaled down to 32x32 inputs: its first layer, 11x11 with stride 4 on 224x224,
becomes 5x5 with stride 1 (a stride of 4 would leave an 8x8 map after one layer); every
convolution is "same"-padded; the 3x3 pools with stride 2 (overlapping) become 2x2 pools
(the 32-pixel sides do not fit 3x3 windows at stride 2 without padding); the widths 96-256-384-
384-256 and 4096-4096 shrink to the defaults 32-64-96-96-64 and 256-256, so that an epoch of
CIFAR-10 on the NumPy engine takes minutes; local response normalisation is left out (later
work found it adds little) and the two-GPU split is one network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyvision.nn import Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU
from tinyvision.validation import check_positive_int

from .base import ImageClassifier, check_dropout, check_image_shape, check_widths, layer_seeds

__all__ = ["AlexNetSmall"]


class AlexNetSmall(ImageClassifier):
    """Five convolutions, three 2x2 max pools, two hidden linear layers with dropout."""

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 96, 96, 64),
        hidden_dims: Sequence[int] = (256, 256),
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        dropout: float = 0.5,
        reg: float = 0.0,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Build the layers with Kaiming-initialised weights.

        channels: the five convolutions' widths
        hidden_dims: the two hidden linear layers' sizes
        num_classes: number of scores
        input_shape: (C, H, W), H and W multiples of 8 (three 2x2 pools)
        dropout: probability of dropping a unit before each hidden linear layer, in [0, 1)
        reg: L2 regularisation strength, >= 0
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of parameters and computations (float64 for gradient checks)
        """
        c1, c2, c3, c4, c5 = check_widths(channels, 5, "channels", "(32, 64, 96, 96, 64)")
        h1, h2 = check_widths(hidden_dims, 2, "hidden_dims", "(256, 256)")
        in_channels, height, width = check_image_shape(input_shape, "alexnet-small", 8, 8)
        num_classes = check_positive_int(num_classes, "num_classes")
        dropout = check_dropout(dropout)
        seeds = layer_seeds(seed)

        def conv(c_in: int, c_out: int, kernel: int) -> Module:
            return Conv2d(c_in, c_out, kernel, padding=kernel // 2, seed=next(seeds), dtype=dtype)

        def drop() -> list[Module]:
            return [Dropout(dropout)] if dropout > 0 else []

        features = (height // 8) * (width // 8) * c5
        layers: list[Module] = [
            conv(in_channels, c1, 5), ReLU(), MaxPool2d(2),
            conv(c1, c2, 5), ReLU(), MaxPool2d(2),
            conv(c2, c3, 3), ReLU(),
            conv(c3, c4, 3), ReLU(),
            conv(c4, c5, 3), ReLU(), MaxPool2d(2),
            Flatten(),
            *drop(), Linear(features, h1, seed=next(seeds), dtype=dtype), ReLU(),
            *drop(), Linear(h1, h2, seed=next(seeds), dtype=dtype), ReLU(),
            Linear(h2, num_classes, seed=next(seeds), dtype=dtype),
        ]  # fmt: skip
        super().__init__(layers, (in_channels, height, width), reg, dtype)
