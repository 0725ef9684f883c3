"""Run folders and configuration."""

import json

import numpy as np
import pytest

from tinyvision import runs
from tinyvision.config import TrainConfig, resolve_config


def test_arrays_round_trip_and_refuse_pickles(tmp_path):
    arrays = {"model/W": np.arange(6.0).reshape(2, 3), "prep/mean": np.ones(3, np.float32)}
    path = runs.save_arrays(tmp_path / "model.npz", arrays)
    loaded = runs.load_arrays(path)
    assert set(loaded) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "evil.npz", obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        runs.load_arrays(tmp_path / "evil.npz")


def test_json_is_atomic_and_converts_numpy(tmp_path):
    path = runs.write_json(tmp_path / "m.json", {"acc": np.float32(0.5), "curve": np.arange(3)})
    assert json.loads(path.read_text()) == {"acc": 0.5, "curve": [0, 1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_missing_files_name_themselves(tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        runs.load_json(tmp_path / "metrics.json")
    with pytest.raises(FileNotFoundError, match="model.npz"):
        runs.load_arrays(tmp_path / "model.npz")


def test_new_run_dir_never_reuses_a_folder(tmp_path):
    first = runs.new_run_dir(None, "softmax-digits", root=tmp_path)
    second = runs.new_run_dir(None, "softmax-digits", root=tmp_path)
    assert first != second and first.is_dir() and second.is_dir()


def test_plot_history_writes_both_curves(tmp_path):
    history = {
        "loss_history": [2.3, 1.0, 0.5],
        "train_acc_history": [0.1, 0.9],
        "val_acc_history": [0.1, 0.8],
    }
    written = runs.plot_history(history, tmp_path)
    assert {p.name for p in written} == {"loss.png", "accuracy.png"}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_resolve_config_fills_defaults_and_keeps_explicit_values():
    resolved = resolve_config(TrainConfig(model="softmax", dataset="digits", reg=0.5))
    assert resolved.reg == 0.5
    assert resolved.epochs is not None and resolved.learning_rate is not None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "resnet-1000"}, "unknown model"),
        ({"dataset": "mnist"}, "unknown dataset"),
        ({"features": ("hog",)}, "cifar10"),
        ({"features": ("sift",), "dataset": "cifar10"}, "features must be one of hog, hsv"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"dropout": 1.0}, "dropout must be in \\[0, 1\\)"),
        ({"dropout": -0.1}, "probability of dropping a unit"),
        ({"k": 2.5}, "k must be a positive integer, got 2.5"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
        ({"hidden_dims": (10, 0)}, "hidden_dims must be a positive integer, got 0"),
        ({"metric": "cosine"}, "metric must be one of l2, l1"),
        ({"model": "cnn", "dataset": "spiral"}, "takes images"),
        ({"dtype": "float16"}, "dtype must be one of float32, float64"),
        ({"schedule": "linear"}, "schedule must be one of step, cosine, inverse-time"),
        ({"schedule": "multistep"}, "--schedule multistep needs --milestones"),
        ({"milestones": (3,)}, "add --schedule multistep or leave out --milestones"),
        ({"milestones": (0, 3), "schedule": "multistep"}, "milestones must be a positive"),
        ({"gamma": 1.5}, "gamma must be in \\(0, 1\\]"),
        ({"clip_norm": 0.0}, "clip_norm must be a finite number > 0"),
        ({"model": "knn", "clip_value": 1.0}, "--clip-value applies only to models trained by"),
        ({"schedule": "cosine"}, "--schedule cosine applies only to models trained by the Solver"),
        ({"augment": True, "model": "softmax"}, "use it with --model .*two-layer"),
        ({"augment": True, "model": "fc", "dataset": "spiral"}, "needs images"),
    ],
)
def test_resolve_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        resolve_config(TrainConfig(**changes))


def test_config_dict_round_trip():
    config = TrainConfig(model="fc", hidden_dims=(8, 4), features=())
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
