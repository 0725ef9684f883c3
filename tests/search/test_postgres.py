"""Workers of one study on a real PostgreSQL server on 127.0.0.1 (started for these tests).

The fixture starts a throwaway server (its own data folder and port) with the system's
PostgreSQL binaries, as an unprivileged user when the tests run as root (PostgreSQL refuses
root), and stops it afterwards. Without the binaries the tests are skipped, saying why.
"""

import datetime
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tinyvision.search.study import make_storage

optuna = pytest.importorskip(
    "optuna", reason="the hyperparameter search needs: pip install -e '.[search]'"
)

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _binaries():
    found = shutil.which("pg_ctl")
    candidates = [found] if found else sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        pytest.skip(
            "PostgreSQL server binaries (pg_ctl, initdb) not found: apt-get install postgresql"
        )
    folder = Path(os.path.realpath(candidates[-1])).parent
    return folder / "initdb", folder / "pg_ctl"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    initdb, pg_ctl = _binaries()
    as_user = {}
    folder = Path(tempfile.mkdtemp(prefix="tinyvision-pg-"))
    if os.geteuid() == 0:
        # PostgreSQL will not run as root: run it as the server's own account (or nobody).
        name = "postgres" if "postgres" in {p.pw_name for p in pwd.getpwall()} else "nobody"
        user = pwd.getpwnam(name)
        as_user = {"user": user.pw_uid, "group": user.pw_gid}
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, port = folder / "data", _free_port()
    run = dict(check=True, capture_output=True, **as_user)
    subprocess.run([initdb, "-D", data, "-U", "tinyvision", "-A", "trust"], **run)
    options = f"-p {port} -h 127.0.0.1 -k {folder} -F"
    subprocess.run([pg_ctl, "-D", data, "-l", folder / "log", "-w", "-o", options, "start"], **run)
    try:
        yield f"postgresql://tinyvision@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], **{**run, "check": False}
        )
        shutil.rmtree(folder, ignore_errors=True)


def _worker(space_file, url, out):
    command = [sys.executable, "-m", "tinyvision", "--quiet", "tune", str(space_file)]
    command += ["--storage", url, "--study", "digits-search", "--trials", "20"]
    command += ["--heartbeat", "1", "--no-retrain", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _worker_of(trial):
    return int(trial.user_attrs.get("worker", ":-1").rsplit(":", 1)[1])


def test_two_workers_share_a_study_and_a_killed_workers_trial_is_marked_failed(
    tmp_path, postgres_url
):
    space_file = tmp_path / "space.toml"
    # Trials of about a second: at 40 epochs (0.1 s) the watcher below, polling the database,
    # could not see a running trial in its first third on an idle machine.
    space_file.write_text(
        'model = "two-layer"\nsampler = "random"\npruner = "none"\n[fixed]\nepochs = 400\n'
        '[search.learning_rate]\ntype = "log-uniform"\nlow = 0.05\nhigh = 1.0\n'
        '[search.hidden_dims]\ntype = "choice"\nvalues = [[16], [32]]\n'
    )
    first = _worker(space_file, postgres_url, tmp_path / "a")
    second = _worker(space_file, postgres_url, tmp_path / "b")
    storage = make_storage(postgres_url, heartbeat=1)
    killed_trial = None
    try:
        deadline = time.time() + 90
        while killed_trial is None and time.time() < deadline:
            time.sleep(0.05)
            if "digits-search" not in optuna.get_all_study_names(storage):
                continue
            trials = optuna.load_study(study_name="digits-search", storage=storage).trials
            done = [t for t in trials if t.state.name == "COMPLETE" and _worker_of(t) == first.pid]
            # Kill only early in a trial (in the first third of the shortest trial so far),
            # so it cannot finish between this read and the signal on a fast machine either.
            now = datetime.datetime.now()
            shortest = min(
                ((t.datetime_complete - t.datetime_start).total_seconds() for t in done),
                default=0.0,
            )
            running = [
                t
                for t in trials
                if t.state.name == "RUNNING"
                and _worker_of(t) == first.pid
                and (now - t.datetime_start).total_seconds() < shortest / 3
            ]
            if len(done) >= 2 and running:
                os.kill(first.pid, signal.SIGKILL)
                killed_trial = running[0].number
        assert killed_trial is not None, "the first worker never ran a third trial"
        _, errors = second.communicate(timeout=120)
        assert second.returncode == 0, errors.decode()
    finally:
        first.kill()
        second.kill()
        first.wait()
    study = optuna.load_study(study_name="digits-search", storage=storage)
    trials = study.trials
    # Every trial recorded exactly once, none left running or waiting.
    assert sorted(t.number for t in trials) == list(range(20))
    assert all(t.state.name in ("COMPLETE", "FAIL") for t in trials)
    # The killed worker's trial is failed (by heartbeat); the other worker went on to the end.
    states = {t.number: t.state.name for t in trials}
    assert states[killed_trial] == "FAIL"
    assert [n for n, s in states.items() if s == "FAIL"] == [killed_trial]
    later = [t for t in trials if t.number > killed_trial + 1]
    assert later and all(_worker_of(t) == second.pid for t in later)
    assert {_worker_of(t) for t in trials} == {first.pid, second.pid}
    # The surviving worker's table puts the study's best trial first.
    rows = json.loads((tmp_path / "b" / "trials.json").read_text())
    assert rows[0]["number"] == study.best_trial.number
    assert rows[0]["val_acc"] == pytest.approx(study.best_value)
    failed = next(r for r in rows if r["number"] == killed_trial)
    assert failed["state"] == "fail" and failed["reason"]
