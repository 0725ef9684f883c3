"""`tinyvision tune --dashboard`: optuna-dashboard serves a study's trials on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tinyvision.cli import main
from tinyvision.search.study import STUDY_DB, make_storage

optuna = pytest.importorskip(
    "optuna", reason="the hyperparameter search needs: pip install -e '.[search]'"
)

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_the_dashboard_serves_the_studys_trials_over_http(tmp_path):
    study = optuna.create_study(
        study_name="watched",
        storage=make_storage(f"sqlite:///{tmp_path / STUDY_DB}"),
        direction="maximize",
    )
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=3)
    port = _free_port()
    command = [sys.executable, "-m", "tinyvision", "tune", "--dashboard", str(tmp_path)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, studies = time.time() + 30, None
        while studies is None and time.time() < deadline:
            try:
                studies = _get(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
            except OSError:
                time.sleep(0.2)
        assert studies is not None, "the dashboard did not answer within 30 s"
        assert [s["study_name"] for s in studies] == ["watched"]
        detail = _get(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}")
        served = {t["number"]: t["values"][0] for t in detail["trials"]}
        assert served == pytest.approx({t.number: t.value for t in study.trials})
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_dashboard_refuses_a_folder_without_a_study(tmp_path, capsys):
    assert main(["tune", "--dashboard", str(tmp_path / "nothing")]) == 2
    assert "neither a database URL nor a run folder" in capsys.readouterr().err
