"""Binary logistic regression (I2DL): gradients, Solver training, prediction, the demo plot."""

import numpy as np
import pytest
import torch

from tinyvision.classifiers.logistic_regression import LogisticRegression, demo_breast_cancer
from tinyvision.gradient_check import eval_numerical_gradient, rel_error
from tinyvision.solver import Solver


def separable(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X @ np.array([2.0, -1.0]) + 0.3 > 0).astype(np.int64)
    return X, y


@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_gradient_matches_numerical(reg):
    X, y = separable(n=10)
    model = LogisticRegression(2, weight_scale=0.5, reg=reg, seed=1)
    _, grads = model.loss(X, y)
    numeric = eval_numerical_gradient(
        lambda _: model.loss(X, y)[0], model.params["W"], verbose=False
    )
    assert rel_error(grads["W"], numeric) < 1e-7


def test_loss_and_gradient_match_torch_bce_with_logits():
    X, y = separable(n=12, seed=2)
    model = LogisticRegression(2, weight_scale=0.7, seed=3)
    loss, grads = model.loss(X, y)
    W = torch.tensor(model.params["W"], requires_grad=True)
    z = torch.from_numpy(X) @ W[:-1] + W[-1]
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        z, torch.from_numpy(y.astype(np.float64))[:, None]
    )
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(grads["W"], W.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_regularisation_leaves_the_bias_alone():
    X, y = separable(n=10)
    model = LogisticRegression(2, weight_scale=0.5, seed=1)
    data_loss, data_grads = model.loss(X, y)
    model.reg = 2.0
    loss, grads = model.loss(X, y)
    w = model.params["W"][:-1]
    assert loss == pytest.approx(data_loss + np.sum(w * w), rel=1e-12)
    assert grads["W"][-1] == data_grads["W"][-1]


def test_scores_give_the_prediction_by_argmax():
    X, _ = separable(n=30, seed=4)
    model = LogisticRegression(2, weight_scale=1.0, seed=5)
    scores = model.loss(X)
    assert scores.shape == (30, 2)
    np.testing.assert_array_equal(np.argmax(scores, axis=1), model.predict(X))
    p = model.predict_proba(X)
    z = X @ model.params["W"][:-1, 0] + model.params["W"][-1, 0]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), (p > 0.5).astype(int))


def test_solver_learns_a_separable_set():
    X, y = separable(n=120, seed=6)
    model = LogisticRegression(2, seed=7)
    data = {"X_train": X[:80], "y_train": y[:80], "X_val": X[80:], "y_val": y[80:]}
    solver = Solver(
        model,
        data,
        optim_config={"learning_rate": 2.0},
        batch_size=80,
        num_epochs=100,
        verbose=False,
        seed=0,
    )
    solver.train()
    assert model.score(X[:80], y[:80]) >= 0.97
    assert model.score(X[80:], y[80:]) >= 0.95
    assert solver.check_accuracy(X[80:], y[80:]) == model.score(X[80:], y[80:])


def test_demo_writes_the_plot_and_reports_accuracies(tmp_path):
    result = demo_breast_cancer(tmp_path / "plots", num_epochs=60)
    path = tmp_path / "plots" / "logistic_regression_breast_cancer.png"
    assert result["plot_path"] == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # One feature ("mean radius") separates the classes well but not perfectly.
    for split in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert 0.8 < result[split] < 1.0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        LogisticRegression(0)
    with pytest.raises(ValueError, match="reg must be"):
        LogisticRegression(2, reg=-1)
    model = LogisticRegression(2, seed=0)
    with pytest.raises(ValueError, match="X has 3 features per example but the model was built"):
        model.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X must have 2 dimensions"):
        model.predict_proba(np.zeros(4))
    with pytest.raises(ValueError, match="only 2 classes"):
        model.score(np.zeros((2, 2)), np.array([0, 2]))
    with pytest.raises(ValueError, match="unknown feature 'size'"):
        demo_breast_cancer("unused", feature="size")
