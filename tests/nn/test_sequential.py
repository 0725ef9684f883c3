"""Sequential's course model interface: loss gradients, scores, regularisation, Solver training.

Gradient bound, as in tests/classifiers/test_fc_net.py: every element satisfies
|analytic - numeric| <= 2e-7 |n| + 1e-8, i.e. the course's rel_error < 1e-7 above the noise floor
of float64 centred differences (h = 1e-5) and 1e-8 absolutely below it.
"""

import numpy as np
import pytest
from assertions import assert_close

from tinyvision import nn
from tinyvision.gradient_check import eval_numerical_gradient
from tinyvision.solver import Solver

# |analytic - numeric| <= 2e-7 |numeric| + 1e-8, the bound of the module docstring.
GRAD = {"rtol": 2e-7, "atol": 1e-8}


def check_gradients(model, X, y):
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in model.params:
        numeric = eval_numerical_gradient(
            lambda _: model.loss(X, y)[0], model.params[name], verbose=False
        )
        assert_close(grads[name], numeric, **GRAD, name=name)


def toy(n=6, shape=(5,), c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)), rng.integers(c, size=n)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("reg", [0.0, 0.8])
def test_loss_gradients_through_every_module(loss, reg):
    X, y = toy(shape=(2, 3))
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(6, 7, seed=1),
        nn.BatchNorm1d(7),
        nn.Tanh(),
        nn.Linear(7, 6, seed=2),
        nn.LayerNorm(6),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.7, seed=3),
        nn.Linear(6, 5, seed=4),
        nn.Sigmoid(),
        nn.Linear(5, 4, seed=5),
        loss=loss,
        reg=reg,
    )
    rng = np.random.default_rng(9)
    for name in ("2.gamma", "2.beta", "5.gamma", "5.beta"):
        model.params[name] = rng.standard_normal(model.params[name].shape)
    check_gradients(model, X, y)


def test_loss_adds_half_reg_times_squared_weights_of_linear_layers_only():
    X, y = toy()
    model = nn.Sequential(nn.Linear(5, 4, seed=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 4))
    model.params["1.gamma"] = np.full(4, 3.0)
    data_loss, data_grads = model.loss(X, y)
    model.reg = 0.25
    loss, grads = model.loss(X, y)
    weights = (model.params["0.W"], model.params["3.W"])
    assert loss == pytest.approx(data_loss + 0.125 * sum(np.sum(w * w) for w in weights), 1e-12)
    expected = data_grads["0.W"] + 0.25 * model.params["0.W"]
    assert_close(grads["0.W"], expected, rtol=1e-12, atol=1e-14, name="0.W")
    np.testing.assert_array_equal(grads["1.gamma"], data_grads["1.gamma"])
    np.testing.assert_array_equal(grads["3.b"], data_grads["3.b"])


def test_scores_come_from_an_eval_pass_and_modes_are_restored():
    X, y = toy(n=10)
    model = nn.Sequential(nn.Linear(5, 6, seed=0), nn.BatchNorm1d(6), nn.Dropout(0.5, seed=1))
    model.loss(X, y)
    scores = model.loss(X)
    assert model.training and model[2].training
    np.testing.assert_array_equal(model.eval().forward(X), scores)
    model.loss(X, y)
    assert not model.training, "loss() must leave the caller's mode alone"
    np.testing.assert_array_equal(model.loss(X[:1]), model.forward(X[:1]))


def test_solver_trains_a_sequential_and_restores_the_best_params():
    rng = np.random.default_rng(0)
    centres = 3 * rng.standard_normal((3, 4))
    y = rng.integers(3, size=300)
    X = centres[y] + 0.5 * rng.standard_normal((300, 4))
    model = nn.Sequential(
        nn.Linear(4, 16, seed=0), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3, seed=1)
    )
    data = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:], "y_val": y[200:]}
    solver = Solver(
        model,
        data,
        optim_config={"learning_rate": 0.1},
        num_epochs=5,
        batch_size=50,
        verbose=False,
        seed=0,
    )
    solver.train()
    assert solver.best_val_acc > 0.95
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(model.params[name], value)
    assert np.mean(np.argmax(model.loss(X[200:]), axis=1) == y[200:]) == solver.best_val_acc
