"""Downloading CIFAR-10 end to end from a real local HTTP server, and safe extraction."""

from __future__ import annotations

import logging
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tinyvision.data.cifar10 import load_CIFAR10
from tinyvision.data.download import (
    download_cifar10,
    fetch_url,
    file_md5,
    safe_extract_tar,
)
from tinyvision.errors import DataError

ARCHIVE = "/cifar-10-python.tar.gz"


def _entries(data_dir: Path) -> set[str]:
    return {p.name for p in data_dir.iterdir()}


def test_download_extracts_and_loads(helpers, tmp_path, file_server, archive_factory) -> None:
    body = archive_factory()
    url = file_server.serve(ARCHIVE, body)
    data_dir = tmp_path / "data"

    root = download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)

    assert root == data_dir / "cifar-10-batches-py"
    assert file_server.requests == [ARCHIVE]
    assert _entries(data_dir) == {"cifar-10-batches-py", "cifar-10-python.tar.gz"}
    assert file_md5(data_dir / "cifar-10-python.tar.gz") == helpers.md5_of(body)
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root)
    assert Xtr.shape == (60, 32, 32, 3) and Xte.shape == (10, 32, 32, 3)
    expected = helpers.write_cifar_folder(tmp_path / "reference")
    np.testing.assert_array_equal(Yte, expected["test_batch_labels"])


def test_second_call_makes_no_request(helpers, tmp_path, file_server, archive_factory) -> None:
    body = archive_factory()
    url = file_server.serve(ARCHIVE, body)
    data_dir = tmp_path / "data"
    download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)
    download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)
    assert len(file_server.requests) == 1


def test_present_archive_is_extracted_without_download(
    helpers, tmp_path, file_server, archive_factory
) -> None:
    body = archive_factory()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "cifar-10-python.tar.gz").write_bytes(body)
    # A stale, incomplete folder from an earlier crash must be replaced, not merged.
    (data_dir / "cifar-10-batches-py").mkdir()
    (data_dir / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"half")

    url = file_server.url(ARCHIVE)
    root = download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)

    assert file_server.requests == []
    assert load_CIFAR10(root)[0].shape == (60, 32, 32, 3)
    assert _entries(data_dir) == {"cifar-10-batches-py", "cifar-10-python.tar.gz"}


def test_archive_with_wrong_checksum_is_downloaded_again(
    helpers, tmp_path, file_server, archive_factory
) -> None:
    body = archive_factory()
    url = file_server.serve(ARCHIVE, body)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "cifar-10-python.tar.gz").write_bytes(b"stale partial archive")

    download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)

    assert file_server.requests == [ARCHIVE]
    assert file_md5(data_dir / "cifar-10-python.tar.gz") == helpers.md5_of(body)


def test_bad_checksum_leaves_nothing_behind(tmp_path, file_server, archive_factory) -> None:
    url = file_server.serve(ARCHIVE, archive_factory())
    data_dir = tmp_path / "data"
    wrong = "0" * 32

    with pytest.raises(DataError, match=rf"expected MD5 {wrong}, got [0-9a-f]{{32}}"):
        download_cifar10(data_dir, url=url, md5=wrong, progress=False)
    assert _entries(data_dir) == set()


def test_progress_bar_uses_content_length(
    helpers, tmp_path, file_server, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    body = bytes(range(256)) * 40
    url = file_server.serve("/blob.bin", body)
    dest = fetch_url(url, tmp_path / "blob.bin", md5=helpers.md5_of(body), progress=True)
    assert dest.read_bytes() == body
    assert "10.0k/10.0k" in capsys.readouterr().err


def test_off_a_terminal_progress_is_a_log_line_per_tenth(
    helpers, tmp_path, file_server, capsys, caplog
) -> None:
    body = bytes(range(256)) * 4096 * 4
    url = file_server.serve("/big.bin", body)
    with caplog.at_level(logging.INFO, logger="tinyvision.data.download"):
        fetch_url(url, tmp_path / "big.bin", md5=helpers.md5_of(body), progress=True)
    assert "big.bin" not in capsys.readouterr().err  # no bar frames in a pipe or file
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("big.bin: ")]
    percents = [line.removeprefix("big.bin: ").split("%")[0] for line in lines]
    assert percents[-1] == "100"
    assert len(percents) == len(set(percents)) > 1


def test_fetch_url_errors(tmp_path, file_server) -> None:
    with pytest.raises(ConnectionError, match="404"):
        fetch_url(file_server.url("/missing"), tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="md5 must be 32 hex digits"):
        fetch_url(file_server.url("/missing"), tmp_path / "x", md5="abc", progress=False)
    assert list(tmp_path.iterdir()) == []


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _device(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info, None


@pytest.mark.parametrize(
    "kind", ["dotdot", "absolute", "symlink", "hardlink", "device", "nested-dotdot"]
)
def test_malicious_members_are_refused(
    helpers, tmp_path, file_server, archive_factory, kind
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    evil, reason = {
        "dotdot": (helpers.file_entry("../evil", b"x"), "escapes the target"),
        "absolute": (helpers.file_entry(str(outside / "evil"), b"x"), "absolute paths"),
        "symlink": (
            _link("cifar-10-batches-py/evil", str(outside), tarfile.SYMTYPE),
            "it is a link",
        ),
        "hardlink": (
            _link("cifar-10-batches-py/evil", "/etc/passwd", tarfile.LNKTYPE),
            "it is a link",
        ),
        "device": (_device("cifar-10-batches-py/evil"), "not devices"),
        "nested-dotdot": (
            helpers.file_entry("cifar-10-batches-py/../../outside/evil", b"x"),
            "escapes the target",
        ),
    }[kind]
    body = archive_factory(extra=[evil])
    url = file_server.serve(ARCHIVE, body)
    data_dir = tmp_path / "data"

    name = re.escape(evil[0].name)
    with pytest.raises(DataError, match=rf"refused archive member '{name}': .*{reason}"):
        download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)

    # Nothing outside, and no extracted tree (not even the harmless members before the bad one).
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "evil").exists()
    assert _entries(data_dir) == {"cifar-10-python.tar.gz"}


def test_archive_without_the_cifar_layout(helpers, tmp_path, file_server) -> None:
    body = helpers.make_tar_gz([helpers.file_entry("cifar-10-batches-py/data_batch_1", b"x")])
    url = file_server.serve(ARCHIVE, body)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match=r"lacks data_batch_2, .*test_batch, batches.meta"):
        download_cifar10(data_dir, url=url, md5=helpers.md5_of(body), progress=False)
    assert _entries(data_dir) == {"cifar-10-python.tar.gz"}


def test_corrupt_archive(tmp_path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00 definitely not gzip data")
    with pytest.raises(DataError, match=r"a.tar.gz is not a readable tar archive"):
        safe_extract_tar(archive, tmp_path)


def test_safe_extract_writes_nested_files(helpers, tmp_path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(
        helpers.make_tar_gz(
            [helpers.file_entry("top/sub/f.txt", b"hello"), helpers.file_entry("./g", b"!")]
        )
    )
    target = tmp_path / "out"
    target.mkdir()
    safe_extract_tar(archive, target)
    assert (target / "top" / "sub" / "f.txt").read_bytes() == b"hello"
    assert (target / "g").read_bytes() == b"!"


def test_refused_archive_writes_nothing_even_before_the_bad_member(helpers, tmp_path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(
        helpers.make_tar_gz(
            [helpers.file_entry("good.txt", b"fine"), helpers.file_entry("../evil", b"x")]
        )
    )
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(DataError, match="'../evil'"):
        safe_extract_tar(archive, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "evil").exists()
