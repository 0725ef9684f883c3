"""TOML run configurations: to_toml writes what tomllib reads; `train --config FILE`."""

import dataclasses
import json

import pytest

from tinyvision.cli import main
from tinyvision.config import TrainConfig
from tinyvision.config_files import read_config_toml, to_toml, write_config_toml

tomllib = pytest.importorskip("tomllib", reason="TOML files need Python 3.11 (tomllib)")


def test_written_values_read_back_equal_with_tomllib():
    values = {
        "model": 'fc "quoted" \\ name',
        "epochs": 3,
        "learning_rate": 1e-07,
        "reg": 0.1 + 0.2,
        "augment": False,
        "hidden_dims": (128, 64),
        "features": [],
        "k": None,
    }
    read = tomllib.loads(to_toml(values))
    expected = {
        k: list(v) if isinstance(v, tuple) else v for k, v in values.items() if v is not None
    }
    assert read == expected


def test_non_finite_numbers_and_other_types_are_refused():
    with pytest.raises(ValueError, match="reg: TOML config files hold finite numbers"):
        to_toml({"reg": float("nan")})
    with pytest.raises(ValueError, match="cannot write dict"):
        to_toml({"x": {"a": 1}})


def test_a_config_round_trips_through_its_file(tmp_path):
    config = TrainConfig(model="fc", hidden_dims=(32, 16), dropout=0.25, learning_rate=3e-3)
    settings = read_config_toml(write_config_toml(config, tmp_path / "c.toml"), TrainConfig)
    assert dataclasses.replace(TrainConfig(), **settings) == config


@pytest.mark.parametrize(
    "text, problem",
    [
        ("momentum = 0.9\n", "momentum: not a setting of TrainConfig"),
        ("dropout = 1.5\n", "dropout:"),
        ("[epochs]\nvalue = 3\n", "epochs: expected a value, got a table"),
        ("epochs = \n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(tmp_path, text, problem):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        read_config_toml(path, TrainConfig)


def test_train_reads_the_file_and_flags_beside_it_win(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('model = "two-layer"\nepochs = 2\nhidden_dims = [16]\nlearning_rate = 0.3\n')
    out = tmp_path / "run"
    assert main(["--quiet", "train", "--config", str(path), "--lr", "0.2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["model"], config["epochs"], config["hidden_dims"]) == ("two-layer", 2, [16])
    assert config["learning_rate"] == 0.2


def test_train_says_when_the_file_is_missing(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "none.toml")]) == 2
    assert "config file" in capsys.readouterr().err
