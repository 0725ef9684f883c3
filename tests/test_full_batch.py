"""L-BFGS on a model's flat parameter vector (tinyvision.full_batch), its CLI and experiment."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from tinyvision.classification import Prepared
from tinyvision.classifiers.fc_net import FullyConnectedNet
from tinyvision.classifiers.linear_classifier import LinearSVM, Softmax
from tinyvision.classifiers.logistic_regression import LogisticRegression
from tinyvision.classifiers.softmax import softmax_loss_vectorized
from tinyvision.cli import main
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.experiments import run_experiment
from tinyvision.full_batch import (
    flatten_params,
    minimize_lbfgs,
    model_objective,
    unflatten_params,
)
from tinyvision.models import linear


def _blobs(rng, n=90, dim=4, classes=3):
    """Three overlapping gaussian clusters: a softmax problem with a finite optimum."""
    y = np.arange(n) % classes
    centres = rng.standard_normal((classes, dim))
    return centres[y] + 1.5 * rng.standard_normal((n, dim)), y.astype(np.int64)


def test_flatten_then_unflatten_gives_back_every_array_with_its_shape_and_dtype():
    rng = np.random.default_rng(0)
    params = {
        "W1": rng.standard_normal((3, 4)).astype(np.float32),
        "b1": rng.standard_normal(4),
        "gamma": rng.standard_normal((2, 1, 3)),
        "scalar": np.array(1.5),
    }
    vector, layout = flatten_params(params)
    assert vector.dtype == np.float64 and vector.shape == (12 + 4 + 6 + 1,)
    np.testing.assert_array_equal(vector[:12], params["W1"].ravel())
    back = unflatten_params(vector, layout)
    assert list(back) == list(params)
    for name, value in params.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        np.testing.assert_array_equal(back[name], value)
    assert unflatten_params(vector, layout, np.float64)["W1"].dtype == np.float64
    with pytest.raises(ValueError, match=r"vector has shape \(22,\) but the layout holds 23"):
        unflatten_params(vector[:-1], layout)
    with pytest.raises(ValueError, match="params is empty"):
        flatten_params({})


def test_lbfgs_finds_the_minimiser_of_a_quadratic_over_two_arrays():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((6, 6))
    A = M @ M.T + 6 * np.eye(6)  # symmetric positive definite
    b = rng.standard_normal(6)

    calls = []

    def objective(params):
        calls.append(1)
        x = np.concatenate([params["u"].ravel(), params["v"]])
        grad = A @ x - b
        return 0.5 * x @ A @ x - b @ x, {"u": grad[:4].reshape(2, 2), "v": grad[4:]}

    start = {"u": np.zeros((2, 2)), "v": np.ones(2)}
    params, history = minimize_lbfgs(objective, start, max_iter=100, gtol=1e-10, ftol=0.0)
    expected = np.linalg.solve(A, b)
    np.testing.assert_allclose(params["u"].ravel(), expected[:4], atol=1e-8)
    np.testing.assert_allclose(params["v"], expected[4:], atol=1e-8)
    np.testing.assert_array_equal(start["v"], np.ones(2))  # the start is not modified
    assert history.converged
    # One entry at the start and one per iteration; the line search only ever goes downhill.
    assert len(history.losses) == len(history.seconds) == len(history.passes) >= 2
    assert np.all(np.diff(history.losses) <= 0) and np.all(np.diff(history.seconds) >= 0)
    assert history.passes[0] == 1 and np.all(np.diff(history.passes) >= 1)
    assert history.passes[-1] == len(calls)  # the start is evaluated once, not twice
    assert history.losses[-1] == pytest.approx(-0.5 * b @ expected, abs=1e-12)


def test_lbfgs_softmax_equals_scikit_learns_multinomial_logistic_regression():
    rng = np.random.default_rng(2)
    X, y = _blobs(rng)
    C = 0.5
    # sklearn minimises C * sum(CE) + 0.5 * |W|^2 (bias free); ours mean(CE) + 0.5 * reg * |W|^2.
    reg = 1.0 / (C * len(X))
    net = FullyConnectedNet([], input_dim=4, num_classes=3, reg=reg, dtype=np.float64, seed=0)
    params, history = minimize_lbfgs(
        model_objective(net, X, y), net.params, max_iter=500, gtol=1e-10, ftol=1e-15
    )
    reference = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(params["W1"], reference.coef_.T, atol=1e-5)
    # Adding a constant to every class's bias leaves the softmax unchanged: compare centred.
    np.testing.assert_allclose(
        params["b1"] - params["b1"].mean(),
        reference.intercept_ - reference.intercept_.mean(),
        atol=1e-5,
    )
    assert history.losses[-1] < history.losses[0]


def test_lbfgs_beats_a_few_sgd_epochs_of_the_same_softmax_from_the_same_start():
    X, y = _blobs(np.random.default_rng(3), n=120)
    sgd, full = Softmax(seed=0), Softmax(seed=0)
    sgd.train(X, y, learning_rate=0.1, reg=1e-3, num_iters=3 * 120 // 20, batch_size=20)
    X32 = X.astype(np.float32)
    history = full.train_lbfgs(X32, y, reg=1e-3, max_iter=100)
    # Same start: Softmax(seed=0) draws the same initial W (max_iter=0 keeps it).
    start = Softmax(seed=0)
    assert start.train_lbfgs(X32, y, reg=1e-3, max_iter=0).losses == history.losses[:1]
    assert history.losses[0] == pytest.approx(softmax_loss_vectorized(start.W, X, y, 1e-3)[0])
    assert full.W.dtype == np.float32
    sgd_loss, _ = sgd.loss(X, y, 1e-3)
    lbfgs_loss, grad = full.loss(X, y, 1e-3)
    assert lbfgs_loss < sgd_loss - 1e-3
    assert np.abs(grad).max() < 1e-3


def test_logistic_regression_and_svm_train_with_lbfgs():
    X, y = _blobs(np.random.default_rng(4), classes=2)
    model = LogisticRegression(4, reg=1e-2, seed=0)
    before, _ = model.loss(X, y)
    params, history = minimize_lbfgs(model_objective(model, X, y), model.params)
    model.params = params
    after, grads = model.loss(X, y)
    assert after < before and np.abs(grads["W"]).max() < 1e-4
    svm = LinearSVM(seed=0)
    history = svm.train_lbfgs(X, y, reg=1e-2, max_iter=30)
    assert history.losses[-1] < history.losses[0]
    with pytest.raises(ValueError, match="max_iter"):
        svm.train_lbfgs(X, y, max_iter=-1)


def test_cli_fit_with_lbfgs_records_the_loss_per_iteration_and_the_solver_models_refuse_it():
    rng = np.random.default_rng(5)
    X, y = _blobs(rng, n=80)
    prepared = Prepared(
        data={"y_train": y[:60], "y_val": y[60:]}, prep={}, X={"train": X[:60], "val": X[60:]}
    )
    config = resolve_config(
        TrainConfig(model="softmax", dataset="digits", update_rule="lbfgs", epochs=20, reg=1e-3)
    )
    model = Softmax(seed=0)
    history = linear.fit(model, config, prepared, None, False, None)
    reference = Softmax(seed=0)
    reference.train_lbfgs(X[:60], y[:60], reg=1e-3, max_iter=20)
    np.testing.assert_array_equal(model.W, reference.W)
    assert 1 <= len(history["loss_history"]) <= 20
    assert history["loss_history"][-1] == pytest.approx(model.loss(X[:60], y[:60], 1e-3)[0])
    assert history["val_acc_history"] == [np.mean(model.predict(X[60:]) == y[60:])]
    with pytest.raises(ValueError, match="--update-rule lbfgs .* --model fc does not offer"):
        resolve_config(TrainConfig(model="fc", dataset="digits", update_rule="lbfgs"))
    with pytest.raises(ValueError, match="--update-rule takes sgd or lbfgs, got 'adam'"):
        resolve_config(TrainConfig(model="svm", dataset="digits", update_rule="adam"))


def test_lbfgs_experiment_writes_its_figure_and_table(tmp_path, capsys):
    out = tmp_path / "lbfgs"
    argv = ["--quiet", "experiment", "lbfgs", "--num-training", "200", "--epochs", "3"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "L-BFGS" in printed and "full-batch GD" in printed and str(out) in printed
    assert (out / "loss_vs_time.png").stat().st_size > 10_000
    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    assert [row["optimiser"] for row in rows[:4]] == [
        "L-BFGS",
        "full-batch GD",
        "SGD (batch 50)",
        "Adam (batch 50)",
    ]
    assert {row["model"] for row in rows} == {"softmax", "logistic regression"}
    for curves in results["results"].values():
        starts = {run["loss"][0] for run in curves.values()}
        assert max(starts) - min(starts) < 1e-12  # every optimiser from the same weights
        assert curves["full-batch GD"]["passes"] == [0, 1, 2, 3]
        lbfgs = curves["L-BFGS"]
        assert lbfgs["loss"][-1] < min(run["loss"][-1] for run in curves.values() if run != lbfgs)
    with pytest.raises(ValueError, match="runs on digits only"):
        run_experiment("lbfgs", "cifar10", out=tmp_path / "cifar")
