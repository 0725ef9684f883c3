"""The learning-rate schedules from the command line: the rates a run records in history.json are
those of torch.optim.lr_scheduler stepped once per epoch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tinyvision.cli import main


def _torch_epoch_rates(make_scheduler, base_lr, epochs):
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def _lr_history(out):
    return json.loads((out / "history.json").read_text())["lr_history"]


@pytest.mark.parametrize(
    "options, make_scheduler",
    [
        (
            ["--schedule", "multistep", "--milestones", "2,4", "--gamma", "0.5"],
            lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, [2, 4], gamma=0.5),
        ),
        (
            ["--schedule", "inverse-time", "--decay-k", "0.5"],
            lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (1 + 0.5 * e)),
        ),
    ],
)
def test_train_records_the_rates_of_torch_schedulers(tmp_path, options, make_scheduler):
    out = tmp_path / "run"
    args = ["--model", "fc", "--hidden-dims", "32", "--epochs", "6", "--lr", "0.02"]
    assert main(["--quiet", "train", *args, *options, "--out", str(out)]) == 0
    expected = _torch_epoch_rates(make_scheduler, 0.02, 6)
    np.testing.assert_allclose(_lr_history(out), expected, rtol=1e-12)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_acc"] > 0.8
    # The run folder holds every setting of the schedule, so evaluate rebuilds the same run.
    config = json.loads((out / "config.json").read_text())
    assert config["schedule"] == options[1]
    assert main(["--quiet", "evaluate", str(out)]) == 0


def test_caption_train_takes_the_schedule_and_clipping_flags(tmp_path):
    out = tmp_path / "caption"
    tiny = ["--epochs", "3", "--num-train", "200", "--num-eval", "40", "--batch-size", "50"]
    args = ["caption", "train", "--model", "rnn", *tiny, "--hidden-dim", "16", "--wordvec-dim", "8"]
    flags = ["--schedule", "inverse-sqrt", "--decay-k", "3", "--clip-norm", "5", "--lr", "1e-2"]
    assert main(["--quiet", *args, *flags, "--out", str(out)]) == 0
    expected = _torch_epoch_rates(
        lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (1 + 3 * e) ** -0.5), 1e-2, 3
    )
    np.testing.assert_allclose(_lr_history(out), expected, rtol=1e-12)
    assert json.loads((out / "config.json").read_text())["clip_norm"] == 5


def test_multistep_without_milestones_is_a_flag_error(tmp_path, capsys):
    assert main(["--quiet", "train", "--model", "fc", "--schedule", "multistep"]) == 2
    assert "--schedule multistep needs --milestones" in capsys.readouterr().err
