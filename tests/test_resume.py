"""Checkpoints: the kill-and-resume test with a real process, plus the .npz format itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinyvision.checkpoint import (
    TrainingState,
    get_buffers,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
    set_buffers,
)
from tinyvision.errors import DataError

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from toy_models import toy_solver  # noqa: E402

NUM_EPOCHS = 4
# Adam (stateful), lr decay, subsampled accuracy checks (Solver Generator), gradient noise from
# numpy's legacy RNG and a buffer: every piece of state a resume has to bring back.
RUN = {
    "update_rule": "adam",
    "optim_config": {"learning_rate": 0.05},
    "lr_decay": 0.9,
    "batch_size": 20,
    "num_epochs": NUM_EPOCHS,
    "num_train_samples": 50,
    "seed": 7,
}
MODEL = {"grad_noise": 0.05, "track_mean": True}

CHILD = """
import sys
sys.path.insert(0, {tests!r})
from toy_models import toy_solver
model = dict({model!r}, sleep=0.05)
toy_solver(model, out_dir={out!r}, **{run!r}).train()
"""


def test_killed_run_resumes_to_the_same_parameters(tmp_path):
    out = tmp_path / "run"
    code = CHILD.format(tests=str(TESTS), model=MODEL, out=str(out), run=RUN)
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    checkpoint = out / "checkpoint.npz"
    try:
        deadline = time.monotonic() + 15
        while not checkpoint.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint after 15 s"
            time.sleep(0.01)
        time.sleep(0.1)  # an epoch takes 10 x 0.05 s: this lands inside epoch 2
        assert child.poll() is None, "the run finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    state = load_checkpoint(checkpoint)
    assert 1 <= state.epoch < NUM_EPOCHS
    assert state.iteration == state.epoch * 10

    resumed = toy_solver(MODEL, resume=checkpoint, out_dir=out, **RUN)
    assert resumed.epoch == state.epoch
    resumed.train()
    reference = toy_solver(MODEL, out_dir=tmp_path / "reference", **RUN)
    reference.train()
    assert resumed.loss_history == reference.loss_history
    assert resumed.val_acc_history == reference.val_acc_history
    # final (best) parameters, and the last ones before the best were restored
    last = load_checkpoint(checkpoint)
    last_reference = load_checkpoint(tmp_path / "reference" / "checkpoint.npz")
    for name, value in reference.model.params.items():
        assert np.array_equal(resumed.model.params[name], value), name
        assert np.array_equal(last.params[name], last_reference.params[name]), name
        assert np.array_equal(
            last.optim_configs[name]["m"], last_reference.optim_configs[name]["m"]
        ), name
        assert not np.array_equal(state.params[name], last.params[name])  # training went on
    np.testing.assert_array_equal(
        resumed.model.buffers["running_mean"], reference.model.buffers["running_mean"]
    )


def test_resume_needs_a_matching_model_and_epoch_length(tmp_path):
    toy_solver(MODEL, out_dir=tmp_path, **{**RUN, "num_epochs": 1}).train()
    path = tmp_path / "checkpoint.npz"
    with pytest.raises(ValueError, match="holds parameters"):
        toy_solver({"d": 5, "c": 4}, resume=path, **RUN)
    with pytest.raises(ValueError, match="iterations per epoch"):
        toy_solver(MODEL, resume=path, **{**RUN, "batch_size": 50})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        toy_solver(MODEL, resume=tmp_path / "nope.npz", **RUN)
    with pytest.raises(DataError, match="not a tinyvision training checkpoint"):
        toy_solver(MODEL, resume=tmp_path / "best.npz", **RUN)


def _state(rng: np.random.Generator) -> TrainingState:
    gen = np.random.default_rng(5)
    gen.standard_normal(3)
    return TrainingState(
        params={"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2).astype(np.float32)},
        buffers={"bn_params.0.running_mean": np.arange(3.0)},
        optim_configs={
            "W": {"learning_rate": 1e-3, "t": 4, "m": rng.standard_normal((3, 2)), "name": "x"},
            "b": {"learning_rate": 1e-3, "velocity": np.zeros(2, np.float32)},
        },
        best_params={"W": np.ones((3, 2)), "b": np.zeros(2, np.float32)},
        best_val_acc=0.75,
        epoch=3,
        iteration=30,
        epochs_without_improvement=1,
        loss_history=[2.3, 1.2, 0.7],
        train_acc_history=[0.1, 0.5],
        val_acc_history=[0.2, 0.75],
        acc_iterations=[1, 10],
        lr_history=[1e-3],
        rng_state=gen.bit_generator.state,
        legacy_rng_state=np.random.RandomState(3).get_state(),
        loader_rng_states={"train": np.random.default_rng(9).bit_generator.state},
        meta={"iterations_per_epoch": 10},
    )


def test_checkpoint_round_trip_without_pickle(tmp_path):
    state = _state(np.random.default_rng(0))
    path = save_checkpoint(tmp_path / "ck.npz", state)
    with np.load(path, allow_pickle=False) as z:
        assert "optim/W/m" in z.files and "legacy_rng/keys" in z.files
    back = load_checkpoint(path)
    for group in ("params", "buffers", "best_params"):
        for k, v in getattr(state, group).items():
            got = getattr(back, group)[k]
            assert np.array_equal(got, v) and got.dtype == v.dtype
    assert back.optim_configs["W"]["t"] == 4 and isinstance(back.optim_configs["W"]["t"], int)
    assert back.optim_configs["W"]["name"] == "x"
    assert back.optim_configs["b"]["learning_rate"] == 1e-3
    np.testing.assert_array_equal(back.optim_configs["W"]["m"], state.optim_configs["W"]["m"])
    for name in ("best_val_acc", "epoch", "iteration", "epochs_without_improvement"):
        assert getattr(back, name) == getattr(state, name)
    for name in ("loss_history", "train_acc_history", "val_acc_history", "acc_iterations"):
        assert getattr(back, name) == getattr(state, name)
    # restored generators continue with the same numbers
    g1, g2 = np.random.default_rng(), np.random.default_rng()
    g1.bit_generator.state, g2.bit_generator.state = state.rng_state, back.rng_state
    assert np.array_equal(g1.random(4), g2.random(4))
    r1, r2 = np.random.RandomState(), np.random.RandomState()
    r1.set_state(state.legacy_rng_state)
    r2.set_state(back.legacy_rng_state)
    assert np.array_equal(r1.standard_normal(4), r2.standard_normal(4))
    assert back.loader_rng_states == state.loader_rng_states


def test_unpicklable_optimiser_entry_is_refused(tmp_path):
    state = _state(np.random.default_rng(0))
    state.optim_configs["W"]["callback"] = print
    with pytest.raises(ValueError, match="cannot be checkpointed"):
        save_checkpoint(tmp_path / "ck.npz", state)
    assert not list(tmp_path.iterdir())


def test_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, _state(np.random.default_rng(0)))
    before = path.read_bytes()

    def crashing_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _state(np.random.default_rng(1)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]


def test_corrupt_and_foreign_files(tmp_path):
    good = save_checkpoint(tmp_path / "good.npz", _state(np.random.default_rng(0)))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DataError, match="not a readable .npz"):
        load_checkpoint(truncated)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, params=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="not a readable .npz"):
        load_checkpoint(pickled)
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(DataError, match="missing"):
        load_checkpoint(tmp_path / "empty.npz")
    with pytest.raises(DataError, match="no 'params/<name>'"):
        load_weights(tmp_path / "empty.npz")


def test_weights_round_trip(tmp_path):
    params = {"W1": np.arange(6.0).reshape(2, 3)}
    path = save_weights(tmp_path / "best.npz", params, {"mean": np.ones(3)}, best_val_acc=0.5)
    got, buffers = load_weights(path)
    np.testing.assert_array_equal(got["W1"], params["W1"])
    np.testing.assert_array_equal(buffers["mean"], np.ones(3))
    with np.load(path, allow_pickle=False) as z:
        assert float(z["best_val_acc"]) == 0.5


def test_buffers_are_the_state_dict_entries_that_are_not_params():
    from tinyvision.classifiers.fc_net import FullyConnectedNet

    net = FullyConnectedNet([3], input_dim=4, num_classes=2, normalization="batchnorm", seed=0)
    buffers = get_buffers(net)
    assert sorted(buffers) == ["bn1/running_mean", "bn1/running_var"]
    buffers["bn1/running_mean"] += 5  # a copy, not the live array
    assert net.bn_params[0]["running_mean"].sum() == 0
    set_buffers(net, {"bn1/running_var": np.ones(3), "bn1/running_mean": np.full(3, 2.0)})
    np.testing.assert_array_equal(net.bn_params[0]["running_var"], np.ones(3))
    with pytest.raises(DataError, match="unexpected.*bn4/running_var"):
        set_buffers(net, {"bn4/running_var": np.ones(2)})
    with pytest.raises(DataError, match="shape"):
        set_buffers(net, {"bn1/running_var": np.ones(2), "bn1/running_mean": np.ones(3)})
    assert get_buffers(object()) == {}
