"""Gradient checks of the layer library, runnable from the command line (`tinyvision gradcheck`).

Each check draws small float64 inputs, runs the layer's forward and backward, and compares every
analytic gradient with centred differences. The tests do the same and more (PyTorch agreement,
edge cases); this module lets a user see the engine verify itself on their own machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error

__all__ = ["GRADIENT_CHECKS", "GradientCheck", "run_gradient_check"]


@dataclass(frozen=True)
class GradientCheck:
    """One layer to check.

    make_inputs: rng -> dict of float64 arrays (the differentiable inputs, in backward's order)
    forward: (**inputs) -> (out, cache)
    backward: (dout, cache) -> gradient or tuple of gradients, one per input
    """

    make_inputs: Callable[[np.random.Generator], dict[str, np.ndarray]]
    forward: Callable[..., tuple[np.ndarray, Any]]
    backward: Callable[[np.ndarray, Any], Any]


def _layers() -> Any:
    from tinyvision import layers

    return layers


def _conv_param() -> dict[str, int]:
    return {"stride": 2, "pad": 1}


def _pool_param() -> dict[str, int]:
    return {"pool_height": 2, "pool_width": 2, "stride": 2}


def _check_table() -> dict[str, GradientCheck]:
    L = _layers()

    def normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
        return lambda rng: rng.standard_normal(shape)

    def inputs(**makers: Callable[[np.random.Generator], np.ndarray]) -> Callable[..., dict]:
        return lambda rng: {name: make(rng) for name, make in makers.items()}

    return {
        "affine": GradientCheck(
            inputs(x=normal(4, 2, 3), w=normal(6, 5), b=normal(5)),
            L.affine_forward,
            L.affine_backward,
        ),
        "relu": GradientCheck(inputs(x=normal(5, 7)), L.relu_forward, L.relu_backward),
        "batchnorm": GradientCheck(
            inputs(x=normal(8, 5), gamma=normal(5), beta=normal(5)),
            lambda x, gamma, beta: L.batchnorm_forward(x, gamma, beta, {"mode": "train"}),
            L.batchnorm_backward,
        ),
        "layernorm": GradientCheck(
            inputs(x=normal(4, 6), gamma=normal(6), beta=normal(6)),
            lambda x, gamma, beta: L.layernorm_forward(x, gamma, beta, {}),
            L.layernorm_backward,
        ),
        "dropout": GradientCheck(
            inputs(x=normal(6, 8)),
            lambda x: L.dropout_forward(x, {"mode": "train", "p": 0.7, "seed": 0}),
            L.dropout_backward,
        ),
        "conv": GradientCheck(
            inputs(x=normal(2, 3, 7, 7), w=normal(4, 3, 3, 3), b=normal(4)),
            lambda x, w, b: L.conv_forward_naive(x, w, b, _conv_param()),
            L.conv_backward_naive,
        ),
        "max_pool": GradientCheck(
            inputs(x=normal(2, 3, 6, 6)),
            lambda x: L.max_pool_forward_naive(x, _pool_param()),
            L.max_pool_backward_naive,
        ),
        "spatial_batchnorm": GradientCheck(
            inputs(x=normal(4, 3, 4, 5), gamma=normal(3), beta=normal(3)),
            lambda x, gamma, beta: L.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"}),
            L.spatial_batchnorm_backward,
        ),
    }


GRADIENT_CHECKS: tuple[str, ...] = (
    "affine",
    "relu",
    "batchnorm",
    "layernorm",
    "dropout",
    "conv",
    "max_pool",
    "spatial_batchnorm",
)


def run_gradient_check(name: str, seed: int = 0) -> dict[str, float]:
    """Relative error between analytic and numerical gradient, per input of layer `name`."""
    table = _check_table()
    if name not in table:
        raise ValueError(f"no gradient check named {name!r}; choose from {', '.join(table)}")
    check = table[name]
    rng = np.random.default_rng(seed)
    values = check.make_inputs(rng)
    out, cache = check.forward(**values)
    dout = rng.standard_normal(out.shape)
    analytic = check.backward(dout, cache)
    if not isinstance(analytic, tuple):
        analytic = (analytic,)
    errors = {}
    for (input_name, array), grad in zip(values.items(), analytic, strict=True):
        numeric = eval_numerical_gradient_array(lambda _: check.forward(**values)[0], array, dout)
        errors[input_name] = rel_error(grad, numeric)
    return errors
