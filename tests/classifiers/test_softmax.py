"""Softmax loss: naive vs vectorised, numerical gradients, torch cross_entropy + autograd."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from strategies import linear_problems

from tinyvision.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from tinyvision.gradient_check import eval_numerical_gradient, grad_check_sparse, rel_error


def make_problem(seed, num_train=20, dim=7, num_classes=5, dtype=np.float64, scale=0.1):
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((dim, num_classes))
    X = rng.standard_normal((num_train, dim))
    y = rng.integers(0, num_classes, num_train)
    return W.astype(dtype), X.astype(dtype), y


def torch_loss_and_grad(W, X, y, reg):
    W_t = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    scores = torch.tensor(X, dtype=torch.float64) @ W_t
    loss = torch.nn.functional.cross_entropy(scores, torch.from_numpy(y))
    loss = loss + reg * torch.sum(W_t * W_t)
    loss.backward()
    return loss.item(), W_t.grad.numpy()


@pytest.mark.parametrize("reg", [0.0, 0.05, 3.0])
def test_naive_and_vectorized_agree(reg):
    W, X, y = make_problem(0)
    loss_naive, grad_naive = softmax_loss_naive(W, X, y, reg)
    loss_vec, grad_vec = softmax_loss_vectorized(W, X, y, reg)
    assert rel_error(loss_naive, loss_vec) < 1e-12
    assert rel_error(grad_naive, grad_vec) < 1e-12


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized])
@pytest.mark.parametrize("reg", [0.1, 2.0])
def test_gradient_matches_numerical_gradient(loss_fn, reg):
    # The loss is smooth; centred differences with h = 1e-5 are accurate to ~1e-10 here.
    W, X, y = make_problem(1)
    _, grad = loss_fn(W, X, y, reg)
    numerical = eval_numerical_gradient(lambda w: loss_fn(w, X, y, reg)[0], W, verbose=False)
    assert rel_error(grad, numerical) < 1e-7


def test_sparse_gradient_check_on_a_larger_problem():
    W, X, y = make_problem(2, num_train=100, dim=40, num_classes=10)
    _, grad = softmax_loss_vectorized(W, X, y, 0.5)
    errors = grad_check_sparse(
        lambda w: softmax_loss_vectorized(w, X, y, 0.5)[0], W, grad, num_checks=20, seed=0
    )
    assert max(errors) < 1e-7


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_matches_torch_cross_entropy_and_autograd(loss_fn, reg):
    W, X, y = make_problem(3)
    loss, grad = loss_fn(W, X, y, reg)
    loss_t, grad_t = torch_loss_and_grad(W, X, y, reg)
    assert abs(loss - loss_t) < 1e-10
    np.testing.assert_allclose(grad, grad_t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized])
def test_huge_scores_stay_finite_and_match_torch(loss_fn):
    # Scores in the thousands overflow exp() unless they are shifted first.
    W, X, y = make_problem(4, scale=1000.0)
    loss, grad = loss_fn(W, X, y, 1e-6)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    loss_t, grad_t = torch_loss_and_grad(W, X, y, 1e-6)
    assert loss == pytest.approx(loss_t, rel=1e-10)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-8, atol=1e-10)


def test_zero_weights_give_log_num_classes():
    _, X, y = make_problem(5, num_classes=10)
    loss, _ = softmax_loss_vectorized(np.zeros((X.shape[1], 10)), X, y, 1.0)
    assert loss == pytest.approx(np.log(10), rel=1e-12)


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized])
def test_float32_inputs_give_float32_gradient(loss_fn):
    W, X, y = make_problem(6, dtype=np.float32)
    loss, grad = loss_fn(W, X, y, 0.1)
    assert grad.dtype == np.float32
    loss_t, grad_t = torch_loss_and_grad(W, X, y, 0.1)
    assert loss == pytest.approx(loss_t, rel=1e-5)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-4, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(linear_problems())
def test_naive_and_vectorized_agree_on_any_shape(problem):
    num_train, dim, num_classes, reg, seed = problem
    W, X, y = make_problem(seed, num_train=num_train, dim=dim, num_classes=num_classes)
    loss_naive, grad_naive = softmax_loss_naive(W, X, y, reg)
    loss_vec, grad_vec = softmax_loss_vectorized(W, X, y, reg)
    assert loss_vec == pytest.approx(loss_naive, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grad_vec, grad_naive, rtol=1e-10, atol=1e-13)
