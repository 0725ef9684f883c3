"""ResidualBlock: the basic block of ResNet (He et al., 2016) built from Conv2d and BatchNorm2d.

out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with 3x3 convolutions (padding 1).
The shortcut is the identity when the block keeps the shape, and a 1x1 convolution with the
block's stride followed by batch norm (a projection) when it changes the channels or the size.
In backward the gradient of the sum flows into both branches, and the two input gradients add.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_positive_int
from .activation import ReLU
from .conv import Conv2d
from .module import Module
from .spatial_normalization import BatchNorm2d

__all__ = ["ResidualBlock"]


class ResidualBlock(Module):
    """conv3x3 - bn - relu - conv3x3 - bn, plus an identity or 1x1-projection shortcut, - relu.

    Children: "conv1", "bn1", "relu1", "conv2", "bn2", "relu2" and, for a projection,
    "proj_conv" and "proj_bn"; parameter names are dotted, e.g. "conv1.W", "bn2.gamma".
    The convolutions have no bias, since the batch norm after each removes it anyway.
    With stride s > 1, (H - 1) and (W - 1) must be multiples of s (e.g. odd sizes for s = 2):
    the convolution layers refuse to drop border pixels, where torch silently does.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        seed: int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Build the two branches with Kaiming-initialised convolutions.

        in_channels: C, channels of the (N, C, H, W) input
        out_channels: F, channels of the output
        stride: stride of the first convolution and of the projection (downsampling), >= 1
        seed: seed of the initialisation (each convolution derives its own); None follows
          np.random.seed
        dtype: float dtype of the parameters and buffers
        """
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.stride = check_positive_int(stride, "stride")
        seeds = np.random.SeedSequence(seed).generate_state(3) if seed is not None else [None] * 3
        layers: dict[str, Module] = {
            "conv1": Conv2d(
                in_channels, out_channels, 3, stride, 1, False, seed=seeds[0], dtype=dtype
            ),
            "bn1": BatchNorm2d(out_channels, dtype=dtype),
            "relu1": ReLU(),
            "conv2": Conv2d(out_channels, out_channels, 3, 1, 1, False, seed=seeds[1], dtype=dtype),
            "bn2": BatchNorm2d(out_channels, dtype=dtype),
            "relu2": ReLU(),
        }
        self.projection = stride != 1 or in_channels != out_channels
        if self.projection:
            layers["proj_conv"] = Conv2d(
                in_channels, out_channels, 1, stride, 0, False, seed=seeds[2], dtype=dtype
            )
            layers["proj_bn"] = BatchNorm2d(out_channels, dtype=dtype)
        self._modules = layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, H, W); returns (N, out_channels, H', W'), H' = 1 + (H-1)//stride."""
        m = self._modules
        main = m["bn2"](m["conv2"](m["relu1"](m["bn1"](m["conv1"](x)))))
        shortcut = m["proj_bn"](m["proj_conv"](x)) if self.projection else x
        return m["relu2"](main + shortcut)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, out_channels, H', W'); fills every child's grads; returns dx of x's shape."""
        m = self._modules
        dsum = m["relu2"].backward(dout)
        dmain = m["conv2"].backward(m["bn2"].backward(dsum))
        dx = m["conv1"].backward(m["bn1"].backward(m["relu1"].backward(dmain)))
        if self.projection:
            return dx + m["proj_conv"].backward(m["proj_bn"].backward(dsum))
        return dx + dsum

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
