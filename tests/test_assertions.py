"""The shared assert_close helper: what it accepts, and what its failure message says."""

import re

import numpy as np
import pytest
from assertions import assert_close


def test_passes_within_the_tolerance_and_fails_just_outside_it():
    expected = np.array([[1.0, -2.0], [0.0, 4.0]])
    # Each element is allowed atol + rtol * |expected|: 1e-3 + 1e-2 * |expected|.
    allowance = 1e-3 + 1e-2 * np.abs(expected)
    assert_close(expected + 0.99 * allowance, expected, rtol=1e-2, atol=1e-3)
    assert_close(expected - 0.99 * allowance, expected, rtol=1e-2, atol=1e-3)
    with pytest.raises(AssertionError):
        assert_close(expected + 1.01 * allowance, expected, rtol=1e-2, atol=1e-3)


def test_failure_names_the_worst_element_its_values_errors_shapes_and_dtypes():
    expected = np.zeros((2, 3, 4))
    actual = expected.astype(np.float32)
    actual[0, 1, 2] = 1e-6  # within atol
    actual[1, 2, 3] = 0.5  # the worst
    actual[1, 0, 0] = 0.25
    with pytest.raises(AssertionError) as failure:
        assert_close(actual, expected, rtol=1e-7, atol=1e-5, name="dx")
    message = str(failure.value)
    assert "(dx)" in message
    assert "2 of 24 elements" in message
    assert "worst at index (1, 2, 3)" in message
    assert "actual 0.5, expected 0.0" in message
    assert "abs error 0.5, rel error inf" in message
    assert "actual shape (2, 3, 4) dtype float32, expected shape (2, 3, 4) dtype float64" in message


def test_the_worst_element_is_judged_against_its_own_allowance():
    # 1.0 off on an expected 1000 is within rtol 1e-2; 0.1 off on an expected 1 is not.
    expected = np.array([1000.0, 1.0])
    with pytest.raises(AssertionError, match=re.escape("worst at index (1,): actual 1.1")):
        assert_close(expected + [1.0, 0.1], expected, rtol=1e-2)


def test_relative_error_is_reported_against_the_expected_value():
    with pytest.raises(AssertionError, match="abs error 0.5, rel error 0.25"):
        assert_close(np.array([2.5]), np.array([2.0]), rtol=1e-3)


def test_different_shapes_fail_without_broadcasting():
    with pytest.raises(AssertionError, match=r"shapes differ: actual shape \(3,\).*\(1, 3\)"):
        assert_close(np.zeros(3), np.zeros((1, 3)), rtol=1, atol=1)


def test_a_scalar_expected_value_is_compared_with_every_element():
    assert_close(np.full((2, 2), 1e-13), 0.0, rtol=0, atol=1e-12)
    with pytest.raises(AssertionError, match=re.escape("worst at index (0, 1)")):
        assert_close(np.array([[0.0, 3.0], [1.0, 0.0]]), 0.0, rtol=0, atol=1e-12)


def test_nans_must_match_and_infinities_must_be_equal():
    assert_close(np.array([np.nan, np.inf, 1.0]), np.array([np.nan, np.inf, 1.0]), rtol=0)
    with pytest.raises(AssertionError, match=re.escape("worst at index (1,): actual nan")):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]), rtol=1)
    with pytest.raises(AssertionError, match=re.escape("worst at index (0,): actual inf")):
        assert_close(np.array([np.inf, 0.0]), np.array([-np.inf, 0.0]), rtol=1)


def test_zero_tolerance_means_exact_equality():
    assert_close(np.arange(5.0), np.arange(5.0), rtol=0)
    with pytest.raises(AssertionError, match=re.escape("index (4,)")):
        assert_close(np.arange(5.0) + [0, 0, 0, 0, 1e-15], np.arange(5.0), rtol=0)
