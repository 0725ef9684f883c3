"""Checkpoints with junk fields: every one is a DataError naming the file and the key.

Each case writes a good checkpoint, replaces one array of the archive with np.savez, and loads
it again. Nothing may escape as JSONDecodeError, TypeError, AttributeError or IndexError, and
nothing may load with a silently converted value (2.5 epochs read as 2).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyvision.checkpoint import TrainingState, load_checkpoint, load_weights, save_checkpoint
from tinyvision.errors import DataError

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from toy_models import toy_solver  # noqa: E402

PCG64_JUNK = (
    '{"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0, "uinteger": 0}'
)


def _state() -> TrainingState:
    rng = np.random.default_rng(0)
    return TrainingState(
        params={"W": rng.standard_normal((3, 2)), "b": np.zeros(2)},
        buffers={"running_mean": np.arange(3.0)},
        optim_configs={
            "W": {"learning_rate": 1e-3, "t": 4, "m": np.zeros((3, 2)), "v": np.ones((3, 2))},
            "b": {"learning_rate": 1e-3, "t": 4, "m": np.zeros(2), "v": np.ones(2)},
        },
        best_params={"W": np.ones((3, 2)), "b": np.zeros(2)},
        best_val_acc=0.75,
        epoch=3,
        iteration=30,
        epochs_without_improvement=1,
        loss_history=[2.3, 1.2, 0.7],
        train_acc_history=[0.1, 0.5],
        val_acc_history=[0.2, 0.75],
        acc_iterations=[1, 10],
        lr_history=[1e-3, 9e-4, math.nan],
        rng_state=np.random.default_rng(5).bit_generator.state,
        legacy_rng_state=np.random.RandomState(3).get_state(),
        loader_rng_states={"train": np.random.default_rng(9).bit_generator.state},
        meta={"iterations_per_epoch": 10, "update_rule": "adam", "stopped_early": False},
    )


def _crafted(tmp_path: Path, **changes: object) -> Path:
    """A good checkpoint with some arrays replaced (a value of None deletes the key)."""
    good = save_checkpoint(tmp_path / "good.npz", _state())
    with np.load(good, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for key, value in changes.items():
        key = key.replace("__", "/")
        if value is None:
            del arrays[key]
        else:
            arrays[key] = np.asarray(value)
    path = tmp_path / "crafted.npz"
    np.savez(path, **arrays)
    return path


def _refused(path: Path, key: str) -> str:
    """Load path, assert a DataError (exactly) naming the file and key; return the message."""
    with pytest.raises(DataError) as info:
        load_checkpoint(path)
    assert type(info.value) is DataError
    message = str(info.value)
    assert str(path) in message, message
    assert key in message, message
    return message


def test_the_untouched_checkpoint_loads(tmp_path):
    state = load_checkpoint(_crafted(tmp_path))
    assert state.epoch == 3 and state.iteration == 30
    assert math.isnan(state.lr_history[-1])  # a rule without a learning rate records NaN
    assert state.optim_configs["W"]["t"] == 4


JSON_CASES = {
    "meta-not-json": ("meta", "{'format_version': 1", "not valid JSON"),
    "meta-a-number": ("meta", 7, "must be a JSON string"),
    "meta-an-array": ("meta", ["{}", "{}"], "must be a JSON string"),
    "meta-a-list": ("meta", "[1, 2]", "must be a JSON object"),
    "meta-ipe-junk": ("meta", '{"format_version": 1, "iterations_per_epoch": "ten"}', "ipe"),
    "meta-stopped-junk": ("meta", '{"format_version": 1, "stopped_early": "yes"}', "stopped"),
    "meta-rule-junk": ("meta", '{"format_version": 1, "update_rule": [1]}', "update_rule"),
    "rng-not-json": ("rng_state", "PCG64!", "not valid JSON"),
    "rng-a-list": ("rng_state", "[1, 2, 3]", "random generator state"),
    "rng-no-generator": ("rng_state", '{"a": 1}', "random generator state"),
    "rng-bad-fields": ("rng_state", PCG64_JUNK, "not a valid PCG64 state"),
    "legacy-not-json": ("legacy_rng/info", "MT19937 5", "not valid JSON"),
    "legacy-short": ("legacy_rng/info", '["MT19937", 5]', "has_gauss"),
    "legacy-position": ("legacy_rng/info", '["MT19937", 700, 0, 0.0]', "position 0..624"),
    "legacy-name": ("legacy_rng/info", '["PCG64", 5, 0, 0.0]', "MT19937"),
    "legacy-gauss": ("legacy_rng/info", '["MT19937", 5, "no", 0.0]', "has_gauss"),
    "loaders-a-list": ("loader_rng_states", "[]", "must be a JSON object"),
    "loaders-junk-state": ("loader_rng_states", '{"train": 5}', "random generator state"),
    "loaders-not-json": ("loader_rng_states", "{train}", "not valid JSON"),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_junk_json_fields(tmp_path, case):
    key, value, problem = JSON_CASES[case]
    message = _refused(_crafted(tmp_path, **{key: value}), key.split("/")[0])
    assert problem in message or problem == "ipe" and "iterations_per_epoch" in message


def test_junk_in_a_loader_state_names_the_loader(tmp_path):
    path = _crafted(tmp_path, loader_rng_states='{"val": ' + PCG64_JUNK + "}")
    assert "not a valid PCG64 state" in _refused(path, "loader_rng_states/val")


def test_legacy_keys_of_the_wrong_shape_or_missing(tmp_path):
    path = _crafted(tmp_path, legacy_rng__keys=np.arange(3, dtype=np.uint32))
    assert "624 unsigned 32-bit words" in _refused(path, "legacy_rng/keys")
    path = _crafted(tmp_path, legacy_rng__info=None)
    assert "is missing" in _refused(path, "legacy_rng/info")


def test_wrong_format_version_names_the_file(tmp_path):
    path = _crafted(tmp_path, meta='{"format_version": 99}')
    assert "format version 99" in _refused(path, "version")
    path = _crafted(tmp_path, meta='{"format_version": true}')
    assert "format version True" in _refused(path, "version")


COUNTER_CASES = {
    "negative-epoch": ("epoch", np.int64(-1), "got -1"),
    "fractional-epoch": ("epoch", 2.5, "whole number >= 0"),
    "float-iteration": ("iteration", 30.0, "whole number >= 0"),
    "negative-iteration": ("iteration", np.int64(-30), "got -30"),
    "vector-iteration": ("iteration", [1, 2], "shape (2,)"),
    "bool-patience": ("epochs_without_improvement", True, "bool"),
    "string-patience": ("epochs_without_improvement", "3", "whole number"),
    "nan-best": ("best_val_acc", math.nan, "finite number"),
    "string-best": ("best_val_acc", "high", "finite number"),
}


@pytest.mark.parametrize("case", list(COUNTER_CASES))
def test_counters_must_be_whole_numbers(tmp_path, case):
    key, value, problem = COUNTER_CASES[case]
    assert problem in _refused(_crafted(tmp_path, **{key: value}), key)


HISTORY_CASES = {
    "loss-2d": ("loss_history", np.ones((2, 2)), "1-d array of numbers"),
    "loss-inf": ("loss_history", [1.0, math.inf], "got inf at position 1"),
    "loss-nan": ("loss_history", [math.nan], "finite numbers"),
    "loss-text": ("loss_history", ["a", "b"], "1-d array of numbers"),
    "loss-scalar": ("loss_history", 1.0, "1-d array"),
    "lr-negative": ("lr_history", [1e-3, -1e-3, 1e-3], "got -0.001 at position 1"),
    "lr-infinite": ("lr_history", [math.inf], ">= 0 (or NaN)"),
    "acc-iter-negative": ("acc_iterations", np.array([-1, 10]), "got -1"),
    "acc-iter-float": ("acc_iterations", [1.5, 10.0], "whole numbers"),
    "acc-length": ("train_acc_history", [0.1], "differ in length"),
}


@pytest.mark.parametrize("case", list(HISTORY_CASES))
def test_histories_must_be_1d_numbers(tmp_path, case):
    key, value, problem = HISTORY_CASES[case]
    message = _refused(_crafted(tmp_path, **{key: value}), key.split("_")[0])
    assert problem in message


OPTIM_CASES = {
    "negative-lr": ("optim/W/learning_rate", -0.1, ">= 0, got -0.1"),
    "nan-lr": ("optim/W/learning_rate", math.nan, "got nan"),
    "infinite-lr": ("optim/b/learning_rate", math.inf, "got inf"),
    "text-lr": ("optim/W/learning_rate", "fast", "got 'fast'"),
    "array-lr": ("optim/W/learning_rate", [1e-3, 1e-3], "finite number"),
    "momentum": ("optim/W/momentum", 1.5, "in [0, 1)"),
    "negative-t": ("optim/W/t", np.int64(-1), "got -1"),
    "fractional-t": ("optim/W/t", 2.5, "got 2.5"),
    "state-shape": ("optim/W/m", np.zeros((2, 3)), "has shape (2, 3) but params/W has (3, 2)"),
    "no-setting": ("optim/W", 1.0, "optim/<parameter>/<setting>"),
}


@pytest.mark.parametrize("case", list(OPTIM_CASES))
def test_optimiser_entries_are_checked(tmp_path, case):
    key, value, problem = OPTIM_CASES[case]
    assert problem in _refused(_crafted(tmp_path, **{key: value}), key)


def test_weights_must_be_numeric_and_best_params_must_match(tmp_path):
    path = _crafted(tmp_path, params__W="junk")
    assert "numeric array" in _refused(path, "params/W")
    path = _crafted(tmp_path, best_params__W=np.ones((2, 2)))
    assert "W: (2, 2)" in _refused(path, "best_params")
    with pytest.raises(DataError, match="params/W.*numeric array") as info:
        load_weights(_crafted(tmp_path, params__W="junk"))
    assert str(tmp_path / "crafted.npz") in str(info.value)


@pytest.mark.parametrize("key", ["epoch", "meta", "loss_history", "rng_state"])
def test_missing_keys_are_named(tmp_path, key):
    message = _refused(_crafted(tmp_path, **{key: None}), f"missing ['{key}']")
    assert "not a tinyvision training checkpoint" in message


def test_a_zero_learning_rate_is_what_the_solver_accepts(tmp_path):
    # optim.validate_config allows lr = 0 (a run that never moves), so its checkpoints load.
    state = load_checkpoint(_crafted(tmp_path, optim__W__learning_rate=0.0))
    assert state.optim_configs["W"]["learning_rate"] == 0.0


def test_the_solver_reports_a_junk_checkpoint_with_its_name(tmp_path):
    run = {"update_rule": "adam", "optim_config": {"learning_rate": 0.05}, "num_epochs": 1}
    toy_solver({}, out_dir=tmp_path, batch_size=20, **run).train()
    path = tmp_path / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    np.savez(path, **{**arrays, "epoch": np.asarray(-2)})
    with pytest.raises(DataError, match=r"checkpoint\.npz': 'epoch' must be a whole number >= 0"):
        toy_solver({}, resume=path, batch_size=20, **run)
