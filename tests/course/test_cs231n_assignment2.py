"""CS231n assignment 2 as the notebooks call it, with `cs231n.` renamed to `tinyvision.`.

The FullyConnectedNets, BatchNormalization and ConvolutionalNetworks notebooks' sanity cells,
pasted with their inputs; where a cell prints an expected value (the course's facts) the test
compares with the notebook's tolerance.
"""

import math

import numpy as np
import pytest

from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.classifiers.fc_net import *  # noqa: F403 - reaches the layers, as in the course
from tinyvision.classifiers.fc_net import FullyConnectedNet
from tinyvision.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from tinyvision.layer_utils import affine_bn_relu_backward, affine_bn_relu_forward
from tinyvision.layers import (
    affine_forward,
    batchnorm_forward,
    conv_forward_naive,
    max_pool_forward_naive,
    relu_forward,
)


def test_fc_net_star_import_reaches_the_layers_and_sandwiches():
    namespace = {}
    exec("from tinyvision.classifiers.fc_net import *", namespace)
    for name in (
        "affine_forward",
        "relu_backward",
        "affine_relu_forward",
        "affine_bn_relu_forward",
    ):
        assert callable(namespace[name]), name
    assert namespace["affine_bn_relu_backward"] is affine_bn_relu_backward


# ----------------------------------------------------------------- FullyConnectedNets.ipynb


def test_affine_forward_printed_output():
    num_inputs = 2
    input_shape = (4, 5, 6)
    output_dim = 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    correct_out = np.array(
        [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
    )
    assert rel_error(out, correct_out) < 1e-9  # "difference should be around e-9"


def test_relu_forward_printed_output():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(x)
    correct_out = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.04545455, 0.13636364],
            [0.22727273, 0.31818182, 0.40909091, 0.5],
        ]
    )
    assert rel_error(out, correct_out) < 5e-8  # "difference should be on the order of e-8"


def test_fully_connected_net_initial_loss_and_gradients():
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=(N,))

    for reg in [0, 3.14]:
        model = FullyConnectedNet(
            [H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2, dtype=np.float64
        )
        loss, grads = model.loss(X, y)
        if reg == 0:
            assert abs(loss - math.log(C)) < 0.01  # ten nearly equal scores at this scale
        for name in sorted(grads):
            f = lambda _: model.loss(X, y)[0]  # noqa: E731, B023 - the notebook's lambda, used at once
            grad_num = eval_numerical_gradient(f, model.params[name], verbose=False, h=1e-5)
            # The notebook's own output shows W2 at 2.21e-05 (a ReLU kink), the rest <= 4e-7.
            assert rel_error(grad_num, grads[name]) < 5e-5, name
        assert len(model.params.keys()) == len(grads.keys())


def test_fully_connected_net_printed_initial_losses():
    # The notebook's cell, as written: the weights come from NumPy's global stream after the
    # data, the second model's after the first's.
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=(N,))
    for reg, printed in [(0, 2.3004790897684924), (3.14, 7.052114776533016)]:
        model = FullyConnectedNet(
            [H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2, dtype=np.float64
        )
        loss, _ = model.loss(X, y)
        assert loss == pytest.approx(printed, rel=1e-12, abs=0)


# --------------------------------------------------------------- BatchNormalization.ipynb


def test_batchnorm_forward_train_and_test_statistics():
    np.random.seed(231)
    N, D1, D2, D3 = 200, 50, 60, 3
    X = np.random.randn(N, D1)
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    a = np.maximum(0, X.dot(W1)).dot(W2)

    gamma = np.asarray([1.0, 2.0, 3.0])
    beta = np.asarray([11.0, 12.0, 13.0])
    a_norm, _ = batchnorm_forward(a, gamma, beta, {"mode": "train"})
    # "Now means should be close to beta and stds close to gamma".
    np.testing.assert_allclose(a_norm.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(a_norm.std(axis=0), gamma, rtol=1e-4)

    bn_param = {"mode": "train"}
    gamma, beta = np.ones(D3), np.zeros(D3)
    for _ in range(50):
        X = np.random.randn(N, D1)
        a = np.maximum(0, X.dot(W1)).dot(W2)
        batchnorm_forward(a, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    X = np.random.randn(N, D1)
    a = np.maximum(0, X.dot(W1)).dot(W2)
    a_norm, _ = batchnorm_forward(a, gamma, beta, bn_param)
    # "Means should be close to zero and stds close to one, but will be noisier".
    assert np.all(np.abs(a_norm.mean(axis=0)) < 0.2)
    assert np.all(np.abs(a_norm.std(axis=0) - 1) < 0.2)


def test_affine_bn_relu_sandwich_gradient_check():
    np.random.seed(231)
    x = np.random.randn(4, 5)
    w = np.random.randn(5, 6)
    b = np.random.randn(6)
    gamma, beta = np.random.randn(6), np.random.randn(6)
    dout = np.random.randn(4, 6)
    out, cache = affine_bn_relu_forward(x, w, b, gamma, beta, {"mode": "train"})
    dx, dw, db, dgamma, dbeta = affine_bn_relu_backward(dout, cache)

    def forward(_):
        return affine_bn_relu_forward(x, w, b, gamma, beta, {"mode": "train"})[0]

    for grad, param in ((dx, x), (dw, w), (dgamma, gamma), (dbeta, beta)):
        assert rel_error(grad, eval_numerical_gradient_array(forward, param, dout)) < 1e-7
    # The batch mean cancels the bias: its gradient is zero (up to rounding).
    assert np.abs(db).max() < 1e-12


def test_fully_connected_net_with_batchnorm_gradient_check():
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=(N,))
    for reg in (0, 3.14):
        model = FullyConnectedNet(
            [H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2,
            dtype=np.float64, normalization="batchnorm",
        )  # fmt: skip
        loss, grads = model.loss(X, y)
        for name in sorted(grads):
            f = lambda _: model.loss(X, y)[0]  # noqa: E731, B023 - the notebook's lambda, used at once
            grad_num = eval_numerical_gradient(f, model.params[name], verbose=False, h=1e-5)
            error = rel_error(grad_num, grads[name])
            if name.startswith("b") and name != "beta3":
                # Biases before a batch norm get a zero gradient; compare absolutely.
                assert np.abs(grad_num - grads[name]).max() < 1e-8, name
            else:
                # With two examples per batch, batch norm makes W1's numerical gradient touchy:
                # the notebook itself prints "W1 relative error: 1.10e-04" for reg = 0.
                assert error < 2e-4, (reg, name, error)


# ------------------------------------------------------------- ConvolutionalNetworks.ipynb


def test_conv_forward_naive_printed_output():
    x_shape = (2, 3, 4, 4)
    w_shape = (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    conv_param = {"stride": 2, "pad": 1}
    out, _ = conv_forward_naive(x, w, b, conv_param)
    correct_out = np.array(
        [
            [
                [[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                [[0.50813986, 0.54309974], [0.64082444, 0.67101435]],
            ],
            [
                [[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                [[2.36270298, 2.36904306], [2.38090835, 2.38247847]],
            ],
        ]
    )
    assert rel_error(out, correct_out) < 1e-7  # "difference should be around e-8"


def test_max_pool_forward_naive_printed_output():
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)
    pool_param = {"pool_width": 2, "pool_height": 2, "stride": 2}
    out, _ = max_pool_forward_naive(x, pool_param)
    correct_out = np.array(
        [
            [
                [[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]],
            ],
            [
                [[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                [[0.32631579, 0.34105263], [0.38526316, 0.4]],
            ],
        ]
    )
    assert rel_error(out, correct_out) < 1e-7  # "difference should be on the order of e-8"


def test_three_layer_convnet_sanity_loss():
    model = ThreeLayerConvNet()
    N = 50
    X = np.random.randn(N, 3, 32, 32)
    y = np.random.randint(10, size=N)
    loss, grads = model.loss(X, y)
    # "Initial loss (no regularization)" should be about log(10).
    assert abs(loss - math.log(10)) < 0.01
    model.reg = 0.5
    loss_reg, _ = model.loss(X, y)
    # "Initial loss (with regularization)": the course's penalty is 0.5 * reg * sum(W^2).
    penalty = 0.5 * 0.5 * sum(np.sum(model.params[f"W{i}"] ** 2) for i in (1, 2, 3))
    assert loss_reg - loss == pytest.approx(penalty, rel=1e-4)


def test_three_layer_convnet_gradient_check():
    num_inputs = 2
    input_dim = (3, 16, 16)
    reg = 0.0
    num_classes = 10
    np.random.seed(231)
    X = np.random.randn(num_inputs, *input_dim)
    y = np.random.randint(num_classes, size=num_inputs)
    model = ThreeLayerConvNet(
        num_filters=3, filter_size=3, input_dim=input_dim, hidden_dim=7, dtype=np.float64, reg=reg
    )
    loss, grads = model.loss(X, y)
    for param_name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]  # noqa: E731, B023 - the notebook's lambda, used at once
        param_grad_num = eval_numerical_gradient(f, model.params[param_name], verbose=False, h=1e-6)
        e = rel_error(param_grad_num, grads[param_name])
        # "Errors should be small, but correct implementations may have relative errors up
        # to the order of e-2"; with the notebook's weights (drawn here) W2's is 1.82e-02.
        assert e < 2e-2, (param_name, e)
