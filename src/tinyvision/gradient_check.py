"""Numerical gradients by centred differences, and the relative error used to compare them.

These are the course's checking tools (same names and signatures as `cs231n.gradient_check`).
Every function perturbs its input *in place* and restores it after each probe, because the
course's lambdas ignore their argument and read the array through a closure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "eval_numerical_gradient_blobs",
    "eval_numerical_gradient_net",
    "grad_check_sparse",
    "rel_error",
]


def rel_error(x: np.ndarray | float, y: np.ndarray | float) -> float:
    """Largest elementwise relative error |x - y| / max(1e-8, |x| + |y|)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _centred_difference(
    f: Callable[[], Any], x: np.ndarray, index: tuple[int, ...], h: float
) -> Any:
    """(f(x + h e_i) - f(x - h e_i)) / 2h, with x[index] restored afterwards."""
    old_value = x[index].copy()
    try:
        x[index] = old_value + h
        f_plus = np.array(f(), dtype=np.float64, copy=True)
        x[index] = old_value - h
        f_minus = np.array(f(), dtype=np.float64, copy=True)
    finally:
        x[index] = old_value
    return (f_plus - f_minus) / (2 * h)


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True, h: float = 1e-5
) -> np.ndarray:
    """Gradient of a scalar function f at x, one coordinate at a time.

    f: maps x (any shape) to a scalar
    x: float array, perturbed in place and restored
    verbose: print each coordinate's index and gradient, as the course does
    returns grad, same shape as x, float64
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        grad[index] = _centred_difference(lambda: f(x), x, index, h)
        if verbose:
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Gradient of sum(f(x) * df) with respect to x, for an array-valued f.

    This is the backward pass of f for the upstream gradient df.
    f: maps x to an array of df's shape
    x: float array, perturbed in place and restored
    df: upstream gradient, same shape as f(x)
    returns grad, same shape as x, float64
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        grad[index] = np.sum(_centred_difference(lambda: f(x), x, index, h) * df)
    return grad


def eval_numerical_gradient_blobs(
    f: Callable[..., Any], inputs: Sequence[Any], output: Any, h: float = 1e-5
) -> list[np.ndarray]:
    """Numerical gradients for functions that read and write "blobs".

    A blob is any object with `vals` and `diffs` arrays of one shape. f(*inputs, output) writes
    its result into output.vals; the gradient of sum(output.vals * output.diffs) with respect to
    each input blob's vals is returned, one array per input.
    """

    def output_values() -> np.ndarray:
        f(*(list(inputs) + [output]))
        return output.vals

    grads = []
    for blob in inputs:
        grad = np.zeros(blob.vals.shape, dtype=np.float64)
        for index in np.ndindex(*blob.vals.shape):
            delta = _centred_difference(output_values, blob.vals, index, h)
            grad[index] = np.sum(delta * output.diffs)
        grads.append(grad)
    return grads


def eval_numerical_gradient_net(
    net: Any, inputs: Sequence[Any], output: Any, h: float = 1e-5
) -> list[np.ndarray]:
    """eval_numerical_gradient_blobs for an object whose forward() fills its output blob."""
    return eval_numerical_gradient_blobs(lambda *args: net.forward(), inputs, output, h=h)


def grad_check_sparse(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic_grad: np.ndarray,
    num_checks: int = 10,
    h: float = 1e-5,
    seed: int | None = None,
    verbose: bool = True,
) -> list[float]:
    """Compare analytic_grad with centred differences at num_checks random coordinates.

    verbose: print one line per checked coordinate, as the course does (False: silent)
    Returns the relative error of each checked coordinate, so a caller can assert.
    """
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"analytic_grad has shape {analytic_grad.shape} but x has shape {x.shape}; "
            "pass the gradient of f with respect to x"
        )
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        index = tuple(int(rng.integers(n)) for n in x.shape)
        numeric = float(_centred_difference(lambda: f(x), x, index, h))
        analytic = float(analytic_grad[index])
        denominator = abs(numeric) + abs(analytic)
        error = abs(numeric - analytic) / denominator if denominator > 0 else 0.0
        if verbose:
            print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}")
        errors.append(error)
    return errors
