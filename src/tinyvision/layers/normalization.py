"""Normalization layers: batch, layer, spatial batch, spatial group and instance normalization.

All five standardise some axis of the input to zero mean and unit (biased) variance and then
apply a learned per-feature scale gamma and shift beta; they differ only in which values share
statistics. Layer and group norm share the closed-form backward `_standardize_backward`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "instance_norm_backward",
    "instance_norm_forward",
    "layernorm_backward",
    "layernorm_forward",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "spatial_groupnorm_backward",
    "spatial_groupnorm_forward",
]

BATCHNORM_MODES = ("train", "test")


class BatchNormCache(NamedTuple):
    """What the batchnorm backward passes need.

    x_centered is x minus the mean that was used (batch mean in train mode, running mean in
    test mode) and inv_std is 1 / sqrt(var + eps), shape (D,). batch_stats says whether the
    statistics came from the batch, i.e. whether they depend on x.
    """

    x_hat: np.ndarray
    x_centered: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    batch_stats: bool


class SpatialBatchNormCache(NamedTuple):
    """What spatial_batchnorm_backward needs.

    x_centered (N, C, H, W) is x minus the mean that was used, inv_std (C,) is
    1 / sqrt(var + eps); x_hat = x_centered * inv_std is not stored, backward folds inv_std into
    its per-channel factors instead. batch_stats as in BatchNormCache.
    """

    x_centered: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    batch_stats: bool


class LayerNormCache(NamedTuple):
    """What layernorm_backward needs; inv_std has shape (N, 1)."""

    x_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray


class GroupNormCache(NamedTuple):
    """What spatial_groupnorm_backward needs; inv_std has shape (N, G, 1)."""

    x_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    groups: int


def _standardize(x: np.ndarray, axis: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (x - mean) * inv_std and inv_std = 1 / sqrt(var + eps) along axis (keepdims)."""
    x_centered = x - x.mean(axis=axis, keepdims=True)
    inv_std = 1 / np.sqrt((x_centered * x_centered).mean(axis=axis, keepdims=True) + eps)
    return x_centered * inv_std, inv_std


def _standardize_backward(
    dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axis: int
) -> np.ndarray:
    """Gradient through x_hat = standardize(x) along axis, in closed form.

    With m values sharing statistics: dx = inv_std * (dx_hat - mean(dx_hat)
    - x_hat * mean(dx_hat * x_hat)), all means along axis.
    """
    mean_dx_hat = dx_hat.mean(axis=axis, keepdims=True)
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axis, keepdims=True)
    return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)


def _batchnorm_settings(
    bn_param: dict[str, Any], x: np.ndarray
) -> tuple[str, float, float, np.ndarray, np.ndarray]:
    """Mode (validated), eps, momentum and the running statistics (zeros when absent) of
    bn_param, for x whose axis 1 holds the features."""
    mode = bn_param.get("mode")
    if mode not in BATCHNORM_MODES:
        raise ValueError(f"bn_param['mode'] must be one of {BATCHNORM_MODES}, got {mode!r}")
    num_features = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(num_features, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(num_features, dtype=x.dtype))
    return mode, bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9), running_mean, running_var


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, BatchNormCache]:
    """Batch normalization of a fully-connected layer's activations.

    In train mode each feature is standardised with the batch mean and biased batch variance,
    and the running averages are updated as running = momentum * running + (1 - momentum) *
    batch statistic. In test mode the running averages are used instead.

    x: (N, D) float array
    gamma: (D,) scale; beta: (D,) shift
    bn_param: dict with
      'mode': 'train' or 'test' (required)
      'eps': added to the variance for stability, default 1e-5
      'momentum': running-average decay, default 0.9
      'running_mean', 'running_var': (D,) arrays; created as zeros in x's dtype when absent
      and always written back into bn_param
    returns out (N, D), BatchNormCache
    """
    mode, eps, momentum, running_mean, running_var = _batchnorm_settings(bn_param, x)
    if mode == "train":
        mean = x.mean(axis=0)
        x_centered = x - mean
        var = (x_centered * x_centered).mean(axis=0)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        x_centered = (x - running_mean).astype(x.dtype, copy=False)
        var = running_var
    inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    x_hat = x_centered * inv_std
    out = gamma * x_hat + beta

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, BatchNormCache(x_hat, x_centered, inv_std, gamma, mode == "train")


def batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of batchnorm, staged node by node through the computational graph.

    Graph: mean -> x_centered -> var -> inv_std -> x_hat -> gamma * x_hat + beta. This is the
    teaching version; batchnorm_backward_alt gives the same result in closed form.

    dout: (N, D) upstream gradient
    cache: BatchNormCache from batchnorm_forward
    returns dx (N, D), dgamma (D,), dbeta (D,)
    """
    x_hat, x_centered, inv_std, gamma, batch_stats = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx_centered = dx_hat * inv_std
    if not batch_stats:
        return dx_centered, dgamma, dbeta
    dinv_std = (dx_hat * x_centered).sum(axis=0)
    dvar = -0.5 * inv_std**3 * dinv_std
    dx_centered += (2 / n) * x_centered * dvar
    dmean = -dx_centered.sum(axis=0)
    dx = dx_centered + dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of batchnorm in simplified closed form (same results as batchnorm_backward).

    dx = gamma * inv_std * (dout - dbeta / N - x_hat * dgamma / N). Because gamma is constant
    along the batch axis, the two batch means the general formula needs are exactly dbeta / N
    and dgamma / N, so nothing is computed twice.

    dout: (N, D) upstream gradient
    cache: BatchNormCache from batchnorm_forward
    returns dx (N, D), dgamma (D,), dbeta (D,)
    """
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * cache.x_hat).sum(axis=0)
    scale = cache.gamma * cache.inv_std
    if not cache.batch_stats:
        return dout * scale, dgamma, dbeta
    dx = (dout - dbeta / n - cache.x_hat * (dgamma / n)) * scale
    return dx, dgamma, dbeta


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, ln_param: dict[str, Any]
) -> tuple[np.ndarray, LayerNormCache]:
    """Layer normalization: standardise each example over its features, then scale and shift.

    Behaves the same at train and test time, so it keeps no running statistics.
    x: (N, D) float array
    gamma: (D,) scale; beta: (D,) shift
    ln_param: dict with 'eps' (default 1e-5); other keys are ignored
    returns out (N, D), LayerNormCache
    """
    x_hat, inv_std = _standardize(x, axis=1, eps=ln_param.get("eps", 1e-5))
    return gamma * x_hat + beta, LayerNormCache(x_hat, inv_std, gamma)


def layernorm_backward(
    dout: np.ndarray, cache: LayerNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of layer normalization.

    dout: (N, D) upstream gradient
    cache: LayerNormCache from layernorm_forward
    returns dx (N, D), dgamma (D,), dbeta (D,)
    """
    x_hat, inv_std, gamma = cache
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, SpatialBatchNormCache]:
    """Batch normalization for convolutional feature maps: statistics per channel.

    Every spatial position of every example is one sample of its channel: batchnorm_forward's
    maths with the statistics taken over the N, H and W axes. It works on x's own (N, C, H*W)
    layout (transposing to (N*H*W, C) would cost two strided copies per pass) and writes the
    output in two passes: out = x_centered * (gamma * inv_std) + beta.
    x: (N, C, H, W) float array
    gamma: (C,) scale; beta: (C,) shift
    bn_param: as for batchnorm_forward ('mode' required; 'eps', 'momentum', running stats (C,))
    returns out (N, C, H, W) C-contiguous, SpatialBatchNormCache
    """
    mode, eps, momentum, running_mean, running_var = _batchnorm_settings(bn_param, x)
    n, c, h, w = x.shape
    x3 = x.reshape(n, c, h * w)
    if mode == "train":
        mean = x3.mean(axis=(0, 2))
        x_centered = x3 - mean[:, None]
        var = np.einsum("ncp,ncp->c", x_centered, x_centered) / (n * h * w)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        x_centered = (x3 - running_mean[:, None]).astype(x.dtype, copy=False)
        var = running_var
    inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    out = x_centered * (gamma * inv_std)[:, None]
    out += beta[:, None]

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    cache = SpatialBatchNormCache(x_centered.reshape(x.shape), inv_std, gamma, mode == "train")
    return out.reshape(x.shape), cache


def spatial_batchnorm_backward(
    dout: np.ndarray, cache: SpatialBatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of spatial batch normalization (batchnorm_backward_alt per channel).

    dx = gamma * inv_std * (dout - dbeta / M - x_hat * dgamma / M), M = N*H*W, with
    x_hat = x_centered * inv_std folded into the per-channel factors.
    dout: (N, C, H, W) upstream gradient
    cache: SpatialBatchNormCache from spatial_batchnorm_forward
    returns dx (N, C, H, W) C-contiguous, dgamma (C,), dbeta (C,)
    """
    x_centered, inv_std, gamma, batch_stats = cache
    n, c, h, w = dout.shape
    d3 = dout.reshape(n, c, h * w)
    centered = x_centered.reshape(n, c, h * w)
    dbeta = d3.sum(axis=(0, 2))
    dgamma = np.einsum("ncp,ncp->c", d3, centered) * inv_std
    scale = (gamma * inv_std)[:, None]
    if not batch_stats:
        return (d3 * scale).reshape(dout.shape), dgamma, dbeta
    m = n * h * w
    # dx = scale * (dout - x_centered * (inv_std * dgamma / M) - dbeta / M), in place.
    dx = centered * (-inv_std * dgamma / m)[:, None]
    dx += d3
    dx -= (dbeta / m)[:, None]
    dx *= scale
    return dx.reshape(dout.shape), dgamma, dbeta


def spatial_groupnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, G: int, gn_param: dict[str, Any]
) -> tuple[np.ndarray, GroupNormCache]:
    """Group normalization: each example's channels are split into G groups of C // G
    channels, and each group is standardised over its channels and spatial positions.

    x: (N, C, H, W) float array
    gamma: (1, C, 1, 1) scale; beta: (1, C, 1, 1) shift
    G: number of groups, must divide C
    gn_param: dict with 'eps' (default 1e-5); other keys are ignored
    returns out (N, C, H, W), GroupNormCache
    """
    n, c, h, w = x.shape
    if G <= 0 or c % G != 0:
        raise ValueError(
            f"G must be a positive divisor of the channel count C={c}, got G={G}; "
            f"pick G from the divisors of {c}"
        )
    grouped, inv_std = _standardize(x.reshape(n, G, -1), axis=2, eps=gn_param.get("eps", 1e-5))
    x_hat = grouped.reshape(n, c, h, w)
    return gamma * x_hat + beta, GroupNormCache(x_hat, inv_std, gamma, G)


def spatial_groupnorm_backward(
    dout: np.ndarray, cache: GroupNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of group normalization.

    dout: (N, C, H, W) upstream gradient
    cache: GroupNormCache from spatial_groupnorm_forward
    returns dx (N, C, H, W), dgamma (1, C, 1, 1), dbeta (1, C, 1, 1)
    """
    x_hat, inv_std, gamma, groups = cache
    n = dout.shape[0]
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dx_hat = (dout * gamma).reshape(n, groups, -1)
    dx = _standardize_backward(dx_hat, x_hat.reshape(n, groups, -1), inv_std, axis=2)
    return dx.reshape(dout.shape), dgamma, dbeta


def instance_norm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, in_param: dict[str, Any]
) -> tuple[np.ndarray, GroupNormCache]:
    """Instance normalization (as torch's F.instance_norm without running statistics): each
    channel of each example is standardised over its H * W positions, then scaled and shifted.

    It is group normalization with one channel per group, so it calls that pair.
    x: (N, C, H, W) float32 or float64
    gamma: (C,) scale; beta: (C,) shift
    in_param: dict with 'eps' (default 1e-5); other keys are ignored
    returns out (N, C, H, W), GroupNormCache
    """
    c = x.shape[1]
    return spatial_groupnorm_forward(
        x, gamma.reshape(1, c, 1, 1), beta.reshape(1, c, 1, 1), c, in_param
    )


def instance_norm_backward(
    dout: np.ndarray, cache: GroupNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of instance normalization.

    dout: (N, C, H, W) upstream gradient
    cache: GroupNormCache from instance_norm_forward
    returns dx (N, C, H, W), dgamma (C,), dbeta (C,)
    """
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)
