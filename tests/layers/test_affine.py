"""affine_forward / affine_backward: values, numerical gradients, PyTorch agreement, dtypes."""

import numpy as np
import pytest
import torch
from assertions import assert_close

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import affine_backward, affine_forward

# Affine is linear in each argument, so centred differences are exact up to rounding, about
# 1e-11 absolute on these O(1) values.
GRAD = {"rtol": 1e-7, "atol": 1e-10}
TORCH = {"rtol": 1e-10, "atol": 1e-12}


def make_inputs(rng, shape=(4, 2, 3), m=5, dtype=np.float64):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((int(np.prod(shape[1:])), m)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    return x, w, b


def test_forward_matches_flattened_matmul():
    rng = np.random.default_rng(0)
    x, w, b = make_inputs(rng)
    out, _ = affine_forward(x, w, b)
    expected = np.einsum("nd,dm->nm", x.reshape(4, 6), w) + b
    assert out.shape == (4, 5)
    assert_close(out, expected, rtol=1e-12, atol=1e-14, name="out")


def test_backward_matches_numerical_gradients():
    rng = np.random.default_rng(1)
    x, w, b = make_inputs(rng, shape=(3, 2, 2, 2), m=4)
    dout = rng.standard_normal((3, 4))
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)

    dx_num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b)[0], b, dout)
    assert dx.shape == x.shape
    assert_close(dx, dx_num, **GRAD, name="dx")
    assert_close(dw, dw_num, **GRAD, name="dw")
    assert_close(db, db_num, **GRAD, name="db")


def test_matches_torch_forward_and_backward():
    rng = np.random.default_rng(2)
    x, w, b = make_inputs(rng, shape=(6, 3, 4), m=7)
    dout = rng.standard_normal((6, 7))
    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t = torch.nn.functional.linear(xt.reshape(6, -1), wt.T, bt)
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")
    assert_close(dw, wt.grad.numpy(), **TORCH, name="dw")
    assert_close(db, bt.grad.numpy(), **TORCH, name="db")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_preserves_dtype(dtype):
    rng = np.random.default_rng(3)
    x, w, b = make_inputs(rng, dtype=dtype)
    out, cache = affine_forward(x, w, b)
    grads = affine_backward(np.ones_like(out), cache)
    assert out.dtype == dtype
    assert all(g.dtype == dtype for g in grads)
