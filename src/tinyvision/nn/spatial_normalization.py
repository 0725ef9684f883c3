"""Normalisation of convolutional feature maps as Modules: BatchNorm2d, GroupNorm and
InstanceNorm2d."""

from __future__ import annotations

import numpy as np

from ..layers import (
    instance_norm_backward,
    instance_norm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)
from ..validation import check_positive_int
from .module import Module
from .normalization import BatchNorm1d

__all__ = ["BatchNorm2d", "GroupNorm", "InstanceNorm2d"]


def _check_channels(x: np.ndarray, channels: int, layer: str) -> None:
    if np.ndim(x) != 4 or np.shape(x)[1] != channels:
        raise ValueError(
            f"{layer} needs (N, {channels}, H, W) inputs, got shape {np.shape(x)}; the channel "
            "count must equal the layer's num_features / num_channels"
        )


class BatchNorm2d(BatchNorm1d):
    """Spatial batch normalisation: per-channel statistics over the N, H and W axes.

    Params "gamma" (C,) and "beta" (C,); buffers "running_mean" (C,) and "running_var" (C,),
    starting at 0 and 1 as in torch. Training mode normalises with the batch statistics and
    updates running = momentum * running + (1 - momentum) * batch (the course's convention, so
    torch's momentum is 1 - ours; the running variance uses the biased batch variance, torch
    the unbiased one); evaluation mode normalises with the running statistics.
    forward: x (N, C, H, W) -> (N, C, H, W); backward: dout (N, C, H, W) -> dx.
    """

    _forward = staticmethod(spatial_batchnorm_forward)
    _backward = staticmethod(spatial_batchnorm_backward)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.9,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create gamma = 1, beta = 0, running_mean = 0 and running_var = 1.

        num_features: C, the number of channels of the (N, C, H, W) input
        eps: added to the variance for numerical stability, > 0
        momentum: weight of the old running value in each update (torch's momentum is 1 - this)
        dtype: float dtype of the parameters and buffers
        """
        check_positive_int(num_features, "num_features")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        super().__init__(num_features, eps=eps, momentum=momentum, dtype=dtype)

    def _check_input(self, x: np.ndarray) -> None:
        _check_channels(x, self.num_features, f"BatchNorm2d({self.num_features})")


class GroupNorm(Module):
    """Group normalisation: each example's C channels in num_groups groups of C // num_groups,
    each group standardised over its channels and positions (torch.nn.GroupNorm).

    Params "gamma" (C,) and "beta" (C,), the layout of torch's weight and bias; no buffers, and
    the same behaviour in both modes.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create gamma = 1 and beta = 0.

        num_groups: G, a divisor of num_channels
        num_channels: C, the number of channels of the (N, C, H, W) input
        eps: added to the variance for numerical stability, > 0
        dtype: float dtype of the parameters
        """
        super().__init__()
        self.num_groups = check_positive_int(num_groups, "num_groups")
        self.num_channels = check_positive_int(num_channels, "num_channels")
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"num_groups must divide num_channels, got num_groups={self.num_groups} and "
                f"num_channels={self.num_channels}"
            )
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.eps = float(eps)
        self._params["gamma"] = np.ones(self.num_channels, dtype=dtype)
        self._params["beta"] = np.zeros(self.num_channels, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, C, H, W)."""
        _check_channels(x, self.num_channels, f"GroupNorm({self.num_groups}, {self.num_channels})")
        shape = (1, self.num_channels, 1, 1)
        out, self.cache = spatial_groupnorm_forward(
            x,
            self._params["gamma"].reshape(shape),
            self._params["beta"].reshape(shape),
            self.num_groups,
            {"eps": self.eps},
        )
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H, W); stores grads "gamma", "beta" (C,); returns dx (N, C, H, W)."""
        dx, dgamma, dbeta = spatial_groupnorm_backward(dout, self.cache)
        self._grads["gamma"] = dgamma.reshape(self.num_channels)
        self._grads["beta"] = dbeta.reshape(self.num_channels)
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"


class InstanceNorm2d(Module):
    """Instance normalisation: each channel of each example standardised over its H x W.

    Params "gamma" (C,) and "beta" (C,) (torch.nn.InstanceNorm2d(C, affine=True)); no
    running statistics, so both modes behave the same.
    forward: x (N, C, H, W) -> (N, C, H, W); backward: dout (N, C, H, W) -> dx.
    """

    def __init__(
        self, num_features: int, eps: float = 1e-5, dtype: type | np.dtype = np.float64
    ) -> None:
        """Create gamma = 1 and beta = 0.

        num_features: C, the number of channels of the (N, C, H, W) input
        eps: added to the variance for numerical stability
        dtype: float dtype of the parameters
        """
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = float(eps)
        self._params["gamma"] = np.ones(self.num_features, dtype=dtype)
        self._params["beta"] = np.zeros(self.num_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W); returns (N, C, H, W)."""
        _check_channels(x, self.num_features, "InstanceNorm2d")
        gamma, beta = self._params["gamma"], self._params["beta"]
        out, self.cache = instance_norm_forward(x, gamma, beta, {"eps": self.eps})
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H, W); stores grads "gamma", "beta"; returns dx (N, C, H, W)."""
        dx, self._grads["gamma"], self._grads["beta"] = instance_norm_backward(dout, self.cache)
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"
