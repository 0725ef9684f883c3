"""The boundary validators: what they accept and return, and messages that name the argument,
what was expected, and the value that came with its type."""

import math
import re

import numpy as np
import pytest

from tinyvision import nn
from tinyvision.classifiers.fc_net import TwoLayerNet
from tinyvision.data.loader import DataLoader
from tinyvision.optim import validate_config
from tinyvision.validation import (
    check_finite,
    check_in_range,
    check_int,
    check_non_negative,
    check_non_negative_int,
    check_positive,
    check_positive_int,
    check_probability,
)


def message_of(check, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        check(*args, **kwargs)
    return str(info.value)


# ----------------------------------------------------------------------------- integers


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(1), 10**12])
def test_positive_int_accepts_ints_and_returns_a_python_int(value):
    out = check_positive_int(value, "n")
    assert out == value and type(out) is int


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0 (int)"),
        (-3, "-3 (int)"),
        (2.5, "2.5 (float)"),
        (3.0, "3.0 (float)"),
        (True, "True (bool)"),
        ("4", "'4' (str)"),
        (None, "None (NoneType)"),
        (np.int64(-1), f"{np.int64(-1)!r} (int64)"),
    ],
)
def test_positive_int_message_names_argument_expectation_and_value(value, shown):
    message = message_of(check_positive_int, value, "hidden_dim")
    assert message == f"hidden_dim must be a positive integer, got {shown}"


def test_non_negative_int_accepts_zero_and_says_non_negative():
    assert check_non_negative_int(0, "padding") == 0
    assert message_of(check_non_negative_int, -1, "padding") == (
        "padding must be a non-negative integer, got -1 (int)"
    )


def test_check_int_with_other_minimum_and_no_minimum():
    assert check_int(-5, "offset") == -5
    assert check_int(3, "layers", 2) == 3
    assert message_of(check_int, 1, "layers", 2) == "layers must be an integer >= 2, got 1 (int)"
    assert message_of(check_int, 1.5, "offset") == "offset must be an integer, got 1.5 (float)"


def test_allow_float_takes_integral_floats_only():
    out = check_positive_int(3.0, "batch_size", allow_float=True)
    assert out == 3 and type(out) is int
    assert check_non_negative_int(np.float32(0.0), "num_val", allow_float=True) == 0
    for bad in (2.5, math.inf, math.nan, 0.0):
        message = message_of(check_positive_int, bad, "batch_size", allow_float=True)
        assert message.startswith("batch_size must be a positive integer, got ")
        assert message.endswith(f"{bad!r} (float)")


def test_allow_none():
    assert check_positive_int(None, "max_train", allow_none=True) is None
    assert message_of(check_positive_int, 0, "max_train", allow_none=True) == (
        "max_train must be a positive integer or None, got 0 (int)"
    )


def test_hint_is_appended():
    message = message_of(check_positive_int, 0, "num_layer", hint="it counts the Linear layers")
    assert message == (
        "num_layer must be a positive integer, got 0 (int); it counts the Linear layers"
    )


# -------------------------------------------------------------------------------- reals


@pytest.mark.parametrize("value", [0, 0.0, 1e-12, 3, np.float32(2.5), np.int64(4)])
def test_non_negative_accepts_and_returns_a_float(value):
    out = check_non_negative(value, "reg")
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (-0.1, "-0.1 (float)"),
        (-1, "-1 (int)"),
        (math.inf, "inf (float)"),
        (math.nan, "nan (float)"),
        ("0.1", "'0.1' (str)"),
        (False, "False (bool)"),
        (np.float64(-2.0), f"{np.float64(-2.0)!r} (float64)"),
    ],
)
def test_non_negative_message(value, shown):
    message = message_of(check_non_negative, value, "reg")
    assert message == f"reg must be a finite number >= 0, got {shown}"


def test_positive_excludes_zero():
    assert check_positive(1e-9, "lr_decay") == 1e-9
    assert message_of(check_positive, 0.0, "lr_decay") == (
        "lr_decay must be a finite number > 0, got 0.0 (float)"
    )


def test_finite_rejects_inf_nan_and_non_numbers():
    assert check_finite(-1e300, "shift") == -1e300
    for bad, shown in ((math.inf, "inf (float)"), (math.nan, "nan (float)"), ([1], "[1] (list)")):
        expected = f"shift must be a finite number, got {shown}"
        assert message_of(check_finite, bad, "shift") == expected


@pytest.mark.parametrize(
    ("kwargs", "inside", "outside", "interval"),
    [
        ({}, [0.0, 0.5, 1.0], [-1e-9, 1.0 + 1e-9], "[0, 1]"),
        ({"low_open": True}, [1e-9, 1.0], [0.0], "(0, 1]"),
        ({"high_open": True}, [0.0, 0.999], [1.0], "[0, 1)"),
        ({"low_open": True, "high_open": True}, [0.5], [0.0, 1.0], "(0, 1)"),
    ],
)
def test_in_range_bounds(kwargs, inside, outside, interval):
    for value in inside:
        assert check_in_range(value, "beta1", 0, 1, **kwargs) == value
    for value in [*outside, math.nan]:
        message = message_of(check_in_range, value, "beta1", 0, 1, **kwargs)
        assert message == f"beta1 must be in {interval}, got {value!r} (float)"


def test_in_range_with_one_bound_says_finite():
    assert message_of(check_in_range, math.inf, "epsilon", 0.0) == (
        "epsilon must be a finite number >= 0, got inf (float)"
    )
    assert message_of(check_in_range, 3, "t", high=2, high_open=True) == (
        "t must be a finite number < 2, got 3 (int)"
    )


def test_probability_end_points():
    assert check_probability(0, "momentum") == 0.0
    assert check_probability(1, "momentum") == 1.0
    message = message_of(check_probability, 0, "keep", allow_zero=False, hint="use 1 for none")
    assert message == "keep must be in (0, 1], got 0 (int); use 1 for none"
    message = message_of(check_probability, 1.0, "momentum", allow_one=False)
    assert message == "momentum must be in [0, 1), got 1.0 (float)"


# ------------------------------------------------------------------- at the entry points


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: nn.Linear(3, 0), "out_features must be a positive integer, got 0 (int)"),
        (
            lambda: TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=2, reg=-1.0),
            "reg must be a finite number >= 0, got -1.0 (float)",
        ),
        (
            lambda: DataLoader([1, 2, 3], batch_size=1.5),
            "batch_size must be a positive integer, got 1.5 (float)",
        ),
        (
            lambda: validate_config({"momentum": 1.0}),
            "optim config 'momentum' must be in [0, 1), got 1.0 (float); "
            "pass a value in that range in optim_config",
        ),
    ],
)
def test_entry_points_use_these_messages(build, expected):
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        build()
