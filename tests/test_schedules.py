"""Learning-rate schedules against independently written formulas, and their validation."""

from __future__ import annotations

import math

import pytest

from tinyvision.schedules import (
    CosineAnnealing,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    StepDecay,
    named_schedule,
)

TS = range(0, 25)


def test_step_decay_matches_solver_lr_decay():
    # The Solver multiplies by lr_decay at each epoch end: lr_e = lr * decay**e.
    sched = StepDecay(0.1, 0.5)
    lr = 0.1
    for epoch in TS:
        assert sched(epoch) == pytest.approx(lr, rel=1e-14)
        lr *= 0.5


def test_step_decay_with_step_size():
    sched = StepDecay(1.0, 0.1, step_size=3)
    expected = [1.0] * 3 + [0.1] * 3 + [0.01] * 3
    assert [sched(t) for t in range(9)] == pytest.approx(expected, rel=1e-14)


def test_exponential():
    sched = ExponentialDecay(0.2, 0.9, unit="iteration")
    for t in TS:
        assert sched(t) == pytest.approx(0.2 * math.exp(t * math.log(0.9)), rel=1e-12)
    assert sched.unit == "iteration"


def test_inverse_time():
    sched = InverseTimeDecay(0.5, decay_rate=2.0, decay_steps=4)
    assert sched(0) == 0.5
    assert sched(4) == pytest.approx(0.5 / 3)
    for t in TS:
        assert 1 / sched(t) == pytest.approx((1 + 2.0 * t / 4) / 0.5, rel=1e-12)


def test_cosine_annealing():
    sched = CosineAnnealing(1.0, total=10, min_lr=0.1)
    assert sched(0) == pytest.approx(1.0)
    assert sched(5) == pytest.approx(0.55)  # halfway: the mean of base and min
    assert sched(10) == pytest.approx(0.1)
    assert sched(17) == pytest.approx(0.1)  # held at min_lr after total
    for t in range(11):
        expected = 0.1 + 0.9 * math.cos(math.pi * t / 20) ** 2  # (1 + cos x) / 2 = cos^2(x/2)
        assert sched(t) == pytest.approx(expected, rel=1e-12)
    values = [sched(t) for t in range(11)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_linear_warmup_then_shifted_schedule():
    after = ExponentialDecay(0.4, 0.5, unit="iteration")
    sched = LinearWarmup(after, warmup=4)
    assert sched.unit == "iteration"
    assert [sched(t) for t in range(4)] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert [sched(t) for t in range(4, 7)] == pytest.approx([0.4, 0.2, 0.1])


def test_linear_warmup_start_factor_and_plain_function():
    sched = LinearWarmup(lambda t: 1.0, warmup=2, start_factor=0.5)
    assert sched.unit == "epoch"
    assert [sched(t) for t in range(4)] == pytest.approx([0.5, 0.75, 1.0, 1.0])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: StepDecay(-0.1, 0.5), "base_lr"),
        (lambda: StepDecay(0.1, 1.5), "decay"),
        (lambda: StepDecay(0.1, 0.5, step_size=0), "step_size"),
        (lambda: ExponentialDecay(0.1, 0.0), "gamma"),
        (lambda: ExponentialDecay(0.1, 0.9, unit="batch"), "unit"),
        (lambda: InverseTimeDecay(0.1, -1.0), "decay_rate"),
        (lambda: CosineAnnealing(0.1, total=0), "total"),
        (lambda: CosineAnnealing(0.1, total=5, min_lr=0.2), "min_lr"),
        (lambda: LinearWarmup(StepDecay(0.1, 0.5), warmup=0), "warmup"),
        (lambda: LinearWarmup(0.1, warmup=3), "after"),
        (lambda: StepDecay(0.1, 0.5)(-1), "t must be >= 0"),
    ],
)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_named_schedules():
    assert named_schedule("step", 0.1, 100) is None
    cosine = named_schedule("cosine", 0.1, 100)
    assert cosine.unit == "iteration"
    assert cosine(0) == pytest.approx(0.1, rel=1e-14)
    assert cosine(50) == pytest.approx(0.05, rel=1e-12)
    assert cosine(100) == 0.0
    with pytest.raises(ValueError, match="schedule must be one of step, cosine, got 'linear'"):
        named_schedule("linear", 0.1, 100)
