"""I2DL's optimisers (`exercise_code.networks.optimizer`), over `tinyvision.optim`'s rules.

Two generations of the exercise live in this module, as in the course:

- `Optimizer(model, learning_rate)` with ``step(dw)``: one gradient-descent step on
  ``model.W`` (the logistic-regression exercise);
- `SGD`, `SGDMomentum` and `Adam` ``(model, loss_func, learning_rate, **kwargs)``:
  ``backward(y_pred, y_true)`` runs the loss's and the model's backward passes, and ``step()``
  updates every parameter the model has a gradient for, then clears the gradients.
  ``optim_config={...}`` sets hyperparameters (momentum, beta1, beta2, epsilon).

The update itself is always `tinyvision.optim.sgd`, `sgd_momentum` or `adam`; the per-parameter
configs (hyperparameters and state) live in ``optim_configs`` and the learning rate in each of
them, so ``opt.lr`` reads and writes it everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from tinyvision import optim

__all__ = ["SGD", "Adam", "Optimizer", "SGDMomentum"]


class Optimizer:
    """Full-batch gradient descent on a model's single weight matrix W."""

    def __init__(self, model: Any, learning_rate: float = 5e-5) -> None:
        """model: has a W array attribute (e.g. Classifier); learning_rate: >= 0."""
        self.model = model
        self.lr = learning_rate
        optim.validate_config({"learning_rate": learning_rate}, hint="pass learning_rate >= 0")

    def step(self, dw: np.ndarray) -> None:
        """W <- W - lr * dw. dw: W's shape, the gradient of the loss with respect to W."""
        self.model.W, _ = optim.sgd(self.model.W, dw, {"learning_rate": self.lr})


class _RuleOptimizer:
    """An update rule of tinyvision.optim applied to every parameter of an I2DL model."""

    rule: ClassVar[Callable[..., tuple]]
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(
        self, model: Any, loss_func: Any, learning_rate: float = 1e-4, **kwargs: Any
    ) -> None:
        """model: has params and grads dicts and backward(dout); loss_func: has
        backward(y_pred, y_true); learning_rate: >= 0; kwargs: optim_config (dict)."""
        optim_config = dict(kwargs.pop("optim_config", None) or {})
        if kwargs:
            raise ValueError(
                f"unknown arguments {sorted(kwargs)}; {type(self).__name__} takes model, "
                "loss_func, learning_rate and optim_config={...}"
            )
        self.model = model
        self.loss_func = loss_func
        self.optim_config = {**self.defaults, **optim_config, "learning_rate": learning_rate}
        optim.validate_config(self.optim_config)
        self.optim_configs = {name: dict(self.optim_config) for name in model.params}

    @property
    def lr(self) -> float:
        """The learning rate of every parameter's config."""
        return float(self.optim_config["learning_rate"])

    @lr.setter
    def lr(self, value: float) -> None:
        for config in (self.optim_config, *self.optim_configs.values()):
            config["learning_rate"] = value

    def backward(self, y_pred: np.ndarray, y_true: np.ndarray) -> None:
        """Fill the model's gradients: the loss's gradient, then the model's backward pass."""
        self.model.backward(self.loss_func.backward(y_pred, y_true))

    def step(self) -> None:
        """Update every parameter that has a gradient, then clear the gradients."""
        grads: Mapping[str, np.ndarray] = self.model.grads
        for name, dw in grads.items():
            next_w, config = type(self).rule(self.model.params[name], dw, self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = config
        zero_grad = getattr(self.model, "zero_grad", None)
        if callable(zero_grad):
            zero_grad()
        else:
            # A plain-dict model (the exercises' own networks) gets the exercise's zeros.
            for name in list(grads):
                grads[name] = 0.0


class SGD(_RuleOptimizer):
    """w <- w - lr * dw (tinyvision.optim.sgd)."""

    rule = staticmethod(optim.sgd)


class SGDMomentum(_RuleOptimizer):
    """Momentum SGD, v <- momentum v - lr dw; w <- w + v (tinyvision.optim.sgd_momentum).

    optim_config: momentum (default 0.9)
    """

    rule = staticmethod(optim.sgd_momentum)
    defaults: ClassVar[dict[str, float]] = {"momentum": 0.9}


class Adam(_RuleOptimizer):
    """Adam with bias correction (tinyvision.optim.adam).

    optim_config: beta1 (0.9), beta2 (0.999), epsilon (1e-4, the exercise's default, larger
    than torch's 1e-8)
    """

    rule = staticmethod(optim.adam)
    defaults: ClassVar[dict[str, float]] = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-4}
