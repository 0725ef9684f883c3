"""ConvTranspose2d: the transposed convolution as a Module (the U-Net's 2x "up-conv")."""

from __future__ import annotations

import numpy as np

from ..init import init_weight, make_rng
from ..layers import conv_transpose_backward, conv_transpose_forward
from ..validation import check_non_negative_int, check_positive_int
from .conv import pair
from .module import Module

__all__ = ["ConvTranspose2d"]


class ConvTranspose2d(Module):
    """2-d transposed convolution of (N, C, H, W) inputs, as torch.nn.ConvTranspose2d.

    Params "W" (in_channels, out_channels, kh, kw), the layout of torch's
    ConvTranspose2d.weight, and "b" (out_channels,). The output side is
    (H - 1) * stride - 2 * padding + kh: with kernel_size = stride = 2 (the defaults) it
    doubles H and W. The filters are initialised as a Conv2d(out_channels, in_channels)'s
    would be (fan-in in_channels * kh * kw), as torch does for this layer.
    """

    regularized = ("W",)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 2,
        stride: int = 2,
        padding: int = 0,
        weight_init: str = "kaiming",
        weight_scale: float = 1e-2,
        seed: int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create the layer with freshly initialised filters and zero biases.

        in_channels: C, channels of the input
        out_channels: F, channels of the output
        kernel_size: filter side, or (kh, kw)
        stride: step between the windows each input pixel writes, >= 1 (the up-sampling factor)
        padding: border cropped from each side of the output, >= 0
        weight_init: "gaussian" (weight_scale * N(0, 1)), "xavier"/"glorot" or "kaiming"/"he"
        weight_scale: standard deviation for weight_init="gaussian"
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of the parameters
        """
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = check_positive_int(stride, "stride")
        self.padding = check_non_negative_int(padding, "padding")
        conv_shape = (self.out_channels, self.in_channels, *self.kernel_size)
        weight = init_weight(weight_init, conv_shape, make_rng(seed), weight_scale, dtype)
        self._params["W"] = np.ascontiguousarray(weight.transpose(1, 0, 2, 3))
        self._params["b"] = np.zeros(self.out_channels, dtype=dtype)

    @property
    def conv_param(self) -> dict[str, int]:
        """The course-style conv_param dict of this layer."""
        return {"stride": self.stride, "pad": self.padding}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, H, W); returns (N, out_channels, H', W')."""
        if np.ndim(x) != 4 or np.shape(x)[1] != self.in_channels:
            raise ValueError(
                f"ConvTranspose2d({self.in_channels}, {self.out_channels}) needs (N, "
                f"{self.in_channels}, H, W) inputs, got shape {np.shape(x)}"
            )
        out, self.cache = conv_transpose_forward(
            x, self._params["W"], self._params["b"], self.conv_param
        )
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, out_channels, H', W'); stores grads "W" and "b"; returns dx."""
        dx, self._grads["W"], self._grads["b"] = conv_transpose_backward(dout, self.cache)
        return dx

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )
