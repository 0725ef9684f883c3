"""Learning-rate schedules against independently written formulas, and their validation."""

from __future__ import annotations

import math

import pytest
import torch

from tinyvision.schedules import (
    CosineAnnealing,
    ExponentialDecay,
    ExponentialRamp,
    InverseSqrtDecay,
    InverseTimeDecay,
    LinearWarmup,
    MultiStepDecay,
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
    names = "step, cosine, inverse-time, inverse-sqrt, multistep"
    with pytest.raises(ValueError, match=f"schedule must be one of {names}, got 'linear'"):
        named_schedule("linear", 0.1, 100)


def _torch_rates(make_scheduler, base_lr, epochs):
    """The learning rate torch uses in each epoch: read before scheduler.step() at its end."""
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("milestones", [(3, 7), (7, 3, 12), (5, 5, 9), (1,)])
def test_multistep_equals_torch_multistep_lr(milestones):
    expected = _torch_rates(
        lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, list(milestones), gamma=0.3),
        0.2,
        20,
    )
    sched = MultiStepDecay(0.2, milestones, gamma=0.3)
    assert [sched(t) for t in range(20)] == pytest.approx(expected, rel=1e-12)
    assert sched.unit == "epoch"


@pytest.mark.parametrize("k", [0.0, 0.5, 3.0])
def test_inverse_time_and_sqrt_equal_torch_lambda_lr(k):
    named = named_schedule("inverse-time", 0.1, 1000, decay_k=k)
    expected = _torch_rates(
        lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (1 + k * e)), 0.1, 15
    )
    assert [named(t) for t in range(15)] == pytest.approx(expected, rel=1e-12)
    named = named_schedule("inverse-sqrt", 0.1, 1000, decay_k=k)
    expected = _torch_rates(
        lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (1 + k * e) ** -0.5), 0.1, 15
    )
    assert [named(t) for t in range(15)] == pytest.approx(expected, rel=1e-12)
    assert named.unit == "epoch"


def test_inverse_sqrt_halves_by_three_and_reaches_a_tenth_by_ninety_nine():
    sched = InverseSqrtDecay(1.0, decay_rate=1.0)
    assert sched(0) == 1.0 and sched(3) == pytest.approx(0.5) and sched(99) == pytest.approx(0.1)


def test_named_multistep_needs_milestones_and_passes_gamma():
    with pytest.raises(ValueError, match="needs milestones.*--milestones 10,20"):
        named_schedule("multistep", 0.1, 100)
    sched = named_schedule("multistep", 0.1, 100, milestones=(2,), gamma=0.5)
    assert [sched(t) for t in range(4)] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_exponential_ramp_rises_by_equal_factors_to_max_lr():
    ramp = ExponentialRamp(1e-4, 1.0, num_steps=5)
    assert ramp.unit == "iteration"
    assert [ramp(t) for t in range(7)] == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1, 1, 1])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MultiStepDecay(0.1, ()), "non-empty sequence of ints >= 1"),
        (lambda: MultiStepDecay(0.1, (0, 3)), "non-empty sequence of ints >= 1"),
        (lambda: MultiStepDecay(0.1, (2.5,)), "non-empty sequence of ints >= 1"),
        (lambda: MultiStepDecay(0.1, "10,20"), "sequence of ints"),
        (lambda: MultiStepDecay(0.1, (3,), gamma=2.0), "gamma must be in"),
        (lambda: InverseSqrtDecay(0.1, -1.0), "decay_rate"),
        (lambda: ExponentialRamp(1.0, 0.1, 10), "max_lr .* must exceed min_lr"),
        (lambda: ExponentialRamp(0.1, 1.0, 1), "num_steps must be an int >= 2"),
    ],
)
def test_invalid_new_schedule_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
