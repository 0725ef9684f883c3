"""Fully-connected networks of CS231n assignments 1 and 2: TwoLayerNet and FullyConnectedNet.

Both follow the course's model interface, which the Solver relies on: a plain `params` dict
(W1, b1, gamma1, beta1, ..., WL, bL) and `loss(X, y=None)` returning class scores when y is None
and (loss, grads) otherwise, with loss = softmax cross-entropy + 0.5 * reg * sum(W * W) over the
weight matrices. The layer maths comes from tinyvision.layers / tinyvision.layer_utils.

As in the course, this module star-imports the layers, so `from tinyvision.classifiers.fc_net
import *` also gives notebooks affine_forward, affine_relu_forward and friends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinyvision import layer_utils as _layer_utils
from tinyvision.init import init_weight, make_rng
from tinyvision.layer_utils import *
from tinyvision.layers import *
from tinyvision.layers.losses import _softmax_loss
from tinyvision.model import Model
from tinyvision.validation import (
    check_labels,
    check_non_negative,
    check_positive_int,
    check_probability,
)

__all__ = ["FullyConnectedNet", "TwoLayerNet", *_layer_utils.__all__]


class TwoLayerNet(Model):
    """affine - relu - affine - softmax, the network of assignment 1.

    Params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), in dtype (float64 by default).
    """

    def __init__(
        self,
        input_dim: int = 3 * 32 * 32,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        weight_init: str = "gaussian",
        seed: int | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        """Initialise weights (weight_scale * N(0, 1) by default) and zero biases.

        input_dim: D, the size of one flattened input
        hidden_dim: H, the size of the hidden layer
        num_classes: C
        weight_scale: standard deviation of the "gaussian" initialisation
        reg: L2 regularisation strength
        weight_init: "gaussian" (course default), "xavier"/"glorot" or "kaiming"/"he"
        seed: seed of the weight initialisation; None follows np.random.seed
        dtype: floating dtype of the parameters (float64 as in the course; float32 is faster)
        """
        self.dtype = np.dtype(dtype)
        dims = [
            check_positive_int(input_dim, "input_dim"),
            check_positive_int(hidden_dim, "hidden_dim"),
            check_positive_int(num_classes, "num_classes"),
        ]
        self.reg = check_non_negative(reg, "reg")
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        rng = make_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for i in (1, 2):
            shape = (dims[i - 1], dims[i])
            self.params[f"W{i}"] = init_weight(weight_init, shape, rng, weight_scale).astype(
                self.dtype
            )
            self.params[f"b{i}"] = np.zeros(dims[i], dtype=self.dtype)

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Class scores, or the loss and its gradients.

        X: (N, d_1, ..., d_k) inputs with d_1 * ... * d_k = D
        y: (N,) int labels in [0, C), or None
        returns scores (N, C) when y is None, else (loss, grads) with grads keyed like params
        raises ValueError unless y holds one integer label in [0, C) per example
        """
        W1, b1, W2, b2 = (self.params[name] for name in ("W1", "b1", "W2", "b2"))
        if y is not None:
            y = check_labels(y, W2.shape[1], "y", num_examples=len(X))
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)
        scores, scores_cache = affine_forward(hidden, W2, b2)
        if y is None:
            return scores
        loss, dscores = _softmax_loss(scores, y)  # y checked above
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        for name, w in (("W1", W1), ("W2", W2)):
            penalty, dw = l2_regularization(w, self.reg, scale=0.5)
            loss += penalty
            grads[name] += dw
        self.grads = grads
        return float(loss), grads


class FullyConnectedNet(Model):
    """{affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax.

    Params: Wi, bi for i = 1..L and, with normalization, gammai, betai for i = 1..L-1 (the last
    layer is never normalised). Running statistics of batch norm live in self.bn_params (one
    dict per hidden layer, as the course keeps them) and appear in state_dict() as
    "bn<i>/running_mean" and "bn<i>/running_var" (the model's buffers), i matching gamma<i>;
    they start at zero, as the course's batchnorm_forward creates them.
    """

    def __init__(
        self,
        hidden_dims: Sequence[int],
        input_dim: int = 3 * 32 * 32,
        num_classes: int = 10,
        dropout_keep_ratio: float = 1,
        normalization: str | None = None,
        reg: float = 0.0,
        weight_scale: float = 1e-2,
        dtype: type | np.dtype = np.float32,
        seed: int | None = None,
        weight_init: str = "gaussian",
        *,
        fixed_dropout: bool = True,
    ) -> None:
        """Build the parameters and the per-layer bn_params / dropout_param dicts.

        hidden_dims: sizes of the hidden layers, e.g. [100, 100]; [] gives a linear classifier
        input_dim: D, the size of one flattened input
        num_classes: C
        dropout_keep_ratio: probability of keeping a unit, in (0, 1]; 1 disables dropout
        normalization: None, "batchnorm" or "layernorm"
        reg: L2 regularisation strength
        weight_scale: standard deviation of the "gaussian" initialisation
        dtype: float dtype of every parameter and computation (float64 for gradient checks)
        seed: makes dropout deterministic (as in the course) and seeds the initialisation;
          None draws the initialisation from np.random (so np.random.seed applies)
        weight_init: "gaussian" (course default), "xavier"/"glorot" or "kaiming"/"he"
        fixed_dropout: with a seed, reuse the same dropout masks on every call (the course's
          behaviour, which gradient checks need); False seeds only the initialisation, so
          training draws new masks from np.random at every update
        """
        if isinstance(hidden_dims, (int, np.integer)) or not isinstance(hidden_dims, Sequence):
            raise ValueError(
                f"hidden_dims must be a list of layer sizes, got {hidden_dims!r}; "
                "for one hidden layer of 100 units write [100]"
            )
        hidden = [check_positive_int(h, f"hidden_dims[{i}]") for i, h in enumerate(hidden_dims)]
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"unknown normalization {normalization!r}; use one of {list(NORMALIZATIONS)}"
            )
        check_probability(
            dropout_keep_ratio,
            "dropout_keep_ratio",
            allow_zero=False,
            hint="it is the probability of keeping a unit; use 1 to disable dropout",
        )
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"dtype must be a float type such as np.float32, got {dtype!r}")
        dims = [
            check_positive_int(input_dim, "input_dim"),
            *hidden,
            check_positive_int(num_classes, "num_classes"),
        ]
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = check_non_negative(reg, "reg")
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        self.num_layers = len(dims) - 1
        self.dtype = np.dtype(dtype)

        rng = make_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for i in range(1, self.num_layers + 1):
            shape = (dims[i - 1], dims[i])
            self.params[f"W{i}"] = init_weight(weight_init, shape, rng, weight_scale, self.dtype)
            self.params[f"b{i}"] = np.zeros(dims[i], dtype=self.dtype)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i], dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(dims[i], dtype=self.dtype)

        self.dropout_param: dict = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None and fixed_dropout:
                self.dropout_param["seed"] = seed
        self.bn_params: list[dict] = []
        if normalization == "batchnorm":
            # Zero running statistics, as batchnorm_forward would create them on first use.
            self.bn_params = [
                {
                    "mode": "train",
                    "running_mean": np.zeros(width, dtype=self.dtype),
                    "running_var": np.zeros(width, dtype=self.dtype),
                }
                for width in dims[1:-1]
            ]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Class scores (test mode), or the loss and its gradients (train mode).

        X: (N, d_1, ..., d_k) inputs with d_1 * ... * d_k = D; cast to the model's dtype
        y: (N,) int labels in [0, C), or None for test mode (running statistics, no dropout)
        returns scores (N, C) when y is None, else (loss, grads) with grads keyed like params
        raises ValueError unless y holds one integer label in [0, C) per example (checked
        before the forward pass, so a bad call leaves the batch-norm statistics alone)
        """
        if y is not None:
            num_classes = self.params[f"W{self.num_layers}"].shape[1]
            y = check_labels(y, num_classes, "y", num_examples=len(X))
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        dropout_param = self.dropout_param if self.use_dropout else None
        scores, caches, scores_cache = self._forward(X, dropout_param)
        if y is None:
            return scores

        loss, dscores = _softmax_loss(scores, y)  # y checked above
        grads = {}
        last = self.num_layers
        dout, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(dscores, scores_cache)
        for i in range(self.num_layers - 1, 0, -1):
            dout, dw, db, dgamma, dbeta = affine_norm_relu_dropout_backward(dout, caches[i - 1])
            grads[f"W{i}"], grads[f"b{i}"] = dw, db
            if self.normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        for i in range(1, self.num_layers + 1):
            penalty, dw = l2_regularization(self.params[f"W{i}"], self.reg, scale=0.5)
            loss += penalty
            grads[f"W{i}"] = grads[f"W{i}"] + dw
        self.grads = grads
        return float(loss), grads

    def _forward(self, X: np.ndarray, dropout_param: dict | None) -> tuple[np.ndarray, list, Any]:
        """Scores (N, C) of X in the modes already set in bn_params and dropout_param, with the
        hidden layers' caches and the last affine layer's cache."""
        out, caches = X, []
        for i in range(1, self.num_layers):
            out, cache = affine_norm_relu_dropout_forward(
                out,
                self.params[f"W{i}"],
                self.params[f"b{i}"],
                self.params.get(f"gamma{i}"),
                self.params.get(f"beta{i}"),
                self.bn_params[i - 1] if self.normalization else None,
                self.normalization,
                dropout_param,
            )
            caches.append(cache)
        last = self.num_layers
        scores, scores_cache = affine_forward(out, self.params[f"W{last}"], self.params[f"b{last}"])
        return scores, caches, scores_cache

    def _monte_carlo_scores(self, X: np.ndarray) -> np.ndarray:
        """Scores with fresh dropout masks (never the fixed seed) and batch norm in test mode."""
        if not self.use_dropout:
            return super()._monte_carlo_scores(X)
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = "test"
        sampling = {"mode": "train", "p": self.dropout_param["p"]}
        return self._forward(X.astype(self.dtype, copy=False), sampling)[0]

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Batch-norm running statistics as "bn<i>/running_mean" and "bn<i>/running_var"."""
        if self.normalization != "batchnorm":
            return {}
        return {
            f"bn{i + 1}/{stat}": bn_param[stat]
            for i, bn_param in enumerate(self.bn_params)
            for stat in ("running_mean", "running_var")
        }

    def _set_buffer(self, name: str, value: np.ndarray) -> None:
        layer, _, stat = name.partition("/")
        self.bn_params[int(layer.removeprefix("bn")) - 1][stat] = value
