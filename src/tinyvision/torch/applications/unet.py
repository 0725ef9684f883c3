"""The PyTorch twin of the NumPy U-Net (tinyvision.nn.UNet): the same layers, the same names.

`TorchUNet` has the children of `UNet` in the same order and with the same dotted names, each
the torch layer of the NumPy one (Conv2d, BatchNorm2d, ReLU, MaxPool2d, ConvTranspose2d), so
`load_numpy_state` copies a UNet's state_dict() into it name for name ("enc0.0.W" ->
"enc0.0.weight", "gamma" -> "weight", "beta" -> "bias"); the tests check that both nets then
compute the same scores and gradients. Import this module only when torch is installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["TorchUNet", "load_numpy_state"]

# NumPy parameter and buffer names -> torch's, by the last part of the dotted name.
_TORCH_NAMES = {
    "W": "weight",
    "b": "bias",
    "gamma": "weight",
    "beta": "bias",
    "running_mean": "running_mean",
    "running_var": "running_var",
}


def _double_conv(in_channels: int, out_channels: int, batchnorm: bool) -> nn.Sequential:
    """[3x3 conv - batch norm - ReLU] twice, indexed as tinyvision.nn.unet.double_conv."""
    layers: list[nn.Module] = []
    for channels in (in_channels, out_channels):
        layers.append(nn.Conv2d(channels, out_channels, 3, padding=1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TorchUNet(nn.Module):
    """tinyvision.nn.UNet in torch: (N, in_channels, H, W) -> (N, num_classes, H, W) scores.

    channels (c_0, ..., c_D) as UNet's; H and W multiples of 2**D.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        channels: Sequence[int] = (8, 16, 32),
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        self.channels = tuple(channels)
        depth = len(self.channels) - 1
        layers: dict[str, nn.Module] = {}
        previous = in_channels
        for i in range(depth):
            layers[f"enc{i}"] = _double_conv(previous, self.channels[i], batchnorm)
            layers[f"pool{i}"] = nn.MaxPool2d(2)
            previous = self.channels[i]
        layers["bottleneck"] = _double_conv(previous, self.channels[-1], batchnorm)
        for i in reversed(range(depth)):
            layers[f"up{i}"] = nn.ConvTranspose2d(
                self.channels[i + 1], self.channels[i], 2, stride=2
            )
            layers[f"dec{i}"] = _double_conv(2 * self.channels[i], self.channels[i], batchnorm)
        layers["head"] = nn.Conv2d(self.channels[0], num_classes, 1)
        self.layers = nn.ModuleDict(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, H, W); returns (N, num_classes, H, W)."""
        m = self.layers
        depth = len(self.channels) - 1
        skips = []
        for i in range(depth):
            x = m[f"enc{i}"](x)
            skips.append(x)
            x = m[f"pool{i}"](x)
        x = m["bottleneck"](x)
        for i in reversed(range(depth)):
            x = m[f"dec{i}"](torch.cat([skips[i], m[f"up{i}"](x)], dim=1))
        return m["head"](x)


def load_numpy_state(net: TorchUNet, state: Mapping[str, np.ndarray]) -> None:
    """Copy a tinyvision.nn.UNet's state_dict() into net (same channels and batch norm).

    raises ValueError naming the names that have no counterpart, or a shape that differs
    """
    targets = {name.removeprefix("layers."): t for name, t in net.state_dict().items()}
    converted = {}
    for name, value in state.items():
        head, _, leaf = name.rpartition(".")
        converted[f"{head}.{_TORCH_NAMES.get(leaf, leaf)}"] = value
    expected = {name for name in targets if not name.endswith("num_batches_tracked")}
    if set(converted) != expected:
        raise ValueError(
            f"the state does not fit this TorchUNet: missing {sorted(expected - set(converted))}, "
            f"unknown {sorted(set(converted) - expected)}; build both nets with the same "
            "channels and batchnorm"
        )
    with torch.no_grad():
        for name, value in converted.items():
            target = targets[name]
            if tuple(target.shape) != np.shape(value):
                raise ValueError(
                    f"{name}: shape {np.shape(value)}, the net's {tuple(target.shape)}"
                )
            target.copy_(torch.as_tensor(np.asarray(value), dtype=target.dtype))
