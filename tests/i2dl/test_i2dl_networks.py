"""tinyvision.i2dl.networks: the exercise's usage patterns, checked against the core, numerical
gradients (float64) and PyTorch."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from assertions import assert_close

from tinyvision import nn, optim
from tinyvision.classifiers.classification_net import ClassificationNet as CoreNet
from tinyvision.data.datasets import ArrayDataset
from tinyvision.data.loader import DataLoader
from tinyvision.files import load_arrays
from tinyvision.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from tinyvision.i2dl.networks import (
    BCE,
    L1,
    MSE,
    SGD,
    Adam,
    ClassificationNet,
    Classifier,
    CrossEntropyFromLogits,
    GetHumanReadable,
    LeakyRelu,
    Optimizer,
    Relu,
    SGDMomentum,
    Sigmoid,
    Tanh,
    compute_network_pass_size,
)

GRAD = {"rtol": 1e-6, "atol": 1e-9}
TORCH = {"rtol": 1e-10, "atol": 1e-12}


def test_module_paths_mirror_the_exercise():
    for module, name in [
        ("layer", "Relu"),
        ("loss", "CrossEntropyFromLogits"),
        ("classifier", "Classifier"),
        ("classification_net", "ClassificationNet"),
        ("optimizer", "Adam"),
        ("base_networks", "Network"),
        ("compute_network_size", "compute_network_pass_size"),
    ]:
        mod = importlib.import_module(f"tinyvision.i2dl.networks.{module}")
        assert getattr(mod, name) is getattr(
            importlib.import_module("tinyvision.i2dl.networks"), name
        )


ACTIVATIONS = [
    (Sigmoid(), torch.sigmoid),
    (Relu(), torch.relu),
    (Tanh(), torch.tanh),
    (LeakyRelu(slope=0.2), lambda t: F.leaky_relu(t, 0.2)),
    (LeakyRelu(), lambda t: F.leaky_relu(t, 0.01)),
]


@pytest.mark.parametrize(("activation", "torch_fn"), ACTIVATIONS)
def test_activation_forward_backward_match_torch_and_numerical(activation, torch_fn):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)) * 3
    dout = rng.standard_normal((4, 5))
    out, cache = activation.forward(x)  # the notebook's usage
    dx = activation.backward(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    outt = torch_fn(xt)
    outt.backward(torch.tensor(dout))
    assert_close(out, outt.detach().numpy(), **TORCH, name="out")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")
    dx_num = eval_numerical_gradient_array(lambda v: activation.forward(v)[0], x, dout)
    assert_close(dx, dx_num, **GRAD, name="dx vs numerical")


def test_activation_keeps_float32():
    out, cache = Relu().forward(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32
    assert Sigmoid().backward(np.ones((2, 3), np.float32), Sigmoid().forward(out)[1]).dtype == (
        np.float32
    )


def test_leaky_relu_refuses_a_negative_slope():
    with pytest.raises(ValueError, match="slope"):
        LeakyRelu(slope=-1)


def _regression_pair(rng):
    return rng.standard_normal((6, 1)), rng.standard_normal((6, 1))


LOSSES = [
    (L1, F.l1_loss, _regression_pair),
    (MSE, F.mse_loss, _regression_pair),
    (
        BCE,
        F.binary_cross_entropy,
        lambda r: (r.uniform(0.05, 0.95, (6, 1)), r.uniform(0, 1, (6, 1))),
    ),
]


@pytest.mark.parametrize(("loss_class", "torch_loss", "make"), LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_losses_match_torch(loss_class, torch_loss, make, reduction):
    y_out, y_truth = make(np.random.default_rng(1))
    loss_func = loss_class()
    loss = loss_func.forward(y_out, y_truth, reduction=reduction)
    grad = loss_func.backward(y_out, y_truth, reduction=reduction)

    t = torch.tensor(y_out, requires_grad=True)
    expected = torch_loss(t, torch.tensor(y_truth), reduction=reduction)
    expected.sum().backward()  # "none": each element's own derivative
    assert_close(loss, expected.detach().numpy(), **TORCH, name="loss")
    assert_close(grad, t.grad.numpy(), **TORCH, name="grad")


@pytest.mark.parametrize(("loss_class", "torch_loss", "make"), LOSSES)
def test_elementwise_loss_gradient_is_numerical_gradient_of_forward(loss_class, torch_loss, make):
    y_out, y_truth = make(np.random.default_rng(2))
    y_out = y_out + 1e-3  # keep L1 away from its kink
    loss_func = loss_class()
    grad = loss_func.backward(y_out, y_truth)
    numerical = eval_numerical_gradient(
        lambda v: float(loss_func.forward(v, y_truth)), y_out.copy(), verbose=False
    )
    assert_close(grad, numerical, **GRAD)


def test_loss_spellings_of_other_years_agree():
    rng = np.random.default_rng(3)
    y_out, y_truth = _regression_pair(rng)
    loss_func = MSE()
    assert_close(
        loss_func.forward(y_out, y_truth, individual_losses=True),
        loss_func.forward(y_out, y_truth, reduction="none"),
        rtol=0,
    )
    assert loss_func.forward(y_out, y_truth, individual_losses=False) == loss_func.forward(
        y_out, y_truth
    )
    loss, grad = loss_func(y_out, y_truth)  # calling the object gives both
    assert loss == loss_func.forward(y_out, y_truth)
    assert_close(grad, loss_func.backward(y_out, y_truth), rtol=0)
    summed = MSE(reduction="sum")
    assert summed.reduction == "sum"
    assert_close(summed.forward(y_out, y_truth), np.sum((y_out - y_truth) ** 2), rtol=1e-12)


def test_loss_refuses_mismatched_shapes_and_unknown_reductions():
    with pytest.raises(ValueError, match="y_truth has shape"):
        MSE().forward(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be one of"):
        L1().forward(np.zeros(3), np.zeros(3), reduction="max")
    with pytest.raises(ValueError, match="not both"):
        L1().forward(np.zeros(3), np.zeros(3), reduction="sum", individual_losses=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_from_logits_matches_torch(reduction):
    rng = np.random.default_rng(4)
    scores, labels = rng.standard_normal((7, 4)) * 2, rng.integers(0, 4, size=7)
    loss_func = CrossEntropyFromLogits()
    loss, grad = loss_func(scores, labels, reduction=reduction)
    t = torch.tensor(scores, requires_grad=True)
    expected = F.cross_entropy(t, torch.tensor(labels), reduction=reduction)
    expected.sum().backward()
    assert_close(loss, expected.detach().numpy(), **TORCH, name="loss")
    assert_close(grad, t.grad.numpy(), **TORCH, name="grad")
    with pytest.raises(ValueError, match="y"):
        loss_func.forward(scores, labels + 4)


def _blobs(rng, n=80, d=2):
    """Two Gaussian blobs, labels 0/1, linearly separable with a margin."""
    y = rng.integers(0, 2, size=n)
    X = rng.standard_normal((n, d)) * 0.5 + np.where(y[:, None] == 1, 2.0, -2.0)
    return X, y


def test_classifier_notebook_pattern_matches_formula_and_numerical_gradient():
    rng = np.random.default_rng(5)
    X, y = _blobs(rng, n=12, d=3)
    model = Classifier(num_features=3)
    weights = rng.standard_normal((4, 1))
    model.initialize_weights(weights)
    y_out = model.forward(X)
    assert_close(y_out, 1 / (1 + np.exp(-(X @ weights[:3] + weights[3]))), rtol=1e-12)

    loss_func = BCE()
    targets = y[:, None].astype(float)
    dW = model.backward(loss_func.backward(y_out, targets))
    assert dW.shape == (4, 1)

    def loss_at(w):
        model.W = w
        return float(loss_func.forward(model.forward(X), targets))

    numerical = eval_numerical_gradient(loss_at, weights.copy(), verbose=False)
    assert_close(dW, numerical, **GRAD)


def test_classifier_trains_with_the_exercise_optimizer():
    rng = np.random.default_rng(6)
    X, y = _blobs(rng)
    targets = y[:, None].astype(float)
    np.random.seed(0)
    model = Classifier(num_features=2)
    model.initialize_weights()
    assert model.W.shape == (3, 1) and np.abs(model.W).max() < 0.01  # 0.001 * N(0, 1)
    opt = Optimizer(model, learning_rate=0.5)
    loss_func = BCE()
    first = loss_func.forward(model.forward(X), targets)
    for _ in range(100):
        before = model.W.copy()
        dW = model.backward(loss_func.backward(model.forward(X), targets))
        opt.step(dW)
        assert_close(model.W, before - 0.5 * dW, rtol=1e-12)
    assert loss_func.forward(model.forward(X), targets) < 0.1 * first
    assert model.score(X, y) == 1.0


def test_classifier_checks_weights_and_forward_order():
    model = Classifier(num_features=2)
    with pytest.raises(ValueError, match=r"num_features \+ 1, 1"):
        model.initialize_weights(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="forward"):
        model.backward(np.zeros((3, 1)))


def _core_twin(net, activation):
    """A core ClassificationNet of net's sizes holding copies of its weights."""
    core = CoreNet(activation=activation, input_size=6, hidden_size=5, num_classes=3, num_layer=3)
    core.load_state_dict(net.state_dict())
    return core


@pytest.mark.parametrize(
    ("activation", "core_activation"),
    [(Relu(), nn.ReLU), (Sigmoid, nn.Sigmoid), (Tanh(), nn.Tanh), (LeakyRelu(0.3), "leaky")],
)
def test_classification_net_equals_the_core_net(activation, core_activation):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((8, 2, 3)), rng.integers(0, 3, size=8)
    net = ClassificationNet(
        activation=activation, num_layer=3, input_size=6, hidden_size=5, num_classes=3, std=0.5
    )
    if core_activation == "leaky":
        core_activation = lambda: nn.LeakyReLU(0.3)  # noqa: E731
        assert net[1].negative_slope == 0.3
    core = _core_twin(net, core_activation)
    scores = net.forward(X)
    assert_close(scores, core.forward(X), rtol=0)
    grads = net.backward(CrossEntropyFromLogits().backward(scores, y))
    _, core_grads = core.loss(X, y)
    assert sorted(grads) == sorted(core_grads)
    for name in grads:
        assert_close(grads[name], core_grads[name], rtol=1e-12, atol=1e-15, name=name)


def test_classification_net_regularisation_is_the_exercises_and_gradient_checks():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 3, size=5)
    net = ClassificationNet(
        activation=Relu(), num_layer=3, input_size=6, hidden_size=5, num_classes=3, std=0.5, reg=0.3
    )
    loss_func = CrossEntropyFromLogits()
    scores = net.forward(X)
    params = net.params
    assert sorted(net.reg) == ["0.W", "2.W", "4.W"]
    for name, penalty in net.reg.items():
        assert penalty == pytest.approx(0.3 * np.sum(params[name] ** 2), rel=1e-12)
    grads = net.backward(loss_func.backward(scores, y))

    def total_loss(_):
        return float(loss_func.forward(net.forward(X), y)) + sum(net.reg.values())

    for name in ("0.W", "0.b", "4.W"):
        numerical = eval_numerical_gradient(total_loss, params[name], verbose=False)
        assert_close(grads[name], numerical, **GRAD, name=name)
    loss, loss_grads = net.loss(X, y)  # the course model interface agrees
    assert loss == pytest.approx(total_loss(None), rel=1e-12)
    assert_close(loss_grads["2.W"], grads["2.W"], rtol=1e-12)


def test_classification_net_wraps_a_handwritten_activation():
    class Softplus:  # an exercise-style activation of one's own
        def forward(self, x):
            out = np.log1p(np.exp(x))
            return out, x

        def backward(self, dout, cache):
            return dout / (1 + np.exp(-cache))

    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 3, size=4)
    net = ClassificationNet(
        activation=Softplus(), input_size=6, hidden_size=5, num_classes=3, std=0.5
    )
    loss_func = CrossEntropyFromLogits()
    grads = net.backward(loss_func.backward(net.forward(X), y))
    numerical = eval_numerical_gradient(
        lambda _: float(loss_func.forward(net.forward(X), y)), net.params["0.W"], verbose=False
    )
    assert_close(grads["0.W"], numerical, **GRAD)


def test_classification_net_ignores_options_it_does_not_use_and_checks_reg():
    net = ClassificationNet(input_size=4, hidden_size=3, num_classes=2, learning_rate=1e-3)
    assert isinstance(net[1], nn.Sigmoid)  # the exercise's default activation
    with pytest.raises(ValueError, match="reg"):
        ClassificationNet(input_size=4, reg=-1)


def test_get_dataset_prediction_and_save_model(tmp_path):
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((11, 6)), rng.integers(0, 3, size=11)
    net = ClassificationNet(activation=Relu(), input_size=6, hidden_size=5, num_classes=3, std=1)
    labels, preds, acc = net.get_dataset_prediction(DataLoader(ArrayDataset(X, y), batch_size=4))
    expected = np.argmax(net.forward(X), axis=1)
    assert_close(labels, y, rtol=0)
    assert_close(preds, expected, rtol=0)
    assert acc == pytest.approx(np.mean(expected == y))

    path = net.save_model(tmp_path / "models")
    assert path.name == "cifar10_classification_net.npz"
    twin = ClassificationNet(activation=Relu(), input_size=6, hidden_size=5, num_classes=3)
    twin.load_state_dict(load_arrays(path))
    assert_close(twin.forward(X), net.forward(X), rtol=0)


def _torch_optimizer(name, tensor, lr):
    if name == "sgd":
        return torch.optim.SGD([tensor], lr=lr)
    if name == "momentum":
        return torch.optim.SGD([tensor], lr=lr, momentum=0.9)
    return torch.optim.Adam([tensor], lr=lr, eps=1e-4)


@pytest.mark.parametrize(
    ("opt_class", "name"), [(SGD, "sgd"), (SGDMomentum, "momentum"), (Adam, "adam")]
)
def test_optimizers_step_like_torch(opt_class, name):
    rng = np.random.default_rng(11)
    w0 = rng.standard_normal((3, 2))

    class DictModel:  # the exercise's own networks keep plain params / grads dicts
        params = {"W": w0.copy()}
        grads = {}

    model = DictModel()
    opt = opt_class(model, loss_func=None, learning_rate=0.1)
    tensor = torch.tensor(w0, requires_grad=True)
    reference = _torch_optimizer(name, tensor, 0.1)
    for _ in range(4):
        dw = rng.standard_normal((3, 2))
        model.grads["W"] = dw
        opt.step()
        assert model.grads["W"] == 0.0  # cleared as the exercise does
        tensor.grad = torch.tensor(dw)
        reference.step()
        assert_close(model.params["W"], tensor.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_optimizer_backward_and_step_use_the_core_rule():
    rng = np.random.default_rng(12)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 2, size=6)
    net = ClassificationNet(activation=Relu(), input_size=4, hidden_size=3, num_classes=2, std=0.5)
    loss_func = CrossEntropyFromLogits()
    opt = SGDMomentum(net, loss_func, learning_rate=0.05, optim_config={"momentum": 0.5})
    before = {name: value.copy() for name, value in net.params.items()}
    scores = net.forward(X)
    opt.backward(scores, y)
    grads = net.grads
    opt.step()
    assert net.grads == {}  # Module gradients are cleared
    for name, w in before.items():
        expected, _ = optim.sgd_momentum(w, grads[name], {"learning_rate": 0.05, "momentum": 0.5})
        assert_close(net.params[name], expected, rtol=1e-12, name=name)
    opt.lr *= 0.5  # the Solver's decay reaches every parameter's config
    assert all(config["learning_rate"] == 0.025 for config in opt.optim_configs.values())
    with pytest.raises(ValueError, match="unknown arguments"):
        Adam(net, loss_func, 1e-3, betas=(0.9, 0.99))


def test_compute_network_pass_size_counts_caches_and_gradients(capsys):
    rng = np.random.default_rng(13)
    X, y = rng.standard_normal((10, 6)), rng.integers(0, 3, size=10)
    net = ClassificationNet(activation=Relu(), input_size=6, hidden_size=5, num_classes=3)
    net.backward(CrossEntropyFromLogits().backward(net.forward(X), y))
    size = compute_network_pass_size(net)
    report = nn.measure_memory(net)
    assert size == report.total("cache_bytes") + report.total("grad_bytes")
    # Linear 0 caches X (10 x 6), ReLU its input (10 x 5), Linear 2 the ReLU output (10 x 5);
    # the gradients are W and b of both Linear layers; all float64.
    assert size == 8 * (60 + 50 + 50) + 8 * (6 * 5 + 5 + 5 * 3 + 3)
    assert "Adding layer caches for forward pass:" in capsys.readouterr().out
    assert compute_network_pass_size(net, verbose=False) == size
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("size", "text"),
    [(512, "512.00B"), (1536, "1.50KB"), (3 * 1024**2, "3.00MB"), (5 * 1024**5, "5120.00TB")],
)
def test_get_human_readable(size, text):
    assert GetHumanReadable(size) == text
