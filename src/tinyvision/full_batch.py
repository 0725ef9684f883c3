"""Full-batch, quasi-second-order training: L-BFGS on a model's flat parameter vector.

The CS231n notes compare minibatch SGD with second-order methods: Newton's step H^-1 g needs
the Hessian, which no net can afford, but L-BFGS builds a low-rank estimate of H^-1 from the
last few gradients and steps along it with a line search. It needs the exact loss and gradient,
so every evaluation is one pass over the whole training set; on a small convex problem (softmax
or logistic regression on the digits) it reaches the optimum in far fewer passes than SGD.

The optimiser itself is SciPy's `minimize(method="L-BFGS-B", jac=True)`; what lives here is
the glue to the course's model interface:

- `flatten_params` / `unflatten_params`: a params dict <-> one float64 vector, and back;
- `model_objective(model, X, y)`: the full-batch loss-and-gradients closure of any model whose
  `loss(X, y)` returns (loss, grads) keyed like `params` (the Solver's interface);
- `minimize_lbfgs(objective, params)`: the trained params and an `LbfgsHistory` of (seconds,
  loss, passes over the data) per iteration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyvision.validation import check_non_negative, check_non_negative_int, check_positive_int

__all__ = [
    "LbfgsHistory",
    "ParamLayout",
    "flatten_params",
    "minimize_lbfgs",
    "model_objective",
    "unflatten_params",
]

# (name, shape, dtype) of each parameter, in the vector's order.
ParamLayout = tuple[tuple[str, tuple[int, ...], np.dtype], ...]

# params -> (loss, grads keyed like params)
Objective = Callable[[dict[str, np.ndarray]], tuple[float, Mapping[str, np.ndarray]]]


def flatten_params(params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ParamLayout]:
    """Concatenate every parameter, raveled, into one float64 vector.

    params: name -> float array of any shape and dtype
    returns (vector (P,) float64 with P the total number of entries, the layout that
        unflatten_params needs to rebuild the dict: names in params' order, shapes, dtypes)
    """
    if not params:
        raise ValueError("params is empty; build (or train once) the model before flattening")
    layout = tuple(
        (name, np.shape(value), np.asarray(value).dtype) for name, value in params.items()
    )
    vector = np.concatenate([np.ravel(value).astype(np.float64) for value in params.values()])
    return vector, layout


def unflatten_params(
    vector: np.ndarray, layout: ParamLayout, dtype: np.dtype | type | None = None
) -> dict[str, np.ndarray]:
    """The params dict a flat vector stands for; the inverse of flatten_params.

    vector: (P,) float array, P the total size of the layout's shapes
    layout: as returned by flatten_params
    dtype: dtype of every array (None: each parameter's dtype in the layout)
    returns name -> new array of the layout's shape
    """
    sizes = [int(np.prod(shape)) for _, shape, _ in layout]
    if np.shape(vector) != (sum(sizes),):
        raise ValueError(
            f"vector has shape {np.shape(vector)} but the layout holds {sum(sizes)} entries "
            f"({', '.join(name for name, _, _ in layout)}); flatten the same params again"
        )
    params = {}
    start = 0
    for (name, shape, own_dtype), size in zip(layout, sizes, strict=True):
        part = vector[start : start + size].reshape(shape)
        params[name] = part.astype(own_dtype if dtype is None else dtype)
        start += size
    return params


def model_objective(model: Any, X: np.ndarray, y: np.ndarray) -> Objective:
    """The full-batch loss of a model with the course interface, as a function of its params.

    model: has `params` (name -> array) and `loss(X, y)` -> (loss, grads keyed like params),
        as every model the Solver trains (LogisticRegression, FullyConnectedNet, ...)
    X: (N, ...) the whole training set; y: (N,) its labels
    returns params -> (loss, grads); each call sets model.params to the given arrays first
    """

    def objective(params: dict[str, np.ndarray]) -> tuple[float, Mapping[str, np.ndarray]]:
        model.params = params
        return model.loss(X, y)

    return objective


@dataclass
class LbfgsHistory:
    """The course of one L-BFGS run, entry 0 at the start and one entry per iteration after.

    seconds: wall-clock seconds since the start (evaluating the starting loss included)
    losses: the objective at that point
    passes: loss-and-gradient evaluations so far, each one pass over the training data (an
        iteration takes one or more: its line search may try several step sizes)
    message: SciPy's reason for stopping; converged: True unless it stopped on max_iter or a
        failed line search
    """

    seconds: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    passes: list[int] = field(default_factory=list)
    message: str = ""
    converged: bool = False


def minimize_lbfgs(
    objective: Objective,
    params: Mapping[str, np.ndarray],
    max_iter: int = 100,
    gtol: float = 1e-5,
    ftol: float = 2.2e-9,
    history_size: int = 10,
) -> tuple[dict[str, np.ndarray], LbfgsHistory]:
    """Minimise objective over params with SciPy's L-BFGS-B (no bounds), from params.

    The arithmetic is float64 whatever the params' dtype: the line search compares losses
    that differ in their ninth digit, beyond float32's reach. The objective therefore gets
    float64 arrays; the returned params have their original dtypes.

    objective: params dict -> (loss, grads keyed like params), on the whole training set
    params: name -> float array, the starting point (not modified)
    max_iter: most L-BFGS iterations (0 returns the start)
    gtol: stop when the largest gradient entry is at most this (SciPy's gtol)
    ftol: stop when the relative loss decrease of an iteration is at most this (SciPy's)
    history_size: m, the gradient differences kept for the inverse-Hessian estimate
    returns (the params where it stopped, an LbfgsHistory)
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_info, threadpool_limits

    check_non_negative_int(max_iter, "max_iter")
    check_non_negative(gtol, "gtol")
    check_non_negative(ftol, "ftol")
    check_positive_int(history_size, "history_size")
    # SciPy's own BLAS loads on first use, after any thread limit the caller set (threadpoolctl
    # limits only the libraries already loaded; the CLI runs small data sets on one thread);
    # on a busy machine its extra threads made each L-BFGS iteration ten times slower. Asked
    # here, before the clock starts: listing the libraries takes milliseconds.
    blas_threads = min(
        (i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=None
    )
    start, layout = flatten_params(params)
    history = LbfgsHistory()
    passes = 0

    def loss_and_gradient(vector: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal passes
        passes += 1
        loss, grads = objective(unflatten_params(vector, layout, np.float64))
        gradient = np.concatenate([np.ravel(grads[name]) for name, _, _ in layout])
        return float(loss), gradient.astype(np.float64)

    started = time.perf_counter()

    def record(loss: float) -> None:
        history.seconds.append(time.perf_counter() - started)
        history.losses.append(float(loss))
        history.passes.append(passes)

    at_start = loss_and_gradient(start)
    record(at_start[0])
    if max_iter == 0:
        history.message, history.converged = "max_iter is 0", False
        return unflatten_params(start, layout), history

    # SciPy evaluates the start again first: hand it the result above, not a second pass.
    def scipy_loss_and_gradient(vector: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal at_start
        if at_start is not None and np.array_equal(vector, start):
            known, at_start = at_start, None
            return known
        return loss_and_gradient(vector)

    # SciPy hands the callback the accepted point and its loss (no extra evaluation).
    def callback(intermediate_result: Any) -> None:
        record(intermediate_result.fun)

    with threadpool_limits(blas_threads, user_api="blas"):
        result = minimize(
            scipy_loss_and_gradient,
            start,
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={"maxiter": max_iter, "gtol": gtol, "ftol": ftol, "maxcor": history_size},
        )
    history.message = str(result.message)
    history.converged = bool(result.success)
    return unflatten_params(result.x, layout), history
