"""SVM loss: naive vs vectorised, numerical gradients, torch's multi_margin_loss, known values."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from strategies import linear_problems

from tinyvision.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from tinyvision.gradient_check import eval_numerical_gradient, grad_check_sparse, rel_error


def make_problem(seed, num_train=20, dim=7, num_classes=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    W = 0.1 * rng.standard_normal((dim, num_classes))
    X = rng.standard_normal((num_train, dim))
    y = rng.integers(0, num_classes, num_train)
    return W.astype(dtype), X.astype(dtype), y


@pytest.mark.parametrize("reg", [0.0, 0.05, 3.0])
def test_naive_and_vectorized_agree(reg):
    W, X, y = make_problem(0)
    loss_naive, grad_naive = svm_loss_naive(W, X, y, reg)
    loss_vec, grad_vec = svm_loss_vectorized(W, X, y, reg)
    assert rel_error(loss_naive, loss_vec) < 1e-12
    assert rel_error(grad_naive, grad_vec) < 1e-12


@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized])
@pytest.mark.parametrize("reg", [0.1, 2.0])
def test_gradient_matches_numerical_gradient(loss_fn, reg):
    # Continuous random data keeps every margin away from the hinge's kink by far more than
    # h = 1e-5, where the loss is smooth and centred differences are accurate to ~1e-9.
    W, X, y = make_problem(1)
    _, grad = loss_fn(W, X, y, reg)
    numerical = eval_numerical_gradient(lambda w: loss_fn(w, X, y, reg)[0], W, verbose=False)
    assert rel_error(grad, numerical) < 1e-7


def test_sparse_gradient_check_on_a_larger_problem():
    W, X, y = make_problem(2, num_train=100, dim=40, num_classes=10)
    _, grad = svm_loss_vectorized(W, X, y, 0.5)
    errors = grad_check_sparse(
        lambda w: svm_loss_vectorized(w, X, y, 0.5)[0], W, grad, num_checks=20, seed=0
    )
    assert max(errors) < 1e-7


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_matches_torch_multi_margin_loss_and_autograd(reg):
    W, X, y = make_problem(3)
    num_classes = W.shape[1]
    W_t = torch.tensor(W, requires_grad=True)
    scores = torch.from_numpy(X) @ W_t
    # torch averages each example's hinge sum over the classes; the course's loss does not.
    data_loss = num_classes * torch.nn.functional.multi_margin_loss(
        scores, torch.from_numpy(y), p=1, margin=1.0
    )
    loss_t = data_loss + reg * torch.sum(W_t * W_t)
    loss_t.backward()
    loss, grad = svm_loss_vectorized(W, X, y, reg)
    assert abs(loss - loss_t.item()) < 1e-10
    np.testing.assert_allclose(grad, W_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_zero_weights_give_num_classes_minus_one():
    _, X, y = make_problem(4, num_classes=6)
    loss, grad = svm_loss_vectorized(np.zeros((X.shape[1], 6)), X, y, 1.0)
    assert loss == pytest.approx(5.0)
    # Every wrong class has margin exactly 1 > 0, so each pushes by x_i; the correct class
    # receives -5 x_i.
    expected = np.zeros((X.shape[1], 6))
    for x_i, y_i in zip(X, y, strict=True):
        expected += x_i[:, None]
        expected[:, y_i] -= 6 * x_i
    np.testing.assert_allclose(grad, expected / len(X), rtol=1e-12, atol=1e-14)


def test_regularization_term_is_reg_sum_of_squares():
    W, X, y = make_problem(5)
    loss0, grad0 = svm_loss_vectorized(W, X, y, 0.0)
    loss1, grad1 = svm_loss_vectorized(W, X, y, 0.7)
    assert loss1 - loss0 == pytest.approx(0.7 * np.sum(W * W), rel=1e-12)
    np.testing.assert_allclose(grad1 - grad0, 1.4 * W, rtol=1e-10)


@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized])
def test_float32_inputs_give_float32_gradient(loss_fn):
    W, X, y = make_problem(6, dtype=np.float32)
    loss, grad = loss_fn(W, X, y, 0.1)
    assert grad.dtype == np.float32
    W64, X64, _ = make_problem(6)
    loss64, grad64 = svm_loss_vectorized(W64, X64, y, 0.1)
    assert loss == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad, grad64, rtol=1e-4, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(linear_problems())
def test_naive_and_vectorized_agree_on_any_shape(problem):
    num_train, dim, num_classes, reg, seed = problem
    W, X, y = make_problem(seed, num_train=num_train, dim=dim, num_classes=num_classes)
    loss_naive, grad_naive = svm_loss_naive(W, X, y, reg)
    loss_vec, grad_vec = svm_loss_vectorized(W, X, y, reg)
    assert loss_vec == pytest.approx(loss_naive, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grad_vec, grad_naive, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_scores_match_naive_and_torch(dtype):
    # Scores in the thousands: the vectorised loss (the svm_loss layer on X @ W) must still
    # agree with the loop reference and with torch, in either precision.
    W, X, y = make_problem(7, dtype=dtype)
    W = W * 1000
    loss, grad = svm_loss_vectorized(W, X, y, 1e-4)
    loss_naive, grad_naive = svm_loss_naive(W, X, y, 1e-4)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert grad.dtype == dtype
    assert loss == pytest.approx(loss_naive, rel=rtol)
    np.testing.assert_allclose(grad, grad_naive, rtol=rtol, atol=rtol)
    W_t = torch.tensor(W.astype(np.float64), requires_grad=True)
    scores = torch.from_numpy(X.astype(np.float64)) @ W_t
    data_loss = W.shape[1] * torch.nn.functional.multi_margin_loss(scores, torch.from_numpy(y))
    (data_loss + 1e-4 * torch.sum(W_t * W_t)).backward()
    assert loss == pytest.approx((data_loss + 1e-4 * torch.sum(W_t * W_t)).item(), rel=rtol)
    np.testing.assert_allclose(grad, W_t.grad.numpy(), rtol=rtol, atol=rtol)
