"""ThreeLayerConvNet: numerical gradients, PyTorch parity, training behaviour and validation.

Gradient bound: every element must satisfy |analytic - numeric| <= 2e-7 |n| + 1e-8,
i.e. the course's rel_error < 1e-7 wherever the gradient is above the noise floor of float64
centred differences with h = 1e-5; elements below it (tiny bias gradients) are held to 1e-8
absolutely. The whole-array rel_error of every weight W1, W2, W3 is also required to be < 1e-7.
"""

import numpy as np
import pytest
import torch
from assertions import assert_close

from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.gradient_check import eval_numerical_gradient, rel_error
from tinyvision.solver import Solver

# |analytic - numeric| <= 2e-7 |numeric| + 1e-8, the bound of the module docstring.
GRAD = {"rtol": 2e-7, "atol": 1e-8}
TOL = {"rtol": 1e-10, "atol": 1e-12}


def tiny_net(reg=0.0, seed=0, **kwargs):
    options = {
        "input_dim": (3, 8, 8),
        "num_filters": 3,
        "filter_size": 3,
        "hidden_dim": 7,
        "num_classes": 4,
        "weight_scale": 0.3,
        "reg": reg,
        "dtype": np.float64,
        "seed": seed,
    }
    options.update(kwargs)
    return ThreeLayerConvNet(**options)


@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_loss_gradients_match_numerical_gradients(reg):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((2, 3, 8, 8)), np.array([1, 3])
    model = tiny_net(reg=reg)
    for name in ("b1", "b2", "b3"):
        model.params[name] = 0.1 * rng.standard_normal(model.params[name].shape)
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False
        )
        assert_close(grads[name], numeric, **GRAD, name=name)
        if name.startswith("W"):
            assert rel_error(grads[name], numeric) < 1e-7


def test_initial_loss_is_log_num_classes_and_reg_adds_the_weight_penalty():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 3, 8, 8)), rng.integers(0, 10, 20)
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), weight_scale=1e-3, dtype=np.float64, seed=3)
    loss, _ = model.loss(X, y)
    # Tiny weights give near-uniform scores, so cross-entropy is log(10).
    assert abs(loss - np.log(10)) < 1e-3
    model.reg = 0.5
    penalty = 0.25 * sum(np.sum(model.params[w] ** 2) for w in ("W1", "W2", "W3"))
    assert model.loss(X, y)[0] == pytest.approx(loss + penalty, rel=1e-12)


def test_overfits_fifty_examples():
    rng = np.random.default_rng(4)
    data = {
        "X_train": rng.standard_normal((50, 3, 8, 8)),
        "y_train": rng.integers(0, 10, 50),
        "X_val": rng.standard_normal((10, 3, 8, 8)),
        "y_val": rng.integers(0, 10, 10),
    }
    model = ThreeLayerConvNet(
        input_dim=(3, 8, 8),
        num_filters=16,
        filter_size=3,
        hidden_dim=100,
        weight_scale=1e-1,
        seed=5,
    )
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 5e-3},
        batch_size=10,
        num_epochs=20,
        verbose=False,
        progress=False,
        seed=0,
    )
    solver.train()
    assert solver.train_acc_history[-1] == 1.0


def torch_forward(model, X):
    """The same network written with torch.nn.functional, on model's weights."""
    p = {name: torch.tensor(value, requires_grad=True) for name, value in model.params.items()}
    x = torch.tensor(X)
    h = torch.nn.functional.conv2d(x, p["W1"], p["b1"], padding=model.conv_param["pad"])
    h = torch.nn.functional.max_pool2d(torch.relu(h), 2)
    h = torch.relu(h.flatten(1) @ p["W2"] + p["b2"])
    return h @ p["W3"] + p["b3"], p


@pytest.mark.parametrize("filter_size", [3, 5])
def test_forward_and_gradients_equal_a_torch_reimplementation(filter_size):
    rng = np.random.default_rng(6)
    model = tiny_net(reg=0.3, filter_size=filter_size, seed=7)
    for name in ("b1", "b2", "b3"):
        model.params[name] = rng.standard_normal(model.params[name].shape)
    X, y = rng.standard_normal((5, 3, 8, 8)), rng.integers(0, 4, 5)
    scores_t, p = torch_forward(model, X)
    np.testing.assert_allclose(model.loss(X), scores_t.detach().numpy(), **TOL)

    loss_t = torch.nn.functional.cross_entropy(scores_t, torch.from_numpy(y))
    loss_t = loss_t + 0.5 * model.reg * sum((p[w] ** 2).sum() for w in ("W1", "W2", "W3"))
    loss_t.backward()
    loss, grads = model.loss(X, y)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for name, tensor in p.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), err_msg=name, **TOL)


def test_parameter_shapes_follow_the_course_and_float32_is_kept():
    model = ThreeLayerConvNet(seed=0)
    expected = {
        "W1": (32, 3, 7, 7),
        "b1": (32,),
        "W2": (32 * 16 * 16, 100),
        "b2": (100,),
        "W3": (100, 10),
        "b3": (10,),
    }
    assert {name: value.shape for name, value in model.params.items()} == expected
    X = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    loss, grads = model.loss(X, np.array([0, 1]))
    assert model.loss(X).dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


def test_state_dict_round_trip_reproduces_the_scores():
    X = np.random.default_rng(8).standard_normal((3, 3, 8, 8))
    trained, fresh = tiny_net(seed=1), tiny_net(seed=2)
    fresh.load_state_dict(trained.state_dict())
    np.testing.assert_array_equal(fresh.loss(X), trained.loss(X))
    with pytest.raises(ValueError, match="missing"):
        fresh.load_state_dict({"W1": trained.params["W1"]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_size": 4}, "filter_size must be odd.*got 4"),
        ({"input_dim": (3, 31, 32)}, r"even height and width, got input_dim \(3, 31, 32\)"),
        ({"input_dim": (32, 32)}, r"input_dim must be \(C, H, W\).*\(32, 32\)"),
        ({"num_filters": 0}, "num_filters must be a positive integer, got 0"),
        ({"hidden_dim": 2.5}, "hidden_dim must be a positive integer, got 2.5"),
        ({"reg": -1.0}, "reg must be a finite number >= 0, got -1.0"),
        ({"dtype": np.int32}, "dtype must be a float type"),
    ],
)
def test_bad_constructor_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeLayerConvNet(**kwargs)


def test_images_of_the_wrong_shape_are_rejected_with_the_shapes():
    model = tiny_net()
    with pytest.raises(ValueError, match=r"X must be \(N, 3, 8, 8\).*\(2, 8, 8, 3\)"):
        model.loss(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"\(2, 192\)"):
        model.loss(np.zeros((2, 192)), np.array([0, 1]))
