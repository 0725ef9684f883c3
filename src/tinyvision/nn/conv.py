"""Conv2d: the convolution layer as a Module, calling conv_forward_fast / conv_backward_fast."""

from __future__ import annotations

import numpy as np

from ..init import init_weight, make_rng
from ..layers import conv_backward_fast, conv_forward_fast
from ..validation import check_non_negative, check_non_negative_int, check_positive_int
from .module import Module

__all__ = ["Conv2d", "ConvGeometry", "pair"]


def pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """An int or an (int, int) pair of positive sizes as a pair (torch's kernel_size style)."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (height, width) pair, got {value!r}")
        return check_positive_int(value[0], name), check_positive_int(value[1], name)
    size = check_positive_int(value, name)
    return size, size


class ConvGeometry(Module):
    """What Conv2d and ConvTranspose2d share: channels, kernel, stride and padding.

    The subclass creates the parameters; this checks the geometry, gives the course's
    conv_param dict and refuses inputs with the wrong number of channels.
    """

    regularized = ("W",)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int,
        padding: int,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = check_positive_int(stride, "stride")
        self.padding = check_non_negative_int(padding, "padding")

    @property
    def conv_param(self) -> dict[str, int]:
        """The course's conv_param dict of this layer."""
        return {"stride": self.stride, "pad": self.padding}

    def check_input(self, x: np.ndarray) -> None:
        """Raise ValueError unless x is (N, in_channels, H, W)."""
        if np.ndim(x) != 4 or np.shape(x)[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}({self.in_channels}, {self.out_channels}) needs (N, "
                f"{self.in_channels}, H, W) inputs, got shape {np.shape(x)}"
            )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )


class Conv2d(ConvGeometry):
    """2-d convolution (cross-correlation, as torch.nn.Conv2d) of (N, C, H, W) inputs.

    Params "W" (out_channels, in_channels, kh, kw), the layout of torch's Conv2d.weight, and
    "b" (out_channels,) unless bias=False. Zero padding is the same on every side. As the
    course's layers do, the padded size minus the kernel must be a multiple of the stride
    (torch silently drops the leftover border pixels; here forward raises ValueError).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        weight_init: str = "kaiming",
        weight_scale: float = 1e-2,
        seed: int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create the layer with freshly initialised filters and zero biases.

        in_channels: C, channels of the input
        out_channels: F, the number of filters
        kernel_size: filter side, or (kh, kw)
        stride: step between filter positions, >= 1
        padding: zeros added on each spatial side, >= 0
        bias: whether the layer has a learned bias "b"
        weight_init: "gaussian" (weight_scale * N(0, 1)), "xavier"/"glorot" or "kaiming"/"he"
        weight_scale: standard deviation for weight_init="gaussian"
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of the parameters
        """
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self._params["W"] = init_weight(weight_init, shape, make_rng(seed), weight_scale, dtype)
        self._zero_bias = None
        if bias:
            self._params["b"] = np.zeros(self.out_channels, dtype=dtype)
        else:
            self._zero_bias = np.zeros(self.out_channels, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, H, W); returns (N, out_channels, H', W')."""
        self.check_input(x)
        bias = self._params["b"] if self._zero_bias is None else self._zero_bias
        out, self.cache = conv_forward_fast(x, self._params["W"], bias, self.conv_param)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, out_channels, H', W'); stores grads "W" (and "b"); returns dx."""
        dx, self._grads["W"], db = conv_backward_fast(dout, self.cache)
        if self._zero_bias is None:
            self._grads["b"] = db
        return dx

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, bias={self._zero_bias is None}"
