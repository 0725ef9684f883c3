"""Issue 12, linear models: SGD that overflows stops with TrainingDivergedError, as the Solver does.

Before, `LinearClassifier.train` with a learning rate far too large ended with NaN weights, an
accuracy of 0.10 and exit status 0. Now the first non-finite loss raises TrainingDivergedError
naming the iteration and the learning rate, and W stays at its last value with a finite loss.
The hyperparameters of `train` are validated with the validators of tinyvision.validation.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinyvision import errors, solver
from tinyvision.classifiers.linear_classifier import LinearSVM, Softmax
from tinyvision.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toy_models import blobs  # noqa: E402

CLASSIFIERS = [LinearSVM, Softmax]


@pytest.fixture
def data():
    X, y = blobs(200, d=6, c=4, seed=3, spread=1.0)
    return np.hstack([X, np.ones((len(X), 1))]), y


def diverge(model_class, data, **kwargs):
    """Train with a huge learning rate; return (model, the raised error)."""
    model = model_class(seed=0)
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(errors.TrainingDivergedError) as info:
            model.train(
                *data, **{"learning_rate": 1e30, "num_iters": 50, "batch_size": 20, **kwargs}
            )
    return model, info.value


def test_the_error_is_the_solvers_and_the_cli_reports_it():
    assert solver.TrainingDivergedError is errors.TrainingDivergedError
    assert issubclass(errors.TrainingDivergedError, RuntimeError)


@pytest.mark.parametrize("model_class", CLASSIFIERS)
def test_overflowing_sgd_raises_naming_iteration_and_learning_rate(model_class, data):
    model, error = diverge(model_class, data)
    assert type(error) is errors.TrainingDivergedError
    assert error.learning_rate == 1e30 and error.iteration >= 2 and not np.isfinite(error.loss)
    message = str(error)
    assert message.startswith(f"Training diverged at iteration {error.iteration}: loss is ")
    assert "with learning rate 1e+30" in message
    assert f"W keeps its value from iteration {error.iteration - 1}" in message
    assert "Lower the learning rate" in message
    assert np.isfinite(model.W).all()


@pytest.mark.parametrize("model_class", CLASSIFIERS)
def test_w_is_the_last_one_with_a_finite_loss(model_class, data):
    """Iteration k failed: W is the one iteration k - 1 used, i.e. after k - 2 updates."""
    model, error = diverge(model_class, data)
    replay = model_class(seed=0)
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        replay.train(*data, learning_rate=1e30, num_iters=error.iteration - 2, batch_size=20)
        X, y = data
        loss, _ = replay.loss(X, y, 1e-5)
    np.testing.assert_array_equal(model.W, replay.W)
    assert np.isfinite(loss)


@pytest.mark.parametrize("model_class", CLASSIFIERS)
def test_a_first_loss_that_is_not_finite_keeps_the_initial_w(model_class, data):
    X, y = data
    X = np.full_like(X, np.inf)  # every score is inf or nan from the start
    model, error = diverge(model_class, (X, y), learning_rate=1e-3)
    assert error.iteration == 1 and error.learning_rate == 1e-3
    assert "Training diverged at iteration 1: loss is nan" in str(error)
    assert "W keeps its initial value." in str(error)
    fresh = model_class(seed=0)
    fresh.train(*data, num_iters=0)
    np.testing.assert_array_equal(model.W, fresh.W)


def test_the_learning_rate_in_the_message_is_the_decayed_one(data):
    # 200 examples in batches of 100: the rate is multiplied by 0.5 every 2 updates.
    _, error = diverge(LinearSVM, data, lr_decay=0.5, batch_size=100)
    assert error.learning_rate == 1e30 * 0.5 ** ((error.iteration - 1) // 2)
    assert f"with learning rate {error.learning_rate}" in str(error)


def test_a_stable_learning_rate_still_trains(data):
    model = Softmax(seed=0)
    history = model.train(*data, learning_rate=0.5, num_iters=100, batch_size=50)
    assert len(history) == 100 and np.isfinite(history).all()
    assert np.mean(model.predict(data[0]) == data[1]) > 0.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0, got nan"),
        ({"learning_rate": -1e-3}, "learning_rate must be a finite number > 0, got -0.001"),
        ({"learning_rate": 0}, "learning_rate must be a finite number > 0, got 0 (int)"),
        ({"learning_rate": float("inf")}, "learning_rate must be a finite number > 0, got inf"),
        ({"learning_rate": "0.1"}, "learning_rate must be a finite number > 0, got '0.1' (str)"),
        ({"reg": float("nan")}, "reg must be a finite number >= 0, got nan"),
        ({"reg": -1.0}, "reg must be a finite number >= 0, got -1.0"),
        ({"num_iters": -1}, "num_iters must be a non-negative integer, got -1"),
        ({"num_iters": 2.5}, "num_iters must be a non-negative integer, got 2.5"),
        ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
        ({"batch_size": float("nan")}, "batch_size must be a positive integer, got nan"),
    ],
)
@pytest.mark.parametrize("model_class", CLASSIFIERS)
def test_train_validates_its_hyperparameters(model_class, data, kwargs, message):
    model = model_class(seed=0)
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        model.train(*data, **kwargs)
    assert model.W is None  # refused before W is created


@pytest.mark.parametrize("model", ["svm", "softmax"])
def test_cli_exits_non_zero_with_the_message(model, tmp_path, capsys):
    argv = ["--quiet", "train", "--model", model, "--lr", "1e30", "--epochs", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        status = main([*argv, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2
    assert "tinyvision: error: Training diverged at iteration" in err
    assert "with learning rate 1e+30" in err


@pytest.mark.parametrize("value", ["nan", "-0.1"])
def test_cli_refuses_a_bad_learning_rate(value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "svm", f"--lr={value}", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    expected = f"learning_rate must be a finite number > 0, got {float(value)} (float)"
    err = capsys.readouterr().err
    assert "argument --learning-rate/--lr" in err and expected in err
    assert not (tmp_path / "run").exists()
