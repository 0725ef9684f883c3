"""benchmarks/assignment1.py in its small mode on the offline digits: the rows, the shared budget,
and the claims the comparison rests on."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tinyvision.classifiers.linear_classifier import LinearSVM
from tinyvision.classifiers.softmax import softmax_loss_vectorized

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "assignment1.py"
PAIRS = [
    ("pixels", "knn"),
    ("pixels", "svm"),
    ("pixels", "softmax"),
    ("pixels", "two-layer"),
    ("features", "svm"),
    ("features", "softmax"),
    ("features", "two-layer"),
]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("assignment1_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="module")
def small_run(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "a1.json"
    argv = ["--dataset", "digits", "--num-training", "600", "--num-test", "200", "--json", str(out)]
    assert bench.main(argv) == 0
    return json.loads(out.read_text())


def test_small_mode_writes_every_row(small_run):
    assert small_run["dataset"] == "digits"
    assert (small_run["num_train"], small_run["num_val"], small_run["num_test"]) == (600, 270, 200)
    rows = small_run["rows"]
    extraction = [row for row in rows if row["model"] == "features"]
    assert len(extraction) == 1 and extraction[0]["images"] == 600 + 270 + 200
    assert extraction[0]["seconds"] > 0 and extraction[0]["dim"] == 154
    found = [(r["inputs"], r["model"], r["library"]) for r in rows if r["model"] != "features"]
    expected = [(i, m, lib) for i, m in PAIRS for lib in ("tinyvision", "scikit-learn")]
    assert found == expected


def test_both_sides_are_tuned_with_the_same_budget(small_run):
    rows = [row for row in small_run["rows"] if row["model"] != "features"]
    for ours, theirs in zip(rows[::2], rows[1::2], strict=True):
        assert ours["tuned"] and theirs["tuned"]
        assert ours["grid_points"] == theirs["grid_points"] == len(ours["grid"]) > 1
        for row in (ours, theirs):
            assert row["val_acc"] == max(point["val_acc"] for point in row["grid"])
            assert 0 <= row["fit_seconds"] <= row["search_seconds"] + 1e-9
            assert row["predict_seconds"] >= 0
            # kNN only memorises; everything else trains for measurable time.
            assert row["fit_seconds"] > 0 or row["model"] == "knn"
            # Ten balanced classes: chance is 0.1; every contender learns the digits.
            assert row["test_acc"] > 0.6, row


def test_knn_rows_agree_exactly(small_run):
    # The same algorithm on the same matrices with the same k grid: same choice, same accuracy.
    ours, theirs = [row for row in small_run["rows"] if row["model"] == "knn"]
    assert ours["grid"] == theirs["grid"]
    assert (ours["chosen"], ours["test_acc"]) == (theirs["chosen"], theirs["test_acc"])


def test_table_is_printed(bench, tmp_path, capsys):
    argv = ["--dataset", "digits", "--num-training", "300", "--models", "knn", "--inputs", "pixels"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "every row tuned on the validation split" in out
    assert "KNearestNeighbor" in out and "KNeighborsClassifier(brute)" in out
    assert not (tmp_path / "a1.json").exists()


def test_unknown_model_is_a_usage_error(bench):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--dataset", "digits", "--models", "svm,forest"])
    assert exit_info.value.code == 2


def test_logistic_regression_c_is_the_same_lambda_as_our_reg(bench):
    # At the optimum of LogisticRegression(C = 1 / (2 N lambda)) the gradient of our softmax
    # objective, mean loss + lambda ||W||^2, vanishes in every weight row (sklearn leaves the
    # intercept unpenalised, so the bias row is not compared).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.standard_normal(300) > 0).astype(int) + (X[:, 2] > 1)
    lam = 1e-2
    model = LogisticRegression(C=1 / (2 * len(y) * lam), tol=1e-12, max_iter=10000).fit(X, y)
    W = np.vstack([model.coef_.T, model.intercept_])
    _, dW = softmax_loss_vectorized(W, bench.with_bias(X), y, lam)
    assert np.abs(dW[:-1]).max() < 1e-6 * np.abs(W).max()
    # A C off by a factor of two leaves a gradient far above that.
    wrong = LogisticRegression(C=1 / (len(y) * lam), tol=1e-12, max_iter=10000).fit(X, y)
    W = np.vstack([wrong.coef_.T, wrong.intercept_])
    assert np.abs(softmax_loss_vectorized(W, bench.with_bias(X), y, lam)[1][:-1]).max() > 1e-3


def test_training_one_epoch_per_call_equals_one_call_with_lr_decay(bench):
    # The benchmark scores our linear models after every epoch by calling train once per epoch
    # at the decayed rate; that must be the very same run as one call with lr_decay.
    rng = np.random.default_rng(0)
    X = bench.with_bias(rng.standard_normal((250, 6)))
    y = rng.integers(0, 3, 250)
    whole = LinearSVM(seed=1)
    whole.train(X, y, 0.1, 1e-3, num_iters=4 * 2, batch_size=200, lr_decay=0.5)
    per_epoch = LinearSVM(seed=1)
    for epoch in range(4):
        per_epoch.train(X, y, 0.1 * 0.5**epoch, 1e-3, num_iters=2, batch_size=200)
    np.testing.assert_allclose(per_epoch.W, whole.W, rtol=1e-12)
