"""The CLI's fit of the linear classifiers: per-epoch calls equal one long `train` call."""

import logging

import numpy as np

from tinyvision.classification import Prepared
from tinyvision.classifiers.linear_classifier import Softmax
from tinyvision.config import TrainConfig
from tinyvision.models import linear


def _prepared(rng):
    X = rng.standard_normal((60, 5))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    return Prepared(
        data={"y_train": y[:40], "y_val": y[40:]},
        prep={},
        X={"train": X[:40], "val": X[40:]},
    )


def test_epoch_by_epoch_fit_equals_one_train_call_and_records_accuracy(caplog):
    prepared = _prepared(np.random.default_rng(0))
    config = TrainConfig(
        model="softmax",
        dataset="digits",
        epochs=3,
        batch_size=16,
        learning_rate=0.5,
        reg=1e-3,
        lr_decay=0.5,
        seed=7,
    )
    model = Softmax(seed=7)
    with caplog.at_level(logging.INFO, logger="tinyvision.models.linear"):
        history = linear.fit(model, config, prepared, None, True, None)
    reference = Softmax(seed=7)
    losses = reference.train(
        prepared.X["train"],
        prepared.data["y_train"],
        learning_rate=0.5,
        reg=1e-3,
        num_iters=9,
        batch_size=16,
        lr_decay=0.5,
    )
    np.testing.assert_array_equal(model.W, reference.W)
    assert history["loss_history"] == losses
    final_val = np.mean(reference.predict(prepared.X["val"]) == prepared.data["y_val"])
    assert len(history["train_acc_history"]) == 3
    assert history["val_acc_history"][-1] == final_val
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages] == ["epoch 1 / 3", "epoch 2 / 3", "epoch 3 / 3"]
    assert "lr 0.125" in messages[2]
