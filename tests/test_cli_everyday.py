"""Everyday use of the command line: output sent to files, exact options with short errors,
train's quick-look flags, evaluate on another split, and predict on one's own pictures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.special import softmax

from tinyvision.classification import load_dataset
from tinyvision.cli import main
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.data_utils import load_digits_data
from tinyvision.pipeline import load_run

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run_cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `python -m tinyvision` with stdout and stderr sent to files (not a terminal)."""
    env = {**os.environ, "PYTHONPATH": SRC}
    with open(cwd / "out.txt", "w") as out, open(cwd / "err.txt", "w") as err:
        code = subprocess.run(
            [sys.executable, "-m", "tinyvision", *args], stdout=out, stderr=err, env=env, cwd=cwd
        ).returncode
    return code, (cwd / "out.txt").read_text(), (cwd / "err.txt").read_text()


def test_train_into_files_writes_one_line_per_epoch_and_every_phase(tmp_path):
    epochs = 4
    code, out, err = _run_cli(
        "train", "--model", "two-layer", "--epochs", str(epochs), "--out", "run", cwd=tmp_path
    )
    assert code == 0, err
    # No bar frames (carriage returns) and no per-update lines; a few hundred bytes in all.
    assert "\r" not in out + err and "Iteration" not in out + err
    assert len(out) < 600 and len(err) < 1200
    lines = err.splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == [
        f"epoch {e} / {epochs}" for e in range(1, epochs + 1)
    ]
    for line in epoch_lines:
        assert all(word in line for word in ("loss", "train acc", "val acc", "lr", " s"))
    # Every phase said something: loading, fitting, scoring, the results.
    assert any(line.startswith("loaded digits") for line in lines)
    assert any(line.startswith("fitted in") for line in lines)
    assert any(line.startswith("scoring the model on") for line in lines)
    assert "test accuracy" in out and "run folder:" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["fit_seconds"] + metrics["eval_seconds"] <= metrics["total_seconds"]


def test_verbose_adds_the_per_update_lines_and_quiet_removes_the_log(tmp_path):
    code, _, err = _run_cli("train", "--epochs", "1", "--model", "two-layer", "--out", "a",
                            "-v", cwd=tmp_path)  # fmt: skip
    assert code == 0 and "iteration 1 / " in err
    code, out, err = _run_cli("train", "--epochs", "1", "--out", "b", "-q", cwd=tmp_path)
    assert code == 0 and err == "" and "test accuracy" in out


def test_global_options_work_after_the_command(tmp_path, capsys):
    code = main(["train", "--threads", "1", "-q", "--epochs", "1", "--out", str(tmp_path / "r")])
    assert code == 0
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--epoch", "3"], "--epoch: did you mean --epochs"),
        (["train", "--model", "softmx"], "did you mean softmax?"),
        (["trian"], "did you mean train?"),
        (["evaluate", "run", "--split", "tset"], "did you mean test?"),
    ],
)
def test_a_mistake_gets_a_short_error_with_the_closest_names(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "usage:" not in err and len(err.splitlines()) == 2


def test_print_config_shows_the_resolved_settings_and_trains_nothing(tmp_path, capsys):
    code = main(["train", "--model", "two-layer", "--print-config", "--out", str(tmp_path / "r")])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    expected = resolve_config(TrainConfig(model="two-layer", out=str(tmp_path / "r")))
    assert printed == json.loads(json.dumps(expected.to_dict()))
    assert printed["epochs"] is not None and not (tmp_path / "r").exists()


def test_num_val_and_num_test_take_the_first_examples(tmp_path):
    out = tmp_path / "r"
    assert main(["-q", "train", "--epochs", "1", "--num-val", "30", "--num-test", "20",
                 "--out", str(out)]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_test"] == 20
    with pytest.raises(ValueError, match="--num-test 5000 is more than the 270 test"):
        load_dataset(resolve_config(TrainConfig(num_test=5000)))


def test_patience_stops_training_early(tmp_path):
    out = tmp_path / "r"
    # A learning rate too small to change the accuracy: no epoch improves on the check after
    # the first update (the course's), so patience 2 stops after epoch 2 of 20.
    assert main(["-q", "train", "--model", "two-layer", "--epochs", "20", "--lr", "1e-9",
                 "--patience", "2", "--out", str(out)]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped_early"] is True and metrics["epochs_run"] == 2


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "softmax"
    assert main(["-q", "train", "--epochs", "20", "--out", str(out)]) == 0
    return out


def test_evaluate_the_val_split_draws_the_confusion_and_the_mistakes(softmax_run, capsys):
    assert main(["-q", "evaluate", str(softmax_run), "--split", "val"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((softmax_run / "metrics.json").read_text())
    assert f"val acc         {metrics['val_acc']:.4f}" in out and "reproduced exactly" in out
    assert "per class on the val split (270 examples)" in out
    assert (softmax_run / "confusion.png").is_file() and (softmax_run / "errors.png").is_file()


def test_evaluate_says_when_a_folder_is_not_a_run(tmp_path, capsys):
    assert main(["-q", "evaluate", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_evaluate_takes_the_data_dir_of_this_machine(tmp_path, softmax_run, capsys):
    missing = tmp_path / "nowhere"
    # The digits are embedded, so --data-dir is recorded but not needed: the score is the same.
    assert main(["-q", "evaluate", str(softmax_run), "--data-dir", str(missing)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_evaluate_scores_a_caption_run_with_exact_match_and_bleu(tmp_path, capsys):
    out = tmp_path / "cap"
    args = ["-q", "caption", "train", "--model", "rnn", "--epochs", "1", "--num-train", "100",
            "--num-eval", "20", "--hidden-dim", "8", "--wordvec-dim", "8"]  # fmt: skip
    args += ["--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["-q", "evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"test exact match {metrics['test_exact_match']:.4f}"[:16] in printed
    assert f"{metrics['test_bleu4']:.4f}" in printed and "test bleu4" in printed


def _write_digit_pictures(folder: Path, images: np.ndarray) -> list[Path]:
    """Digits as a user would draw them: dark ink on white paper, 32x32 pixels."""
    paths = []
    for i, image in enumerate(images):
        ink = np.round(image[0] * 255).astype(np.uint8)
        big = np.kron(255 - ink, np.ones((4, 4), dtype=np.uint8))
        path = folder / f"digit{i}.png"
        Image.fromarray(big, mode="L").save(path)
        paths.append(path)
    return paths


def test_predict_reads_pictures_like_the_data_set_and_gives_the_model_probabilities(
    tmp_path, softmax_run, capsys
):
    images = load_digits_data()["X_test"][:6]
    _write_digit_pictures(tmp_path, images)
    assert main(["-q", "predict", str(softmax_run), str(tmp_path), "--json", "--top", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)["predictions"]
    loaded = load_run(softmax_run)
    flat = (images.reshape(6, -1) - loaded.prepared.prep["mean"]).astype(np.float32)
    scores = np.hstack([flat, np.ones((6, 1), dtype=np.float32)]) @ loaded.model.W
    expected = softmax(scores.astype(np.float64), axis=1)
    assert [Path(p["image"]).name for p in printed] == [f"digit{i}.png" for i in range(6)]
    for row, probabilities in zip(printed, expected, strict=True):
        best = np.argsort(-probabilities)[:2]
        assert [t["class"] for t in row["top"]] == [str(c) for c in best]
        got = [t["probability"] for t in row["top"]]
        np.testing.assert_allclose(got, probabilities[best], atol=0.02)


def test_predict_prints_one_line_per_picture(tmp_path, softmax_run, capsys):
    paths = _write_digit_pictures(tmp_path, load_digits_data()["X_test"][:2])
    assert main(["-q", "predict", str(softmax_run), *map(str, paths)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.count(" 0.") == 3 for line in lines)


def test_predict_needs_no_data_set_only_the_run(tmp_path, softmax_run, capsys, monkeypatch):
    """A trained model predicts on a machine without its data set (e.g. CIFAR-10 left behind)."""
    from tinyvision import classification

    paths = _write_digit_pictures(tmp_path, load_digits_data()["X_test"][:3])
    assert main(["-q", "predict", str(softmax_run), *map(str, paths), "--json"]) == 0
    with_data = capsys.readouterr().out

    def no_data(config, dtype):
        raise FileNotFoundError("the data set is not on this machine")

    monkeypatch.setitem(classification.DATASET_LOADERS, "digits", no_data)
    assert main(["-q", "predict", str(softmax_run), *map(str, paths), "--json"]) == 0
    assert capsys.readouterr().out == with_data


@pytest.mark.parametrize("dataset", ["digits", "spiral"])
def test_the_shapes_known_without_data_are_those_of_the_data(dataset):
    from tinyvision.classification import DATASET_SHAPES

    data = load_dataset(resolve_config(TrainConfig(dataset=dataset)))
    shape, classes = DATASET_SHAPES[dataset]
    assert data["X_train"].shape[1:] == shape
    assert int(data["y_train"].max()) + 1 == classes


def test_knn_predict_gives_vote_shares(tmp_path, capsys):
    run = tmp_path / "knn"
    assert main(["-q", "train", "--model", "knn", "--k", "4", "--out", str(run)]) == 0
    paths = _write_digit_pictures(tmp_path, load_digits_data()["X_test"][:3])
    capsys.readouterr()
    assert main(["-q", "predict", str(run), *map(str, paths), "--json", "--top", "10"]) == 0
    for row in json.loads(capsys.readouterr().out)["predictions"]:
        shares = [t["probability"] for t in row["top"]]
        assert sum(shares) == pytest.approx(1.0)
        assert all(s * 4 == pytest.approx(round(s * 4)) for s in shares)


def test_predict_refuses_what_it_cannot_read(tmp_path, softmax_run, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["-q", "predict", str(softmax_run), str(tmp_path / "notes.txt")]) == 2
    assert "is not a PNG or JPEG" in capsys.readouterr().err
    assert main(["-q", "predict", str(softmax_run), str(tmp_path / "missing.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert main(["-q", "predict", str(softmax_run), str(tmp_path / "broken.png")]) == 2
    assert "cannot read" in capsys.readouterr().err
    spiral = tmp_path / "spiral"
    assert main(["-q", "train", "--dataset", "spiral", "--epochs", "1", "--out", str(spiral)]) == 0
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "x.png")
    assert main(["-q", "predict", str(spiral), str(tmp_path / "x.png")]) == 2
    assert "takes points, not pictures" in capsys.readouterr().err


def test_read_image_gives_cifar10_pictures_as_32x32_rgb_on_the_0_255_scale(tmp_path):
    from tinyvision.prediction import read_image

    pixels = np.zeros((64, 96, 3), dtype=np.uint8)
    pixels[:, :48] = (200, 10, 30)  # left half red, right half black
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    image = read_image(tmp_path / "wide.png", "cifar10")
    assert image.shape == (3, 32, 32) and image.dtype == np.float64
    np.testing.assert_array_equal(
        image[:, :, :16], np.broadcast_to([[[200]], [[10]], [[30]]], (3, 32, 16))
    )
    np.testing.assert_array_equal(image[:, :, 16:], 0)


def test_read_image_inverts_dark_ink_on_light_paper_for_the_digits(tmp_path):
    from tinyvision.prediction import read_image

    paper = np.full((16, 16), 255, dtype=np.uint8)
    paper[:, 4:8] = 0  # a dark stroke two digit-pixels wide
    Image.fromarray(paper).save(tmp_path / "ink.png")
    Image.fromarray(255 - paper).save(tmp_path / "glow.png")
    ink, glow = (
        read_image(tmp_path / "ink.png", "digits"),
        read_image(tmp_path / "glow.png", "digits"),
    )
    assert ink.shape == (1, 8, 8)
    np.testing.assert_array_equal(ink, glow)  # both become bright ink on black
    np.testing.assert_array_equal(ink[0, :, 2:4], 1.0)
    assert ink[0, :, :2].max() == 0.0 and ink[0, :, 4:].max() == 0.0
