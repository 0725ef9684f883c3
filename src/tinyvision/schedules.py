"""Learning-rate schedules: small callables mapping a counter t = 0, 1, 2, ... to a learning rate.

A schedule returns the *absolute* learning rate (a Python float), not a factor. Each one counts
either epochs or iterations, chosen by its ``unit`` argument ("epoch", the default, or
"iteration"); the Solver reads ``schedule.unit`` and calls

* ``schedule(epoch)`` once at the start of every epoch (epoch = epochs finished so far), or
* ``schedule(iteration)`` before every update (iteration = updates done so far),

and writes the value into every parameter's ``optim_config["learning_rate"]``. A plain function
``f(t) -> float`` also works and is treated as per-epoch.

``StepDecay(lr, decay)`` with the default ``step_size=1`` gives exactly the learning rates of the
Solver's ``lr_decay=decay`` (lr * decay**epoch).

The schedules of the CS231n notes on annealing the learning rate are all here: step decay
(`StepDecay`, `MultiStepDecay` with PyTorch's milestones), exponential decay, 1/t decay
(`InverseTimeDecay`), inverse square-root decay (`InverseSqrtDecay`) and the cosine; a run
configuration names them through `named_schedule`. `ExponentialRamp` is the rising rate of a
learning-rate range test.
"""

from __future__ import annotations

import bisect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

__all__ = [
    "SCHEDULES",
    "CosineAnnealing",
    "ExponentialDecay",
    "ExponentialRamp",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "MultiStepDecay",
    "Schedule",
    "StepDecay",
    "named_schedule",
]

# The schedules a run configuration can name: "step" is the Solver's own lr_decay per epoch.
SCHEDULES = ("step", "cosine", "inverse-time", "inverse-sqrt", "multistep")

_UNITS = ("epoch", "iteration")


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """Return value as float, or raise ValueError when it is not finite and > 0 (or >= 0)."""
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


def _check_t(t: int) -> int:
    """Return t as an int, or raise ValueError for a negative counter."""
    t = int(t)
    if t < 0:
        raise ValueError(f"the schedule counter t must be >= 0, got {t}")
    return t


class Schedule(ABC):
    """Base class: stores the base learning rate and the unit the counter t measures.

    base_lr: float > 0, the learning rate at t = 0.
    unit: "epoch" or "iteration", what t counts.
    """

    def __init__(self, base_lr: float, unit: str = "epoch") -> None:
        if unit not in _UNITS:
            raise ValueError(f"unit must be one of {_UNITS}, got {unit!r}")
        self.base_lr = _check_positive("base_lr", base_lr)
        self.unit = unit

    def __call__(self, t: int) -> float:
        """Return the learning rate (float) for counter t (int >= 0)."""
        return self.rate(_check_t(t))

    @abstractmethod
    def rate(self, t: int) -> float:
        """The schedule's formula: the learning rate (float) at a validated counter t >= 0."""


class StepDecay(Schedule):
    """lr(t) = base_lr * decay ** (t // step_size): the course Solver's lr_decay when step_size=1.

    base_lr: float > 0; decay: float in [0, 1] multiplied in every step_size counts;
    step_size: int >= 1; unit: "epoch" (default) or "iteration".
    """

    def __init__(
        self, base_lr: float, decay: float, step_size: int = 1, unit: str = "epoch"
    ) -> None:
        super().__init__(base_lr, unit)
        self.decay = _check_positive("decay", decay, allow_zero=True)
        if self.decay > 1:
            raise ValueError(f"decay must be in [0, 1], got {decay!r}")
        if int(step_size) < 1:
            raise ValueError(f"step_size must be an int >= 1, got {step_size!r}")
        self.step_size = int(step_size)

    def rate(self, t: int) -> float:
        return self.base_lr * self.decay ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """lr(t) = base_lr * gamma ** t.

    base_lr: float > 0; gamma: float in (0, 1]; unit: "epoch" (default) or "iteration".
    """

    def __init__(self, base_lr: float, gamma: float, unit: str = "epoch") -> None:
        super().__init__(base_lr, unit)
        self.gamma = _check_positive("gamma", gamma)
        if self.gamma > 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")

    def rate(self, t: int) -> float:
        return self.base_lr * self.gamma**t


class InverseTimeDecay(Schedule):
    """1/t decay: lr(t) = base_lr / (1 + decay_rate * t / decay_steps).

    base_lr: float > 0; decay_rate: float >= 0; decay_steps: float > 0, the counts after which
    the rate has dropped to base_lr / (1 + decay_rate); unit: "epoch" (default) or "iteration".
    """

    def __init__(
        self, base_lr: float, decay_rate: float, decay_steps: float = 1.0, unit: str = "epoch"
    ) -> None:
        super().__init__(base_lr, unit)
        self.decay_rate = _check_positive("decay_rate", decay_rate, allow_zero=True)
        self.decay_steps = _check_positive("decay_steps", decay_steps)

    def rate(self, t: int) -> float:
        return self.base_lr / (1.0 + self.decay_rate * t / self.decay_steps)


class InverseSqrtDecay(Schedule):
    """Inverse square-root decay: lr(t) = base_lr / sqrt(1 + decay_rate * t).

    The 1 under the root keeps lr(0) = base_lr (the bare base_lr / sqrt(t) is infinite at 0);
    with decay_rate = 1 the rate halves by t = 3 and is a tenth by t = 99.

    base_lr: float > 0; decay_rate: float >= 0; unit: "epoch" (default) or "iteration".
    """

    def __init__(self, base_lr: float, decay_rate: float, unit: str = "epoch") -> None:
        super().__init__(base_lr, unit)
        self.decay_rate = _check_positive("decay_rate", decay_rate, allow_zero=True)

    def rate(self, t: int) -> float:
        return self.base_lr / math.sqrt(1.0 + self.decay_rate * t)


class MultiStepDecay(Schedule):
    """lr(t) = base_lr * gamma ** (number of milestones <= t), as torch's MultiStepLR.

    The rate is multiplied by gamma once t reaches each milestone: with milestones (10, 20)
    counts 0-9 use base_lr, 10-19 base_lr * gamma and from 20 on base_lr * gamma**2. A
    milestone given twice applies gamma twice, as in PyTorch.

    base_lr: float > 0; milestones: non-empty sequence of ints >= 1 (any order);
    gamma: float in (0, 1]; unit: "epoch" (default) or "iteration".
    """

    def __init__(
        self, base_lr: float, milestones: Sequence[int], gamma: float = 0.1, unit: str = "epoch"
    ) -> None:
        super().__init__(base_lr, unit)
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise ValueError(f"milestones must be a sequence of ints >= 1, got {milestones!r}")
        if not milestones or any(
            isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in milestones
        ):
            raise ValueError(
                f"milestones must be a non-empty sequence of ints >= 1 (the counts at which the "
                f"rate is multiplied by gamma), got {milestones!r}"
            )
        self.milestones = tuple(sorted(milestones))
        self.gamma = _check_positive("gamma", gamma)
        if self.gamma > 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")

    def rate(self, t: int) -> float:
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialRamp(Schedule):
    """A rate rising exponentially from min_lr to max_lr over num_steps counts, then max_lr.

    lr(t) = min_lr * (max_lr / min_lr) ** (t / (num_steps - 1)) for t < num_steps: equal steps
    on a log axis, the rising rate of a learning-rate range test (one count per update).

    min_lr: float > 0; max_lr: float > min_lr; num_steps: int >= 2;
    unit: "iteration" (default) or "epoch".
    """

    def __init__(
        self, min_lr: float, max_lr: float, num_steps: int, unit: str = "iteration"
    ) -> None:
        super().__init__(min_lr, unit)
        self.max_lr = _check_positive("max_lr", max_lr)
        if self.max_lr <= self.base_lr:
            raise ValueError(f"max_lr ({max_lr!r}) must exceed min_lr ({min_lr!r})")
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 2:
            raise ValueError(f"num_steps must be an int >= 2, got {num_steps!r}")
        self.num_steps = num_steps

    def rate(self, t: int) -> float:
        progress = min(t, self.num_steps - 1) / (self.num_steps - 1)
        return self.base_lr * (self.max_lr / self.base_lr) ** progress


class CosineAnnealing(Schedule):
    """lr(t) = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total)) / 2, then min_lr.

    Half a cosine from base_lr at t = 0 down to min_lr at t = total; constant afterwards
    (no restarts).

    base_lr: float > 0; total: int >= 1 counts to anneal over; min_lr: float in [0, base_lr];
    unit: "epoch" (default) or "iteration".
    """

    def __init__(
        self, base_lr: float, total: int, min_lr: float = 0.0, unit: str = "epoch"
    ) -> None:
        super().__init__(base_lr, unit)
        if int(total) < 1:
            raise ValueError(f"total must be an int >= 1, got {total!r}")
        self.total = int(total)
        self.min_lr = _check_positive("min_lr", min_lr, allow_zero=True)
        if self.min_lr > self.base_lr:
            raise ValueError(f"min_lr ({min_lr!r}) must not exceed base_lr ({base_lr!r})")

    def rate(self, t: int) -> float:
        progress = min(t, self.total) / self.total
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (
            1.0 + math.cos(math.pi * progress)
        )


class LinearWarmup(Schedule):
    """Linear warm-up for `warmup` counts, then the wrapped schedule (shifted to start at 0).

    lr(t) = after(0) * (start_factor + (1 - start_factor) * t / warmup)   for t < warmup
    lr(t) = after(t - warmup)                                            for t >= warmup

    after: a Schedule (or a function t -> lr); its unit is used, functions count epochs.
    warmup: int >= 1 counts of warm-up; start_factor: float in [0, 1], the fraction of
    after(0) used at t = 0.
    """

    def __init__(
        self, after: Schedule | Callable[[int], float], warmup: int, start_factor: float = 0.0
    ) -> None:
        if not callable(after):
            raise ValueError(f"after must be a schedule or a function t -> lr, got {after!r}")
        self.after = after
        self.unit = getattr(after, "unit", "epoch")
        self.base_lr = float(after(0))
        if int(warmup) < 1:
            raise ValueError(f"warmup must be an int >= 1, got {warmup!r}")
        self.warmup = int(warmup)
        self.start_factor = _check_positive("start_factor", start_factor, allow_zero=True)
        if self.start_factor > 1:
            raise ValueError(f"start_factor must be in [0, 1], got {start_factor!r}")

    def rate(self, t: int) -> float:
        if t >= self.warmup:
            return float(self.after(t - self.warmup))
        fraction = self.start_factor + (1.0 - self.start_factor) * t / self.warmup
        return self.base_lr * fraction


def named_schedule(
    name: str,
    base_lr: float,
    iterations: int,
    *,
    decay_k: float = 1.0,
    milestones: Sequence[int] | None = None,
    gamma: float = 0.1,
) -> Schedule | None:
    """The Solver's lr_schedule for a configuration's schedule name.

    name: one of SCHEDULES:
        "step": None, the Solver multiplies the rate by its lr_decay after every epoch;
        "cosine": half a cosine from base_lr down to 0, one step per update;
        "inverse-time": base_lr / (1 + decay_k * epoch), the notes' 1/t decay;
        "inverse-sqrt": base_lr / sqrt(1 + decay_k * epoch);
        "multistep": base_lr * gamma ** (milestones <= epoch), torch's MultiStepLR.
    base_lr: float > 0, the rate at the start
    iterations: total number of updates of the run (the cosine's length)
    decay_k: float >= 0, k of inverse-time and inverse-sqrt (per epoch)
    milestones: epochs at which multistep multiplies the rate by gamma (needed by multistep)
    gamma: float in (0, 1], multistep's factor
    """
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")
    if name == "step":
        return None
    if name == "cosine":
        return CosineAnnealing(base_lr, max(int(iterations), 1), unit="iteration")
    if name == "inverse-time":
        return InverseTimeDecay(base_lr, decay_k)
    if name == "inverse-sqrt":
        return InverseSqrtDecay(base_lr, decay_k)
    if milestones is None:
        raise ValueError(
            "the multistep schedule needs milestones, the epochs at which the rate is "
            "multiplied by gamma: e.g. --milestones 10,20 (milestones=(10, 20))"
        )
    return MultiStepDecay(base_lr, tuple(milestones), gamma)
