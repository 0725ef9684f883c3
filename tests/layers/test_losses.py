"""Losses: independent values, numerical gradients, PyTorch agreement, stability, dtypes."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from assertions import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import log_softmax as scipy_log_softmax
from strategies import scores_and_labels

from tinyvision.gradient_check import eval_numerical_gradient
from tinyvision.layers import (
    bce_loss,
    bce_with_logits_loss,
    l1_loss,
    log_softmax,
    mse_loss,
    softmax_loss,
    svm_loss,
)

# Smooth (or piecewise linear, away from the kinks) losses of O(1) scores: centred differences
# are good to ~1e-10 absolute. torch computes the same sums in float64 in another order.
GRAD = {"rtol": 1e-7, "atol": 1e-10}
TORCH = {"rtol": 1e-10, "atol": 1e-12}


def classification_data(rng, n=6, c=5):
    return rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def regression_data(rng, shape=(4, 3)):
    return rng.standard_normal(shape), rng.standard_normal(shape)


def bce_data(rng, shape=(4, 3)):
    return rng.standard_normal(shape) * 3, rng.uniform(0, 1, size=shape)


def test_svm_loss_matches_an_explicit_loop():
    x, y = classification_data(np.random.default_rng(0))
    expected = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if j != y[i]:
                expected += max(0.0, x[i, j] - x[i, y[i]] + 1)
    loss, _ = svm_loss(x, y)
    assert abs(loss - expected / x.shape[0]) < 1e-12


def test_softmax_loss_matches_direct_formula():
    x, y = classification_data(np.random.default_rng(1))
    probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss, _ = softmax_loss(x, y)
    assert abs(loss + np.log(probs[np.arange(len(y)), y]).mean()) < 1e-12


def test_softmax_loss_of_uniform_scores_is_log_c():
    loss, _ = softmax_loss(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert abs(loss - np.log(10)) < 1e-12


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss])
def test_classification_gradients_match_numerical(loss_fn):
    x, y = classification_data(np.random.default_rng(2))
    _, dx = loss_fn(x, y)
    dx_num = eval_numerical_gradient(lambda _: loss_fn(x, y)[0], x, verbose=False)
    assert_close(dx, dx_num, **GRAD, name="dx")


@pytest.mark.parametrize(
    ("loss_fn", "make_data"),
    [(l1_loss, regression_data), (mse_loss, regression_data), (bce_with_logits_loss, bce_data)],
)
def test_elementwise_gradients_match_numerical(loss_fn, make_data):
    x, y = make_data(np.random.default_rng(3))
    _, dx = loss_fn(x, y)
    dx_num = eval_numerical_gradient(lambda _: loss_fn(x, y)[0], x, verbose=False)
    assert_close(dx, dx_num, **GRAD, name="dx")


def multi_margin_times_c(xt, yt):
    # torch's multi_margin_loss also divides by the number of classes; the course's does not.
    return F.multi_margin_loss(xt, yt, margin=1.0) * xt.shape[1]


TORCH_CASES = {
    "svm": (svm_loss, classification_data, multi_margin_times_c),
    "softmax": (softmax_loss, classification_data, F.cross_entropy),
    "l1": (l1_loss, regression_data, F.l1_loss),
    "mse": (mse_loss, regression_data, F.mse_loss),
    "bce_soft": (bce_with_logits_loss, bce_data, F.binary_cross_entropy_with_logits),
    "bce_hard": (
        bce_with_logits_loss,
        lambda rng: (rng.standard_normal((5, 2)) * 3, rng.integers(0, 2, (5, 2)).astype(float)),
        F.binary_cross_entropy_with_logits,
    ),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch_loss_and_gradient(name):
    loss_fn, make_data, reference = TORCH_CASES[name]
    x, y = make_data(np.random.default_rng(4))
    loss, dx = loss_fn(x, y)

    xt = torch.tensor(x, requires_grad=True)
    loss_t = reference(xt, torch.tensor(y))
    loss_t.backward()
    assert_close(loss, loss_t.item(), **TORCH, name="loss")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")


def test_huge_logits_give_finite_values_without_warnings():
    x = np.array([[1e4, -1e4, 0.0], [-5e3, 5e3, 1e3]])
    y = np.array([1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        softmax_value, softmax_dx = softmax_loss(x, y)
        bce_value, bce_dx = bce_with_logits_loss(x, np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]]))
    # Each example puts its label on a class 2e4 / 1e4 below the best one.
    assert abs(softmax_value - (2e4 + 1e4) / 2) < 1e-9
    assert np.all(np.isfinite(softmax_dx)) and np.all(np.isfinite(bce_dx))
    # Confidently wrong logits cost |logit| each; the 0-logit soft cases cost log 2.
    expected_bce = (1e4 + 1e4 + np.log(2) + 5e3 + 5e3 + 1e3 - 0.5 * 1e3) / 6
    assert abs(bce_value - expected_bce) < 1e-9


def test_bce_with_confident_correct_logits_is_near_zero():
    loss, dx = bce_with_logits_loss(np.array([800.0, -800.0]), np.array([1.0, 0.0]))
    assert loss == 0.0 and np.all(dx == 0.0)


def test_l1_subgradient_is_zero_where_prediction_is_exact():
    _, dx = l1_loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]))
    assert np.array_equal(dx, [0.0, 1 / 3, -1 / 3])


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_float32_in_float32_out(name):
    loss_fn, make_data, _ = TORCH_CASES[name]
    x, y = make_data(np.random.default_rng(5))
    if np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float32)
    loss, dx = loss_fn(x.astype(np.float32), y)
    assert loss.dtype == np.float32 and dx.dtype == np.float32


@settings(max_examples=30, deadline=None)
@given(case=scores_and_labels(), shift=st.floats(-1e3, 1e3))
def test_softmax_loss_properties(case, shift):
    scores, y = case
    loss, dx = softmax_loss(scores, y)
    shifted_loss, shifted_dx = softmax_loss(scores + shift, y)
    assert loss >= 0
    # Adding a constant to every score of an example changes nothing.
    assert abs(shifted_loss - loss) < 1e-9 * max(1.0, loss)
    assert_close(shifted_dx, dx, rtol=1e-5, atol=1e-12, name="dx of shifted scores")
    # Each row of dx is (probabilities - one-hot) / N, so it sums to 0.
    assert_close(dx.sum(axis=1), 0.0, rtol=0, atol=1e-12, name="row sums of dx")


@settings(max_examples=30, deadline=None)
@given(scores_and_labels())
def test_svm_loss_properties(case):
    scores, y = case
    n = len(y)
    loss, dx = svm_loss(scores, y)
    assert loss >= 0
    assert_close(dx.sum(axis=1), 0.0, rtol=0, atol=1e-12, name="row sums of dx")
    # The correct class's score raised far above the rest leaves no violated margins.
    confident = scores.copy()
    confident[np.arange(n), y] = scores.max() + 2
    assert svm_loss(confident, y)[0] == 0


# ---------------------------------------------------------------------------- log_softmax


@pytest.mark.parametrize(("shape", "axis"), [((4, 7), 1), ((4, 7), 0), ((2, 3, 5), -1), ((6,), 0)])
def test_log_softmax_matches_scipy_in_float64(shape, axis):
    x = np.random.default_rng(7).standard_normal(shape) * 5
    out = log_softmax(x, axis=axis)
    expected = scipy_log_softmax(x, axis=axis)
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


def test_log_softmax_of_large_magnitudes_is_exact_and_warning_free():
    # exp(1e4) and exp(-1e5) overflow / underflow; the log-sum-exp shift avoids both.
    x = np.array(
        [
            [1e4, 0.0, -1e4],
            [-1e5, -1e5 + 1, -1e5 + 2],
            [1e300, 1e300, -1e300],
            [-1e300, -1e300, -1e300],
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = log_softmax(x)
    assert np.all(np.isfinite(out[:, :2]))
    np.testing.assert_allclose(out, scipy_log_softmax(x, axis=-1), rtol=1e-13, atol=1e-13)
    # Independent values: a class 1e4 below the best has log-probability -1e4 (to 1 ulp).
    assert out[0, 0] == 0.0 and out[0, 1] == -1e4
    third = -np.log1p(np.exp(-1.0) + np.exp(-2.0))
    np.testing.assert_allclose(out[1], [third - 2, third - 1, third], rtol=1e-15)
    np.testing.assert_allclose(out[2, :2], [-np.log(2), -np.log(2)], rtol=1e-15)
    np.testing.assert_allclose(out[3], np.full(3, -np.log(3)), rtol=1e-15)


def test_log_softmax_keeps_float32_and_matches_torch():
    x = np.random.default_rng(8).standard_normal((5, 9)).astype(np.float32) * 30
    out = log_softmax(x, axis=1)
    assert out.dtype == np.float32
    expected = torch.log_softmax(torch.from_numpy(x.astype(np.float64)), dim=1).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 7)),
        elements=st.floats(-1e6, 1e6),
    ),
    shift=st.floats(-1e6, 1e6),
)
def test_log_softmax_properties(x, shift):
    out = log_softmax(x, axis=1)
    # Probabilities: at most 1 (log <= 0), summing to 1 in every row, the largest score's
    # class the most likely, and adding a constant to a row changes nothing beyond the
    # rounding of x + shift.
    rows = np.arange(len(x))
    assert np.all(out <= 0)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(out[rows, x.argmax(axis=1)], out.max(axis=1))
    tolerance = 1e-14 * (1 + np.abs(x).max() + abs(shift))
    np.testing.assert_allclose(log_softmax(x + shift, axis=1), out, rtol=0, atol=tolerance)


REDUCIBLE = {
    "l1": (l1_loss, F.l1_loss, regression_data),
    "mse": (mse_loss, F.mse_loss, regression_data),
    "bce_with_logits": (bce_with_logits_loss, F.binary_cross_entropy_with_logits, bce_data),
    "bce": (
        bce_loss,
        F.binary_cross_entropy,
        lambda rng: (rng.uniform(0.02, 0.98, (4, 3)), rng.uniform(0, 1, (4, 3))),
    ),
}


@pytest.mark.parametrize("name", sorted(REDUCIBLE))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_match_torch(name, reduction):
    ours, theirs, make_data = REDUCIBLE[name]
    x, y = make_data(np.random.default_rng(21))
    loss, dx = ours(x, y, reduction=reduction)
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt, torch.tensor(y), reduction=reduction)
    expected.sum().backward()  # "none": each element's own derivative
    assert_close(loss, expected.detach().numpy(), **TORCH, name="loss")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_loss_reductions_match_torch(reduction):
    x, y = classification_data(np.random.default_rng(22))
    loss, dx = softmax_loss(x, y, reduction=reduction)
    xt = torch.tensor(x, requires_grad=True)
    expected = F.cross_entropy(xt, torch.tensor(y), reduction=reduction)
    expected.sum().backward()
    assert_close(loss, expected.detach().numpy(), **TORCH, name="loss")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")


def test_bce_loss_gradient_matches_numerical():
    rng = np.random.default_rng(23)
    p, y = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    _, dp = bce_loss(p, y)
    numerical = eval_numerical_gradient(lambda v: float(bce_loss(v, y)[0]), p, verbose=False)
    assert_close(dp, numerical, **GRAD)


def test_bce_loss_of_certain_probabilities_is_finite_like_torch():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dp = bce_loss(p, y, reduction="none")
    pt = torch.tensor(p, requires_grad=True)
    expected = F.binary_cross_entropy(pt, torch.tensor(y), reduction="none")
    expected.sum().backward()
    assert_close(loss, expected.detach().numpy(), rtol=0, name="loss")  # 0, 0, 100, 100
    # Both floor p (1 - p) at 1e-12; torch's constant is the float32 1e-12, 4e-9 off.
    assert_close(dp, pt.grad.numpy(), rtol=1e-8, name="dp")


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction must be one of"):
        mse_loss(np.zeros(3), np.zeros(3), reduction="average")
