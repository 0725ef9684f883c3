"""Branches: modules run side by side on one input, their outputs joined along the channels.

This is the Inception block's shape (Szegedy et al., 2015): parallel 1x1, 3x3, 5x5 and pooling
paths whose feature maps are stacked. The join is `layers.channel_concat_forward`; in backward
the output gradient is cut back into each branch's channels, each branch returns its own
input gradient, and those add up, because every branch read the same input.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..layers import channel_concat_backward, channel_concat_forward
from .module import Module

__all__ = ["Branches"]


class Branches(Module):
    """Every branch applied to the same (N, C, H, W) input; outputs concatenated on axis 1.

    Child i is named str(i), so parameter names are dotted like Sequential's ("1.0.W"). The
    branches must give outputs of the same N, H and W (e.g. "same"-padded convolutions).
    """

    def __init__(self, *branches: Module) -> None:
        """branches: two or more Module instances (a Sequential for a path of several layers)."""
        super().__init__()
        if len(branches) < 2:
            raise ValueError(
                f"Branches joins two or more modules, got {len(branches)}; a single path is "
                "a Sequential"
            )
        for index, branch in enumerate(branches):
            if not isinstance(branch, Module):
                raise ValueError(
                    f"Branches takes Module instances, got {type(branch).__name__} at "
                    f"position {index}"
                )
        self._modules = {str(index): branch for index, branch in enumerate(branches)}

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, sum of the branches' channels, H', W')."""
        outputs = [branch.forward(x) for branch in self._modules.values()]
        shapes = {(out.shape[0], *out.shape[2:]) for out in outputs}
        if len(shapes) != 1:
            raise ValueError(
                "the branches must agree in every axis but the channels, got output shapes "
                f"{[out.shape for out in outputs]}; pad the convolutions to keep H and W"
            )
        out, self.cache = channel_concat_forward(outputs)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, sum of channels, H', W'); fills every branch's grads; returns dx."""
        douts = channel_concat_backward(dout, self.cache)
        branches = self._modules.values()
        return sum(branch.backward(d) for branch, d in zip(branches, douts, strict=True))
