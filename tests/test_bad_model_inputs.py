"""Issue 12, model inputs: a NaN weight_scale and NaN/inf data are refused where they enter.

`FullyConnectedNet(weight_scale=nan)` used to build NaN weights, and training then blamed the
learning rate; kNN given NaN or inf points voted with meaningless distances. Each case asserts
the exact error class and that the message names the argument and the value.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision import nn
from tinyvision.classifiers.classification_net import ClassificationNet
from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor
from tinyvision.classifiers.logistic_regression import LogisticRegression
from tinyvision.cli import main

BUILDERS = {
    "TwoLayerNet": lambda scale: TwoLayerNet(4, 3, 2, weight_scale=scale),
    "FullyConnectedNet": lambda scale: FullyConnectedNet([3], 4, 2, weight_scale=scale),
    "ThreeLayerConvNet": lambda scale: ThreeLayerConvNet(
        (1, 4, 4), num_filters=2, filter_size=3, hidden_dim=3, num_classes=2, weight_scale=scale
    ),
    "LogisticRegression": lambda scale: LogisticRegression(3, weight_scale=scale),
    "nn.Linear": lambda scale: nn.Linear(4, 2, weight_init="gaussian", weight_scale=scale),
    "nn.Conv2d": lambda scale: nn.Conv2d(1, 2, 3, weight_init="gaussian", weight_scale=scale),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize(
    ("scale", "shown"), [(float("nan"), "nan"), (float("inf"), "inf"), (-0.01, "-0.01")]
)
def test_weight_scale_must_be_finite_and_non_negative(name, scale, shown):
    with pytest.raises(ValueError) as info:
        BUILDERS[name](scale)
    assert type(info.value) is ValueError
    assert str(info.value) == f"weight_scale must be a finite number >= 0, got {shown} (float)"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_zero_weight_scale_is_still_allowed(name):
    model = BUILDERS[name](0.0)
    assert all(not np.any(w) for key, w in model.params.items() if key.endswith("W"))


def test_classification_net_calls_its_weight_scale_std():
    with pytest.raises(ValueError) as info:
        ClassificationNet(input_size=4, hidden_size=3, num_classes=2, std=float("nan"))
    assert type(info.value) is ValueError
    assert str(info.value) == (
        "std must be a finite number >= 0, got nan (float); it is the standard deviation of "
        "the weights"
    )


def test_cli_refuses_a_nan_weight_scale(tmp_path, capsys):
    argv = ["train", "--model", "fc", "--weight-scale", "nan", "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --weight-scale: weight_scale must be a finite number > 0, got nan" in err


# ----------------------------------------------------------------------------------------- kNN


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_knn_train_refuses_non_finite_points(points, bad):
    X, y = points
    X[2, 1] = bad
    with pytest.raises(ValueError) as info:
        KNearestNeighbor().train(X, y)
    assert type(info.value) is ValueError
    assert str(info.value) == (
        f"X must hold finite numbers, got {bad} at index (2, 1) (1 non-finite value in all); "
        "drop or impute those examples first"
    )


@pytest.mark.parametrize("num_loops", [0, 1, 2])
@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_knn_predict_refuses_non_finite_points(points, num_loops, metric):
    X, y = points
    knn = KNearestNeighbor(metric=metric)
    knn.train(X, y)
    test = X[:3].copy()
    test[0, 0], test[1, 2] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"^X must hold finite numbers, got nan at index \(0, 0\)"):
        knn.predict(test, num_loops=num_loops)
    np.testing.assert_array_equal(knn.predict(X[:3], num_loops=num_loops), y[:3])


def test_knn_refuses_points_that_overflow_its_dtype(points):
    X, y = points
    X[4, 0] = 1e300  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"got inf at index \(4, 0\)"):
        KNearestNeighbor(dtype=np.float32).train(X, y)
    KNearestNeighbor().train(X, y)  # fine in float64


def test_knn_takes_huge_finite_values_whose_sum_overflows(points):
    X, y = points
    X[:, 0] = 1e308  # the one-pass sum overflows, yet every value is finite
    knn = KNearestNeighbor(metric="l1")
    knn.train(X, y)
    assert knn.X_train is not None
