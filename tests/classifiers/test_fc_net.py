"""TwoLayerNet and FullyConnectedNet: numerical gradients, PyTorch parity, state and validation.

Gradient bound: every element must satisfy |analytic - numeric| <= 2e-7 |n| + 1e-8,
i.e. the course's rel_error < 1e-7 wherever the gradient is above the noise floor of float64
centred differences with h = 1e-5 (about eps * |loss| / h, 1e-9 for the losses here). Elements
below the floor (e.g. the bias before batch norm, whose true gradient is 0) are held to 1e-8
absolutely. Measured worst cases are 5-10x inside this bound.
"""

import numpy as np
import pytest
import torch
from assertions import assert_close

from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from tinyvision.gradient_check import eval_numerical_gradient
from tinyvision.solver import Solver

# |analytic - numeric| <= 2e-7 |numeric| + 1e-8, the bound of the module docstring.
GRAD = {"rtol": 2e-7, "atol": 1e-8}


def check_model_gradients(model, X, y):
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False
        )
        assert_close(grads[name], numeric, **GRAD, name=name)


def toy_batch(n=6, d=6, c=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(c, size=n)


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_two_layer_net_gradients(reg):
    X, y = toy_batch(n=5, d=8, c=4)
    model = TwoLayerNet(input_dim=8, hidden_dim=12, num_classes=4, weight_scale=0.3, seed=1)
    model.reg = reg
    check_model_gradients(model, X, y)


def test_two_layer_net_shapes_and_initialisation():
    model = TwoLayerNet(input_dim=20, hidden_dim=7, num_classes=3, weight_scale=1e-3, seed=0)
    assert {k: v.shape for k, v in model.params.items()} == {
        "W1": (20, 7),
        "b1": (7,),
        "W2": (7, 3),
        "b2": (3,),
    }
    assert not model.params["b1"].any() and not model.params["b2"].any()
    assert 0.5e-3 < model.params["W1"].std() < 1.5e-3
    scores = model.loss(np.ones((4, 2, 2, 5)))
    assert scores.shape == (4, 3)


def test_two_layer_net_regularisation_term():
    X, y = toy_batch(n=4, d=6, c=3)
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.5, seed=2)
    data_loss, _ = model.loss(X, y)
    model.reg = 0.3
    loss, _ = model.loss(X, y)
    W1, W2 = model.params["W1"], model.params["W2"]
    expected = data_loss + 0.5 * 0.3 * (np.sum(W1**2) + np.sum(W2**2))
    assert loss == pytest.approx(expected, rel=1e-12)


def to_torch(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def test_two_layer_net_matches_torch():
    X, y = toy_batch(n=7, d=9, c=5, seed=3)
    reg = 0.2
    model = TwoLayerNet(input_dim=9, hidden_dim=11, num_classes=5, weight_scale=0.5, seed=4)
    model.reg = reg
    scores = model.loss(X)
    loss, grads = model.loss(X, y)

    net = torch.nn.Sequential(torch.nn.Linear(9, 11), torch.nn.ReLU(), torch.nn.Linear(11, 5))
    net = net.double()
    with torch.no_grad():
        for index, layer in ((1, net[0]), (2, net[2])):
            layer.weight.copy_(torch.from_numpy(model.params[f"W{index}"].T))
            layer.bias.copy_(torch.from_numpy(model.params[f"b{index}"]))
    t_scores = net(torch.from_numpy(X))
    t_loss = torch.nn.functional.cross_entropy(t_scores, torch.from_numpy(y))
    t_loss = t_loss + 0.5 * reg * (net[0].weight.pow(2).sum() + net[2].weight.pow(2).sum())
    t_loss.backward()

    np.testing.assert_allclose(scores, t_scores.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(grads["W1"], net[0].weight.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["b1"], net[0].bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["W2"], net[2].weight.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["b2"], net[2].bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def fc_net(normalization=None, reg=0.0, keep=1.0, seed=0, **kwargs):
    return FullyConnectedNet(
        [8, 10],
        input_dim=6,
        num_classes=5,
        normalization=normalization,
        reg=reg,
        dropout_keep_ratio=keep,
        weight_init="kaiming",
        dtype=np.float64,
        seed=seed,
        **kwargs,
    )


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_fc_net_gradients(normalization, reg):
    X, y = toy_batch()
    check_model_gradients(fc_net(normalization, reg, seed=1), X, y)


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_fc_net_gradients_with_seeded_dropout(normalization):
    X, y = toy_batch()
    # A seed whose ReLU inputs all lie further than h from 0: at a kink centred differences
    # average the two one-sided slopes and disagree with any analytic gradient.
    model = fc_net(normalization, keep=0.5, seed=5)
    check_model_gradients(model, X, y)
    _, first = model.loss(X, y)
    _, second = model.loss(X, y)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_fc_net_without_hidden_layers_is_a_softmax_classifier():
    X, y = toy_batch(d=4, c=3)
    model = FullyConnectedNet([], input_dim=4, num_classes=3, dtype=np.float64, seed=0)
    assert sorted(model.params) == ["W1", "b1"]
    check_model_gradients(model, X, y)


def test_fc_net_parameters_and_param_dicts():
    model = FullyConnectedNet(
        [5, 6],
        input_dim=4,
        num_classes=3,
        normalization="batchnorm",
        dropout_keep_ratio=0.5,
        seed=7,
    )
    assert sorted(model.params) == sorted(
        ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    )
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert model.params["gamma2"].shape == (6,) and model.params["W3"].shape == (6, 3)
    assert [sorted(bn) for bn in model.bn_params] == [["mode", "running_mean", "running_var"]] * 2
    assert all(not bn["running_mean"].any() for bn in model.bn_params)
    assert model.dropout_param == {"mode": "train", "p": 0.5, "seed": 7}
    assert FullyConnectedNet([5], input_dim=4, normalization="layernorm").bn_params == [{}]
    assert FullyConnectedNet([5], input_dim=4).dropout_param == {}

    scores = model.loss(np.ones((2, 4), dtype=np.float64))
    assert scores.dtype == np.float32
    assert model.dropout_param["mode"] == "test"
    assert all(p["mode"] == "test" for p in model.bn_params)


@pytest.mark.parametrize(
    ("weight_init", "expected_std"),
    [("gaussian", 0.05), ("xavier", np.sqrt(2 / (400 + 300))), ("kaiming", np.sqrt(2 / 400))],
)
def test_fc_net_weight_init(weight_init, expected_std):
    model = FullyConnectedNet(
        [300], input_dim=400, weight_scale=0.05, weight_init=weight_init, seed=0
    )
    assert model.params["W1"].std() == pytest.approx(expected_std, rel=0.02)


def test_fc_net_batchnorm_matches_torch_in_train_mode():
    X, y = toy_batch(n=8, d=7, c=4, seed=5)
    reg = 0.1
    model = FullyConnectedNet(
        [6, 5],
        input_dim=7,
        num_classes=4,
        normalization="batchnorm",
        reg=reg,
        weight_init="kaiming",
        dtype=np.float64,
        seed=3,
    )
    rng = np.random.default_rng(6)
    for name in model.params:
        if name.startswith(("gamma", "beta", "b")):
            model.params[name] = rng.standard_normal(model.params[name].shape)
    loss, grads = model.loss(X, y)

    layers = []
    for i, (d_in, d_out) in enumerate([(7, 6), (6, 5), (5, 4)], start=1):
        linear = torch.nn.Linear(d_in, d_out).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(model.params[f"W{i}"].T))
            linear.bias.copy_(torch.from_numpy(model.params[f"b{i}"]))
        layers.append(linear)
        if i < 3:
            bn = torch.nn.BatchNorm1d(d_out, eps=1e-5, momentum=0.1).double()
            with torch.no_grad():
                bn.weight.copy_(torch.from_numpy(model.params[f"gamma{i}"]))
                bn.bias.copy_(torch.from_numpy(model.params[f"beta{i}"]))
            layers += [bn, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers).train()
    t_loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y))
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    t_loss = t_loss + 0.5 * reg * sum(m.weight.pow(2).sum() for m in linears)
    t_loss.backward()

    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    bns = [m for m in net if isinstance(m, torch.nn.BatchNorm1d)]
    for i, linear in enumerate(linears, start=1):
        np.testing.assert_allclose(grads[f"W{i}"], linear.weight.grad.numpy().T, atol=1e-10)
        np.testing.assert_allclose(grads[f"b{i}"], linear.bias.grad.numpy(), atol=1e-10)
    for i, bn in enumerate(bns, start=1):
        np.testing.assert_allclose(grads[f"gamma{i}"], bn.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(grads[f"beta{i}"], bn.bias.grad.numpy(), atol=1e-10)
        # Both start the running mean at 0 and use the same update (momentum 0.9 = 1 - 0.1).
        np.testing.assert_allclose(
            model.bn_params[i - 1]["running_mean"], bn.running_mean.numpy(), atol=1e-12
        )


def test_fc_net_test_mode_uses_running_statistics_and_no_dropout():
    X, y = toy_batch(n=10)
    model = fc_net("batchnorm", keep=0.5, seed=3)
    model.loss(X, y)
    first = model.loss(X[:3])
    np.testing.assert_array_equal(first, model.loss(X[:3]))
    # Test mode normalises each example with the running statistics, so a batch of one works
    # and gives that example's row of the full batch.
    np.testing.assert_allclose(model.loss(X[:1]), first[:1], rtol=1e-12)


def test_fc_net_state_dict_round_trip_includes_running_statistics():
    X, y = toy_batch(n=10)
    model = fc_net("batchnorm", seed=4)
    # The running statistics are buffers from the start (zero, as batchnorm_forward makes them).
    assert not model.state_dict()["bn1/running_mean"].any()
    model.loss(X, y)
    state = model.state_dict()
    assert {"bn1/running_mean", "bn1/running_var", "bn2/running_mean", "bn2/running_var"} <= set(
        state
    )
    np.testing.assert_array_equal(state["bn2/running_var"], model.bn_params[1]["running_var"])
    expected = model.loss(X[:4])

    other = fc_net("batchnorm", seed=99)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.loss(X[:4]), expected)
    state["W1"][:] = 0
    assert other.params["W1"].any(), "load_state_dict must copy, not alias, the arrays"


def test_fc_net_load_state_dict_rejects_mismatches():
    model = fc_net("batchnorm", seed=0)
    state = model.state_dict()
    with pytest.raises(ValueError, match="missing \\['W3'\\]"):
        model.load_state_dict({k: v for k, v in state.items() if k != "W3"})
    with pytest.raises(ValueError, match="unexpected \\['W9'\\]"):
        model.load_state_dict({**state, "W9": np.zeros(1)})
    with pytest.raises(ValueError, match="'W1' has shape \\(3,\\)"):
        model.load_state_dict({**state, "W1": np.zeros(3)})
    with pytest.raises(ValueError, match="bn1/running_mean"):
        model.load_state_dict({**state, "bn1/running_mean": np.zeros(3)})


def test_two_layer_net_state_dict_round_trip():
    model = TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3, seed=0)
    other = TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3, seed=1)
    other.load_state_dict(model.state_dict())
    X = np.random.default_rng(0).standard_normal((3, 6))
    np.testing.assert_array_equal(other.loss(X), model.loss(X))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalization": "groupnorm"}, "unknown normalization 'groupnorm'"),
        (
            {"dropout_keep_ratio": 0},
            r"dropout_keep_ratio must be in \(0, 1\], got 0 .*keeping a unit",
        ),
        ({"dropout_keep_ratio": 1.5}, "dropout_keep_ratio"),
        ({"reg": -1.0}, "reg must be"),
        ({"weight_init": "uniform"}, "unknown weight_init 'uniform'"),
        ({"dtype": np.int32}, "dtype must be a float type"),
        ({"input_dim": 0}, "input_dim must be a positive integer"),
    ],
)
def test_fc_net_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FullyConnectedNet([10], **kwargs)


def test_fc_net_rejects_bad_hidden_dims():
    with pytest.raises(ValueError, match="write \\[100\\]"):
        FullyConnectedNet(100)
    with pytest.raises(ValueError, match="hidden_dims\\[1\\] must be a positive integer"):
        FullyConnectedNet([10, 0])


def test_two_layer_net_rejects_bad_arguments():
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer"):
        TwoLayerNet(hidden_dim=-3)
    with pytest.raises(ValueError, match="reg must be"):
        TwoLayerNet(reg=float("nan"))


def test_star_import_exposes_course_names():
    namespace = {}
    exec("from tinyvision.classifiers.fc_net import *", namespace)
    for name in (
        "affine_forward",
        "affine_relu_forward",
        "softmax_loss",
        "TwoLayerNet",
        "FullyConnectedNet",
    ):
        assert name in namespace, name


def test_solver_restores_best_params_with_their_running_statistics():
    rng = np.random.default_rng(0)
    y = rng.integers(3, size=150)
    X = 2 * rng.standard_normal((3, 6))[y] + rng.standard_normal((150, 6))
    model = FullyConnectedNet(
        [10], input_dim=6, num_classes=3, normalization="batchnorm", dtype=np.float64, seed=0
    )
    data = {"X_train": X[:100], "y_train": y[:100], "X_val": X[100:], "y_val": y[100:]}
    solver = Solver(
        model,
        data,
        optim_config={"learning_rate": 0.05},
        num_epochs=4,
        batch_size=25,
        verbose=False,
        seed=0,
    )
    solver.train()
    state = model.state_dict()
    assert {"bn1/running_mean", "bn1/running_var"} <= set(state)
    for name, value in solver.best_buffers.items():
        np.testing.assert_array_equal(state[name], value)
    accuracy = np.mean(np.argmax(model.loss(X[100:]), axis=1) == y[100:])
    assert accuracy == solver.best_val_acc
