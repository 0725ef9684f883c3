"""A NumPy model against its PyTorch twin holding copies of the same weights.

TwoLayerNet (NumPy) is TwoLayerFC (torch): fc - relu - fc. The NumPy ThreeLayerConvNet is conv -
relu - 2x2 max pool - affine - relu - affine, built in torch from nn layers and our Flatten. Each
pair must give the same scores, the same loss (cross-entropy plus the course's 0.5 * reg * sum W^2)
and the same gradient for every parameter, and stay together over a few SGD steps.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")

from assertions import assert_close  # noqa: E402
from torch import nn  # noqa: E402

from tinyvision.classifiers.cnn import ThreeLayerConvNet as NumpyConvNet  # noqa: E402
from tinyvision.classifiers.fc_net import TwoLayerNet  # noqa: E402
from tinyvision.torch.modules import Flatten, TwoLayerFC  # noqa: E402

# float64 twins differ only by summation order; float32 by its rounding (~1e-7 per operation).
TOL = {
    np.float64: {"rtol": 1e-10, "atol": 1e-12},
    np.float32: {"rtol": 2e-4, "atol": 2e-5},
}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}

# NumPy name -> (torch name, whether torch stores it transposed: nn.Linear keeps (out, in))
TWO_LAYER = {
    "W1": ("fc1.weight", True),
    "b1": ("fc1.bias", False),
    "W2": ("fc2.weight", True),
    "b2": ("fc2.bias", False),
}
CONVNET = {
    "W1": ("0.weight", False),
    "b1": ("0.bias", False),
    "W2": ("4.weight", True),
    "b2": ("4.bias", False),
    "W3": ("6.weight", True),
    "b3": ("6.bias", False),
}


def torch_convnet_twin(model):
    """conv - relu - pool - affine - relu - affine in torch nn layers, shaped like `model`."""
    F, C, HH, _ = model.params["W1"].shape
    hidden, classes = model.params["W3"].shape
    return nn.Sequential(
        nn.Conv2d(C, F, HH, padding=model.conv_param["pad"]),
        nn.ReLU(),
        nn.MaxPool2d(2),
        Flatten(),
        nn.Linear(model.params["W2"].shape[0], hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),
    )


def copy_weights(params, module, mapping):
    """Load the NumPy params into the torch module, transposing where torch's layout differs."""
    state = {}
    for name, (torch_name, transposed) in mapping.items():
        value = params[name].T if transposed else params[name]
        state[torch_name] = torch.from_numpy(np.ascontiguousarray(value))
    module.load_state_dict(state)


def torch_loss(module, X, y, reg, mapping):
    """Cross-entropy plus 0.5 * reg * the squared weights (not biases), as the course's models."""
    scores = module(torch.from_numpy(X))
    parameters = dict(module.named_parameters())
    weights = [
        parameters[torch_name] for name, (torch_name, _) in mapping.items() if name[0] == "W"
    ]
    loss = nn.functional.cross_entropy(scores, torch.from_numpy(y))
    return scores, loss + 0.5 * reg * sum((w**2).sum() for w in weights)


def assert_twins(model, module, mapping, X, y, dtype):
    """Scores, loss and every parameter gradient of the NumPy model equal those of its twin."""
    tol = TOL[dtype]
    scores, loss_t = torch_loss(module, X, y, model.reg, mapping)
    loss_t.backward()
    assert_close(model.loss(X), scores.detach().numpy(), **tol, name="scores")
    loss, grads = model.loss(X, y)
    assert_close(loss, loss_t.item(), **tol, name="loss")
    parameters = dict(module.named_parameters())
    assert set(grads) == set(mapping)
    for name, (torch_name, transposed) in mapping.items():
        grad_t = parameters[torch_name].grad.numpy()
        assert grads[name].dtype == dtype
        assert_close(grads[name], grad_t.T if transposed else grad_t, **tol, name=f"d{name}")


def sgd_together(model, module, mapping, X, y, lr=0.05, steps=5):
    """Plain SGD on both twins; returns their parameters afterwards, NumPy names for both."""
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    for _ in range(steps):
        _, grads = model.loss(X, y)
        for name in model.params:
            model.params[name] -= lr * grads[name]
        optimizer.zero_grad()
        torch_loss(module, X, y, model.reg, mapping)[1].backward()
        optimizer.step()
    parameters = dict(module.named_parameters())
    theirs = {}
    for name, (torch_name, transposed) in mapping.items():
        value = parameters[torch_name].detach().numpy()
        theirs[name] = value.T if transposed else value
    return model.params, theirs


def random_biases(model, rng):
    """Non-zero biases, so a bias the twin dropped or misplaced changes the scores."""
    for name in model.params:
        if name[0] == "b":
            model.params[name] = rng.standard_normal(model.params[name].shape).astype(model.dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_two_layer_net_and_two_layer_fc_are_twins(dtype, reg):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 3, 4, 4)).astype(dtype)  # flattened by both: D = 48
    y = rng.integers(0, 5, 7)
    model = TwoLayerNet(
        input_dim=48, hidden_dim=10, num_classes=5, weight_scale=0.3, reg=reg, seed=1, dtype=dtype
    )
    random_biases(model, rng)
    module = TwoLayerFC(48, 10, 5).to(TORCH_DTYPE[dtype])
    copy_weights(model.params, module, TWO_LAYER)
    assert_twins(model, module, TWO_LAYER, X, y, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("filter_size", "reg"), [(3, 0.0), (5, 0.2)])
def test_numpy_three_layer_convnet_and_its_torch_twin_are_twins(dtype, filter_size, reg):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 3, 8, 6)).astype(dtype)
    y = rng.integers(0, 4, 5)
    model = NumpyConvNet(
        input_dim=(3, 8, 6),
        num_filters=4,
        filter_size=filter_size,
        hidden_dim=9,
        num_classes=4,
        weight_scale=0.2,
        reg=reg,
        dtype=dtype,
        seed=2,
    )
    random_biases(model, rng)
    module = torch_convnet_twin(model).to(TORCH_DTYPE[dtype])
    copy_weights(model.params, module, CONVNET)
    assert_twins(model, module, CONVNET, X, y, dtype)


@pytest.mark.parametrize("which", ["TwoLayerNet", "ThreeLayerConvNet"])
def test_twins_stay_together_over_sgd_steps(which):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 2, 4, 4))
    y = rng.integers(0, 3, 6)
    if which == "TwoLayerNet":
        model = TwoLayerNet(input_dim=32, hidden_dim=8, num_classes=3, weight_scale=0.3, reg=0.1)
        module, mapping = TwoLayerFC(32, 8, 3).double(), TWO_LAYER
    else:
        model = NumpyConvNet(
            input_dim=(2, 4, 4), num_filters=3, filter_size=3, hidden_dim=5, num_classes=3,
            weight_scale=0.3, reg=0.1, dtype=np.float64, seed=4,
        )  # fmt: skip
        module, mapping = torch_convnet_twin(model).double(), CONVNET
    copy_weights(model.params, module, mapping)
    start = {name: value.copy() for name, value in model.params.items()}
    ours, theirs = sgd_together(model, module, mapping, X, y)
    for name in mapping:
        assert not np.array_equal(ours[name], start[name]), f"{name} did not move"
        assert_close(ours[name], theirs[name], **TOL[np.float64], name=name)


def test_a_wrong_weight_layout_is_caught():
    """The comparison can fail: a twin whose fc1 is not transposed back gives other scores."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 6, 4)
    model = TwoLayerNet(input_dim=6, hidden_dim=6, num_classes=6, weight_scale=0.5, seed=6)
    module = TwoLayerFC(6, 6, 6).double()
    copy_weights(model.params, module, {**TWO_LAYER, "W1": ("fc1.weight", False)})
    with pytest.raises(AssertionError, match="scores"):
        assert_twins(model, module, TWO_LAYER, X, y, np.float64)
