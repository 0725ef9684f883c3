"""The CIFAR-10 download touches only what it writes, and refuses archives it cannot extract."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tinyvision.cli import main
from tinyvision.data.download import download_cifar10, safe_extract_tar
from tinyvision.errors import DataError
from tinyvision.files import STALE_AFTER, temp_file_name

ARCHIVE = "/cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"


def _folder(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for folders)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def _download(helpers, file_server, data_dir: Path, body: bytes) -> Path:
    url = file_server.serve(ARCHIVE, body)
    return download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)


def test_completing_a_folder_keeps_the_users_own_files(
    helpers, tmp_path, file_server, archive_factory
) -> None:
    data_dir = tmp_path / "data"
    root = data_dir / FOLDER
    (root / "my-notes").mkdir(parents=True)
    (root / "my-notes" / "todo.txt").write_text("mine")
    (root / "data_batch_1").write_bytes(b"half a batch from a crash")
    (root / "labels-fixed.csv").write_text("mine too")
    (data_dir / "mnist.npz").write_bytes(b"another data set")

    root_back = _download(helpers, file_server, data_dir, archive_factory())

    assert root_back == root
    helpers.write_cifar_folder(tmp_path / "reference")  # what the archive holds
    expected = _tree(tmp_path / "reference")
    got = _tree(root)
    assert got.pop("my-notes") is None
    assert got.pop("my-notes/todo.txt") == b"mine"
    assert got.pop("labels-fixed.csv") == b"mine too"
    assert got == expected  # the crashed batch was replaced, every member is there
    assert (data_dir / "mnist.npz").read_bytes() == b"another data set"
    assert {p.name for p in data_dir.iterdir()} == {FOLDER, "cifar-10-python.tar.gz", "mnist.npz"}


def test_a_user_folder_in_the_way_is_refused_before_anything_moves(
    helpers, tmp_path, file_server, archive_factory
) -> None:
    data_dir = tmp_path / "data"
    root = data_dir / FOLDER
    (root / "test_batch").mkdir(parents=True)  # the user's folder where a CIFAR file goes
    (root / "test_batch" / "keep.txt").write_text("mine")
    (root / "data_batch_1").write_bytes(b"half")
    before = _tree(root)

    with pytest.raises(DataError) as info:
        _download(helpers, file_server, data_dir, archive_factory())
    assert type(info.value) is DataError
    assert f"{root / 'test_batch'} is a folder" in str(info.value)
    assert _tree(root) == before
    assert {p.name for p in data_dir.iterdir()} == {FOLDER, "cifar-10-python.tar.gz"}


def test_a_file_named_like_the_cifar_folder_is_refused(
    helpers, tmp_path, file_server, archive_factory
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / FOLDER).write_text("the user's file")
    with pytest.raises(DataError, match=rf"{re.escape(str(data_dir / FOLDER))} exists but is not"):
        _download(helpers, file_server, data_dir, archive_factory())
    assert (data_dir / FOLDER).read_text() == "the user's file"


CLASHES = {
    "file-then-folder": (["x", "x/"], "x"),  # tarfile drops a folder's trailing slash
    "folder-then-file": (["x/", "x"], "x"),
    "file-then-file-below": (["x", "x/y"], "x/y"),
    "file-below-then-file": (["x/y", "x"], "x"),
}


def _clash_entries(helpers, names: list[str]) -> list:
    prefix = f"{FOLDER}/"
    return [
        _folder(prefix + name) if name.endswith("/") else helpers.file_entry(prefix + name, b"1")
        for name in names
    ]


@pytest.mark.parametrize("case", list(CLASHES))
def test_a_file_and_a_folder_of_the_same_name_are_refused(helpers, tmp_path, case) -> None:
    names, refused = CLASHES[case]
    archive = tmp_path / "a.tar.gz"
    good = helpers.file_entry("good.txt", b"fine")
    archive.write_bytes(helpers.make_tar_gz([good, *_clash_entries(helpers, names)]))
    target = tmp_path / "out"
    target.mkdir()

    with pytest.raises(DataError) as info:
        safe_extract_tar(archive, target)
    assert type(info.value) is DataError
    message = str(info.value)
    assert f"refused archive member '{FOLDER}/{refused}'" in message
    assert f"both a file and a folder named '{FOLDER}/x'" in message
    if case == "file-then-file-below":
        assert f"(member '{FOLDER}/x' makes it a file, member '{FOLDER}/x/y' a folder)" in message
    assert list(target.iterdir()) == []  # nothing written, not even good.txt


def test_a_member_that_clashes_with_the_target_is_refused(helpers, tmp_path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(helpers.make_tar_gz([helpers.file_entry("d/f.txt", b"1")]))
    target = tmp_path / "out"
    target.mkdir()
    (target / "d").write_text("a file where the archive needs a folder")
    with pytest.raises(DataError, match=r"member 'd/f.txt': it needs .*out/d to be a folder"):
        safe_extract_tar(archive, target)
    (target / "d").unlink()
    (target / "d" / "f.txt").mkdir(parents=True)
    with pytest.raises(DataError, match=r"member 'd/f.txt': .*out/d/f.txt is a folder"):
        safe_extract_tar(archive, target)


def test_duplicate_files_and_folders_still_extract(helpers, tmp_path) -> None:
    archive = tmp_path / "a.tar.gz"
    entries = [_folder("d"), _folder("d/"), helpers.file_entry("d/f", b"1")]
    archive.write_bytes(helpers.make_tar_gz([*entries, helpers.file_entry("./d/f", b"2")]))
    target = tmp_path / "out"
    target.mkdir()
    safe_extract_tar(archive, target)
    assert (target / "d" / "f").read_bytes() == b"2"  # the later copy wins, as tar does


def test_clashing_archive_through_the_cli(
    helpers, tmp_path, file_server, archive_factory, capsys
) -> None:
    body = archive_factory(extra=_clash_entries(helpers, ["x", "x/"]))
    url = file_server.serve(ARCHIVE, body)
    data_dir = tmp_path / "data"
    argv = ["data", "download", "cifar10", "--dir", str(data_dir), "--url", url]
    # `tinyvision data` reports data errors with status 1 (its checksum and network errors too)
    assert main([*argv, "--md5", helpers.md5_of(body), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tinyvision data: error: refused archive member '{FOLDER}/x'")
    assert {p.name for p in data_dir.iterdir()} == {"cifar-10-python.tar.gz"}


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and pids")
def test_download_cleans_stale_temp_files_and_uses_the_umask(
    helpers, tmp_path, file_server, archive_factory
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    def left_by_child(target: str, suffix: str) -> Path:
        name = temp_file_name(data_dir / target, suffix).name
        return data_dir / name.replace(f"-{os.getpid()}-", f"-{child.pid}-")

    # what a download killed with kill -9 leaves: the .part and the extraction folder
    left_by_child("cifar-10-python.tar.gz", ".part").write_bytes(b"x" * 1000)
    (left_by_child(FOLDER, ".tmp") / FOLDER).mkdir(parents=True)
    legacy = data_dir / f".cifar-10-python.tar.gz.{'0f' * 16}.part"
    legacy.write_bytes(b"from an older tinyvision")
    past = time.time() - 2 * STALE_AFTER
    os.utime(legacy, (past, past))
    (data_dir / "notes.part").write_bytes(b"the user's own")

    previous = os.umask(0o027)
    try:
        root = _download(helpers, file_server, data_dir, archive_factory())
    finally:
        os.umask(previous)

    names = {p.name for p in data_dir.iterdir()}
    assert names == {FOLDER, "cifar-10-python.tar.gz", "notes.part"}
    for path in (data_dir / "cifar-10-python.tar.gz", root / "data_batch_1"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
