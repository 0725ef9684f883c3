"""Tests for `tinyvision caption train|sample` and the captioning pipeline behind them: the run
folder, reloading a trained model, the samples figure, and clear errors."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import numpy as np
import pytest

from tinyvision import registry
from tinyvision.captioning import evaluate_captions, sample_run
from tinyvision.cli import main
from tinyvision.config import CaptionConfig, resolve_config
from tinyvision.pipeline import load_run

TINY = ["--epochs", "2", "--num-train", "200", "--num-eval", "40", "--batch-size", "50"]
REQUIRED = {"test_exact_match", "test_bleu4", "total_seconds", "model", "dataset"}


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lstm"
    args = ["caption", "train", "--model", "lstm", *TINY, "--hidden-dim", "16"]
    code = main(["-q", *args, "--wordvec-dim", "8", "--lr", "2e-2", "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_the_run_folder(lstm_run, capsys):
    for name in ("config.json", "metrics.json", "history.json", "model.npz", "loss.png"):
        assert (lstm_run / name).is_file(), name
    metrics = json.loads((lstm_run / "metrics.json").read_text())
    assert REQUIRED | {"val_exact_match", "val_bleu4", "train_loss"} <= metrics.keys()
    assert metrics["model"] == "lstm" and metrics["dataset"] == "digit-strips"
    assert metrics["num_train"] == 200 and metrics["epochs_run"] == 2
    for key in ("test_exact_match", "test_bleu4", "val_exact_match", "val_bleu4"):
        assert 0.0 <= metrics[key] <= 1.0
    config = json.loads((lstm_run / "config.json").read_text())
    assert config["hidden_dim"] == 16 and config["learning_rate"] == 2e-2
    assert config["lr_decay"] == 0.95 and config["config_version"] == 2
    history = json.loads((lstm_run / "history.json").read_text())
    assert len(history["loss_history"]) == 2 * (200 // 50)
    assert np.isclose(metrics["train_loss"], np.mean(history["loss_history"][-4:]))
    # model.npz holds plain arrays: it opens without pickle and names every parameter.
    with zipfile.ZipFile(lstm_run / "model.npz") as archive:
        names = {n.removesuffix(".npy") for n in archive.namelist()}
    assert names == {f"model/{k}" for k in ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b",
                                            "W_vocab", "b_vocab")}  # fmt: skip
    assert (lstm_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reloaded_model_reproduces_the_test_metrics(lstm_run):
    loaded = load_run(lstm_run, ("test",))
    metrics = json.loads((lstm_run / "metrics.json").read_text())
    again = evaluate_captions(loaded.model, loaded.prepared.data, "test", loaded.config.num_eval)
    assert again["exact_match"] == metrics["test_exact_match"]
    assert again["bleu4"] == metrics["test_bleu4"]


def test_sample_prints_captions_and_writes_a_png(lstm_run, tmp_path, capsys):
    png = tmp_path / "figs" / "samples.png"
    assert main(["caption", "sample", str(lstm_run), "--num", "3", "--out", str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    ours = [line for line in lines if "ours:" in line]
    true = [line for line in lines if "true:" in line]
    assert len(ours) == len(true) == 3
    assert lines[-1] == f"figure: {png}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    samples, path = sample_run(lstm_run, split="test", num=3, out_png=tmp_path / "again.png")
    assert path == tmp_path / "again.png" and path.is_file()
    for sample, line in zip(samples, ours, strict=True):
        assert line.endswith(f"ours: {sample['generated']}")
    words = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
    for sample, line in zip(samples, true, strict=True):
        assert set(sample["references"][0].split()) <= words
        assert 2 <= len(sample["references"][0].split()) <= 5
        assert line.endswith(f"true: {sample['references'][0]}")


def test_sample_defaults_to_a_png_in_the_run_folder(lstm_run):
    samples, path = sample_run(lstm_run, split="val", num=2)
    assert path == lstm_run / "samples-val.png" and path.is_file()
    assert len(samples) == 2


def test_transformer_run(tmp_path, capsys):
    out = tmp_path / "tf"
    args = ["caption", "train", "--model", "transformer", *TINY, "--wordvec-dim", "16"]
    assert main([*args, "--num-heads", "2", "--num-layers", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test exact match" in printed and f"run folder: {out}" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert REQUIRED <= metrics.keys() and metrics["model"] == "transformer"
    samples, _ = sample_run(out, num=2)
    assert len(samples) == 2


def test_defaults_are_tuned_per_model():
    lstm = resolve_config(CaptionConfig(model="lstm"))
    tf = resolve_config(CaptionConfig(model="transformer"))
    for config in (lstm, tf):
        assert config.val_metric == "exact_match"
        for key, value in registry.get(config.model).defaults["digit-strips"].items():
            assert getattr(config, key) == value
    assert (lstm.learning_rate, tf.learning_rate, tf.dim_feedforward) == (2e-3, 5e-3, 128)
    coco = resolve_config(CaptionConfig(model="lstm", dataset="coco"))
    assert coco.val_metric == "bleu4"
    assert resolve_config(CaptionConfig(model="lstm", epochs=3)).epochs == 3


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"model": "gru"}, "unknown model 'gru'"),
        ({"model": "softmax"}, "classification model"),
        ({"dataset": "flickr"}, "unknown dataset 'flickr'"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"learning_rate": -1.0}, "learning_rate"),
        (
            {"model": "transformer", "wordvec_dim": 12, "num_heads": 4},
            "multiple of 2 \\* num_heads",
        ),
        ({"dropout": 1.0}, "dropout"),
        ({"schedule": "linear"}, "schedule"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_configs(changes, match):
    with pytest.raises(ValueError, match=match):
        resolve_config(CaptionConfig(**changes))


def test_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["caption", "train", "--model", "gru"])
    assert "unknown choice 'gru'" in capsys.readouterr().err
    assert main(["caption", "train", "--dataset", "coco", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    if importlib.util.find_spec("h5py") is None:  # without the coco extra: how to get it
        assert "needs h5py: pip install tinyvision[coco]" in err
    else:
        assert "coco2014_captions.h5" in err and "--data-dir" in err
    assert main(["caption", "sample", str(tmp_path / "missing")]) == 2
    assert "is not a run folder: it has no config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["caption", "train", "--epochs", "0"])
    assert "argument --epochs: epochs must be a positive integer" in capsys.readouterr().err


def test_sample_rejects_bad_arguments(lstm_run):
    with pytest.raises(ValueError, match="split must be"):
        sample_run(lstm_run, split="holdout")
    with pytest.raises(ValueError, match="num must be a positive integer"):
        sample_run(lstm_run, num=0)
