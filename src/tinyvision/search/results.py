"""What a finished search reports: its trials as a table, sorted by validation accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["TrialRow", "best_trial", "trial_rows"]


@dataclass(frozen=True)
class TrialRow:
    """One trial of the study, as the table shows it.

    number: Optuna's trial number; state: complete, pruned, fail or running
    val_acc: the accuracy it returned (complete) or last reported (pruned); None otherwise
    params: the searched settings it drew, as Optuna stores them
    reason: why a failed or pruned trial stopped ("" otherwise)
    val_acc_std: with folds (k-fold or leave-one-out), the standard deviation of the folds'
        validation accuracies around val_acc, their mean; None otherwise
    """

    number: int
    state: str
    val_acc: float | None
    train_acc: float | None
    epochs: int | None
    seconds: float | None
    params: dict[str, Any]
    reason: str
    val_acc_std: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _val_acc(trial: Any) -> float | None:
    if trial.value is not None:
        return float(trial.value)
    if trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return None


def _reason(trial: Any) -> str:
    state = trial.state.name.lower()
    if state == "fail":
        return str(
            trial.user_attrs.get("fail_reason")
            or trial.system_attrs.get("fail_reason")
            or "the worker stopped without reporting (killed?)"
        )
    if state == "pruned" and trial.intermediate_values:
        return f"pruned after epoch {max(trial.intermediate_values)}"
    return ""


def trial_rows(study: Any) -> list[TrialRow]:
    """Every trial of study: completed ones by validation accuracy (best first), then pruned
    ones by their last accuracy, then failed and running ones by number."""
    order = {"complete": 0, "pruned": 1, "fail": 2}
    rows = [
        TrialRow(
            number=t.number,
            state=t.state.name.lower(),
            val_acc=_val_acc(t),
            train_acc=t.user_attrs.get("train_acc"),
            epochs=t.user_attrs.get("epochs_run")
            or (max(t.intermediate_values) if t.intermediate_values else None),
            seconds=t.user_attrs.get("seconds"),
            params=dict(t.params),
            reason=_reason(t),
            val_acc_std=t.user_attrs.get("val_acc_std"),
        )
        for t in study.get_trials(deepcopy=False)
    ]

    def key(row: TrialRow) -> tuple:
        acc = row.val_acc if row.val_acc is not None and math.isfinite(row.val_acc) else -1.0
        return (order.get(row.state, 3), -acc, row.number)

    return sorted(rows, key=key)


def best_trial(study: Any) -> Any:
    """The study's best completed trial (Optuna's own choice).

    raises ValueError when no trial completed, saying how they ended
    """
    import optuna

    complete = study.get_trials(False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        states = [t.state.name.lower() for t in study.get_trials(deepcopy=False)]
        counts = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states))) or "none"
        raise ValueError(
            f"no trial of the search completed (trials: {counts}); widen or lower the ranges "
            "(e.g. smaller learning rates), or run more trials"
        )
    return study.best_trial
