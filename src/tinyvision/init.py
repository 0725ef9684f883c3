"""Weight initialisation: small pure functions of (shape, rng) returning a fresh array.

Four schemes, selected by name through `init_weight`:

- `gaussian`: weight_scale * N(0, 1), the course default; the scale must be tuned by hand.
- `lecun`: N(0, 1 / fan_in), the CS231n notes' "calibrating the variances with 1/sqrt(n)"
  (LeCun et al., 1998); equal to `xavier` when fan_in == fan_out.
- `xavier` (alias `glorot`): N(0, 2 / (fan_in + fan_out)), keeps activation variance roughly
  constant through tanh/sigmoid layers (Glorot & Bengio, 2010).
- `kaiming` (alias `he`): N(0, 2 / fan_in), compensates for ReLU zeroing half of its inputs
  (He et al., 2015).

Shapes follow the course's layouts: affine weights are (D_in, D_out) and convolution filters
are (F, C, HH, WW), so fan_in is D_in or C*HH*WW.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "INIT_METHODS",
    "GlobalGenerator",
    "fan_in_and_fan_out",
    "gaussian",
    "glorot",
    "he",
    "init_weight",
    "kaiming",
    "lecun",
    "make_rng",
    "xavier",
]


class GlobalGenerator:
    """NumPy's global generator (`np.random.*`) behind the Generator methods models draw with.

    Course code draws its initial weights and minibatches with `np.random.randn` and
    `np.random.choice`; a model built with seed=None draws through this object, so after
    `np.random.seed(231)` it holds exactly the numbers the course's notebooks print.
    """

    def standard_normal(self, size: Any = None) -> Any:
        return np.random.standard_normal(size)  # noqa: NPY002 - the course's global stream

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> Any:
        return np.random.normal(loc, scale, size)  # noqa: NPY002

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None) -> Any:
        return np.random.uniform(low, high, size)  # noqa: NPY002

    def random(self, size: Any = None) -> Any:
        return np.random.random_sample(size)  # noqa: NPY002

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        return np.random.randint(low, high, size)  # noqa: NPY002

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None) -> Any:
        return np.random.choice(a, size, replace, p)  # noqa: NPY002

    def permutation(self, x: Any) -> np.ndarray:
        return np.random.permutation(x)  # noqa: NPY002

    def shuffle(self, x: Any) -> None:
        np.random.shuffle(x)  # noqa: NPY002


def make_rng(seed: int | None) -> np.random.Generator | GlobalGenerator:
    """The generator a model draws its initial weights (and its own random choices) from.

    seed: an int gives a Generator seeded with it, the same on every machine. None draws from
      NumPy's global generator itself, as the course's code does, so `np.random.seed(231)`
      before building a model gives the very weights the course notebooks print.
    returns np.random.Generator, or GlobalGenerator for seed=None
    """
    if seed is None:
        return GlobalGenerator()
    return np.random.default_rng(seed)


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """Number of inputs and outputs feeding one unit of a weight of this shape.

    shape: (D_in, D_out) for affine weights or (F, C, HH, WW) for convolution filters
    returns (fan_in, fan_out)
    """
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    if len(shape) >= 3:
        receptive_field = int(np.prod(shape[2:]))
        return int(shape[1]) * receptive_field, int(shape[0]) * receptive_field
    raise ValueError(
        f"cannot compute fan-in of a weight with shape {shape}; expected (D_in, D_out) "
        "or (F, C, HH, WW)"
    )


def gaussian(
    shape: tuple[int, ...], rng: np.random.Generator, weight_scale: float = 1e-2
) -> np.ndarray:
    """weight_scale * standard normal samples.

    shape: shape of the weight
    rng: source of randomness
    weight_scale: standard deviation of the samples
    returns float64 array of the given shape
    """
    return weight_scale * rng.standard_normal(shape)


def lecun(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """LeCun normal initialisation, std = 1 / sqrt(fan_in): unit-variance outputs of a linear layer.

    shape: (D_in, D_out) or (F, C, HH, WW)
    rng: source of randomness
    returns float64 array of the given shape
    """
    fan_in, _ = fan_in_and_fan_out(shape)
    return rng.standard_normal(shape) / np.sqrt(fan_in)


def xavier(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Glorot normal initialisation, std = sqrt(2 / (fan_in + fan_out)).

    shape: (D_in, D_out) or (F, C, HH, WW)
    rng: source of randomness
    returns float64 array of the given shape
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)


def kaiming(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """He normal initialisation for ReLU networks, std = sqrt(2 / fan_in).

    shape: (D_in, D_out) or (F, C, HH, WW)
    rng: source of randomness
    returns float64 array of the given shape
    """
    fan_in, _ = fan_in_and_fan_out(shape)
    return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)


glorot = xavier
he = kaiming

INIT_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "gaussian": gaussian,
    "lecun": lecun,
    "xavier": xavier,
    "glorot": xavier,
    "kaiming": kaiming,
    "he": kaiming,
}


def init_weight(
    method: str,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    weight_scale: float = 1e-2,
    dtype: type | np.dtype = np.float64,
) -> np.ndarray:
    """Initialise one weight with the scheme named by method.

    method: one of INIT_METHODS ("gaussian", "lecun", "xavier"/"glorot", "kaiming"/"he")
    shape: shape of the weight
    rng: source of randomness
    weight_scale: standard deviation, used only by "gaussian"
    dtype: dtype of the returned array
    returns array of the given shape and dtype
    """
    if method not in INIT_METHODS:
        raise ValueError(f"unknown weight_init {method!r}; choose one of {sorted(INIT_METHODS)}")
    if method == "gaussian":
        weight = gaussian(shape, rng, weight_scale)
    else:
        weight = INIT_METHODS[method](shape, rng)
    return weight.astype(dtype, copy=False)
