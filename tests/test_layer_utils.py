"""Sandwich layers: composition, numerical gradients, PyTorch agreement, star import."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
from tinyvision.layer_utils import (
    affine_bn_relu_backward,
    affine_bn_relu_forward,
    affine_norm_relu_backward,
    affine_norm_relu_dropout_backward,
    affine_norm_relu_dropout_forward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)

# The course allows ~1e-6 through a normalization; these small inputs stay within 1e-7.
GRAD_TOL = 1e-7
TORCH_TOL = 1e-10


def make_inputs(rng, n=5, in_shape=(2, 3), m=4):
    x = rng.standard_normal((n, *in_shape))
    w = rng.standard_normal((int(np.prod(in_shape)), m))
    b = rng.standard_normal(m)
    gamma, beta = rng.standard_normal(m), rng.standard_normal(m)
    return x, w, b, gamma, beta, rng.standard_normal((n, m))


def assert_grad_matches(grad, numeric, tol, normalization, is_bias):
    if normalization == "batchnorm" and is_bias:
        # Batchnorm subtracts the batch mean, which removes any bias: both gradients are 0 up
        # to rounding, where a relative error is meaningless.
        assert np.max(np.abs(grad)) < 1e-12 and np.max(np.abs(numeric)) < 1e-9
    else:
        assert rel_error(grad, numeric) < tol


def norm_param_for(normalization):
    return {"mode": "train"} if normalization == "batchnorm" else {}


def test_star_import_brings_sandwiches_and_layers():
    namespace = {}
    exec("from tinyvision.layer_utils import *", namespace)
    for name in ("affine_relu_forward", "affine_norm_relu_dropout_backward", "affine_forward"):
        assert callable(namespace[name])
    assert "batchnorm_forward" in namespace and "dropout_forward" in namespace


def test_affine_relu_is_relu_of_affine():
    x, w, b, *_ = make_inputs(np.random.default_rng(0))
    out, _ = affine_relu_forward(x, w, b)
    assert np.array_equal(out, np.maximum(x.reshape(5, -1) @ w + b, 0))


def test_affine_relu_backward_matches_numerical():
    x, w, b, _, _, dout = make_inputs(np.random.default_rng(1))
    _, cache = affine_relu_forward(x, w, b)
    grads = affine_relu_backward(dout, cache)
    f = lambda _: affine_relu_forward(x, w, b)[0]  # noqa: E731 - course-style closure
    for grad, param in zip(grads, (x, w, b), strict=True):
        assert rel_error(grad, eval_numerical_gradient_array(f, param, dout)) < GRAD_TOL


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_affine_norm_relu_backward_matches_numerical(normalization):
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(2))

    def f(_):
        return affine_norm_relu_forward(
            x, w, b, gamma, beta, norm_param_for(normalization), normalization
        )[0]

    _, cache = affine_norm_relu_forward(
        x, w, b, gamma, beta, norm_param_for(normalization), normalization
    )
    dx, dw, db, dgamma, dbeta = affine_norm_relu_backward(dout, cache)
    params = [(dx, x), (dw, w), (db, b)]
    if normalization is None:
        assert dgamma is None and dbeta is None
    else:
        params += [(dgamma, gamma), (dbeta, beta)]
    for grad, param in params:
        numeric = eval_numerical_gradient_array(f, param, dout)
        assert_grad_matches(grad, numeric, GRAD_TOL, normalization, is_bias=param is b)


def torch_affine_norm_relu(xt, wt, bt, gt, betat, normalization):
    """affine [- batch/layer norm] - relu in torch (eps 1e-5, training mode); out, running mean."""
    a = xt.reshape(xt.shape[0], -1) @ wt + bt
    running_mean = torch.zeros(wt.shape[1], dtype=wt.dtype)
    if normalization == "batchnorm":
        running_var = torch.zeros_like(running_mean)
        a = F.batch_norm(a, running_mean, running_var, gt, betat, True, 0.1, 1e-5)
    elif normalization == "layernorm":
        a = F.layer_norm(a, (wt.shape[1],), gt, betat, eps=1e-5)
    return F.relu(a), running_mean


def test_affine_relu_matches_torch():
    x, w, b, _, _, dout = make_inputs(np.random.default_rng(6))
    out, cache = affine_relu_forward(x, w, b)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t, _ = torch_affine_norm_relu(xt, wt, bt, None, None, None)
    out_t.backward(torch.tensor(dout))
    assert rel_error(out, out_t.detach().numpy()) < TORCH_TOL
    for ours, t in zip(affine_relu_backward(dout, cache), (xt, wt, bt), strict=True):
        assert rel_error(ours, t.grad.numpy()) < TORCH_TOL


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_affine_norm_relu_matches_torch(normalization):
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(3))
    norm_param = norm_param_for(normalization)
    out, cache = affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization)
    grads = affine_norm_relu_backward(dout, cache)

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b, gamma, beta)]
    xt, wt, bt, gt, betat = tensors
    out_t, running_mean = torch_affine_norm_relu(*tensors, normalization)
    out_t.backward(torch.tensor(dout))
    if normalization == "batchnorm":
        assert rel_error(norm_param["running_mean"], running_mean.numpy()) < TORCH_TOL
    assert rel_error(out, out_t.detach().numpy()) < TORCH_TOL
    for ours, t in zip(grads, (xt, wt, bt, gt, betat), strict=True):
        assert_grad_matches(ours, t.grad.numpy(), TORCH_TOL, normalization, is_bias=t is bt)


def test_dropout_sandwich_without_dropout_equals_the_plain_block():
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(4))
    args = (x, w, b, gamma, beta, {}, "layernorm")
    plain, plain_cache = affine_norm_relu_forward(*args)
    out, cache = affine_norm_relu_dropout_forward(*args, None)
    assert np.array_equal(out, plain)
    for ours, theirs in zip(
        affine_norm_relu_dropout_backward(dout, cache),
        affine_norm_relu_backward(dout, plain_cache),
        strict=True,
    ):
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_dropout_sandwich_backward_matches_numerical(normalization):
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(5), n=8, m=6)

    def forward():
        dropout_param = {"mode": "train", "p": 0.6, "seed": 3}
        return affine_norm_relu_dropout_forward(
            x, w, b, gamma, beta, norm_param_for(normalization), normalization, dropout_param
        )

    out, cache = forward()
    assert np.count_nonzero(out == 0) > np.count_nonzero(
        affine_norm_relu_forward(
            x, w, b, gamma, beta, norm_param_for(normalization), normalization
        )[0]
        == 0
    )
    dx, dw, db, *_ = affine_norm_relu_dropout_backward(dout, cache)
    for grad, param in ((dx, x), (dw, w), (db, b)):
        numeric = eval_numerical_gradient_array(lambda _: forward()[0], param, dout)
        assert_grad_matches(grad, numeric, GRAD_TOL, normalization, is_bias=param is b)


def test_rejects_an_unknown_normalization():
    x, w, b, gamma, beta, _ = make_inputs(np.random.default_rng(6))
    with pytest.raises(ValueError, match=r"one of \(None, 'batchnorm', 'layernorm'\).*'groupnorm'"):
        affine_norm_relu_forward(x, w, b, gamma, beta, {}, "groupnorm")


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_float32_in_float32_out(normalization):
    inputs = [a.astype(np.float32) for a in make_inputs(np.random.default_rng(7))]
    x, w, b, gamma, beta, dout = inputs
    out, cache = affine_norm_relu_dropout_forward(
        x,
        w,
        b,
        gamma,
        beta,
        norm_param_for(normalization),
        normalization,
        {"mode": "train", "p": 0.5},
    )
    assert out.dtype == np.float32
    grads = affine_norm_relu_dropout_backward(dout, cache)
    assert all(g.dtype == np.float32 for g in grads if g is not None)


def test_affine_bn_relu_matches_numerical_and_torch_and_updates_running_stats():
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(6))
    bn_param = {"mode": "train"}
    out, cache = affine_bn_relu_forward(x, w, b, gamma, beta, bn_param)
    grads = affine_bn_relu_backward(dout, cache)

    def f(_):
        return affine_bn_relu_forward(x, w, b, gamma, beta, {"mode": "train"})[0]

    for grad, param in zip(grads, (x, w, b, gamma, beta), strict=True):
        numeric = eval_numerical_gradient_array(f, param, dout)
        assert_grad_matches(grad, numeric, GRAD_TOL, "batchnorm", is_bias=param is b)

    xt, wt, bt, gt, betat = (torch.tensor(a, requires_grad=True) for a in (x, w, b, gamma, beta))
    running_mean, running_var = torch.zeros(4).double(), torch.ones(4).double()
    a = F.batch_norm(xt.reshape(5, -1) @ wt + bt, running_mean, running_var, gt, betat, True)
    out_t = F.relu(a)
    out_t.backward(torch.tensor(dout))
    assert rel_error(out, out_t.detach().numpy()) < TORCH_TOL
    assert rel_error(bn_param["running_mean"], running_mean.numpy()) < TORCH_TOL
    for ours, t in zip(grads, (xt, wt, bt, gt, betat), strict=True):
        assert_grad_matches(ours, t.grad.numpy(), TORCH_TOL, "batchnorm", is_bias=t is bt)


def test_affine_bn_relu_test_mode_uses_running_statistics():
    x, w, b, gamma, beta, _ = make_inputs(np.random.default_rng(7))
    mean, var = np.linspace(-1, 1, 4), np.linspace(0.5, 2, 4)
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var}
    out, _ = affine_bn_relu_forward(x, w, b, gamma, beta, bn_param)
    a = x.reshape(5, -1) @ w + b
    expected = np.maximum(gamma * (a - mean) / np.sqrt(var + 1e-5) + beta, 0)
    assert rel_error(out, expected) < 1e-12


def test_affine_bn_relu_backward_refuses_a_layernorm_cache():
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(8))
    _, cache = affine_norm_relu_forward(x, w, b, gamma, beta, {}, "layernorm")
    with pytest.raises(ValueError, match="normalization 'layernorm'.*affine_norm_relu_backward"):
        affine_bn_relu_backward(dout, cache)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_dropout_sandwich_matches_torch_on_the_same_mask(normalization):
    """torch draws its own dropout masks, so the torch twin multiplies by the mask ours drew."""
    x, w, b, gamma, beta, dout = make_inputs(np.random.default_rng(7), n=8, m=6)
    dropout_param = {"mode": "train", "p": 0.6, "seed": 3}
    out, cache = affine_norm_relu_dropout_forward(
        x, w, b, gamma, beta, norm_param_for(normalization), normalization, dropout_param
    )
    grads = affine_norm_relu_dropout_backward(dout, cache)
    scaled_mask = cache[1][1]  # 0 or 1 / 0.6
    assert 0 < np.count_nonzero(scaled_mask) < scaled_mask.size

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b, gamma, beta)]
    block, _ = torch_affine_norm_relu(*tensors, normalization)
    out_t = block * torch.from_numpy(scaled_mask)
    out_t.backward(torch.tensor(dout))
    assert rel_error(out, out_t.detach().numpy()) < TORCH_TOL
    if normalization is None:
        assert grads[3] is None and grads[4] is None
        grads, tensors = grads[:3], tensors[:3]
    for ours, t in zip(grads, tensors, strict=True):
        assert_grad_matches(ours, t.grad.numpy(), TORCH_TOL, normalization, is_bias=t is tensors[2])
