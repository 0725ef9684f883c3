"""Worker processes of one search on this machine, and an interrupted search continued:
SQLite studies on the embedded digits."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyvision.cli import main
from tinyvision.search import StudyOptions, parse_space, search_run
from tinyvision.search.study import STUDY_DB, make_storage

optuna = pytest.importorskip(
    "optuna", reason="the hyperparameter search needs: pip install -e '.[search]'"
)

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _space(epochs):
    return parse_space(
        {
            "model": "two-layer",
            "sampler": "random",
            "pruner": "none",
            "fixed": {"epochs": epochs},
            "search": {
                "learning_rate": {"type": "log-uniform", "low": 0.05, "high": 1.0},
                "hidden_dims": {"type": "choice", "values": [[16], [32]]},
            },
        }
    )


def _study(run_dir):
    url = f"sqlite:///{run_dir / STUDY_DB}"
    return optuna.load_study(study_name="tinyvision-two-layer-digits", storage=make_storage(url))


def test_two_worker_processes_run_exactly_the_trials_asked_for(tmp_path):
    out = tmp_path / "t"
    result = search_run(_space(2), StudyOptions(trials=4, jobs=2), out=out, retrain=False)
    study = _study(out)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 2 and str(os.getpid()) not in {w.split(":")[1] for w in workers}
    assert result.best_number == study.best_trial.number


def test_an_interrupted_search_continues_without_losing_a_finished_trial(tmp_path):
    space_file = tmp_path / "space.toml"
    space_file.write_text(
        'model = "two-layer"\nsampler = "random"\npruner = "none"\n[fixed]\nepochs = 3\n'
        '[search.learning_rate]\ntype = "log-uniform"\nlow = 0.05\nhigh = 1.0\n'
    )
    out = tmp_path / "t"
    command = [sys.executable, "-m", "tinyvision", "--quiet", "tune", str(space_file)]
    # Far more trials than the search can run before the interrupt: on an idle machine a
    # trial takes a few tens of milliseconds, and 100 of them once finished before the reader
    # below saw the third one complete.
    command += ["--trials", "10000", "--out", str(out), "--no-retrain"]
    env = {**os.environ, "PYTHONPATH": SRC}
    # Nothing reads the search's output while it runs: a pipe would fill with Optuna's log
    # lines and block the search (and its exit on SIGINT) on a write.
    # A shell running the tests in the background hands its children SIGINT ignored, and a
    # Python started so never installs its KeyboardInterrupt handler: give the search the
    # default action, as a terminal's Ctrl-C would find it.
    search = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        # Wait for the study file, then let trials run: reading the database while the search
        # writes it made the reader wait for locks for half a minute on an idle machine.
        deadline = time.time() + 60
        while time.time() < deadline and not (out / STUDY_DB).is_file():
            time.sleep(0.2)
        time.sleep(5)
        search.send_signal(signal.SIGINT)
        search.wait(timeout=30)
    finally:
        search.kill()
    before = {t.number: (t.state.name, t.value, t.params) for t in _study(out).trials}
    finished = {n: v for n, v in before.items() if v[0] != "RUNNING"}
    assert len([v for v in finished.values() if v[0] == "COMPLETE"]) >= 3
    assert len(before) < 10000
    target = len(before) + 2
    resume = ["--quiet", "tune", "--resume", str(out), "--trials", str(target), "--no-retrain"]
    assert main(resume) == 0
    rows = json.loads((out / "trials.json").read_text())
    after = {t.number: (t.state.name, t.value, t.params) for t in _study(out).trials}
    assert len(after) == target
    assert {n: after[n] for n in finished} == finished
    # A trial the interruption caught running is recorded as failed, saying so.
    for number in set(before) - set(finished):
        row = next(r for r in rows if r["number"] == number)
        assert row["state"] == "fail" and row["reason"].startswith("interrupted")
    assert {row["number"] for row in rows} == set(after)
    completed_before = sum(v[0] == "COMPLETE" for v in before.values())
    assert sum(r["state"] == "complete" for r in rows) == completed_before + 2


def _optimize_failing_in_its_bookkeeping(error):
    """Study.optimize as Optuna's runs when a Ctrl-C (or nothing) lands in its trial
    bookkeeping, whose clean-up then reads a state it never set."""

    def optimize(self, *args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            if error is not None:
                raise error from None
        raise UnboundLocalError("cannot access local variable 'updated_state'")

    return optimize


def test_an_interrupt_that_optuna_turns_into_another_error_still_ends_as_interrupted(
    tmp_path, monkeypatch, capsys
):
    space_file = tmp_path / "space.toml"
    space_file.write_text(
        'model = "two-layer"\n[search.learning_rate]\ntype = "log-uniform"\n'
        "low = 0.05\nhigh = 1.0\n"
    )
    interrupted = UnboundLocalError("cannot access local variable 'updated_state'")
    optimize = _optimize_failing_in_its_bookkeeping(interrupted)
    monkeypatch.setattr(optuna.study.Study, "optimize", optimize)
    argv = ["tune", str(space_file), "--trials", "2", "--no-retrain"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 130
    assert capsys.readouterr().err.strip().endswith("tinyvision: interrupted")
    # The same error with no interrupt behind it is a bug to show, not an interruption.
    monkeypatch.setattr(optuna.study.Study, "optimize", _optimize_failing_in_its_bookkeeping(None))
    with pytest.raises(UnboundLocalError):
        main([*argv, "--out", str(tmp_path / "b")])
