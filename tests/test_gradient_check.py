"""The checking tools themselves: exact on functions whose gradients we know in closed form."""

import numpy as np
import pytest

from tinyvision.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    eval_numerical_gradient_blobs,
    grad_check_sparse,
    rel_error,
)


def test_rel_error_is_zero_for_equal_and_one_for_opposite():
    x = np.array([1.0, -2.0, 3.0])
    assert rel_error(x, x) == 0.0
    assert rel_error(x, -x) == pytest.approx(1.0)


def test_numerical_gradient_of_quadratic_matches_closed_form():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = eval_numerical_gradient(lambda v: float(v @ A @ v), x, verbose=False)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8


def test_input_is_restored_after_every_probe():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2))
    original = x.copy()
    eval_numerical_gradient(lambda v: float(np.sum(np.sin(v))), x, verbose=False)
    eval_numerical_gradient_array(lambda v: np.tanh(v), x, np.ones_like(x))
    np.testing.assert_array_equal(x, original)


def test_array_gradient_perturbs_in_place_for_lambdas_that_ignore_their_argument():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    w = rng.standard_normal((3, 4))
    dout = rng.standard_normal((2, 4))
    dx = eval_numerical_gradient_array(lambda _: x @ w, x, dout)
    assert rel_error(dx, dout @ w.T) < 1e-9


def test_blobs_gradient_of_elementwise_product():
    class Blob:
        def __init__(self, vals):
            self.vals = vals
            self.diffs = np.zeros_like(vals)

    rng = np.random.default_rng(3)
    a, b = Blob(rng.standard_normal(5)), Blob(rng.standard_normal(5))
    out = Blob(np.zeros(5))
    out.diffs = rng.standard_normal(5)

    def multiply(a_blob, b_blob, out_blob):
        out_blob.vals = a_blob.vals * b_blob.vals

    da, db = eval_numerical_gradient_blobs(multiply, [a, b], out)
    assert rel_error(da, out.diffs * b.vals) < 1e-9
    assert rel_error(db, out.diffs * a.vals) < 1e-9


def test_grad_check_sparse_reports_small_errors_for_right_and_large_for_wrong_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3))

    def f(v):
        return float(np.sum(v**3))

    good = grad_check_sparse(f, x, 3 * x**2, num_checks=5, seed=0)
    bad = grad_check_sparse(f, x, 2 * x**2, num_checks=5, seed=0)
    assert max(good) < 1e-8
    assert min(bad) > 0.1


def test_grad_check_sparse_rejects_mismatched_gradient_shape():
    with pytest.raises(ValueError, match="shape"):
        grad_check_sparse(lambda v: 0.0, np.zeros((2, 2)), np.zeros(3))


def test_course_printouts_reach_stdout_without_logging_set_up(capsys):
    x = np.array([1.0, 2.0])

    def f(v):
        return float(np.sum(v**2))

    eval_numerical_gradient(f, x, verbose=True)
    errors = grad_check_sparse(f, x, 2 * x, num_checks=3, seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["(0,)", "(1,)"]
    printed = np.array([float(line.split()[1]) for line in lines[:2]])
    assert rel_error(printed, 2 * x) < 1e-8
    assert len(lines) == 2 + len(errors)
    assert all(line.startswith("numerical: ") and "relative error" in line for line in lines[2:])


def test_silent_when_not_verbose(capsys):
    x = np.array([1.0, 2.0])
    eval_numerical_gradient(lambda v: float(np.sum(v)), x, verbose=False)
    grad_check_sparse(lambda v: float(np.sum(v)), x, np.ones(2), num_checks=2, verbose=False)
    assert capsys.readouterr().out == ""
