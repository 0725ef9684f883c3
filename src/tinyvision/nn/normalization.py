"""Normalisation layers as Modules: BatchNorm1d (with running statistics) and LayerNorm."""

from __future__ import annotations

import numpy as np

from ..layers import (
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from ..validation import check_positive_int, check_probability
from .module import Module

__all__ = ["BatchNorm1d", "LayerNorm"]


class BatchNorm1d(Module):
    """Batch normalisation over the N examples of (N, D) inputs.

    Params "gamma" (D,) and "beta" (D,); buffers "running_mean" (D,) and "running_var" (D,),
    starting at 0 and 1 as in torch. Training mode normalises with the batch statistics and
    updates running = momentum * running + (1 - momentum) * batch (the course's convention, so
    torch's momentum is 1 - ours); evaluation mode normalises with the running statistics.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.9,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create gamma = 1, beta = 0, running_mean = 0 and running_var = 1.

        num_features: D, the number of features of the (N, D) input
        eps: added to the variance for numerical stability
        momentum: weight of the old running value in each update (torch's momentum is 1 - this)
        dtype: float dtype of the parameters and buffers
        """
        super().__init__()
        num_features = check_positive_int(num_features, "num_features")
        check_probability(
            momentum, "momentum", hint="it weights the old running value, torch's is 1 - this"
        )
        self.num_features = num_features
        self.eps = float(eps)
        self.momentum = float(momentum)
        self._params["gamma"] = np.ones(num_features, dtype=dtype)
        self._params["beta"] = np.zeros(num_features, dtype=dtype)
        self._buffers["running_mean"] = np.zeros(num_features, dtype=dtype)
        self._buffers["running_var"] = np.ones(num_features, dtype=dtype)

    # BatchNorm2d reuses this class with the spatial functions and its own input check.
    _forward = staticmethod(batchnorm_forward)
    _backward = staticmethod(batchnorm_backward_alt)

    def _check_input(self, x: np.ndarray) -> None:
        """Inner math trusts its inputs; subclasses check what their layout needs."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D); returns (N, D). Updates the running statistics in training mode."""
        self._check_input(x)
        bn_param = {
            "mode": "train" if self.training else "test",
            "eps": self.eps,
            "momentum": self.momentum,
            "running_mean": self._buffers["running_mean"],
            "running_var": self._buffers["running_var"],
        }
        out, self.cache = self._forward(x, self._params["gamma"], self._params["beta"], bn_param)
        self._buffers["running_mean"] = bn_param["running_mean"]
        self._buffers["running_var"] = bn_param["running_var"]
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, D); stores grads "gamma", "beta"; returns dx (N, D)."""
        dx, self._grads["gamma"], self._grads["beta"] = self._backward(dout, self.cache)
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """Layer normalisation over the D features of each example of (N, D) inputs.

    Params "gamma" (D,) and "beta" (D,); no buffers, and the same behaviour in both modes.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int],
        eps: float = 1e-5,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create gamma = 1 and beta = 0.

        normalized_shape: D (or the 1-tuple (D,)), the number of features of the (N, D) input
        eps: added to the variance for numerical stability
        dtype: float dtype of the parameters
        """
        super().__init__()
        if isinstance(normalized_shape, tuple):
            if len(normalized_shape) != 1:
                raise ValueError(
                    f"LayerNorm normalises the last dimension of (N, D) inputs; normalized_shape "
                    f"must be D or (D,), got {normalized_shape}"
                )
            normalized_shape = normalized_shape[0]
        self.normalized_shape = check_positive_int(normalized_shape, "normalized_shape")
        self.eps = float(eps)
        self._params["gamma"] = np.ones(self.normalized_shape, dtype=dtype)
        self._params["beta"] = np.zeros(self.normalized_shape, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D); returns (N, D)."""
        ln_param = {"eps": self.eps}
        out, self.cache = layernorm_forward(
            x, self._params["gamma"], self._params["beta"], ln_param
        )
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, D); stores grads "gamma", "beta"; returns dx (N, D)."""
        dx, self._grads["gamma"], self._grads["beta"] = layernorm_backward(dout, self.cache)
        return dx

    def extra_repr(self) -> str:
        return f"({self.normalized_shape},), eps={self.eps}"
