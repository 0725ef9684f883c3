"""Sandwich layers: common chains of layers as one forward/backward pair (course module).

As in the course, `from tinyvision.layer_utils import *` also brings in every layer of
tinyvision.layers, so classifier code can import just this module.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from . import layers as _layers
from .layers import *

__all__ = [
    "NORMALIZATIONS",
    "affine_bn_relu_backward",
    "affine_bn_relu_forward",
    "affine_norm_relu_backward",
    "affine_norm_relu_dropout_backward",
    "affine_norm_relu_dropout_forward",
    "affine_norm_relu_forward",
    "affine_relu_backward",
    "affine_relu_forward",
]
__all__ += sorted(
    name
    for name, value in vars(_layers).items()
    if not name.startswith("_") and not isinstance(value, ModuleType)
)

NORMALIZATIONS = (None, "batchnorm", "layernorm")


def affine_relu_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[Any, Any]]:
    """Affine layer followed by ReLU.

    x: (N, d_1, ..., d_k) input; w: (D, M) weights; b: (M,) biases
    returns out (N, M), cache (affine cache, relu cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(
    dout: np.ndarray, cache: tuple[Any, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of affine_relu_forward.

    dout: (N, M) upstream gradient; cache from affine_relu_forward
    returns dx (x's shape), dw (D, M), db (M,)
    """
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


class AffineNormReluCache(NamedTuple):
    """Caches of the stages of affine_norm_relu_forward; norm is None without normalization."""

    affine: Any
    norm: Any
    relu: Any
    normalization: str | None


def affine_norm_relu_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    norm_param: dict[str, Any] | None,
    normalization: str | None,
) -> tuple[np.ndarray, AffineNormReluCache]:
    """Affine layer, then batch or layer normalization (or none), then ReLU.

    x: (N, d_1, ..., d_k) input; w: (D, M) weights; b: (M,) biases
    gamma, beta: (M,) scale and shift of the normalization (ignored when normalization is None)
    norm_param: bn_param for "batchnorm" (running statistics are updated in it) or ln_param for
    "layernorm"; ignored when normalization is None
    normalization: None, "batchnorm" or "layernorm"
    returns out (N, M), AffineNormReluCache
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    a, fc_cache = affine_forward(x, w, b)
    norm_cache = None
    if normalization == "batchnorm":
        a, norm_cache = batchnorm_forward(a, gamma, beta, norm_param)
    elif normalization == "layernorm":
        a, norm_cache = layernorm_forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(a)
    return out, AffineNormReluCache(fc_cache, norm_cache, relu_cache, normalization)


def affine_norm_relu_backward(
    dout: np.ndarray, cache: AffineNormReluCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward pass of affine_norm_relu_forward.

    dout: (N, M) upstream gradient; cache from affine_norm_relu_forward
    returns dx (x's shape), dw (D, M), db (M,), dgamma (M,), dbeta (M,); dgamma and dbeta are
    None when there was no normalization
    """
    da = relu_backward(dout, cache.relu)
    dgamma = dbeta = None
    if cache.normalization == "batchnorm":
        da, dgamma, dbeta = batchnorm_backward_alt(da, cache.norm)
    elif cache.normalization == "layernorm":
        da, dgamma, dbeta = layernorm_backward(da, cache.norm)
    dx, dw, db = affine_backward(da, cache.affine)
    return dx, dw, db, dgamma, dbeta


def affine_bn_relu_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    bn_param: dict[str, Any],
) -> tuple[np.ndarray, AffineNormReluCache]:
    """Affine layer, batch normalization, then ReLU (the course's name for this sandwich).

    x: (N, d_1, ..., d_k) input; w: (D, M) weights; b: (M,) biases
    gamma, beta: (M,) scale and shift of the batch normalization
    bn_param: as for batchnorm_forward ('mode' 'train' or 'test', optional 'eps', 'momentum');
        its running statistics are updated in place in training mode
    returns out (N, M), cache for affine_bn_relu_backward
    """
    return affine_norm_relu_forward(x, w, b, gamma, beta, bn_param, "batchnorm")


def affine_bn_relu_backward(
    dout: np.ndarray, cache: AffineNormReluCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of affine_bn_relu_forward.

    dout: (N, M) upstream gradient; cache from affine_bn_relu_forward
    returns dx (x's shape), dw (D, M), db (M,), dgamma (M,), dbeta (M,)
    """
    if cache.normalization != "batchnorm":
        raise ValueError(
            "affine_bn_relu_backward needs the cache of affine_bn_relu_forward, got one of "
            f"normalization {cache.normalization!r}; use affine_norm_relu_backward for it"
        )
    return affine_norm_relu_backward(dout, cache)


def affine_norm_relu_dropout_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    norm_param: dict[str, Any] | None,
    normalization: str | None,
    dropout_param: dict[str, Any] | None = None,
) -> tuple[np.ndarray, tuple[AffineNormReluCache, Any]]:
    """affine_norm_relu_forward followed by inverted dropout (skipped when dropout_param is None).

    Arguments as for affine_norm_relu_forward, plus dropout_param as for dropout_forward.
    returns out (N, M), cache (AffineNormReluCache, dropout cache or None)
    """
    out, block_cache = affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization)
    dropout_cache = None
    if dropout_param is not None:
        out, dropout_cache = dropout_forward(out, dropout_param)
    return out, (block_cache, dropout_cache)


def affine_norm_relu_dropout_backward(
    dout: np.ndarray, cache: tuple[AffineNormReluCache, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward pass of affine_norm_relu_dropout_forward.

    dout: (N, M) upstream gradient; cache from affine_norm_relu_dropout_forward
    returns dx, dw, db, dgamma, dbeta as affine_norm_relu_backward does
    """
    block_cache, dropout_cache = cache
    if dropout_cache is not None:
        dout = dropout_backward(dout, dropout_cache)
    return affine_norm_relu_backward(dout, block_cache)


# Convolutional sandwiches (CS231n assignment 2), built on the fast conv and max-pool layers.
__all__ += [
    "conv_bn_relu_backward",
    "conv_bn_relu_forward",
    "conv_relu_backward",
    "conv_relu_forward",
    "conv_relu_pool_backward",
    "conv_relu_pool_forward",
]


def conv_relu_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, tuple[Any, Any]]:
    """Convolution followed by ReLU.

    x: (N, C, H, W) input; w: (F, C, HH, WW) filters; b: (F,) biases
    conv_param: {'stride', 'pad'} as for conv_forward_fast
    returns out (N, F, H', W'), cache (conv cache, relu cache)
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(
    dout: np.ndarray, cache: tuple[Any, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of conv_relu_forward.

    dout: (N, F, H', W') upstream gradient; cache from conv_relu_forward
    returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,)
    """
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    conv_param: dict[str, Any],
    pool_param: dict[str, Any],
) -> tuple[np.ndarray, tuple[Any, Any, Any]]:
    """Convolution, ReLU, then max pooling.

    x: (N, C, H, W) input; w: (F, C, HH, WW) filters; b: (F,) biases
    conv_param: {'stride', 'pad'}; pool_param: {'pool_height', 'pool_width', 'stride'}
    returns out (N, F, H'', W'') after pooling, cache (conv, relu, pool caches)
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(
    dout: np.ndarray, cache: tuple[Any, Any, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of conv_relu_pool_forward.

    dout: (N, F, H'', W'') upstream gradient; cache from conv_relu_pool_forward
    returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,)
    """
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache)


def conv_bn_relu_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    conv_param: dict[str, Any],
    bn_param: dict[str, Any],
) -> tuple[np.ndarray, tuple[Any, Any, Any]]:
    """Convolution, spatial batch normalization, then ReLU.

    x: (N, C, H, W) input; w: (F, C, HH, WW) filters; b: (F,) biases
    gamma, beta: (F,) scale and shift of the batch normalization
    conv_param: {'stride', 'pad'}; bn_param: as for spatial_batchnorm_forward (its running
    statistics are updated in place in training mode)
    returns out (N, F, H', W'), cache (conv, batchnorm, relu caches)
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(
    dout: np.ndarray, cache: tuple[Any, Any, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of conv_bn_relu_forward.

    dout: (N, F, H', W') upstream gradient; cache from conv_bn_relu_forward
    returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,), dgamma (F,), dbeta (F,)
    """
    conv_cache, bn_cache, relu_cache = cache
    dan, dgamma, dbeta = spatial_batchnorm_backward(relu_backward(dout, relu_cache), bn_cache)
    dx, dw, db = conv_backward_fast(dan, conv_cache)
    return dx, dw, db, dgamma, dbeta
