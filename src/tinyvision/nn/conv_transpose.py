"""ConvTranspose2d: the transposed convolution as a Module (the U-Net's 2x "up-conv")."""

from __future__ import annotations

import numpy as np

from ..init import init_weight, make_rng
from ..layers import conv_transpose_backward, conv_transpose_forward
from ..validation import check_non_negative
from .conv import ConvGeometry

__all__ = ["ConvTranspose2d"]


class ConvTranspose2d(ConvGeometry):
    """2-d transposed convolution of (N, C, H, W) inputs, as torch.nn.ConvTranspose2d.

    Params "W" (in_channels, out_channels, kh, kw), the layout of torch's
    ConvTranspose2d.weight, and "b" (out_channels,). The output side is
    (H - 1) * stride - 2 * padding + kh: with kernel_size = stride = 2 (the defaults) it
    doubles H and W. The filters are initialised as a Conv2d(out_channels, in_channels)'s
    would be (fan-in in_channels * kh * kw), as torch does for this layer.
    """

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
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        conv_shape = (self.out_channels, self.in_channels, *self.kernel_size)
        weight = init_weight(weight_init, conv_shape, make_rng(seed), weight_scale, dtype)
        self._params["W"] = np.ascontiguousarray(weight.transpose(1, 0, 2, 3))
        self._params["b"] = np.zeros(self.out_channels, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, H, W); returns (N, out_channels, H', W')."""
        self.check_input(x)
        out, self.cache = conv_transpose_forward(
            x, self._params["W"], self._params["b"], self.conv_param
        )
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, out_channels, H', W'); stores grads "W" and "b"; returns dx."""
        dx, self._grads["W"], self._grads["b"] = conv_transpose_backward(dout, self.cache)
        return dx
