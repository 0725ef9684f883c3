"""Elementwise activations: ReLU (the course's) plus leaky ReLU, sigmoid, tanh, ELU and GELU.

Each is a forward/backward pair; every forward preserves the input's float dtype. `sigmoid` is
the one stable logistic function that the LSTM gates and the logistic losses also use.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
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
