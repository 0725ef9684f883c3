"""First-order update rules with the course's interface (`cs231n.optim`).

Every rule has the signature::

    next_w, config = rule(w, dw, config=None)

w: (any shape) float32 or float64, the current weights.
dw: (same shape as w), the gradient of the loss with respect to w.
config: dict of hyperparameters and optimiser state, or None for the course defaults.

Missing hyperparameters are filled in with the course defaults (``config.setdefault``), the
hyperparameters are validated when the optimiser state is created (the first call with a
config), and the state arrays (velocity, cache, moments) are created lazily in w's dtype.
The config dict is updated *in place* and also returned: the course notebooks read
``config["velocity"]`` after a call and ignore the returned dict. Neither w nor dw is modified;
each call returns a new array. Adam and AdamW update their moment arrays m and v in place.

Rule           state keys              reference (equal step by step, see tests/test_optim.py)
-------------  ----------------------  ---------------------------------------------------
sgd            (none)                  torch.optim.SGD
sgd_momentum   velocity                torch.optim.SGD(momentum=...) for a constant lr
nesterov_momentum  velocity            torch.optim.SGD(momentum=..., nesterov=True)
adagrad        cache                   torch.optim.Adagrad(eps=epsilon)
rmsprop        cache                   torch.optim.RMSprop(alpha=decay_rate, eps=epsilon)
adam           m, v, t                 torch.optim.Adam
adamw          m, v, t                 torch.optim.AdamW
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tinyvision.validation import check_in_range

__all__ = [
    "UPDATE_RULES",
    "adagrad",
    "adam",
    "adamw",
    "get_update_rule",
    "nesterov_momentum",
    "rmsprop",
    "sgd",
    "sgd_momentum",
    "validate_config",
]

UpdateRule = Callable[[np.ndarray, np.ndarray, "dict[str, Any] | None"], tuple]

# Allowed range of every hyperparameter any rule reads: (low, high, high_is_open).
_RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, math.inf, False),
    "momentum": (0.0, 1.0, True),
    "decay_rate": (0.0, 1.0, True),
    "beta1": (0.0, 1.0, True),
    "beta2": (0.0, 1.0, True),
    "epsilon": (0.0, math.inf, False),
    "weight_decay": (0.0, math.inf, False),
}


def validate_config(
    config: dict[str, Any], hint: str | None = "pass a value in that range in optim_config"
) -> None:
    """Raise ValueError when a hyperparameter in config is not a number in its allowed range.

    config: dict as passed to an update rule. learning_rate, epsilon and weight_decay must be
        finite and >= 0; momentum, decay_rate, beta1 and beta2 must lie in [0, 1).
        Keys that are not hyperparameters (state arrays, "t") are ignored.
    hint: how to fix it, appended to the message (None: no hint).
    """
    for key, (low, high, open_high) in _RANGES.items():
        if key in config:
            check_in_range(
                config[key],
                f"optim config {key!r}",
                low,
                high,
                high_open=open_high,
                hint=hint,
            )


def _prepare(
    config: dict[str, Any] | None, w: np.ndarray, defaults: dict[str, float], state: tuple[str, ...]
) -> dict[str, Any]:
    """Fill in defaults; on the first call (state missing) validate and create zero state."""
    if config is None:
        config = {}
    for key, value in defaults.items():
        config.setdefault(key, value)
    missing = [key for key in state if key not in config]
    if missing or not state:
        validate_config(config)
    for key in missing:
        config[key] = 0 if key == "t" else np.zeros_like(w)
    return config


def sgd(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Vanilla stochastic gradient descent: w - learning_rate * dw.

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: learning_rate (default 1e-2). Stateless, so it is validated on every call.
    returns next_w (same shape and dtype as w), config
    """
    config = _prepare(config, w, {"learning_rate": 1e-2}, ())
    return w - config["learning_rate"] * dw, config


def sgd_momentum(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """SGD with momentum: v = momentum * v - learning_rate * dw; next_w = w + v.

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: learning_rate (default 1e-2), momentum (default 0.9),
        velocity (same shape as w, created as zeros).
    returns next_w (same shape and dtype as w), config with the new velocity

    torch.optim.SGD keeps b with v = -learning_rate * b instead, so the two agree exactly
    while the learning rate is constant; after a learning-rate change, this velocity keeps
    the old rate's scale and torch's rescales at once.
    """
    config = _prepare(config, w, {"learning_rate": 1e-2, "momentum": 0.9}, ("velocity",))
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov_momentum(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Nesterov momentum in the look-ahead form, with dw taken at the stored w.

    v_new = momentum * v - learning_rate * dw
    next_w = w - momentum * v + (1 + momentum) * v_new

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: learning_rate (default 1e-2), momentum (default 0.9),
        velocity (same shape as w, created as zeros).
    returns next_w (same shape and dtype as w), config with the new velocity
    """
    config = _prepare(config, w, {"learning_rate": 1e-2, "momentum": 0.9}, ("velocity",))
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def adagrad(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Adagrad: cache += dw**2; next_w = w - learning_rate * dw / (sqrt(cache) + epsilon).

    epsilon is added outside the square root, as in torch.optim.Adagrad (whose default eps
    is 1e-10; ours is 1e-8 like the other adaptive rules).

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: learning_rate (default 1e-2), epsilon (default 1e-8),
        cache (same shape as w, created as zeros).
    returns next_w (same shape and dtype as w), config with the new cache
    """
    config = _prepare(config, w, {"learning_rate": 1e-2, "epsilon": 1e-8}, ("cache",))
    cache = config["cache"] + dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def rmsprop(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """RMSProp: a decaying average of squared gradients scales each step.

    cache = decay_rate * cache + (1 - decay_rate) * dw**2
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: learning_rate (default 1e-2), decay_rate (default 0.99), epsilon (default 1e-8),
        cache (same shape as w, created as zeros).
    returns next_w (same shape and dtype as w), config with the new cache
    """
    defaults = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}
    config = _prepare(config, w, defaults, ("cache",))
    rho = config["decay_rate"]
    cache = rho * config["cache"] + (1 - rho) * (dw * dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


_ADAM_DEFAULTS = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def _adam_step(w: np.ndarray, dw: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """Advance m, v and t in config and return the bias-corrected Adam step for w.

    m and v are the optimiser's own state and are updated in place, through one scratch array
    that becomes the returned step: one new array per call instead of a dozen, which matters
    for the multi-megabyte weights of the fully-connected layers.
    """
    b1, b2 = config["beta1"], config["beta2"]
    # t counts steps taken *including* this one, so the first step is already bias-corrected.
    t = config["t"] + 1
    m, v = config["m"], config["v"]
    # m += (1 - b1) * (dw - m) is b1 * m + (1 - b1) * dw (torch's lerp); the same for v.
    scratch = np.subtract(dw, m)
    scratch *= 1 - b1
    m += scratch
    np.multiply(dw, dw, out=scratch)
    scratch -= v
    scratch *= 1 - b2
    v += scratch
    config["t"] = t
    # step = lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon)
    denominator = np.sqrt(v, out=scratch)
    denominator *= 1 / math.sqrt(1 - b2**t)
    denominator += config["epsilon"]
    step = np.divide(m, denominator, out=scratch)
    step *= config["learning_rate"] / (1 - b1**t)
    return step


def adam(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Adam with bias-corrected first and second moment estimates.

    t += 1; m = beta1 * m + (1 - beta1) * dw; v = beta2 * v + (1 - beta2) * dw**2
    next_w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: learning_rate (default 1e-3), beta1 (default 0.9), beta2 (default 0.999),
        epsilon (default 1e-8), m and v (same shape as w, created as zeros), t (int, from 0).
    returns next_w (same shape and dtype as w), config with the new m, v and t
    """
    config = _prepare(config, w, _ADAM_DEFAULTS, ("m", "v", "t"))
    step = _adam_step(w, dw, config)
    return np.subtract(w, step, out=step), config


def adamw(
    w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """AdamW: Adam plus weight decay decoupled from the gradient (Loshchilov & Hutter).

    The weights shrink by the factor (1 - learning_rate * weight_decay) before the Adam step,
    in the same order as torch.optim.AdamW, so the decay never enters m or v.

    w: (any shape) float32 or float64; dw: same shape and dtype as w.
    config: the adam keys and defaults, plus weight_decay (default 1e-2).
    returns next_w (same shape and dtype as w), config with the new m, v and t
    """
    config = _prepare(config, w, {**_ADAM_DEFAULTS, "weight_decay": 1e-2}, ("m", "v", "t"))
    decayed = w * (1 - config["learning_rate"] * config["weight_decay"])
    return decayed - _adam_step(w, dw, config), config


UPDATE_RULES: dict[str, UpdateRule] = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov_momentum": nesterov_momentum,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
}


def get_update_rule(rule: str | UpdateRule) -> UpdateRule:
    """Return the update rule named by rule (a key of UPDATE_RULES), or rule itself if callable.

    rule: str name such as "adam", or a callable with the rule signature.
    returns the callable; raises ValueError for an unknown name.
    """
    if callable(rule):
        return rule
    if isinstance(rule, str) and rule in UPDATE_RULES:
        return UPDATE_RULES[rule]
    raise ValueError(
        f'Invalid update_rule "{rule}"; expected one of {sorted(UPDATE_RULES)} or a callable '
        f"rule(w, dw, config) -> (next_w, config)"
    )
