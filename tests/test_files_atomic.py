"""Atomic writes: umask permissions, recognisable temp names, and cleaning what kill -9 leaves."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyvision import files
from tinyvision.checkpoint import atomic_write_json, save_weights
from tinyvision.files import (
    atomic_write,
    clean_stale_temp_files,
    create_temp_file,
    save_arrays,
    temp_file_name,
    write_json,
)

SRC = Path(files.__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and signals")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set a umask for the test and put the old one back."""
    previous = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_atomic_files_get_the_permissions_open_would_give(tmp_path, umask, mask):
    umask(mask)
    expected = 0o666 & ~mask
    written = [
        atomic_write(tmp_path / "raw.bin", lambda f: f.write(b"x")),
        write_json(tmp_path / "config.json", {"a": 1}),
        save_arrays(tmp_path / "model.npz", {"w": np.ones(2)}),
        atomic_write_json(tmp_path / "history.json", {"loss": [1.0]}),
        save_weights(tmp_path / "best.npz", {"W": np.ones(2)}),
    ]
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("reference")
    assert _mode(tmp_path / "plain.txt") == expected
    for path in written:
        assert _mode(path) == expected, path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["raw.bin", "config.json", "model.npz", "history.json", "best.npz", "plain.txt"]
    )


def test_temp_names_say_who_wrote_them(tmp_path):
    name = temp_file_name(tmp_path / "checkpoint.npz").name
    assert name.startswith(".checkpoint.npz.tvtmp-")
    assert f"-{os.getpid()}-" in name and name.endswith(".tmp")
    assert temp_file_name(tmp_path / "a.tar.gz", ".part").name.endswith(".part")
    with pytest.raises(ValueError, match=r"suffix must be one of \('.tmp', '.part'\), got '.bak'"):
        temp_file_name(tmp_path / "x", ".bak")
    path, handle = create_temp_file(tmp_path / "x.json")
    with handle:
        handle.write(b"{}")
    assert path.parent == tmp_path and path.read_bytes() == b"{}"


def test_a_failed_write_leaves_no_temp_file(tmp_path):
    (tmp_path / "m.json").write_text("old")

    def fail(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "m.json", fail)
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert (tmp_path / "m.json").read_text() == "old"


def _dead_pid() -> int:
    """The pid of a process that has finished (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _age(path: Path, seconds: float) -> Path:
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def _temp_for(folder: Path, target: str, pid: int, host: str | None = None, suffix=".tmp"):
    host = files._host_tag() if host is None else host
    path = folder / f".{target}.tvtmp-{host}-{pid}-0123abcd{suffix}"
    path.write_bytes(b"partial")
    return path


def _file(path: Path, age: float = 0.0) -> Path:
    path.write_bytes(b"data")
    return _age(path, age) if age else path


def test_clean_removes_only_temp_files_of_stopped_writers(tmp_path):
    old = 2 * files.STALE_AFTER
    dead = _dead_pid()
    extraction = tmp_path / ".cifar-10-batches-py.tvtmp-x-1-0123abcd.tmp"
    (extraction / "cifar-10-batches-py").mkdir(parents=True)
    _file(extraction / "cifar-10-batches-py" / "data_batch_1")
    gone = [
        _temp_for(tmp_path, "checkpoint.npz", dead),  # its writer was killed
        _temp_for(tmp_path, "cifar-10-python.tar.gz", dead, suffix=".part"),
        _age(_temp_for(tmp_path, "model.npz", os.getpid()), old),  # a pid reused since
        _age(_temp_for(tmp_path, "x.json", 4321, host="otherhost"), old),
        # names written by earlier versions (mkstemp, uuid .part, the extraction folder)
        _file(tmp_path / ".checkpoint.npz.k2_9abcd.tmp", old),
        _file(tmp_path / f".cifar-10-python.tar.gz.{'ab' * 16}.part", old),
        _age(extraction, old),
    ]
    kept = [
        _temp_for(tmp_path, "config.json", os.getpid()),  # this process is still writing it
        _temp_for(tmp_path, "y.json", 4321, host="otherhost"),  # cannot check; still young
        _file(tmp_path / ".model.npz.zz9yx8wv.tmp"),  # an old version's name, changed just now
    ]
    for name in (".hidden", "notes.tmp", "x.part", "data.tmp", ".a.b.part", "run.npz"):
        kept.append(_file(tmp_path / name, 10 * old))  # the user's files, however old
    (tmp_path / "plots").mkdir()
    kept.append(tmp_path / "plots")

    assert clean_stale_temp_files(tmp_path) == sorted(gone)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert clean_stale_temp_files(tmp_path) == []
    assert clean_stale_temp_files(tmp_path / "missing") == []


def test_max_age_is_a_parameter(tmp_path):
    other = _temp_for(tmp_path, "a.json", 1, host="otherhost")
    _age(other, 10)
    assert clean_stale_temp_files(tmp_path, max_age=60) == []
    assert clean_stale_temp_files(tmp_path, max_age=5) == [other]


WRITER = """
import sys, time
sys.path.insert(0, {src!r})
from tinyvision.files import atomic_write

def write(handle):
    handle.write(b"x" * 100_000)
    handle.flush()
    print("writing", flush=True)
    time.sleep(60)

atomic_write({target!r}, write)
"""


def test_kill_9_mid_write_leaves_a_temp_file_that_clean_removes(tmp_path):
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(b"previous checkpoint")
    code = WRITER.format(src=str(SRC), target=str(target))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"writing\n"
        leftovers = [p for p in tmp_path.iterdir() if p != target]
        assert len(leftovers) == 1 and f"-{child.pid}-" in leftovers[0].name
        # While the writer runs, cleaning leaves its temp file alone.
        assert clean_stale_temp_files(tmp_path) == []
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert leftovers[0].exists() and target.read_bytes() == b"previous checkpoint"

    assert clean_stale_temp_files(tmp_path) == leftovers
    assert list(tmp_path.iterdir()) == [target]
