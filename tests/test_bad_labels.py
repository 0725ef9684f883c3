"""Issue 12, labels: every public loss and model refuses labels it would silently misread.

A negative label used to index from the end (the loss of another class), labels of shape (N, 1)
broadcast into an (N, N) loss, and labels >= C gave NumPy's IndexError. Each case here asserts
the exact error class and that the message names the argument, what was expected and what
came. The last tests check that valid labels give exactly the losses and gradients of an
independent float64 computation (PyTorch), so the checks changed no answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinyvision import nn
from tinyvision.classifiers.classification_net import ClassificationNet
from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.classifiers.convnet import ConvNet
from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from tinyvision.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from tinyvision.classifiers.logistic_regression import LogisticRegression
from tinyvision.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from tinyvision.data.datasets import ArrayDataset
from tinyvision.data.loader import DataLoader
from tinyvision.gradient_check import rel_error
from tinyvision.layers import softmax_loss, svm_loss
from tinyvision.rnn_layers import temporal_softmax_loss
from tinyvision.solver import Solver
from tinyvision.validation import check_labels

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toy_models import SoftmaxRegression, blobs  # noqa: E402

N, C, D = 4, 3, 5

# (labels, a regular expression the message must match): each names y, the fault and the value.
BAD_LABELS = {
    "negative": (
        np.array([0, 1, 2, -1]),
        r"y holds the label -1 \(at index 3\); labels must be in \[0, 3\)",
    ),
    "too large": (
        np.array([0, 3, 2, 1]),
        r"y holds the label 3 but there are only 3 classes \(at index 1\); "
        r"labels must be in \[0, 3\)",
    ),
    "column vector": (
        np.array([[0], [1], [2], [1]]),
        r"y must be a 1-d vector \(N,\) of integer class indices, got shape \(4, 1\); "
        r"flatten it with y\.ravel\(\)",
    ),
    "floats": (
        np.array([0.0, 1.0, 2.0, 1.0]),
        r"y must hold integer class indices, got dtype float64",
    ),
    "bools": (
        np.array([True, False, True, False]),
        r"y must hold integer class indices, got dtype bool",
    ),
    "one too few": (
        np.array([0, 1, 2]),
        r"y has 3 labels but (x|X) has 4 examples; they must match",
    ),
}


def bad_cases():
    return [pytest.param(y, pattern, id=name) for name, (y, pattern) in BAD_LABELS.items()]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def refused(call, y, pattern):
    """call(y) raises exactly ValueError (not a subclass such as IndexError) matching pattern."""
    with pytest.raises(ValueError, match=pattern) as info:
        call(y)
    assert type(info.value) is ValueError
    return str(info.value)


# ------------------------------------------------------------------------- the loss layers


@pytest.mark.parametrize("loss", [softmax_loss, svm_loss], ids=["softmax_loss", "svm_loss"])
@pytest.mark.parametrize(("y", "pattern"), bad_cases())
def test_loss_layers_refuse_bad_labels(loss, y, pattern, rng):
    x = rng.standard_normal((N, C))
    refused(lambda labels: loss(x, labels), y, pattern)


def test_negative_labels_no_longer_wrap_to_the_last_class(rng):
    """The defect of the issue: label -1 gave the loss of label C - 1."""
    x = rng.standard_normal((N, C))
    with pytest.raises(ValueError, match="label -1"):
        softmax_loss(x, np.array([0, 1, 2, -1]))
    loss_with_last_class, _ = softmax_loss(x, np.array([0, 1, 2, 2]))
    assert np.isfinite(loss_with_last_class)


def test_loss_layers_say_when_the_scores_are_not_a_matrix(rng):
    with pytest.raises(ValueError, match=r"x must be \(N, C\) class scores, got shape \(4,\)"):
        softmax_loss(rng.standard_normal(N), np.array([0, 1, 2, 1]))


LINEAR_LOSSES = [svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized]


@pytest.mark.parametrize("loss", LINEAR_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("y", "pattern"), bad_cases())
def test_linear_losses_refuse_bad_labels(loss, y, pattern, rng):
    W, X = rng.standard_normal((D, C)), rng.standard_normal((N, D))
    refused(lambda labels: loss(W, X, labels, 0.1), y, pattern)


def test_svm_naive_and_vectorised_agree_or_both_refuse(rng):
    """svm_loss_naive skipped no class for label -1 and so disagreed with the vectorised one."""
    W, X = rng.standard_normal((D, C)), rng.standard_normal((N, D))
    for loss in (svm_loss_naive, svm_loss_vectorized):
        with pytest.raises(ValueError, match="label -1"):
            loss(W, X, np.array([0, 1, 2, -1]), 0.1)
    y = np.array([0, 1, 2, 2])
    (naive, dW_naive), (fast, dW_fast) = (f(W, X, y, 0.1) for f in LINEAR_LOSSES[:2])
    assert rel_error(naive, fast) < 1e-12 and rel_error(dW_naive, dW_fast) < 1e-12


def test_temporal_softmax_loss_refuses_bad_targets(rng):
    x = rng.standard_normal((2, 3, 4))  # (N, T, V)
    mask = np.ones((2, 3), dtype=bool)
    good = rng.integers(0, 4, (2, 3))
    for bad, pattern in [
        (np.where(good == good[0, 0], -1, good), r"y holds the label -1 \(at index \(0, 0\)\)"),
        (
            np.full((2, 3), 4),
            r"y holds the label 4 but there are only 4 classes \(at index \(0, 0\)\)",
        ),
        (good.astype(float), "y must hold integer class indices, got dtype float64"),
        (good[:, :2], r"y must have the shape \(N, T\) = \(2, 3\) .* got \(2, 2\)"),
    ]:
        refused(lambda y: temporal_softmax_loss(x, y, mask), bad, pattern)
    refused(
        lambda m: temporal_softmax_loss(x, good, m),
        mask[:1],
        r"mask must have the shape \(N, T\) = \(2, 3\) .* got \(1, 3\)",
    )


# ------------------------------------------------------------------------------- the models


def models():
    """Each course model with C = 3 classes and an input X of 4 examples."""
    flat = np.random.default_rng(1).standard_normal((N, D))
    images = np.random.default_rng(2).standard_normal((N, 1, 4, 4))
    return {
        "TwoLayerNet": (TwoLayerNet(D, 6, C, seed=0), flat),
        "FullyConnectedNet": (FullyConnectedNet([6], D, C, seed=0, dtype=np.float64), flat),
        "FullyConnectedNet-batchnorm": (
            FullyConnectedNet([6], D, C, normalization="batchnorm", seed=0),
            flat,
        ),
        "ThreeLayerConvNet": (
            ThreeLayerConvNet((1, 4, 4), num_filters=2, filter_size=3, hidden_dim=5, num_classes=C),
            images,
        ),
        "Sequential": (nn.Sequential(nn.Linear(D, 6, seed=0), nn.ReLU(), nn.Linear(6, C)), flat),
        "Sequential-svm": (nn.Sequential(nn.Linear(D, C, seed=0), loss="svm"), flat),
        "ClassificationNet": (ClassificationNet(input_size=D, hidden_size=6, num_classes=C), flat),
        "ConvNet": (
            ConvNet(channels=(2,), blocks_per_stage=1, num_classes=C, input_shape=(1, 4, 4)),
            images,
        ),
    }


@pytest.mark.parametrize("name", sorted(models()))
@pytest.mark.parametrize(("y", "pattern"), bad_cases())
def test_models_refuse_bad_labels(name, y, pattern):
    model, X = models()[name]
    refused(lambda labels: model.loss(X, labels), y, pattern)


def test_fully_connected_net_column_labels_no_longer_give_another_loss():
    """The issue's example: labels of shape (N, 1) gave 4.39 instead of 1.10."""
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, seed=0, dtype=np.float64)
    X = np.random.default_rng(1).standard_normal((4, 4))
    y = np.array([0, 1, 2, 1])
    loss, _ = model.loss(X, y)
    with pytest.raises(ValueError, match=r"got shape \(4, 1\); flatten it with y.ravel\(\)"):
        model.loss(X, y[:, None])
    assert model.loss(X, y)[0] == loss


def test_a_refused_call_leaves_the_batchnorm_statistics_alone():
    """Labels are checked before the forward pass, so a bad call changes no state."""
    model, X = models()["FullyConnectedNet-batchnorm"]
    before = model.state_dict()
    with pytest.raises(ValueError, match="label 3"):
        model.loss(X, np.array([0, 1, 2, 3]))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_sequential_without_a_final_linear_checks_against_the_scores():
    model = nn.Sequential(nn.Linear(D, C, seed=0), nn.ReLU())
    X = np.random.default_rng(1).standard_normal((N, D))
    refused(lambda y: model.loss(X, y), np.array([0, 1, 2, 3]), "only 3 classes")
    refused(lambda y: model.loss(X, y), np.array([0, 1, 2, -1]), "label -1")


def test_logistic_regression_takes_labels_zero_and_one_only():
    model = LogisticRegression(2, seed=0)
    X = np.random.default_rng(1).standard_normal((N, 2))
    for y, pattern in [
        (np.array([0, 1, 2, 1]), r"y holds the label 2 but there are only 2 classes"),
        (np.array([0, 1, -1, 1]), r"y holds the label -1 \(at index 2\)"),
        (np.array([[0], [1], [1], [0]]), r"got shape \(4, 1\)"),
        (np.array([0.0, 1.0, 0.5, 1.0]), "got dtype float64"),
    ]:
        refused(lambda labels: model.loss(X, labels), y, pattern)
        refused(lambda labels: model.score(X, labels), y, pattern)


# ------------------------------------------------------------------------------- the Solver


@pytest.fixture
def data():
    X, y = blobs(60, seed=0)
    return {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def solver(data, **kwargs):
    return Solver(SoftmaxRegression(), data, verbose=False, num_epochs=1, batch_size=20, **kwargs)


@pytest.mark.parametrize("split", ["train", "val"])
def test_solver_refuses_labels_the_model_has_no_score_for(data, split):
    """The toy model gives 3 scores; a label 3 made the accuracy silently wrong."""
    key = f"y_{split}"
    bad = data[key].copy()
    bad[5] = 3
    message = refused(lambda y: solver({**data, key: y}), bad, rf"{key} holds the label 3")
    assert "only 3 classes (at index 5)" in message
    assert "the model gives 3 class scores" in message
    bad[5] = -2
    refused(lambda y: solver({**data, key: y}), bad, rf"{key} holds the label -2 \(at index 5\)")


def test_solver_refuses_out_of_range_labels_in_a_loader(data):
    y_val = data["y_val"].copy()
    y_val[3] = 7
    loaders = {
        "train": DataLoader(ArrayDataset(data["X_train"], data["y_train"]), 20),
        "val": DataLoader(ArrayDataset(data["X_val"], y_val), 20),
    }
    run = solver(loaders)
    with pytest.raises(ValueError, match=r"loader batch's \"label\" holds the label 7") as info:
        run.train()
    assert type(info.value) is ValueError


def test_solver_accepts_valid_labels_of_any_integer_dtype(data):
    for dtype in (np.int64, np.int32, np.uint8):
        run = solver({**data, "y_train": data["y_train"].astype(dtype)})
        run.train()
        assert run.y_train.dtype == np.int64


# --------------------------------------------------------------- valid labels: same answers


def test_check_labels_returns_the_same_int64_array_without_a_copy():
    y = np.array([0, 2, 1])
    assert check_labels(y, 3) is y
    np.testing.assert_array_equal(check_labels(y.astype(np.uint8), 3), y)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_valid_labels_give_torchs_losses_and_gradients(dtype, rng):
    x = rng.standard_normal((7, 5))
    y = rng.integers(0, 5, 7).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y.astype(np.int64))
    for loss_fn, reference in [
        (softmax_loss, lambda s: F.cross_entropy(s, yt)),
        # torch divides the hinge sum by C; the course's loss does not.
        (svm_loss, lambda s: 5 * F.multi_margin_loss(s, yt, p=1, margin=1.0)),
    ]:
        xt.grad = None
        loss, dx = loss_fn(x, y)
        expected = reference(xt)
        expected.backward()
        assert rel_error(loss, expected.item()) < 1e-12
        assert rel_error(dx, xt.grad.numpy()) < 1e-12


def test_valid_labels_give_torchs_fully_connected_net_loss_and_gradients(rng):
    model = FullyConnectedNet([6, 4], input_dim=D, num_classes=C, reg=0.1, seed=0, dtype=np.float64)
    X = rng.standard_normal((8, D))
    y = rng.integers(0, C, 8)
    loss, grads = model.loss(X, y)

    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    h = torch.tensor(X)
    for i in (1, 2):
        h = torch.relu(h @ p[f"W{i}"] + p[f"b{i}"])
    scores = h @ p["W3"] + p["b3"]
    expected = F.cross_entropy(scores, torch.tensor(y)) + 0.05 * sum(
        (p[f"W{i}"] ** 2).sum() for i in (1, 2, 3)
    )
    expected.backward()
    assert rel_error(loss, expected.item()) < 1e-12
    for name, grad in grads.items():
        assert rel_error(grad, p[name].grad.numpy()) < 1e-10, name


@pytest.mark.parametrize("loss", LINEAR_LOSSES, ids=lambda f: f.__name__)
def test_valid_labels_give_torchs_linear_losses(loss, rng):
    W, X = rng.standard_normal((D, C)), rng.standard_normal((9, D))
    y = rng.integers(0, C, 9)
    value, dW = loss(W, X, y, 0.3)
    Wt = torch.tensor(W, requires_grad=True)
    scores = torch.tensor(X) @ Wt
    yt = torch.tensor(y)
    if "svm" in loss.__name__:
        data_loss = C * F.multi_margin_loss(scores, yt, p=1, margin=1.0)
    else:
        data_loss = F.cross_entropy(scores, yt)
    expected = data_loss + 0.3 * (Wt**2).sum()
    expected.backward()
    assert rel_error(value, expected.item()) < 1e-12
    assert rel_error(dW, Wt.grad.numpy()) < 1e-10


def test_messages_keep_the_validators_shape():
    """Every label message starts with the argument's name, as the scalar checks' do."""
    for y, _ in BAD_LABELS.values():
        with pytest.raises(ValueError, match=r"^y_val (holds|must|has) "):
            check_labels(y, 3, "y_val", num_examples=4)
