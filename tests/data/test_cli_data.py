"""`tinyvision data download|info` through a parser built with `register`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tinyvision.cli import data as data_cli


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tinyvision")
    data_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def test_download_then_info(helpers, tmp_path, file_server, archive_factory, capsys) -> None:
    body = archive_factory()
    url = file_server.serve("/c.tar.gz", body)
    data_dir = tmp_path / "data"
    argv = ["data", "download", "cifar10", "--dir", str(data_dir), "--url", url]
    argv += ["--md5", helpers.md5_of(body), "--no-progress"]

    assert _run(argv) == 0
    out = capsys.readouterr()
    assert f"CIFAR-10 is ready in {data_dir / 'cifar-10-batches-py'}" in out.out
    assert out.err == ""
    assert (data_dir / "cifar-10-batches-py" / "test_batch").is_file()

    assert _run(argv) == 0
    assert len(file_server.requests) == 1

    assert _run(["data", "info", "cifar10", "--dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "present:  yes" in out
    assert "train X (60, 32, 32, 3)  y (60,)" in out
    assert "test  X (10, 32, 32, 3)  y (10,)" in out


def test_download_with_bad_checksum_fails_cleanly(tmp_path, file_server, capsys) -> None:
    url = file_server.serve("/c.tar.gz", b"not the archive")
    data_dir = tmp_path / "data"
    argv = ["data", "download", "cifar10", "--dir", str(data_dir), "--url", url]
    assert _run(argv + ["--md5", "f" * 32, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyvision data: error: checksum mismatch")
    assert list(data_dir.iterdir()) == []


def test_download_unreachable_server(tmp_path, file_server, capsys) -> None:
    url = file_server.url("/missing.tar.gz")
    assert _run(["data", "download", "cifar10", "--dir", str(tmp_path), "--url", url]) == 2
    assert "could not download" in capsys.readouterr().err


def test_info_on_missing_cifar_and_on_digits(tmp_path: Path, capsys) -> None:
    assert _run(["data", "info", "cifar10", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "present:  no (missing data_batch_1" in out
    assert f"tinyvision data download cifar10 --data-dir {tmp_path}" in out

    assert _run(["data", "info", "digits"]) == 0
    out = capsys.readouterr().out
    assert "train X (1257, 1, 8, 8)  y (1257,)" in out
    assert "classes: 0 27, 1 27" in out


def test_info_lists_all_by_default(tmp_path: Path, capsys) -> None:
    assert _run(["data", "info", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("digits:") < out.index("cifar10:") < out.index("spiral:")


def test_bare_data_prints_help(capsys) -> None:
    assert _run(["data"]) == 0
    assert "download" in capsys.readouterr().out


def test_unknown_dataset_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run(["data", "download", "imagenet"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err
