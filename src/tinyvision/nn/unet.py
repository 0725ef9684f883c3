"""UNet: the U-Net of Ronneberger et al. (2015) for semantic segmentation, scaled small.

Encoder: per stage two [3x3 conv - batch norm - ReLU] then 2x2 max pooling; a bottleneck of the
same double convolution; decoder: per stage a 2x2 transposed convolution with stride 2 (the
paper's "up-conv", halving the channels), concatenation with the encoder output of that
resolution (the skip connection: [skip, up-sampled] along the channels), and two
[3x3 conv - batch norm - ReLU]; a 1x1 convolution gives every pixel's class scores.

Differences from the paper, to fit a NumPy engine on one core: the widths are a few channels
(the paper's are 64 ... 1024) and configurable, as is the depth (the paper has 4 pools);
the 3x3 convolutions are padded, so the output has the input's size (the paper crops the
skips instead); and batch norm follows each convolution (the paper predates it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..layers import l2_regularization
from ..validation import check_non_negative, check_positive_int
from .activation import ReLU
from .container import Sequential
from .conv import Conv2d
from .conv_transpose import ConvTranspose2d
from .losses import PixelCrossEntropy
from .module import Module
from .pooling import MaxPool2d
from .spatial_normalization import BatchNorm2d

__all__ = ["UNet", "double_conv"]


def _apply(module: Module, x: np.ndarray) -> np.ndarray:
    return module(x)


def _concatenate_channels(skip: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The skip connection: [skip, up-sampled] along the channels."""
    return np.concatenate([skip, up], axis=1)


def double_conv(
    in_channels: int,
    out_channels: int,
    batchnorm: bool,
    seeds: Sequence[int | None],
    dtype: np.dtype,
) -> Sequential:
    """[3x3 conv (padding 1) - batch norm - ReLU] twice, as a Sequential of six (or four) modules.

    With batch norm the convolutions have no bias (the normalisation would cancel it).
    seeds: the two convolutions' initialisation seeds
    """
    layers: list[Module] = []
    for seed, channels in zip(seeds, (in_channels, out_channels), strict=True):
        layers.append(
            Conv2d(channels, out_channels, 3, 1, 1, not batchnorm, seed=seed, dtype=dtype)
        )
        if batchnorm:
            layers.append(BatchNorm2d(out_channels, dtype=dtype))
        layers.append(ReLU())
    return Sequential(*layers)


class UNet(Module):
    """A small U-Net: (N, in_channels, H, W) images -> (N, num_classes, H, W) pixel scores.

    channels (c_0, ..., c_D): the widths of the D encoder stages and, last, of the bottleneck;
    H and W must be multiples of 2**D (each encoder stage halves them).
    Children, in the order forward uses them (so `layers()` lists a layer table):
    "enc<i>" (double conv), "pool<i>" for i = 0 .. D-1, "bottleneck", then for i = D-1 .. 0
    "up<i>" (ConvTranspose2d c_{i+1} -> c_i) and "dec<i>" (double conv 2 c_i -> c_i), and
    "head" (1x1 Conv2d c_0 -> num_classes). Parameter names are dotted ("enc0.0.W",
    "up1.W", "head.b"). `loss(X, y)` is the model contract the Solver trains: pixel-wise
    softmax cross-entropy over labels y (N, H, W), void pixels (ignore_index) left out, plus
    0.5 * reg * sum(W * W) over every convolution's filters.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        channels: Sequence[int] = (8, 16, 32),
        batchnorm: bool = True,
        reg: float = 0.0,
        ignore_index: int = -1,
        seed: int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Build the net with Kaiming-initialised convolutions.

        num_classes: K, scores per pixel
        in_channels: C of the input images
        channels: the widths, at least two (one pooling stage and the bottleneck), each >= 1
        batchnorm: batch norm after every 3x3 convolution (else those convolutions have biases)
        reg: L2 strength, >= 0
        ignore_index: the label of pixels the loss leaves out (our data's void, -1)
        seed: seed of the initialisation (each convolution derives its own); None follows
          np.random.seed
        dtype: float dtype of the parameters, buffers and of the inputs loss() casts to
        """
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        if isinstance(channels, (str, bytes)) or len(channels) < 2:
            raise ValueError(
                f"channels must hold at least two widths (the encoder stages', then the "
                f"bottleneck's), e.g. (8, 16, 32); got {channels!r}"
            )
        self.channels = tuple(check_positive_int(c, "channels") for c in channels)
        self.batchnorm = bool(batchnorm)
        self.reg = check_non_negative(reg, "reg")
        self.dtype = np.dtype(dtype)
        self.criterion = PixelCrossEntropy(ignore_index)
        depth = self.depth
        # Two convolutions per double conv (encoder, bottleneck, decoder), one up-conv per
        # decoder stage and the head.
        count = 2 * (2 * depth + 1) + depth + 1
        seeds = iter(
            np.random.SeedSequence(seed).generate_state(count)
            if seed is not None
            else [None] * count
        )

        def two_seeds() -> list[int | None]:
            return [next(seeds), next(seeds)]

        widths, modules = self.channels, {}
        previous = self.in_channels
        for i in range(depth):
            modules[f"enc{i}"] = double_conv(previous, widths[i], batchnorm, two_seeds(), dtype)
            modules[f"pool{i}"] = MaxPool2d(2)
            previous = widths[i]
        modules["bottleneck"] = double_conv(previous, widths[-1], batchnorm, two_seeds(), dtype)
        for i in reversed(range(depth)):
            modules[f"up{i}"] = ConvTranspose2d(
                widths[i + 1], widths[i], seed=next(seeds), dtype=dtype
            )
            modules[f"dec{i}"] = double_conv(
                2 * widths[i], widths[i], batchnorm, two_seeds(), dtype
            )
        modules["head"] = Conv2d(widths[0], num_classes, 1, seed=next(seeds), dtype=dtype)
        self._modules = modules

    @property
    def depth(self) -> int:
        """D, the number of pooling (and up-sampling) stages."""
        return len(self.channels) - 1

    @property
    def size_multiple(self) -> int:
        """2**D: H and W must be multiples of it."""
        return 2**self.depth

    def layers(self) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) of every leaf layer, in the order forward applies them (a layer
        table; the concatenations sit between each "up<i>" and the "dec<i>" after it)."""
        return ((name, m) for name, m in self.named_modules() if not m._modules)

    def check_input(self, x: np.ndarray) -> None:
        """Raise ValueError unless x is (N, in_channels, H, W) with H and W multiples of 2**D."""
        shape = np.shape(x)
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"UNet needs (N, {self.in_channels}, H, W) images (channels first), got shape "
                f"{shape}"
            )
        multiple = self.size_multiple
        if shape[2] % multiple or shape[3] % multiple:
            fit = f"{shape[2] // multiple * multiple}x{shape[3] // multiple * multiple}"
            raise ValueError(
                f"UNet with {self.depth} pooling stages needs H and W that are multiples of "
                f"{multiple} (each stage halves them), got {shape[2]}x{shape[3]}; crop the "
                f"images (e.g. to {fit}) or use fewer --channels"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, H, W); returns scores (N, num_classes, H, W)."""
        self.check_input(x)
        *_, (_, scores) = self.walk(x, _apply, _concatenate_channels)
        return scores

    def walk(
        self,
        x: Any,
        apply: Callable[[Module, Any], Any],
        join: Callable[[Any, Any], Any],
    ) -> Iterator[tuple[str, Any]]:
        """Follow the data through the children: yield (child name, its output) in forward
        order, each child applied by apply(module, input), and each skip joined with the
        up-sampled map by join(skip, up) before the decoder stage. forward walks arrays; the
        layer table (tinyvision.nn.summary) walks the pixels each unit sees."""
        m = self._modules
        skips = []
        for i in range(self.depth):
            x = apply(m[f"enc{i}"], x)
            yield f"enc{i}", x
            skips.append(x)
            x = apply(m[f"pool{i}"], x)
            yield f"pool{i}", x
        x = apply(m["bottleneck"], x)
        yield "bottleneck", x
        for i in reversed(range(self.depth)):
            up = apply(m[f"up{i}"], x)
            yield f"up{i}", up
            x = apply(m[f"dec{i}"], join(skips[i], up))
            yield f"dec{i}", x
        yield "head", apply(m["head"], x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, num_classes, H, W); fills every child's grads; returns dx of x's shape.

        The gradient of a concatenation splits along the channels; each skip's share adds to
        the gradient flowing back into its encoder stage's output.
        """
        m = self._modules
        d = m["head"].backward(dout)
        dskips = []
        for i in range(self.depth):
            d = m[f"dec{i}"].backward(d)
            width = self.channels[i]
            dskips.append(d[:, :width])
            d = m[f"up{i}"].backward(d[:, width:])
        d = m["bottleneck"].backward(d)
        for i in reversed(range(self.depth)):
            d = m[f"enc{i}"].backward(m[f"pool{i}"].backward(d) + dskips[i])
        return d

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores, or loss and gradients (the model contract the Solver trains).

        X: (N, in_channels, H, W) images, H and W multiples of 2**D; cast to the model's dtype
        y: (N, H, W) int labels in [0, num_classes) or ignore_index, or None
        returns scores (N, num_classes, H, W) from an evaluation-mode pass when y is None;
            otherwise (loss, grads keyed like params) from a training-mode pass
        """
        self.check_input(X)
        X = np.asarray(X).astype(self.dtype, copy=False)
        if y is None:
            return self._forward_in_mode(X, training=False)
        scores = self._forward_in_mode(X, training=True)
        loss = self.criterion(scores, y)
        self.backward(self.criterion.backward())
        grads, params = self.grads, self.params
        for name in self.regularized_names():
            penalty, dw = l2_regularization(params[name], self.reg, scale=0.5)
            loss += float(penalty)
            grads[name] = grads[name] + dw
        return loss, grads

    def predict(
        self, X: np.ndarray, batch_size: int = 16, samples: int | None = None
    ) -> np.ndarray:
        """The most likely class of every pixel, (N, H, W) int64 (Model.predict in batches of 16
        images: the column matrices of a batch grow with its pixels)."""
        return super().predict(X, batch_size=batch_size, samples=samples)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_classes={self.num_classes}, reg={self.reg}"
