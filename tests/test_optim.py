"""Update rules: course defaults, state handling, and equality with torch.optim step by step.

Every rule is run for several steps on the same float64 gradient sequence as its torch.optim
counterpart; the weights must agree to 1e-12 relative error (the rounding of the different
but algebraically equal orders of operations).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyvision import optim
from tinyvision.gradient_check import rel_error

STEPS = 6
SHAPE = (4, 5)


def _grads(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(SHAPE) for _ in range(STEPS)]


def _run_ours(rule, config: dict, w0: np.ndarray, grads: list[np.ndarray]) -> list[np.ndarray]:
    w, out = w0.copy(), []
    for dw in grads:
        w, config = rule(w, dw, config)
        out.append(w)
    return out


def _run_torch(make_opt, w0: np.ndarray, grads: list[np.ndarray]) -> list[np.ndarray]:
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = make_opt([w])
    out = []
    for dw in grads:
        w.grad = torch.tensor(dw, dtype=torch.float64)
        opt.step()
        out.append(w.detach().numpy().copy())
    return out


# (our rule, our config, torch optimiser factory); the same hyperparameters on both sides.
CASES = {
    "sgd": (optim.sgd, {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (
        optim.sgd_momentum,
        {"learning_rate": 0.1, "momentum": 0.9},
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    "nesterov_momentum": (
        optim.nesterov_momentum,
        {"learning_rate": 0.1, "momentum": 0.8},
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True),
    ),
    "adagrad": (
        optim.adagrad,
        {"learning_rate": 0.1, "epsilon": 1e-8},
        lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-8, initial_accumulator_value=0.0),
    ),
    "rmsprop": (
        optim.rmsprop,
        {"learning_rate": 0.01, "decay_rate": 0.99, "epsilon": 1e-8},
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8),
    ),
    "adam": (
        optim.adam,
        {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
    ),
    "adamw": (
        optim.adamw,
        {"learning_rate": 0.01, "weight_decay": 0.1},
        lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_matches_torch_step_by_step(name):
    rule, config, make_opt = CASES[name]
    w0 = np.random.default_rng(1).standard_normal(SHAPE)
    grads = _grads()
    ours = _run_ours(rule, dict(config), w0, grads)
    theirs = _run_torch(make_opt, w0, grads)
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert rel_error(a, b) < 1e-12, f"{name} step {step}: rel_error {rel_error(a, b)}"
    # the rule must actually move the weights, or the comparison proves nothing
    assert rel_error(ours[-1], w0) > 1e-3


@pytest.mark.parametrize(
    ("name", "defaults"),
    [
        ("sgd", {"learning_rate": 1e-2}),
        ("sgd_momentum", {"learning_rate": 1e-2, "momentum": 0.9}),
        ("nesterov_momentum", {"learning_rate": 1e-2, "momentum": 0.9}),
        ("adagrad", {"learning_rate": 1e-2, "epsilon": 1e-8}),
        ("rmsprop", {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
        ("adam", {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
        (
            "adamw",
            {
                "learning_rate": 1e-3,
                "beta1": 0.9,
                "beta2": 0.999,
                "epsilon": 1e-8,
                "weight_decay": 1e-2,
            },
        ),
    ],
)
def test_course_defaults_filled_in(name, defaults):
    rule = optim.UPDATE_RULES[name]
    w = np.ones(3)
    _, config = rule(w, np.ones(3), None)
    for key, value in defaults.items():
        assert config[key] == value, key
    # user values win over defaults (setdefault)
    _, config = rule(w, np.ones(3), {"learning_rate": 0.5})
    assert config["learning_rate"] == 0.5


def test_sgd_formula_and_inputs_untouched():
    rng = np.random.default_rng(0)
    w, dw = rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)
    w_before, dw_before = w.copy(), dw.copy()
    next_w, _ = optim.sgd(w, dw, {"learning_rate": 0.3})
    np.testing.assert_array_equal(next_w, w_before - 0.3 * dw_before)
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_array_equal(dw, dw_before)


def test_momentum_updates_config_in_place_like_the_course():
    # The course notebook reads config["velocity"] after the call and ignores the return.
    rng = np.random.default_rng(2)
    w, dw, v = (rng.standard_normal(SHAPE) for _ in range(3))
    config = {"learning_rate": 1e-3, "velocity": v.copy()}
    next_w, _ = optim.sgd_momentum(w, dw, config=config)
    expected_v = 0.9 * v - 1e-3 * dw
    assert rel_error(config["velocity"], expected_v) < 1e-15
    assert rel_error(next_w, w + expected_v) < 1e-15


def test_adam_increments_t_first_and_bias_corrects():
    rng = np.random.default_rng(3)
    w, dw = rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)
    next_w, config = optim.adam(w, dw, {"learning_rate": 0.1})
    assert config["t"] == 1
    # After one step the corrected moments are dw and dw**2, so the step is lr * sign(dw).
    expected = w - 0.1 * dw / (np.abs(dw) + 1e-8)
    assert rel_error(next_w, expected) < 1e-12
    _, config = optim.adam(next_w, dw, config)
    assert config["t"] == 2


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_created_lazily_in_w_dtype(name, dtype):
    rule = optim.UPDATE_RULES[name]
    w = np.ones(SHAPE, dtype=dtype)
    dw = np.full(SHAPE, 0.5, dtype=dtype)
    next_w, config = rule(w, dw, {})
    assert next_w.dtype == dtype
    for value in config.values():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype and value.shape == SHAPE
    next_w, _ = rule(next_w, dw, config)
    assert next_w.dtype == dtype


def test_existing_state_is_not_replaced():
    v = np.full(SHAPE, 2.0)
    config = {"learning_rate": 0.0, "velocity": v}
    next_w, config = optim.sgd_momentum(np.zeros(SHAPE), np.zeros(SHAPE), config)
    np.testing.assert_array_equal(config["velocity"], 0.9 * v)
    np.testing.assert_array_equal(next_w, 0.9 * v)


@pytest.mark.parametrize(
    ("name", "config", "match"),
    [
        ("sgd", {"learning_rate": -1.0}, "learning_rate"),
        ("sgd", {"learning_rate": float("nan")}, "learning_rate"),
        ("sgd_momentum", {"momentum": 1.0}, "momentum"),
        ("nesterov_momentum", {"momentum": -0.1}, "momentum"),
        ("rmsprop", {"decay_rate": 1.5}, "decay_rate"),
        ("adagrad", {"epsilon": -1e-8}, "epsilon"),
        ("adam", {"beta1": 1.0}, "beta1"),
        ("adam", {"beta2": -0.5}, "beta2"),
        ("adamw", {"weight_decay": -1e-2}, "weight_decay"),
        ("adam", {"learning_rate": "fast"}, r"must be a finite number >= 0, got 'fast' \(str\)"),
    ],
)
def test_bad_hyperparameters_raise(name, config, match):
    with pytest.raises(ValueError, match=match):
        optim.UPDATE_RULES[name](np.ones(3), np.ones(3), config)


def test_get_update_rule():
    assert optim.get_update_rule("adam") is optim.adam

    def custom(w, dw, config=None):
        return w, config

    assert optim.get_update_rule(custom) is custom
    with pytest.raises(ValueError, match='Invalid update_rule "adamm"'):
        optim.get_update_rule("adamm")


@settings(max_examples=20, deadline=None)
@given(
    lr=st.floats(1e-4, 0.5),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    weight_decay=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
)
def test_adamw_matches_torch_for_any_hyperparameters(lr, beta1, beta2, weight_decay, seed):
    config = {"learning_rate": lr, "beta1": beta1, "beta2": beta2, "weight_decay": weight_decay}
    w0 = np.random.default_rng(seed).standard_normal(SHAPE)
    grads = _grads(seed)
    ours = _run_ours(optim.adamw, config, w0, grads)
    theirs = _run_torch(
        lambda p: torch.optim.AdamW(
            p, lr=lr, betas=(beta1, beta2), eps=1e-8, weight_decay=weight_decay
        ),
        w0,
        grads,
    )
    assert rel_error(ours[-1], theirs[-1]) < 1e-11


# torch refuses nesterov=True with momentum 0, hence the lower bound.
@settings(max_examples=20, deadline=None)
@given(lr=st.floats(1e-4, 0.5), momentum=st.floats(0.01, 0.99), seed=st.integers(0, 2**16))
def test_nesterov_matches_torch_for_any_hyperparameters(lr, momentum, seed):
    w0 = np.random.default_rng(seed).standard_normal(SHAPE)
    grads = _grads(seed)
    ours = _run_ours(
        optim.nesterov_momentum, {"learning_rate": lr, "momentum": momentum}, w0, grads
    )
    theirs = _run_torch(
        lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum, nesterov=True), w0, grads
    )
    assert rel_error(ours[-1], theirs[-1]) < 1e-11
