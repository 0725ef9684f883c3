"""tinyvision.i2dl.solver.Solver: the exercise's usage, updates from epoch 0, a copy of the
best parameters, early stopping on the validation loss."""

from __future__ import annotations

import numpy as np
import pytest
from assertions import assert_close

from tinyvision.data.datasets import ArrayDataset
from tinyvision.data.loader import DataLoader
from tinyvision.i2dl.networks import SGD, Adam, ClassificationNet, CrossEntropyFromLogits, Relu
from tinyvision.i2dl.solver import Solver


def _data(seed=0, n=60, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def _loader(X, y, batch_size=10):
    return DataLoader(ArrayDataset(X, y), batch_size=batch_size)


def _net(reg=0.0):
    return ClassificationNet(
        activation=Relu(), input_size=4, hidden_size=8, num_classes=2, std=0.3, reg=reg, seed=0
    )


def test_notebook_usage_trains_and_keeps_the_exercises_histories(capsys):
    X, y = _data()
    model = _net()
    solver = Solver(
        model,
        _loader(X[:40], y[:40]),
        _loader(X[40:], y[40:]),
        loss_func=CrossEntropyFromLogits(),
        learning_rate=1e-2,
        optimizer=Adam,
        verbose=True,
        print_every=2,
    )
    solver.train(epochs=6)
    assert len(solver.train_loss_history) == len(solver.val_loss_history) == 6
    assert len(solver.train_batch_loss) == 6 * 4 and len(solver.val_batch_loss) == 6 * 2
    assert solver.val_loss_history[-1] < 0.8 * solver.val_loss_history[0]
    # The epoch loss is the mean of that epoch's batch losses.
    assert solver.train_loss_history[2] == pytest.approx(np.mean(solver.train_batch_loss[8:12]))
    accuracy = solver.get_dataset_accuracy(_loader(X[40:], y[40:]))
    assert accuracy == np.mean(np.argmax(model.forward(X[40:]), axis=1) == y[40:])
    assert accuracy >= 0.75
    printed = capsys.readouterr().out
    assert "(Epoch 1 / 6) train loss:" in printed and "(Epoch 3 / 6)" in printed
    assert "(Epoch 2 / 6)" not in printed


def test_epoch_zero_updates_like_a_hand_written_sgd_loop():
    X, y = _data(1)
    model, twin = _net(reg=0.01), _net(reg=0.01)
    solver = Solver(
        model,
        _loader(X[:40], y[:40]),
        _loader(X[40:], y[40:]),
        optimizer=SGD,
        learning_rate=0.1,
        verbose=False,
    )
    solver.train(epochs=1)

    loss_func = CrossEntropyFromLogits()
    losses = []
    for start in range(0, 40, 10):
        xb, yb = X[start : start + 10], y[start : start + 10]
        scores = twin.forward(xb)
        losses.append(loss_func.forward(scores, yb) + sum(twin.reg.values()))
        grads = twin.backward(loss_func.backward(scores, yb))
        for name, dw in grads.items():
            twin.params[name] = twin.params[name] - 0.1 * dw
    for name, value in twin.params.items():
        assert_close(model.params[name], value, rtol=1e-12, atol=1e-15, name=name)
    assert_close(solver.train_batch_loss, losses, rtol=1e-12)
    assert solver.train_loss_history == [pytest.approx(np.mean(losses))]


def _overfitting_run():
    """Validation labels are the opposite of the training rule, so the val loss rises after
    the first epoch: the best parameters are those after epoch 1."""
    X, y = _data(2)
    model = _net()
    solver = Solver(
        model,
        _loader(X[:40], y[:40]),
        _loader(X[40:], 1 - y[40:]),
        optimizer=SGD,
        learning_rate=0.5,
        verbose=True,
    )
    return model, solver, X


def test_early_stopping_triggers_and_restores_a_copy_of_the_best_parameters(capsys):
    model, solver, X = _overfitting_run()
    solver.train(epochs=20, patience=2)
    history = solver.val_loss_history
    assert solver.stopped_early and len(history) == 3
    assert history[0] == min(history) and solver.current_patience == 2
    assert "Stopping early at epoch 2!" in capsys.readouterr().out
    # The model got the parameters of the best epoch back, not the last ones ...
    val = _loader(X[40:], 1 - _data(2)[1][40:])
    val_loss = np.mean([solver._step(b["image"], b["label"], validation=True) for b in val])
    assert val_loss == pytest.approx(solver.best_model_stats["val_loss"], rel=1e-12)
    # ... as a copy: the best parameters share no memory with the live ones.
    for name, value in model.params.items():
        assert not np.shares_memory(value, solver.best_params[name])


def test_best_parameters_stay_fixed_while_training_goes_on():
    model, solver, _ = _overfitting_run()
    solver.train(epochs=1)
    snapshot = {name: value.copy() for name, value in solver.best_params.items()}
    solver.train(epochs=3)  # worse epochs: the best stays the one of epoch 1
    assert len(solver.val_loss_history) == 4
    for name, value in snapshot.items():
        assert_close(solver.best_params[name], value, rtol=0, name=name)
        assert_close(model.params[name], value, rtol=0, name=name)


def test_without_patience_every_epoch_runs_and_the_rate_decays():
    X, y = _data(3)
    solver = Solver(
        _net(),
        _loader(X[:40], y[:40]),
        _loader(X[40:], 1 - y[40:]),
        learning_rate=0.1,
        lr_decay=0.5,
        optimizer=SGD,
        verbose=False,
    )
    solver.train(epochs=5, patience=0)  # 0 means no early stopping, as in the exercise
    assert len(solver.val_loss_history) == 5 and not solver.stopped_early
    assert solver.opt.lr == pytest.approx(0.1 * 0.5**5)


def test_bad_arguments_are_refused():
    X, y = _data(4)
    loader = _loader(X, y)
    with pytest.raises(ValueError, match="forward"):
        Solver(object(), loader, loader, optimizer=lambda *args: None)
    with pytest.raises(ValueError, match="val_dataloader"):
        Solver(_net(), loader, [], verbose=False)
    solver = Solver(_net(), loader, loader, verbose=False, hidden_size=8)  # config keys ignored
    with pytest.raises(ValueError, match="epochs"):
        solver.train(epochs=-1)
