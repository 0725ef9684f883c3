"""Activations: ReLU (the course's) plus leaky ReLU, sigmoid, tanh, ELU, GELU, randomized leaky
ReLU and Maxout.

Each is a forward/backward pair; every forward preserves the input's float dtype. Randomized
leaky ReLU is leaky ReLU with a random slope per element in training; Maxout takes the largest
of k pieces per unit, so it is not elementwise. `sigmoid` is
the one stable logistic function that the LSTM gates and the logistic losses also use.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxout_backward",
    "maxout_forward",
    "relu_backward",
    "relu_forward",
    "rrelu_backward",
    "rrelu_forward",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]

GELU_APPROXIMATIONS = ("none", "tanh")

# Below this |z| the erf power series converges fast; above it the erfc continued fraction does.
# Both reach double precision with the term counts below (checked against math.erf/erfc).
_ERF_SERIES_LIMIT = 2.0
_ERF_SERIES_TERMS = 60
_ERFC_FRACTION_DEPTH = 80


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU, max(0, x).

    x: float array of any shape
    returns out (x's shape and dtype), cache x for relu_backward
    """
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of ReLU: the gradient flows only where the input was positive.

    dout: upstream gradient, shape of x
    cache: x from relu_forward
    returns dx, shape of x
    """
    return dout * (cache > 0)


def leaky_relu_forward(
    x: np.ndarray, negative_slope: float = 0.01
) -> tuple[np.ndarray, tuple[np.ndarray, float]]:
    """Leaky ReLU, x for x > 0 and negative_slope * x otherwise.

    x: float array of any shape
    negative_slope: slope for negative inputs
    returns out (x's shape and dtype), cache (x, negative_slope)
    """
    return np.where(x > 0, x, x * negative_slope), (x, negative_slope)


def leaky_relu_backward(dout: np.ndarray, cache: tuple[np.ndarray, float]) -> np.ndarray:
    """Backward pass of leaky ReLU.

    dout: upstream gradient, shape of x
    cache: (x, negative_slope) from leaky_relu_forward
    returns dx, shape of x
    """
    x, negative_slope = cache
    return np.where(x > 0, dout, dout * negative_slope)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), finite and warning-free for any |x|.

    exp is only ever taken of -|x| <= 0, so it lies in (0, 1] and cannot overflow; for x < 0
    the equal form e / (1 + e) is used.
    x: array of any shape; float dtypes are kept, anything else gives float64
    returns an array of x's shape with values in [0, 1]
    """
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid layer (see sigmoid).

    x: float array of any shape
    returns out (x's shape and dtype, in [0, 1]), cache out for sigmoid_backward
    """
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of the sigmoid, using s' = s (1 - s).

    dout: upstream gradient, shape of x
    cache: the sigmoid output from sigmoid_forward
    returns dx, shape of x
    """
    return dout * cache * (1 - cache)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent.

    x: float array of any shape
    returns out (x's shape and dtype), cache out for tanh_backward
    """
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of tanh, using tanh' = 1 - tanh^2.

    dout: upstream gradient, shape of x
    cache: the tanh output from tanh_forward
    returns dx, shape of x
    """
    return dout * (1 - cache * cache)


class ELUCache(NamedTuple):
    """What elu_backward needs: the input, the output and alpha."""

    x: np.ndarray
    out: np.ndarray
    alpha: float


def elu_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, ELUCache]:
    """ELU, x for x > 0 and alpha * (exp(x) - 1) otherwise.

    exp is taken of min(x, 0) so large positive inputs cannot overflow.
    x: float array of any shape
    alpha: saturation value for negative inputs
    returns out (x's shape and dtype), ELUCache
    """
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    return out, ELUCache(x, out, alpha)


def elu_backward(dout: np.ndarray, cache: ELUCache) -> np.ndarray:
    """Backward pass of ELU; for x <= 0 the slope alpha * exp(x) equals out + alpha.

    dout: upstream gradient, shape of x
    cache: ELUCache from elu_forward
    returns dx, shape of x
    """
    return np.where(cache.x > 0, dout, dout * (cache.out + cache.alpha))


def _erfc_fraction(z: np.ndarray) -> np.ndarray:
    """erfc(z) for z >= _ERF_SERIES_LIMIT via its continued fraction, evaluated bottom-up."""
    t = z.copy()
    for k in range(_ERFC_FRACTION_DEPTH, 0, -1):
        t = z + (k / 2) / t
    return np.exp(-z * z) / (math.sqrt(math.pi) * t)


def _erf_series(z: np.ndarray) -> np.ndarray:
    """erf(z) for |z| < _ERF_SERIES_LIMIT via the all-positive-terms series.

    erf(z) = 2/sqrt(pi) exp(-z^2) sum_n (2 z^2)^n z / (1*3*...*(2n+1)); with no alternating
    signs there is no cancellation, unlike the plain Taylor series.
    """
    total = np.zeros_like(z)
    term = z.copy()
    two_z2 = 2 * z * z
    for n in range(_ERF_SERIES_TERMS):
        total += term
        term = term * two_z2 / (2 * n + 3)
    return 2 / math.sqrt(math.pi) * np.exp(-z * z) * total


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2 in float64, accurate in both tails."""
    z = -np.asarray(x, dtype=np.float64) / math.sqrt(2)
    cdf = np.empty_like(z)
    low = z >= _ERF_SERIES_LIMIT
    high = z <= -_ERF_SERIES_LIMIT
    middle = ~(low | high)
    cdf[low] = 0.5 * _erfc_fraction(z[low])
    cdf[high] = 1 - 0.5 * _erfc_fraction(-z[high])
    cdf[middle] = 0.5 - 0.5 * _erf_series(z[middle])
    return cdf


class GELUCache(NamedTuple):
    """What gelu_backward needs: the input, which formula was used, and its inner value.

    inner is Phi(x) for approximate="none" and the tanh term for approximate="tanh".
    """

    x: np.ndarray
    approximate: str
    inner: np.ndarray


def gelu_forward(x: np.ndarray, approximate: str = "none") -> tuple[np.ndarray, GELUCache]:
    """GELU, x * Phi(x), with the same two variants as torch.nn.functional.gelu.

    approximate="none" is the exact erf form (torch's default); erf is computed by a vectorised
    series / continued fraction to double precision, so no scipy is needed. approximate="tanh"
    is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    x: float array of any shape
    approximate: "none" or "tanh"
    returns out (x's shape and dtype), GELUCache
    """
    if approximate == "none":
        inner = _normal_cdf(x).astype(x.dtype, copy=False)
        out = x * inner
    elif approximate == "tanh":
        inner = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))
        out = 0.5 * x * (1 + inner)
    else:
        raise ValueError(f"approximate must be one of {GELU_APPROXIMATIONS}, got {approximate!r}")
    return out, GELUCache(x, approximate, inner)


def gelu_backward(dout: np.ndarray, cache: GELUCache) -> np.ndarray:
    """Backward pass of GELU.

    Exact form: d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density.
    dout: upstream gradient, shape of x
    cache: GELUCache from gelu_forward
    returns dx, shape of x
    """
    x, approximate, inner = cache
    if approximate == "none":
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return dout * (inner + x * pdf)
    du_dx = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
    return dout * (0.5 * (1 + inner) + 0.5 * x * (1 - inner * inner) * du_dx)


RRELU_MODES = ("train", "test")


def rrelu_forward(
    x: np.ndarray, rrelu_param: dict[str, Any]
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray | float]]:
    """Randomized leaky ReLU, as torch's F.rrelu: leaky ReLU with a random negative slope.

    Train mode draws each element's slope uniformly from [lower, upper] (NumPy's global
    generator, as the course's dropout); test mode uses the mean slope (lower + upper) / 2.
    x: float32 or float64 array of any shape
    rrelu_param: dict with
      'mode': 'train' or 'test' (required)
      'lower', 'upper': the slope range, defaults 1/8 and 1/3 (torch's)
      'seed': optional; np.random.seed(seed) is called first, so the slopes repeat
    returns out (x's shape and dtype), cache (x, slope) for rrelu_backward; slope is an array
    of x's shape (train) or the mean slope (test)
    """
    mode = rrelu_param.get("mode")
    if mode not in RRELU_MODES:
        raise ValueError(f"rrelu_param['mode'] must be one of {RRELU_MODES}, got {mode!r}")
    lower, upper = rrelu_param.get("lower", 1 / 8), rrelu_param.get("upper", 1 / 3)
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu_param needs 0 <= lower <= upper, got lower={lower}, upper={upper}")
    if mode == "test":
        return leaky_relu_forward(x, (lower + upper) / 2)
    if "seed" in rrelu_param:
        np.random.seed(rrelu_param["seed"])  # noqa: NPY002 - the course's seeding contract
    slope = np.random.uniform(lower, upper, size=x.shape).astype(x.dtype)  # noqa: NPY002
    return leaky_relu_forward(x, slope)


def rrelu_backward(dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray | float]) -> np.ndarray:
    """Backward pass of randomized leaky ReLU: the slopes of the forward pass, as leaky ReLU.

    dout: upstream gradient, shape of x
    cache: (x, slope) from rrelu_forward
    returns dx, shape of x
    """
    return leaky_relu_backward(dout, cache)


class MaxoutCache(NamedTuple):
    """What maxout_backward needs: the input's shape and which piece won, (N, D, k, ...)."""

    x_shape: tuple[int, ...]
    winner: np.ndarray


def maxout_forward(x: np.ndarray, pieces: int) -> tuple[np.ndarray, MaxoutCache]:
    """Maxout: each unit is the largest of k consecutive features (or channels) of axis 1.

    With the k pieces coming from k affine maps (a Linear or Conv2d with k times the units
    before it), this is the maxout neuron max(w_1 x + b_1, ..., w_k x + b_k) of the notes.
    Ties go to the first piece.
    x: (N, D * k) or (N, C * k, H, W) float32 or float64
    pieces: k >= 1, which must divide axis 1
    returns out (N, D) or (N, C, H, W) in x's dtype, MaxoutCache
    """
    if pieces < 1 or x.shape[1] % pieces:
        raise ValueError(
            f"maxout takes the largest of k pieces per unit, so k must divide axis 1 of the "
            f"input; got k={pieces} for shape {x.shape}"
        )
    grouped = x.reshape(x.shape[0], x.shape[1] // pieces, pieces, *x.shape[2:])
    winner = grouped.argmax(axis=2)[:, :, None]  # (N, D, 1, ...)
    out = np.take_along_axis(grouped, winner, axis=2)[:, :, 0]
    return out, MaxoutCache(x.shape, winner)


def maxout_backward(dout: np.ndarray, cache: MaxoutCache) -> np.ndarray:
    """Backward pass of maxout: each unit's gradient goes to the piece that won.

    dout: (N, D) or (N, C, H, W) upstream gradient
    cache: MaxoutCache from maxout_forward
    returns dx of the input's shape, (N, D * k) or (N, C * k, H, W)
    """
    n, units = dout.shape[:2]
    pieces = cache.x_shape[1] // units
    dgrouped = np.zeros((n, units, pieces, *dout.shape[2:]), dtype=dout.dtype)
    np.put_along_axis(dgrouped, cache.winner, dout[:, :, None], axis=2)
    return dgrouped.reshape(cache.x_shape)
