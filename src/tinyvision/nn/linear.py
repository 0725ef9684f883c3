"""Linear: the fully-connected layer as a Module, out = x.reshape(N, -1) @ W + b."""

from __future__ import annotations

import numpy as np

from ..init import init_weight, make_rng
from ..layers import affine_backward, affine_forward
from ..validation import check_non_negative, check_positive_int
from .module import Module

__all__ = ["Linear"]


class Linear(Module):
    """Fully-connected layer holding params "W" (in_features, out_features) and "b" (out_features,).

    The weight is stored in the course's (D_in, D_out) layout, the transpose of torch.nn.Linear's
    (out_features, in_features). Inputs of any shape (N, d_1, ..., d_k) are flattened per example.
    """

    regularized = ("W",)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        weight_init: str = "kaiming",
        weight_scale: float = 1e-2,
        seed: int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Create the layer with freshly initialised weights and zero biases.

        in_features: D, the number of input features per example (d_1 * ... * d_k)
        out_features: M, the number of outputs per example
        weight_init: "gaussian" (weight_scale * N(0, 1)), "xavier"/"glorot" or "kaiming"/"he"
        weight_scale: standard deviation for weight_init="gaussian"
        seed: seed of the initialisation; None follows np.random.seed
        dtype: float dtype of the parameters
        """
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        rng = make_rng(seed)
        shape = (self.in_features, self.out_features)
        self._params["W"] = init_weight(weight_init, shape, rng, weight_scale, dtype)
        self._params["b"] = np.zeros(self.out_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, d_1, ..., d_k) with d_1 * ... * d_k = in_features; returns (N, out_features)."""
        out, self.cache = affine_forward(x, self._params["W"], self._params["b"])
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, out_features); stores grads "W", "b"; returns dx of x's shape."""
        dx, self._grads["W"], self._grads["b"] = affine_backward(dout, self.cache)
        return dx

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
