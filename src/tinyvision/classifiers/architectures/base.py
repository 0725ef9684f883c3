"""What the named architectures share: a Sequential that checks its images, and small builders.

Each architecture module builds its list of layers and hands it to `ImageClassifier`, which is
a Sequential (so `params`, `loss(X, y)`, `state_dict()`, train/eval for the Solver) that also
checks the input images against the shape it was built for and casts them to its dtype.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from tinyvision.nn import BatchNorm2d, Conv2d, Module, ReLU, Sequential
from tinyvision.validation import check_positive_int

__all__ = [
    "ImageClassifier",
    "check_dropout",
    "check_image_shape",
    "check_stage_widths",
    "check_widths",
    "conv_bn_relu",
    "layer_seeds",
]

# More seeds than any of these networks has weighted layers.
_MAX_LAYERS = 256


class ImageClassifier(Sequential):
    """A Sequential classifier of (N, C, H, W) images of one shape and dtype.

    Parameter names are Sequential's dotted paths ("0.W", "1.gamma", "5.2.1.W", ...); L2
    regularisation (reg) applies to every convolution and linear weight.
    """

    def __init__(
        self,
        layers: Sequence[Module],
        input_shape: tuple[int, int, int],
        reg: float,
        dtype: type | np.dtype,
    ) -> None:
        """layers: the network in order; input_shape: (C, H, W); reg: L2 strength, >= 0."""
        super().__init__(*layers, reg=reg)
        self.input_shape = tuple(int(v) for v in input_shape)
        self.dtype = np.dtype(dtype)

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores (evaluation mode), or loss and gradients (training mode), as Sequential.loss.

        X: (N, C, H, W) images matching input_shape; cast to the model's dtype
        y: (N,) int labels, or None
        returns scores (N, num_classes), or (loss, grads keyed like params)
        """
        X = np.asarray(X)
        if X.ndim != 4 or X.shape[1:] != self.input_shape:
            raise ValueError(
                f"X must be (N, {', '.join(map(str, self.input_shape))}) images, got shape "
                f"{X.shape}; images are channels-first (N, C, H, W)"
            )
        return super().loss(X.astype(self.dtype, copy=False), y)


def check_image_shape(
    input_shape: Sequence[int], model: str, multiple: int, smallest: int
) -> tuple[int, int, int]:
    """(C, H, W) of positive ints with H and W multiples of `multiple` and at least `smallest`.

    model: the architecture's name, for the message; raises ValueError otherwise
    """
    if isinstance(input_shape, (int, np.integer)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), e.g. (3, 32, 32), got {input_shape!r}")
    shape = tuple(check_positive_int(v, f"input_shape[{i}]") for i, v in enumerate(input_shape))
    if any(side < smallest or side % multiple for side in shape[1:]):
        raise ValueError(
            f"{model} needs images whose sides are multiples of {multiple} and at least "
            f"{smallest} pixels (CIFAR-10's 32x32: --dataset cifar10), got input_shape {shape}"
        )
    return shape  # type: ignore[return-value]


def check_widths(widths: Sequence[int], count: int, name: str, example: str) -> list[int]:
    """Exactly count positive ints, e.g. the five convolution widths of AlexNet."""
    if isinstance(widths, (int, np.integer)) or len(widths) != count:
        raise ValueError(f"{name} must be {count} positive ints such as {example}, got {widths!r}")
    return [check_positive_int(w, f"{name}[{i}]") for i, w in enumerate(widths)]


def check_stage_widths(channels: Sequence[int], example: int) -> list[int]:
    """One positive width per stage, at least one stage; example: a width for the message."""
    if isinstance(channels, (int, np.integer)) or len(channels) == 0:
        raise ValueError(
            f"channels must be a non-empty list of stage widths, got {channels!r}; for one "
            f"stage of {example} channels write ({example},)"
        )
    return [check_positive_int(c, f"channels[{i}]") for i, c in enumerate(channels)]


def check_dropout(dropout: float) -> float:
    """A probability of dropping a unit, in [0, 1)."""
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout is the probability of dropping a unit, in [0, 1); got {dropout}")
    return float(dropout)


def layer_seeds(seed: int | None) -> Iterator[int | None]:
    """One independent seed per weighted layer (None throughout when seed is None, so that the
    layers follow np.random.seed), so a given seed fixes every initial weight."""
    if seed is None:
        return itertools.repeat(None)
    return iter(np.random.SeedSequence(seed).generate_state(_MAX_LAYERS).tolist())


def conv_bn_relu(
    in_channels: int,
    out_channels: int,
    kernel: int,
    seeds: Iterator[int | None],
    dtype: type | np.dtype,
) -> list[Module]:
    """A "same"-padded convolution (no bias: the batch norm removes it), batch norm, ReLU."""
    return [
        Conv2d(
            in_channels,
            out_channels,
            kernel,
            padding=kernel // 2,
            bias=False,
            seed=next(seeds),
            dtype=dtype,
        ),
        BatchNorm2d(out_channels, dtype=dtype),
        ReLU(),
    ]
