"""safe_extract_zip: the zip counterpart of safe_extract_tar, with the same refusals."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from tinyvision.data.download import safe_extract_zip
from tinyvision.errors import DataError


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in entries:
            zf.writestr(name, payload)
    return path


def _special(name: str, kind: int, payload: bytes = b"") -> tuple[zipfile.ZipInfo, bytes]:
    """A member whose Unix file type (in external_attr, as zip writes it) is `kind`."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (kind | 0o777) << 16
    return info, payload


def test_extracts_nested_files_and_keeps_other_files(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "data.zip",
        [("cat/1.txt", b"one"), ("cat/sub/2.txt", b"two"), ("top.csv", b"a,b\n1,2\n")],
    )
    target = tmp_path / "out"
    target.mkdir()
    (target / "mine.txt").write_text("mine")
    safe_extract_zip(archive, target)
    assert (target / "cat" / "1.txt").read_bytes() == b"one"
    assert (target / "cat" / "sub" / "2.txt").read_bytes() == b"two"
    assert (target / "top.csv").read_bytes() == b"a,b\n1,2\n"
    assert (target / "mine.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("../escape.txt", b"x"), "escapes the target folder"),
        (("/etc/evil.txt", b"x"), "absolute paths"),
        (("C:/evil.txt", b"x"), "absolute paths"),
        (_special("link", stat.S_IFLNK, b"/etc/passwd"), "is a link"),
        (_special("pipe", stat.S_IFIFO), "not devices or pipes"),
    ],
)
def test_refuses_unsafe_members_before_writing_anything(
    tmp_path: Path, entry: tuple, message: str
) -> None:
    archive = _zip(tmp_path / "bad.zip", [("fine.txt", b"ok"), entry])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(DataError, match=message):
        safe_extract_zip(archive, target)
    assert list(target.iterdir()) == []


def test_refuses_a_file_and_a_folder_of_one_name(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "clash.zip", [("a", b"file"), ("a/b.txt", b"below")])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(DataError, match="both a file and a folder"):
        safe_extract_zip(archive, target)
    assert list(target.iterdir()) == []


def test_a_corrupt_zip_is_a_data_error(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable zip archive"):
        safe_extract_zip(archive, tmp_path)
