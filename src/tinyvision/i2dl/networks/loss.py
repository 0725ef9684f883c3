"""I2DL's loss classes (`exercise_code.networks.loss`), over the losses of `tinyvision.layers`.

Usage as in the exercises::

    loss_func = MSE()
    loss = loss_func.forward(y_out, y_truth)                 # mean over the elements
    per_example = loss_func.forward(y_out, y_truth, reduction="none")
    dout = loss_func.backward(y_out, y_truth)                # d loss / d y_out
    loss, dout = loss_func(y_out, y_truth)

The exercises changed these signatures between years; both spellings work:

- ``reduction="mean" | "sum" | "none"`` (newer) and ``individual_losses=True`` (older, the same
  as ``reduction="none"``);
- `backward` returns the gradient of the loss `forward` computes with the same reduction, so
  for the default "mean" it is divided by the number of elements, as the exercises that say
  "don't forget to divide by N" expect (the years whose backward left that division to the
  Solver are not followed: there the gradient did not match the loss);
- calling the loss object returns ``(loss, gradient)``, as the newer exercises do.

Each forward/backward evaluates the core function once (its loss and gradient come together).
`BCE` takes probabilities (the output of a sigmoid), `CrossEntropyFromLogits` raw scores and
integer labels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyvision.layers import REDUCTIONS, bce_loss, l1_loss, mse_loss, softmax_loss

__all__ = ["BCE", "L1", "MSE", "CrossEntropyFromLogits", "Loss"]

CoreLoss = Callable[..., tuple]


def _reduction(reduction: str | None, individual_losses: bool | None, default: str) -> str:
    """The reduction asked for by either spelling, or default when neither is given."""
    if reduction is not None and individual_losses is not None:
        raise ValueError(
            f"give reduction={reduction!r} or individual_losses={individual_losses!r}, not both"
        )
    if individual_losses is not None:
        return "none" if individual_losses else "mean"
    chosen = default if reduction is None else reduction
    if chosen not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {chosen!r}")
    return chosen


def _float_array(y_out: np.ndarray) -> np.ndarray:
    """y_out as an array of its float dtype (integers become float64)."""
    y_out = np.asarray(y_out)
    return y_out if np.issubdtype(y_out.dtype, np.floating) else y_out.astype(np.float64)


class Loss:
    """Base class: a core loss function with the exercise's forward / backward / __call__."""

    core: CoreLoss

    def __init__(self, reduction: str = "mean") -> None:
        """reduction: what forward and backward use when a call names none ("mean", "sum",
        "none")."""
        self.reduction = _reduction(reduction, None, "mean")

    def _check(self, y_out: np.ndarray, y_truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """y_out as a float array and y_truth with y_out's shape (no silent broadcasting)."""
        y_out, y_truth = _float_array(y_out), np.asarray(y_truth)
        if y_truth.shape != y_out.shape:
            raise ValueError(
                f"y_truth has shape {y_truth.shape} but y_out has {y_out.shape}; give one target "
                "per prediction (e.g. y_truth.reshape(y_out.shape))"
            )
        return y_out, y_truth

    def _evaluate(self, y_out: np.ndarray, y_truth: np.ndarray, reduction: str) -> tuple:
        """(loss, gradient) of the core function for checked inputs."""
        return type(self).core(*self._check(y_out, y_truth), reduction=reduction)

    def forward(
        self,
        y_out: np.ndarray,
        y_truth: np.ndarray,
        reduction: str | None = None,
        individual_losses: bool | None = None,
    ) -> np.floating | np.ndarray:
        """The loss.

        y_out: predictions, any shape, float
        y_truth: targets, y_out's shape
        reduction: "mean", "sum" or "none"; None uses self.reduction
        individual_losses: the older spelling: True is reduction="none", False "mean"
        returns a scalar, or the loss of every element for "none"
        """
        chosen = _reduction(reduction, individual_losses, self.reduction)
        return self._evaluate(y_out, y_truth, chosen)[0]

    def backward(
        self, y_out: np.ndarray, y_truth: np.ndarray, reduction: str | None = None
    ) -> np.ndarray:
        """Gradient of forward(y_out, y_truth, reduction) with respect to y_out.

        y_out, y_truth, reduction: as in forward ("none" gives each element's own derivative)
        returns an array of y_out's shape and float dtype
        """
        return self._evaluate(y_out, y_truth, _reduction(reduction, None, self.reduction))[1]

    def __call__(
        self,
        y_out: np.ndarray,
        y_truth: np.ndarray,
        reduction: str | None = None,
        individual_losses: bool | None = None,
    ) -> tuple[np.floating | np.ndarray, np.ndarray]:
        """(forward(...), backward(...)) from one evaluation; arguments as in forward."""
        chosen = _reduction(reduction, individual_losses, self.reduction)
        return self._evaluate(y_out, y_truth, chosen)


class L1(Loss):
    """Absolute error |y_out - y_truth| (subgradient 0 where they are equal)."""

    core = staticmethod(l1_loss)


class MSE(Loss):
    """Squared error (y_out - y_truth)^2."""

    core = staticmethod(mse_loss)


class BCE(Loss):
    """Binary cross-entropy of probabilities y_out in [0, 1] against targets in [0, 1]."""

    core = staticmethod(bce_loss)


class CrossEntropyFromLogits(Loss):
    """Softmax cross-entropy of raw scores y_out (N, C) against integer labels y_truth (N,).

    "mean" averages over the N examples and "none" gives the (N,) per-example losses; the
    gradient always has y_out's shape (N, C).
    """

    core = staticmethod(softmax_loss)

    def _check(self, y_out: np.ndarray, y_truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Labels are (N,) against (N, C) scores; softmax_loss checks them (and says how to fix).
        return _float_array(y_out), np.asarray(y_truth)
