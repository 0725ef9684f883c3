"""Errors raised at tinyvision's public boundary."""

from __future__ import annotations

__all__ = ["DataError", "TrainingDivergedError"]


class DataError(ValueError):
    """Data that exists but cannot be used: corrupt, truncated, or of the wrong form."""


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the model holds the last good parameters.

    Raised by the Solver (which restores the best parameters seen) and by the linear
    classifiers' own SGD (which keep W at its last value with a finite loss). Also importable
    as `tinyvision.solver.TrainingDivergedError`.

    Attributes: iteration (int, 1-based), loss (float), learning_rate (float or None),
    checkpoint_path (str or None, the last checkpoint written).
    """

    def __init__(
        self,
        iteration: int,
        loss: float,
        learning_rate: float | None,
        checkpoint: str | None = None,
        *,
        kept: str | None = None,
    ) -> None:
        """iteration: the update whose loss was not finite, counted from 1
        loss: that loss
        learning_rate: the learning rate in use then, or None when the update rule has none
        checkpoint: the last checkpoint written, or None
        kept: the sentence saying what the model holds now; None gives the Solver's (the best
            parameters seen, and where the last checkpoint is)
        """
        self.iteration, self.loss = iteration, loss
        self.learning_rate, self.checkpoint_path = learning_rate, checkpoint
        if kept is None:
            where = (
                f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint yet"
            )
            kept = f"The model's parameters were restored to the best ones seen; {where}"
        super().__init__(
            f"Training diverged at iteration {iteration}: loss is {loss} with learning rate "
            f"{learning_rate}. {kept}. Lower the learning rate (try 10x smaller), add warm-up, "
            f"or check the data for NaN/inf values and the model's loss for overflow."
        )
