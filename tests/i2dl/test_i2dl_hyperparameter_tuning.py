"""tinyvision.i2dl.hyperparameter_tuning: the exercise's grid and random search functions."""

import itertools
import math

import numpy as np
import pytest

pytest.importorskip("optuna", reason="the hyperparameter search needs: pip install -e '.[search]'")

from tinyvision.data.datasets import ArrayDataset  # noqa: E402
from tinyvision.data.loader import DataLoader  # noqa: E402
from tinyvision.i2dl.hyperparameter_tuning import (  # noqa: E402
    findBestConfig,
    grid_search,
    random_search,
    random_search_spaces_to_config,
)
from tinyvision.i2dl.networks import ClassificationNet, Relu, Sigmoid  # noqa: E402


def _loaders(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return (
        DataLoader(ArrayDataset(X[:60], y[:60]), batch_size=10),
        DataLoader(ArrayDataset(X[60:], y[60:]), batch_size=10),
    )


def _net(**config):
    return ClassificationNet(
        activation=config.get("activation", Relu()),
        input_size=4,
        hidden_size=config.get("hidden_size", 8),
        num_classes=2,
        std=0.3,
        reg=config.get("reg", 0.0),
        seed=0,
    )


def _val_loss(model, val):
    """Mean cross-entropy of model on the loader, computed here from its logits."""
    X = np.concatenate([batch["image"] for batch in val])
    y = np.concatenate([batch["label"] for batch in val])
    logits = model.forward(X)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()


def test_grid_search_trains_every_combination_and_keeps_the_lowest_val_loss(capsys):
    train, val = _loaders()
    spaces = {"learning_rate": [1e-4, 1e-2], "reg": [0.0, 1e-3]}
    model, results = grid_search(train, val, spaces, model_class=_net, epochs=3, patience=2)
    configs = [config for config, _ in results]
    assert configs == [
        {"learning_rate": lr, "reg": reg} for lr, reg in itertools.product(*spaces.values())
    ]
    losses = [stats["val_loss"] for _, stats in results]
    best = int(np.argmin(losses))
    # The returned model is the one whose validation loss is the lowest of all configs.
    assert _val_loss(model, val) == pytest.approx(losses[best], rel=1e-6)
    printed = capsys.readouterr().out
    assert "Evaluating Config #4 [of 4]" in printed and "Best Config:" in printed


def test_random_configs_stay_in_their_ranges_and_repeat_under_np_random_seed():
    spaces = {
        "learning_rate": ([1e-4, 1e-1], "log"),
        "hidden_size": ([4, 9], "int"),
        "dropout": ([0.1, 0.5], "float"),
        "activation": ([Sigmoid(), Relu()], "item"),
    }
    np.random.seed(3)
    configs = [random_search_spaces_to_config(spaces) for _ in range(40)]
    for config in configs:
        assert 1e-4 <= config["learning_rate"] <= 1e-1
        assert 4 <= config["hidden_size"] < 9 and isinstance(config["hidden_size"], int)
        assert 0.1 <= config["dropout"] <= 0.5
        assert config["activation"] is spaces["activation"][0][0] or (
            config["activation"] is spaces["activation"][0][1]
        )
    # Log-uniform: about as many draws below the geometric middle as above it.
    below = sum(c["learning_rate"] < math.sqrt(1e-4 * 1e-1) for c in configs)
    assert 10 <= below <= 30
    assert {c["hidden_size"] for c in configs} == set(range(4, 9))
    np.random.seed(3)
    again = [random_search_spaces_to_config(spaces) for _ in range(40)]
    assert [c["learning_rate"] for c in again] == [c["learning_rate"] for c in configs]


@pytest.mark.parametrize(
    "spaces, problem",
    [
        ({"learning_rate": ([1e-4, 1e-1], "exp")}, "mode 'exp' is not one of log, int"),
        ({"learning_rate": ([0.0, 1e-1], "log")}, "positive bounds"),
        ({"hidden_size": ([9, 4], "int")}, "empty range"),
        ({"hidden_size": [4, 9]}, "(range or items, mode)"),
        ({}, "non-empty dict"),
    ],
)
def test_bad_random_spaces_are_refused_naming_the_entry(spaces, problem):
    with pytest.raises(ValueError, match=__import__("re").escape(problem)):
        random_search_spaces_to_config(spaces)


def test_random_search_trains_num_search_configs():
    train, val = _loaders()
    np.random.seed(0)
    spaces = {"learning_rate": ([1e-3, 1e-1], "log"), "hidden_size": ([4, 12], "int")}
    model, results = random_search(
        train, val, spaces, model_class=_net, num_search=3, epochs=2, patience=1
    )
    assert len(results) == 3
    assert all(
        1e-3 <= c["learning_rate"] <= 1e-1 and 4 <= c["hidden_size"] < 12 for c, _ in results
    )
    best = min(range(3), key=lambda i: results[i][1]["val_loss"])
    assert _val_loss(model, val) == pytest.approx(results[best][1]["val_loss"], rel=1e-6)
    hidden = [w.shape[1] for w in model.params.values() if w.ndim == 2 and w.shape[0] == 4]
    assert hidden == [results[best][0]["hidden_size"]]


def test_find_best_config_skips_a_diverging_config():
    train, val = _loaders()
    configs = [{"learning_rate": 1e-2}, {"learning_rate": 1e300}]
    model, results = findBestConfig(train, val, configs, 2, 1, _net)
    assert [config for config, _ in results] == configs
    diverged = results[1][1]
    assert diverged is None or not math.isfinite(diverged["val_loss"])
    assert _val_loss(model, val) == pytest.approx(results[0][1]["val_loss"], rel=1e-6)
