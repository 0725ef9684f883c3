"""Convolutional sandwich layers: composition, numerical gradients, PyTorch agreement."""

import numpy as np
import torch
import torch.nn.functional as F

from tinyvision.fast_layers import conv_forward_fast, max_pool_forward_fast
from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
from tinyvision.layer_utils import (
    conv_bn_relu_backward,
    conv_bn_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)

# Piecewise-linear chains on random data whose kinks sit far from h = 1e-5, and a batchnorm
# over 2*4*4 = 32 samples per channel: centred differences agree to ~1e-9, the bound is 1e-7.
GRAD_TOL = 1e-7
TORCH_TOL = 1e-10
CONV_PARAM = {"stride": 1, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def make_inputs(rng, x_shape=(2, 3, 4, 4), n_filters=3):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((n_filters, x_shape[1], 3, 3))
    b = rng.standard_normal(n_filters)
    return x, w, b


def numerical_grads(forward, arrays, dout):
    return [eval_numerical_gradient_array(lambda _: forward()[0], a, dout) for a in arrays]


def test_conv_relu_is_relu_of_conv_and_gradients_match():
    rng = np.random.default_rng(0)
    x, w, b = make_inputs(rng)
    out, cache = conv_relu_forward(x, w, b, CONV_PARAM)
    np.testing.assert_array_equal(out, np.maximum(conv_forward_fast(x, w, b, CONV_PARAM)[0], 0))
    dout = rng.standard_normal(out.shape)
    grads = conv_relu_backward(dout, cache)
    numeric = numerical_grads(lambda: conv_relu_forward(x, w, b, CONV_PARAM), (x, w, b), dout)
    for grad, num in zip(grads, numeric, strict=True):
        assert rel_error(grad, num) < GRAD_TOL


def test_conv_relu_pool_composition_and_gradients():
    rng = np.random.default_rng(1)
    x, w, b = make_inputs(rng)
    out, cache = conv_relu_pool_forward(x, w, b, CONV_PARAM, POOL_PARAM)
    conv_out = np.maximum(conv_forward_fast(x, w, b, CONV_PARAM)[0], 0)
    np.testing.assert_array_equal(out, max_pool_forward_fast(conv_out, POOL_PARAM)[0])
    assert out.shape == (2, 3, 2, 2)
    dout = rng.standard_normal(out.shape)
    grads = conv_relu_pool_backward(dout, cache)
    numeric = numerical_grads(
        lambda: conv_relu_pool_forward(x, w, b, CONV_PARAM, POOL_PARAM), (x, w, b), dout
    )
    for grad, num in zip(grads, numeric, strict=True):
        assert rel_error(grad, num) < GRAD_TOL


def test_conv_bn_relu_gradients_match_numerical():
    rng = np.random.default_rng(2)
    x, w, b = make_inputs(rng)
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)

    def forward():
        return conv_bn_relu_forward(x, w, b, gamma, beta, CONV_PARAM, {"mode": "train"})

    out, cache = forward()
    dout = rng.standard_normal(out.shape)
    dx, dw, db, dgamma, dbeta = conv_bn_relu_backward(dout, cache)
    num_x, num_w, num_b, num_gamma, num_beta = numerical_grads(
        forward, (x, w, b, gamma, beta), dout
    )
    assert rel_error(dx, num_x) < GRAD_TOL
    assert rel_error(dw, num_w) < GRAD_TOL
    assert rel_error(dgamma, num_gamma) < GRAD_TOL
    assert rel_error(dbeta, num_beta) < GRAD_TOL
    # Batchnorm subtracts the batch mean, which cancels the conv bias: both gradients are 0 up
    # to rounding, where a relative error means nothing.
    assert np.max(np.abs(db)) < 1e-12 and np.max(np.abs(num_b)) < 1e-9


def test_conv_bn_relu_matches_torch_in_training_mode():
    rng = np.random.default_rng(3)
    x, w, b = make_inputs(rng, x_shape=(3, 2, 5, 5), n_filters=4)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    bn_param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    out, cache = conv_bn_relu_forward(x, w, b, gamma, beta, CONV_PARAM, bn_param)
    dout = rng.standard_normal(out.shape)
    grads = conv_bn_relu_backward(dout, cache)

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b, gamma, beta)]
    xt, wt, bt, gt, bet = tensors
    a = F.conv2d(xt, wt, bt, padding=1)
    out_t = F.relu(F.batch_norm(a, None, None, gt, bet, training=True, eps=1e-5))
    out_t.backward(torch.tensor(dout))
    assert rel_error(out, out_t.detach().numpy()) < TORCH_TOL
    dx, dw, db, dgamma, dbeta = grads
    for name, grad, tensor in (
        ("x", dx, xt),
        ("w", dw, wt),
        ("gamma", dgamma, gt),
        ("beta", dbeta, bet),
    ):
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name)
    # In torch the bias gradient cancels only up to rounding as well.
    assert np.max(np.abs(db - bt.grad.numpy())) < 1e-10


def torch_conv_relu_pool(x, w, b, dout, pool):
    """conv (stride 1, pad 1) - relu [- 2x2 max pool] with torch autograd: out, dx, dw, db."""
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t = F.relu(F.conv2d(xt, wt, bt, stride=1, padding=1))
    if pool:
        out_t = F.max_pool2d(out_t, kernel_size=2, stride=2)
    out_t.backward(torch.tensor(dout))
    return out_t.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def test_conv_relu_and_conv_relu_pool_match_torch():
    rng = np.random.default_rng(4)
    x, w, b = make_inputs(rng, x_shape=(2, 3, 6, 6), n_filters=4)
    sandwiches = {
        "conv_relu": (
            lambda: conv_relu_forward(x, w, b, CONV_PARAM),
            conv_relu_backward,
            False,
        ),
        "conv_relu_pool": (
            lambda: conv_relu_pool_forward(x, w, b, CONV_PARAM, POOL_PARAM),
            conv_relu_pool_backward,
            True,
        ),
    }
    for name, (forward, backward, pool) in sandwiches.items():
        out, cache = forward()
        dout = rng.standard_normal(out.shape)
        expected = torch_conv_relu_pool(x, w, b, dout, pool)
        for label, ours, theirs in zip(
            ("out", "dx", "dw", "db"), (out, *backward(dout, cache)), expected, strict=True
        ):
            np.testing.assert_allclose(
                ours, theirs, rtol=TORCH_TOL, atol=1e-12, err_msg=f"{name} {label}"
            )
