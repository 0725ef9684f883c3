"""The Solver on a tiny softmax-regression model: course behaviour and the extensions."""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyvision import solver as solver_module
from tinyvision.checkpoint import load_checkpoint, load_weights
from tinyvision.schedules import ExponentialDecay, StepDecay
from tinyvision.solver import Solver, TrainingDivergedError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toy_models import SoftmaxRegression, blobs  # noqa: E402


@pytest.fixture
def data():
    X, y = blobs(300, seed=0)
    return {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:], "y_val": y[200:]}


def make(data, model=None, **kwargs):
    kwargs.setdefault("verbose", False)
    kwargs.setdefault("batch_size", 40)  # 5 iterations per epoch
    kwargs.setdefault("num_epochs", 3)
    kwargs.setdefault("optim_config", {"learning_rate": 0.5})
    return Solver(model or SoftmaxRegression(), data, **kwargs)


def test_training_reaches_high_accuracy(data):
    solver = make(data, num_epochs=5, seed=0)
    assert solver.check_accuracy(data["X_val"], data["y_val"]) < 0.7  # untrained
    solver.train()
    assert solver.best_val_acc >= 0.95
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
    assert solver.loss_history[-1] < 0.5 * solver.loss_history[0]


def test_history_lengths_follow_the_course(data):
    solver = make(data, num_epochs=4)
    solver.train()
    assert solver.iterations_per_epoch == 200 // 40
    assert len(solver.loss_history) == 4 * 5
    # checked after the first update and at every epoch end
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 4 + 1
    assert solver.acc_iterations == [1, 5, 10, 15, 20]
    assert solver.epoch == 4


def test_iterations_per_epoch_is_at_least_one(data):
    solver = make(data, batch_size=1000, num_epochs=2)
    solver.train()
    assert solver.iterations_per_epoch == 1
    assert len(solver.loss_history) == 2
    assert len(solver.val_acc_history) == 2  # the first update is also an epoch end


def test_every_iteration_updates_including_epoch_zero(data):
    calls = []

    def spy_sgd(w, dw, config=None):
        calls.append(solver.epoch)
        return w - config["learning_rate"] * dw, config

    solver = make(data, update_rule=spy_sgd, num_epochs=2)
    w0 = solver.model.params["W"].copy()
    solver._train_epoch(10)
    assert not np.array_equal(solver.model.params["W"], w0)
    solver._end_epoch()
    solver._train_epoch(10)
    # two params, five updates per epoch, the first five in epoch 0
    assert calls == [0] * 10 + [1] * 10


def test_best_params_are_a_deep_copy(data):
    def inplace_sgd(w, dw, config=None):
        w -= config["learning_rate"] * dw  # mutates the live array on purpose
        return w, config

    solver = make(data, update_rule=inplace_sgd)
    solver._step()
    assert solver._evaluate()  # val accuracy > 0 so these params become the best
    snapshot = {k: v.copy() for k, v in solver.best_params.items()}
    solver._step()
    assert not np.array_equal(solver.model.params["W"], snapshot["W"])
    for k, v in snapshot.items():
        np.testing.assert_array_equal(solver.best_params[k], v)

    solver.train()
    best_w = solver.best_params["W"].copy()
    np.testing.assert_array_equal(solver.model.params["W"], best_w)
    solver.model.params["W"] += 1.0
    np.testing.assert_array_equal(solver.best_params["W"], best_w)


def test_lr_decay_applied_at_each_epoch_end(data):
    solver = make(data, update_rule="sgd_momentum", lr_decay=0.5, num_epochs=3)
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.5 * 0.5**3)
        assert config["momentum"] == 0.9
    assert solver.lr_history == pytest.approx([0.5, 0.25, 0.125])


def test_optim_config_copied_per_parameter(data):
    config = {"learning_rate": 0.1}
    solver = make(data, update_rule="adam", optim_config=config, num_epochs=1)
    solver.train()
    assert config == {"learning_rate": 0.1}
    assert solver.optim_configs["W"]["m"].shape == (5, 3)
    assert solver.optim_configs["b"]["m"].shape == (3,)
    assert solver.optim_configs["W"]["t"] == 5


def test_lr_schedule_replaces_lr_decay(data):
    solver = make(data, lr_schedule=StepDecay(0.4, 0.1), lr_decay=0.5, num_epochs=3)
    solver.train()
    assert solver.lr_history == pytest.approx([0.4, 0.04, 0.004])


def test_iteration_schedule_sets_lr_before_every_update(data):
    seen = []

    def spy_sgd(w, dw, config=None):
        seen.append(config["learning_rate"])
        return w - config["learning_rate"] * dw, config

    sched = ExponentialDecay(0.5, 0.9, unit="iteration")
    solver = make(data, update_rule=spy_sgd, lr_schedule=sched, num_epochs=2)
    solver.train()
    assert seen[::2] == pytest.approx([0.5 * 0.9**t for t in range(10)])


def test_named_cosine_schedule_spans_every_update_of_the_run(data):
    seen = []

    def spy_sgd(w, dw, config=None):
        seen.append(config["learning_rate"])
        return w - config["learning_rate"] * dw, config

    solver = make(data, update_rule=spy_sgd, lr_schedule="cosine", num_epochs=2)
    solver.train()
    # 2 epochs x 5 updates, two parameters each: half a cosine from 0.5 over t = 0 .. 10.
    assert seen[::2] == pytest.approx([0.25 * (1 + math.cos(math.pi * t / 10)) for t in range(10)])
    assert make(data, lr_schedule="step").lr_schedule is None


def test_named_schedule_needs_a_known_name_and_a_learning_rate(data):
    with pytest.raises(ValueError, match="schedule must be one of step, cosine, .*got 'linear'"):
        make(data, lr_schedule="linear")
    with pytest.raises(ValueError, match=r"give it, e.g. optim_config=\{'learning_rate'"):
        make(data, lr_schedule="cosine", optim_config={})


def test_unknown_kwargs_are_named(data):
    with pytest.raises(ValueError, match="Unrecognized arguments.*learning_rate.*num_epoch\\b"):
        make(data, learning_rate=0.1, num_epoch=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"update_rule": "adamm"}, 'Invalid update_rule "adamm"'),
        ({"batch_size": 0}, r"batch_size must be a positive integer, got 0 \(int\)"),
        ({"lr_decay": 0.0}, "lr_decay"),
        ({"patience": 0}, "patience"),
        ({"seed": -1}, "seed"),
        ({"optim_config": {"learning_rate": -1.0}}, "learning_rate"),
    ],
)
def test_bad_settings(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(data, **kwargs)


def test_bad_data(data):
    with pytest.raises(ValueError, match=r"missing \['X_val'\]"):
        make({k: v for k, v in data.items() if k != "X_val"})
    with pytest.raises(ValueError, match="X_train has 200 examples but y_train has 199"):
        make({**data, "y_train": data["y_train"][:-1]})
    with pytest.raises(ValueError, match="y_val holds the label -1"):
        make({**data, "y_val": -np.ones(100, dtype=int)})
    with pytest.raises(ValueError, match="params dict"):
        Solver(object(), data)


def test_patience_stops_early_and_restores_best(data):
    # lr 0: the params never change, so after the first check accuracy never improves.
    solver = make(data, optim_config={"learning_rate": 0.0}, num_epochs=10, patience=2)
    solver.train()
    assert solver.stopped_early
    assert solver.epoch == 2
    assert len(solver.loss_history) == 2 * 5
    for k, v in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[k], v)


def test_epochs_without_improvement_counter(data):
    solver = make(data, num_epochs=6, seed=0, optim_config={"learning_rate": 0.05})
    solver.train()
    best, expected = solver.val_acc_history[0], 0
    for acc in solver.val_acc_history[1:]:
        expected = 0 if acc > best else expected + 1
        best = max(best, acc)
    assert solver.epochs_without_improvement == expected
    assert solver.best_val_acc == max(solver.val_acc_history)


def test_nan_loss_raises_and_keeps_a_valid_checkpoint(data, tmp_path):
    model = SoftmaxRegression(nan_after=12)  # train call 13 = iteration 13, in epoch 3
    solver = make(data, model=model, num_epochs=5, out_dir=tmp_path, seed=0)
    with pytest.raises(TrainingDivergedError, match="iteration 13: loss is nan") as info:
        solver.train()
    err = info.value
    assert isinstance(err, RuntimeError)
    assert err.iteration == 13 and err.learning_rate == 0.5
    assert err.checkpoint_path == str(tmp_path / "checkpoint.npz")
    assert "Lower the learning rate" in str(err) and str(tmp_path) in str(err)
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    assert state.epoch == 2 and state.iteration == 10
    for k, v in solver.best_params.items():
        np.testing.assert_array_equal(model.params[k], v)
    assert len(solver.loss_history) == 12  # the NaN is reported, not recorded


def test_inf_loss_without_checkpoint(data):
    class InfModel(SoftmaxRegression):
        def loss(self, X, y=None):
            out = super().loss(X, y)
            return out if y is None else (float("inf"), out[1])

    solver = make(data, model=InfModel())
    w0 = solver.model.params["W"].copy()
    with pytest.raises(TrainingDivergedError, match="iteration 1: loss is inf.*no checkpoint yet"):
        solver.train()
    np.testing.assert_array_equal(solver.model.params["W"], w0)


def test_run_folder_history_and_checkpoints(data, tmp_path):
    out = tmp_path / "run"
    solver = make(data, model=SoftmaxRegression(track_mean=True), out_dir=out, lr_decay=0.9)
    solver.train()
    history = json.loads((out / "history.json").read_text())
    assert history["loss_history"] == pytest.approx(solver.loss_history)
    assert history["val_acc_history"] == solver.val_acc_history
    assert history["lr_history"] == pytest.approx([0.5, 0.45, 0.405])
    assert history["epoch"] == 3 and history["iterations_per_epoch"] == 5

    with np.load(out / "checkpoint.npz", allow_pickle=False) as z:
        assert {"params/W", "buffers/running_mean", "optim/W/learning_rate", "meta"} <= set(z.files)
    state = load_checkpoint(out / "checkpoint.npz")
    assert state.epoch == 3 and state.iteration == 15
    assert state.loss_history == solver.loss_history
    assert state.optim_configs["W"]["learning_rate"] == pytest.approx(0.5 * 0.9**3)
    params, buffers = load_weights(out / "best.npz")
    for k, v in solver.best_params.items():
        np.testing.assert_array_equal(params[k], v)
    np.testing.assert_array_equal(buffers["running_mean"], solver.best_buffers["running_mean"])
    assert not list(out.glob("*.tmp"))


def test_history_written_after_every_epoch(data, tmp_path):
    epochs_seen = []
    real_end = Solver._end_epoch

    def spy_end(self):
        stop = real_end(self)
        epochs_seen.append(json.loads((tmp_path / "history.json").read_text())["epoch"])
        return stop

    solver = make(data, out_dir=tmp_path, checkpoint_every=2)
    solver._end_epoch = spy_end.__get__(solver)
    solver.train()
    assert epochs_seen == [1, 2, 3]
    assert load_checkpoint(tmp_path / "checkpoint.npz").epoch == 3


def test_course_checkpoint_names(data, tmp_path):
    solver = make(data, checkpoint_name=str(tmp_path / "fc"), checkpoint_every=2, num_epochs=5)
    solver.train()
    names = sorted(p.name for p in tmp_path.iterdir())
    # every 2 epochs, plus the last one
    assert names == ["fc_epoch_2.npz", "fc_epoch_4.npz", "fc_epoch_5.npz"]
    assert load_checkpoint(tmp_path / "fc_epoch_4.npz").iteration == 20


def test_same_seed_same_run(data):
    runs = []
    for seed in (3, 3, 4):
        solver = make(data, seed=seed, model=SoftmaxRegression(grad_noise=0.1), num_epochs=2)
        solver.train()
        runs.append(solver.loss_history)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_verbose_messages_go_through_tqdm_write(data, monkeypatch):
    lines = []
    monkeypatch.setattr(solver_module.tqdm, "write", lambda s, *a, **k: lines.append(s))
    solver = make(data, verbose=True, progress=False, num_epochs=2, print_every=4)
    solver.train()
    assert lines[0] == f"(Iteration 1 / 10) loss: {solver.loss_history[0]:f}"
    assert lines[1].startswith("(Epoch 0 / 2) train acc: ")
    assert "; val_acc: " in lines[1]
    assert sum(line.startswith("(Iteration") for line in lines) == 3  # t = 0, 4, 8
    assert lines[-1].startswith("(Epoch 2 / 2) train acc: ")


def test_quiet_solver_logs_one_line_per_epoch_and_updates_only_at_debug(data, caplog, capsys):
    with caplog.at_level(logging.DEBUG, logger="tinyvision.solver"):
        solver = make(data, verbose=False, num_epochs=2, print_every=4)
        solver.train()
    assert capsys.readouterr() == ("", "")  # no bar off a terminal, no course prints
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    debugs = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert [m.split(":")[0] for m in infos] == ["epoch 1 / 2", "epoch 2 / 2"]
    mean_loss = np.mean(solver.loss_history[5:])
    assert f"loss {mean_loss:.4f}" in infos[1]
    assert f"val acc {solver.val_acc_history[-1]:.4f}" in infos[1]
    assert f"lr {solver.lr_history[-1]:.3g}" in infos[1]
    assert [m.split(":")[0] for m in debugs] == [
        "iteration 1 / 10",
        "iteration 5 / 10",
        "iteration 9 / 10",
    ]


def test_progress_bar_follows_verbose_by_default(data):
    assert make(data, verbose=True).progress is True
    assert make(data, verbose=False).progress is False
    assert make(data, verbose=False, progress=True).progress is True


def test_check_accuracy_subsamples_with_the_solver_rng(data):
    solver = make(data, seed=0)
    acc = solver.check_accuracy(data["X_train"], data["y_train"], num_samples=50, batch_size=7)
    rng = np.random.default_rng(0)
    mask = rng.choice(200, 50)
    scores = solver.model.loss(data["X_train"][mask])
    assert acc == np.mean(np.argmax(scores, axis=1) == data["y_train"][mask])


class _Loader:
    """A sized iterable of {"image", "label"} batches with a shuffling Generator."""

    def __init__(self, X, y, batch_size, seed):
        self.X, self.y, self.batch_size = X, y, batch_size
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return -(-len(self.X) // self.batch_size)

    def __iter__(self):
        order = self.rng.permutation(len(self.X))
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            yield {"image": self.X[idx], "label": self.y[idx]}


def _loaders(data, seed=0):
    try:
        from tinyvision.data.datasets import ArrayDataset
        from tinyvision.data.loader import DataLoader
    except ImportError:
        return {
            "train": _Loader(data["X_train"], data["y_train"], 40, seed),
            "val": _Loader(data["X_val"], data["y_val"], 64, seed + 1),
        }
    return {
        "train": DataLoader(ArrayDataset(data["X_train"], data["y_train"]), 40, True, False, seed),
        "val": DataLoader(ArrayDataset(data["X_val"], data["y_val"]), 64, False, False, seed + 1),
    }


@pytest.mark.parametrize(
    "make_loaders",
    [
        _loaders,
        lambda d, seed=0: {
            "train": _Loader(d["X_train"], d["y_train"], 40, seed),
            "val": _Loader(d["X_val"], d["y_val"], 64, seed + 1),
        },
    ],
)
def test_loader_data(data, make_loaders):
    solver = make(make_loaders(data), num_epochs=4, num_train_samples=100)
    solver.train()
    assert solver.iterations_per_epoch == 5
    assert len(solver.loss_history) == 20
    assert solver.best_val_acc >= 0.95
    acc = solver.check_accuracy(solver.val_loader)
    assert acc == solver.check_accuracy(data["X_val"], data["y_val"])


def test_loader_run_resumes_exactly(data, tmp_path):
    full = make(_loaders(data), num_epochs=4, seed=1)
    full.train()
    first = make(_loaders(data), num_epochs=2, seed=1, out_dir=tmp_path)
    first.train()
    resumed = make(_loaders(data), num_epochs=4, seed=1, resume=tmp_path / "checkpoint.npz")
    resumed.train()
    assert resumed.loss_history == full.loss_history
    for k, v in full.model.params.items():
        assert np.array_equal(resumed.model.params[k], v)


def test_empty_loader_rejected(data):
    with pytest.raises(ValueError, match="non-empty loader"):
        make({"train": [], "val": [1]})


def test_stop_when_ends_training_after_the_update_it_returns_true(data):
    solver = make(data, num_epochs=5, stop_when=lambda s: s.iteration == 7)
    solver.train()
    # 5 updates per epoch: the 7th is the second of epoch 2, which then ends as an early stop.
    assert len(solver.loss_history) == 7
    assert solver.stopped_early and solver.epoch == 2
    assert solver.acc_iterations[-1] == 7
    with pytest.raises(ValueError, match="stop_when must be a function solver -> bool"):
        make(data, stop_when=3)


def test_on_epoch_end_sees_each_epochs_evaluation_and_may_stop_training(data):
    seen = []

    def record(solver):
        seen.append((solver.epoch, solver.val_acc_history[-1], solver.iteration))
        if solver.epoch == 2:
            raise KeyboardInterrupt  # a search pruning the run

    solver = make(data, num_epochs=4, on_epoch_end=record)
    with pytest.raises(KeyboardInterrupt):
        solver.train()
    # Called after each epoch's evaluation: the latest validation accuracy is that epoch's.
    assert [(epoch, it) for epoch, _, it in seen] == [(1, 5), (2, 10)]
    assert [acc for _, acc, _ in seen] == solver.val_acc_history[-2:]
    with pytest.raises(ValueError, match="on_epoch_end must be a function solver -> None"):
        make(data, on_epoch_end="prune")


def test_schedule_options_reach_the_named_schedule(data):
    solver = make(
        data, lr_schedule="multistep", schedule_options={"milestones": (2,), "gamma": 0.5}
    )
    solver.train()
    assert solver.lr_history == pytest.approx([0.5, 0.5, 0.25])
    with pytest.raises(ValueError, match="schedule_options configure a named lr_schedule"):
        make(data, lr_schedule=StepDecay(0.4, 0.1), schedule_options={"gamma": 0.5})
