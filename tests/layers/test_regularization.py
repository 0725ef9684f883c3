"""L2 regularisation: the penalty's value, its gradient against centred differences, dtypes."""

import numpy as np
import pytest
import torch

from tinyvision.gradient_check import eval_numerical_gradient, rel_error
from tinyvision.layers import l2_regularization

GRAD_TOL = 1e-8


@pytest.mark.parametrize("scale", [0.5, 1.0])
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 3, 3)])
def test_gradient_matches_numerical_gradient(scale, shape):
    w = np.random.default_rng(0).standard_normal(shape)
    reg = 0.3
    _, dw = l2_regularization(w, reg, scale=scale)
    dw_num = eval_numerical_gradient(
        lambda _: l2_regularization(w, reg, scale=scale)[0], w, verbose=False
    )
    assert dw.shape == w.shape
    assert rel_error(dw, dw_num) < GRAD_TOL


@pytest.mark.parametrize(("scale", "factor"), [(0.5, 1.0), (1.0, 2.0)])
def test_the_two_course_conventions(scale, factor):
    # Assignment 1: reg * sum(W^2), gradient 2 reg W; assignment 2: 0.5 reg sum(W^2), reg W.
    w = np.array([[1.0, -2.0], [3.0, 0.5]])
    penalty, dw = l2_regularization(w, 0.1, scale=scale)
    squares = 1.0 + 4.0 + 9.0 + 0.25
    assert penalty == pytest.approx(scale * 0.1 * squares, rel=1e-15)
    np.testing.assert_allclose(dw, factor * 0.1 * w, rtol=1e-15)


def test_matches_torch_autograd():
    w = np.random.default_rng(1).standard_normal((6, 4))
    w_t = torch.tensor(w, requires_grad=True)
    penalty_t = 0.5 * 0.7 * torch.sum(w_t * w_t)
    penalty_t.backward()
    penalty, dw = l2_regularization(w, 0.7, scale=0.5)
    assert penalty == pytest.approx(penalty_t.item(), rel=1e-14)
    np.testing.assert_allclose(dw, w_t.grad.numpy(), rtol=1e-14)


def test_zero_strength_gives_zero_and_float32_stays_float32():
    w = np.random.default_rng(2).standard_normal((3, 3)).astype(np.float32)
    penalty, dw = l2_regularization(w, 0.0, scale=0.5)
    assert penalty == 0 and not dw.any()
    penalty, dw = l2_regularization(w, 0.25, scale=0.5)
    assert penalty.dtype == np.float32 and dw.dtype == np.float32


def test_scale_is_required():
    # Which convention applies must be visible at every call site.
    with pytest.raises(TypeError):
        l2_regularization(np.ones(2), 0.1)
