"""The three-layer convolutional network of CS231n assignment 2: ThreeLayerConvNet.

conv - relu - 2x2 max pool - affine - relu - affine - softmax, on (N, C, H, W) images. It has the
course's model interface (a plain `params` dict W1, b1, W2, b2, W3, b3 and `loss(X, y=None)`),
so the Solver trains it. The convolution keeps the spatial size (stride 1, zero padding
(filter_size - 1) // 2), and the pool halves it.

As in the course, this module star-imports the layers, the fast layers and the sandwich layers,
so `from tinyvision.classifiers.cnn import *` also gives notebooks conv_relu_pool_forward and
friends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tinyvision import layer_utils as _layer_utils
from tinyvision.fast_layers import *
from tinyvision.init import init_weight, make_rng
from tinyvision.layer_utils import *
from tinyvision.layers import *
from tinyvision.layers.losses import _softmax_loss
from tinyvision.model import Model
from tinyvision.nn import Conv2d, Linear, MaxPool2d, ReLU, Sequential
from tinyvision.validation import check_labels, check_non_negative, check_positive_int

__all__ = ["ThreeLayerConvNet", *_layer_utils.__all__]

_POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _check_input_dim(input_dim: Sequence[int]) -> tuple[int, int, int]:
    """input_dim as (C, H, W) of positive ints, H and W even so that the 2x2 pool tiles them."""
    if isinstance(input_dim, (int, np.integer)) or len(input_dim) != 3:
        raise ValueError(
            f"input_dim must be (C, H, W), e.g. (3, 32, 32), got {input_dim!r}; for grey "
            "images write (1, H, W)"
        )
    channels, height, width = (
        check_positive_int(value, f"input_dim[{i}]") for i, value in enumerate(input_dim)
    )
    if height % 2 or width % 2:
        raise ValueError(
            f"the 2x2 max pool needs an even height and width, got input_dim {tuple(input_dim)}; "
            "crop or pad the images by one pixel"
        )
    return channels, height, width


class ThreeLayerConvNet(Model):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    Params: W1 (F, C, filter_size, filter_size), b1 (F,), W2 (F * H/2 * W/2, hidden_dim),
    b2 (hidden_dim,), W3 (hidden_dim, num_classes), b3 (num_classes,), all in dtype.
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (3, 32, 32),
        num_filters: int = 32,
        filter_size: int = 7,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        dtype: type | np.dtype = np.float32,
        seed: int | None = None,
        weight_init: str = "gaussian",
    ) -> None:
        """Initialise weights (weight_scale * N(0, 1) by default) and zero biases.

        input_dim: (C, H, W) of one input image; H and W must be even (the 2x2 pool)
        num_filters: F, the number of convolution filters
        filter_size: side of the square filters; odd, so that the padding keeps H and W
        hidden_dim: size of the hidden affine layer
        num_classes: C, the number of scores
        weight_scale: standard deviation of the "gaussian" initialisation
        reg: L2 regularisation strength
        dtype: float dtype of the parameters and of every computation (float64 for gradient
          checks, float32 for speed)
        seed: seed of the weight initialisation; None follows np.random.seed
        weight_init: "gaussian" (course default), "xavier"/"glorot" or "kaiming"/"he"
        """
        num_filters = check_positive_int(num_filters, "num_filters")
        filter_size = check_positive_int(filter_size, "filter_size")
        if filter_size % 2 == 0:
            raise ValueError(
                f"filter_size must be odd so that padding (filter_size - 1) // 2 keeps the "
                f"image size, got {filter_size}; use {filter_size - 1} or {filter_size + 1}"
            )
        channels, height, width = _check_input_dim(input_dim)
        hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        num_classes = check_positive_int(num_classes, "num_classes")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"dtype must be a float type such as np.float32, got {dtype!r}")
        self.reg = check_non_negative(reg, "reg")
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        self.dtype = np.dtype(dtype)
        self.input_dim = (channels, height, width)
        self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        self.pool_param = dict(_POOL_PARAM)

        rng = make_rng(seed)
        shapes = {
            "W1": (num_filters, channels, filter_size, filter_size),
            "W2": (num_filters * (height // 2) * (width // 2), hidden_dim),
            "W3": (hidden_dim, num_classes),
        }
        self.params: dict[str, np.ndarray] = {}
        for i, (name, shape) in enumerate(shapes.items(), start=1):
            self.params[name] = init_weight(weight_init, shape, rng, weight_scale, self.dtype)
            self.params[f"b{i}"] = np.zeros(shape[0] if i == 1 else shape[1], dtype=self.dtype)

    def to_modules(self) -> Sequential:
        """The same network as tinyvision.nn modules holding copies of the weights, for a
        layer table (tinyvision.nn.summary, `tinyvision describe`); training it leaves this
        model as it was."""
        W1, W2, W3 = (self.params[name] for name in ("W1", "W2", "W3"))
        num_filters, channels, filter_size, _ = W1.shape
        layers = Sequential(
            Conv2d(
                channels, num_filters, filter_size, padding=self.conv_param["pad"], dtype=self.dtype
            ),
            ReLU(),
            MaxPool2d(2),
            Linear(*W2.shape, dtype=self.dtype),
            ReLU(),
            Linear(*W3.shape, dtype=self.dtype),
        )
        names = {"0.W": "W1", "0.b": "b1", "3.W": "W2", "3.b": "b2", "5.W": "W3", "5.b": "b3"}
        layers.params = {name: self.params[ours].copy() for name, ours in names.items()}
        return layers

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Class scores, or the loss and its gradients.

        X: (N, C, H, W) float images matching input_dim; cast to the model's dtype
        y: (N,) int labels in [0, num_classes), or None
        returns scores (N, num_classes) when y is None, else (loss, grads) with grads keyed
        like params; loss = softmax cross-entropy + 0.5 * reg * (|W1|^2 + |W2|^2 + |W3|^2)
        raises ValueError for images of the wrong shape or labels that are not one integer in
        [0, num_classes) per image
        """
        X = np.asarray(X)
        if X.ndim != 4 or X.shape[1:] != self.input_dim:
            raise ValueError(
                f"X must be (N, {', '.join(map(str, self.input_dim))}) images, got shape "
                f"{X.shape}; images are channels-first (N, C, H, W)"
            )
        if y is not None:
            y = check_labels(y, self.params["W3"].shape[1], "y", num_examples=len(X))
        X = X.astype(self.dtype, copy=False)
        W1, b1, W2, b2, W3, b3 = (self.params[n] for n in ("W1", "b1", "W2", "b2", "W3", "b3"))

        pooled, pool_cache = conv_relu_pool_forward(X, W1, b1, self.conv_param, self.pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, W2, b2)
        scores, scores_cache = affine_forward(hidden, W3, b3)
        if y is None:
            return scores

        loss, dscores = _softmax_loss(scores, y)  # y checked above
        grads: dict[str, np.ndarray] = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, pool_cache)
        for name in ("W1", "W2", "W3"):
            penalty, dw = l2_regularization(self.params[name], self.reg, scale=0.5)
            loss += penalty
            grads[name] = grads[name] + dw
        self.grads = grads
        return float(loss), grads
