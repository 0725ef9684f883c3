"""Downloading and safely extracting data archives (CIFAR-10, the I2DL zip files).

Downloads stream into a temporary file next to the destination, are checked against an MD5
sum and only then renamed into place, so an interrupted or corrupt download never looks like a
finished one. Archives are extracted member by member after every member has been checked:
absolute paths, `..` escapes, links, device files and a file and a folder of the same name are
refused. Extraction goes to a temporary folder whose files are moved into place at the end, so a
crash never leaves a half-extracted tree, and files of the user's own in the data folder are
never touched. Temporary files and folders left by a killed download are removed by the next
one (`tinyvision.files.clean_stale_temp_files`).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import re
import shutil
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from tqdm.auto import tqdm

from tinyvision.data.cifar10 import CIFAR10_FILES
from tinyvision.data.paths import CIFAR10_FOLDER, default_data_dir
from tinyvision.errors import DataError
from tinyvision.files import clean_stale_temp_files, create_temp_file, temp_file_name

__all__ = [
    "CIFAR10_ARCHIVE",
    "CIFAR10_MD5",
    "CIFAR10_URL",
    "cifar10_is_complete",
    "download_cifar10",
    "fetch_url",
    "file_md5",
    "safe_extract_tar",
    "safe_extract_zip",
]

logger = logging.getLogger(__name__)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
_CHUNK = 1 << 20
_MD5_RE = re.compile(r"[0-9a-fA-F]{32}")


def file_md5(path: str | os.PathLike[str]) -> str:
    """Return the hex MD5 digest of a file, read in chunks.

    Args:
        path: file to hash.

    Returns:
        str: 32 lowercase hex digits.
    """
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_md5_arg(md5: str | None) -> str | None:
    if md5 is None:
        return None
    if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5):
        raise ValueError(f"md5 must be 32 hex digits, got {md5!r}")
    return md5.lower()


def _read_chunks(response: BinaryIO, url: str) -> Iterator[bytes]:
    """Yield the body in chunks, reporting a dropped connection as ConnectionError."""
    while True:
        try:
            chunk = response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as e:
            raise ConnectionError(f"the download of {url} broke off: {e}; try again") from e
        if not chunk:
            return
        yield chunk


def fetch_url(
    url: str,
    dest: str | os.PathLike[str],
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download `url` to `dest`, atomically and with an optional MD5 check.

    The body streams into a temporary file in `dest`'s folder; only a complete download whose
    checksum matches is renamed to `dest` (os.replace). On any failure the temporary file is
    deleted and an existing `dest` is left untouched.

    Args:
        url: http(s) URL, or a file:// URL of a local copy.
        dest: path of the file to write; its parent folder is created when missing.
        md5: expected hex MD5 of the body, or None to skip the check.
        progress: show a tqdm progress bar (sized from Content-Length when the server sends it).
        timeout: seconds to wait for the server before giving up.

    Returns:
        Path: `dest`.

    Raises:
        ValueError: `md5` is not 32 hex digits.
        ConnectionError: the server could not be reached or the transfer broke off.
        DataError: the body is shorter than Content-Length or its MD5 does not match.
    """
    expected = _check_md5_arg(md5)
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Named so that clean_stale_temp_files removes it if this process is killed mid-download.
    tmp, out = create_temp_file(dest, ".part")
    try:
        with out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
                raise ConnectionError(
                    f"could not download {url}: {e}. Check the URL and your connection, or "
                    f"download the file by hand and place it at {dest}"
                ) from e
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                digest = hashlib.md5(usedforsecurity=False)
                received = 0
                # disable=None: a bar on a terminal; in a pipe or a file, a line per tenth.
                with tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    disable=None if progress else True,
                ) as bar:
                    logged_tenths = 0
                    for chunk in _read_chunks(response, url):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                        if progress and bar.disable and total:
                            tenths = 10 * received // total
                            if tenths > logged_tenths:
                                logged_tenths = tenths
                                logger.info(
                                    "%s: %d%% of %.1f MB", dest.name, 10 * tenths, total / 2**20
                                )
        if total is not None and received != total:
            raise DataError(
                f"the download of {url} is incomplete: expected {total} bytes, got {received}; "
                "try again"
            )
        got = digest.hexdigest()
        if expected is not None and got != expected:
            raise DataError(
                f"checksum mismatch for {url}: expected MD5 {expected}, got {got}. The download "
                "was deleted; try again, or check that --url and --md5 belong together"
            )
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    logger.info("downloaded %s to %s", url, dest)
    return dest


def _check_member(member: tarfile.TarInfo, target: Path) -> PurePosixPath:
    """Return the member's relative path, or raise DataError if extracting it could be unsafe."""
    name = member.name
    if member.issym() or member.islnk():
        raise DataError(
            f"refused archive member {name!r}: it is a link (to {member.linkname!r}); "
            "links could point outside the target folder"
        )
    if not (member.isfile() or member.isdir()):
        raise DataError(
            f"refused archive member {name!r}: only regular files and folders are allowed, "
            "not devices or pipes"
        )
    return _check_member_name(name, target)


def _check_zip_member(info: zipfile.ZipInfo, target: Path) -> PurePosixPath:
    """Return the zip member's relative path, or raise DataError if extracting it is unsafe.

    Zip files written on Unix keep the file type in the high 16 bits of external_attr (others
    leave it 0); a symbolic link is refused like a tar link, and so is anything but a file or
    a folder.
    """
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise DataError(
            f"refused archive member {info.filename!r}: it is a link; links could point "
            "outside the target folder"
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise DataError(
            f"refused archive member {info.filename!r}: only regular files and folders are "
            "allowed, not devices or pipes"
        )
    return _check_member_name(info.filename.rstrip("/"), target)


def _check_member_name(name: str, target: Path) -> PurePosixPath:
    """Return `name` as a path relative to `target`, refusing absolute paths and escapes."""
    path = PurePosixPath(name)
    windows = PureWindowsPath(name)
    if path.is_absolute() or windows.is_absolute() or windows.drive:
        raise DataError(f"refused archive member {name!r}: absolute paths are not allowed")
    if ".." in path.parts or ".." in windows.parts:
        raise DataError(f"refused archive member {name!r}: it escapes the target folder (..)")
    resolved = (target / path).resolve()
    if resolved != target and target not in resolved.parents:
        raise DataError(f"refused archive member {name!r}: it escapes the target folder")
    return path


def _claim(
    kinds: dict[PurePosixPath, tuple[bool, str]], rel: PurePosixPath, is_dir: bool, name: str
) -> None:
    """Record that member `name` makes `rel` a folder or a file; refuse a clash of the two."""
    previous_is_dir, previous = kinds.setdefault(rel, (is_dir, name))
    if previous_is_dir != is_dir:
        as_file, as_folder = (previous, name) if is_dir else (name, previous)
        members = (
            ""
            if as_file == as_folder
            else f" (member {as_file!r} makes it a file, member {as_folder!r} a folder)"
        )
        raise DataError(
            f"refused archive member {name!r}: the archive holds both a file and a folder named "
            f"{str(rel)!r}{members}; it cannot be extracted"
        )


def _check_layout(checked: list[tuple[str, bool, PurePosixPath]], target: Path) -> None:
    """Refuse members that would need a path to be a file and a folder at once.

    checked: (member name, is a folder, relative path) of every member.
    That is a file and a folder of the same name (in either order), a file below another
    member's file, or a member that clashes with what `target` already holds.
    """
    kinds: dict[PurePosixPath, tuple[bool, str]] = {PurePosixPath("."): (True, ".")}
    for name, is_dir, rel in checked:
        for parent in reversed(rel.parents):
            _claim(kinds, parent, True, name)
        _claim(kinds, rel, is_dir, name)
    for rel, (is_dir, name) in kinds.items():
        out = target / rel
        if is_dir and (out.exists() or out.is_symlink()) and not out.is_dir():
            raise DataError(
                f"refused archive member {name!r}: it needs {out} to be a folder, but it is a "
                "file; move that file away and try again"
            )
        if not is_dir and out.is_dir():
            raise DataError(
                f"refused archive member {name!r}: {out} is a folder, the archive holds a file "
                "there; move that folder away and try again"
            )


def safe_extract_tar(archive: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Extract a (possibly compressed) tar archive into `target`, refusing unsafe members.

    Every member is checked before anything is written, so a refused archive writes nothing.
    Files extracted into a folder that already holds files of the same name replace them.

    Args:
        archive: path of the .tar / .tar.gz file.
        target: existing folder to extract into.

    Raises:
        DataError: a member is absolute, escapes `target`, is a link or a device, or would
            make a path both a file and a folder (the message names it), or the archive is
            corrupt.
    """
    archive = Path(archive)
    target = Path(target).resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            checked = [(m, _check_member(m, target)) for m in members]
            _check_layout([(m.name, m.isdir(), rel) for m, rel in checked], target)
            for member, rel in checked:
                out = target / rel
                if member.isdir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise DataError(f"archive member {member.name!r} in {archive} has no data")
                with source, open(out, "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise DataError(
            f"{archive} is not a readable tar archive ({type(e).__name__}: {e}); delete it and "
            "download it again"
        ) from e


def safe_extract_zip(archive: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Extract a zip archive into `target` with the same checks as `safe_extract_tar`.

    Every member is checked before anything is written, so a refused archive writes nothing.
    Files extracted into a folder that already holds files of the same name replace them.

    Args:
        archive: path of the .zip file.
        target: existing folder to extract into.

    Raises:
        DataError: a member is absolute, escapes `target`, is a link or a device, or would
            make a path both a file and a folder (the message names it), or the archive is
            corrupt, encrypted or uses a compression Python cannot read.
    """
    archive = Path(archive)
    target = Path(target).resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            checked = [(info, _check_zip_member(info, target)) for info in zf.infolist()]
            _check_layout([(i.filename, i.is_dir(), rel) for i, rel in checked], target)
            for info, rel in checked:
                out = target / rel
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(out, "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise DataError(
            f"{archive} is not a readable zip archive ({type(e).__name__}: {e}); delete it and "
            "download it again"
        ) from e


def cifar10_is_complete(root: str | os.PathLike[str]) -> bool:
    """Return True when `root` holds all seven CIFAR-10 files (five train batches, test, meta).

    Args:
        root: the cifar-10-batches-py folder.

    Returns:
        bool: whether every file in CIFAR10_FILES is present.
    """
    root = Path(root)
    return all((root / name).is_file() for name in CIFAR10_FILES)


def _move_into(extracted: Path, root: Path) -> None:
    """Move the extracted CIFAR-10 files into an existing folder, keeping every other file.

    Files of the same name (an earlier, incomplete copy) are replaced; the user's own files
    stay. Every clash is checked before the first file moves.
    """
    if not root.is_dir():
        raise DataError(
            f"{root} exists but is not a folder; move it away and run the download again"
        )
    moves = []
    for source in sorted(extracted.rglob("*")):
        dest = root / source.relative_to(extracted)
        if source.is_dir():
            if (dest.exists() or dest.is_symlink()) and not dest.is_dir():
                raise DataError(
                    f"cannot complete {root}: CIFAR-10 has a folder {dest.name!r} where {dest} "
                    "is a file; move that file away and run the download again"
                )
        elif dest.is_dir():
            raise DataError(
                f"cannot complete {root}: CIFAR-10 has a file {dest.name!r} where {dest} is a "
                "folder; move that folder away and run the download again"
            )
        else:
            moves.append((source, dest))
    logger.warning("completing the incomplete CIFAR-10 folder %s (other files are kept)", root)
    for source, dest in moves:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, dest)


def _extract_cifar10(archive: Path, data_dir: Path) -> Path:
    """Extract into a temporary folder, check the layout, then move the files into place.

    Only what the archive holds under cifar-10-batches-py/ reaches data_dir; other files in
    data_dir and in an existing cifar-10-batches-py are left alone.
    """
    root = data_dir / CIFAR10_FOLDER
    staging = temp_file_name(root, ".tmp")
    staging.mkdir()
    try:
        safe_extract_tar(archive, staging)
        extracted = staging / CIFAR10_FOLDER
        missing = [name for name in CIFAR10_FILES if not (extracted / name).is_file()]
        if missing:
            raise DataError(
                f"{archive} does not have the CIFAR-10 layout: {CIFAR10_FOLDER}/ lacks "
                f"{', '.join(missing)}; delete the archive and download it again"
            )
        if root.exists() or root.is_symlink():
            _move_into(extracted, root)
        else:
            os.replace(extracted, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def download_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    url: str = CIFAR10_URL,
    md5: str | None = CIFAR10_MD5,
    progress: bool = True,
) -> Path:
    """Download and extract CIFAR-10 (python version), skipping the work already done.

    A complete `<data_dir>/cifar-10-batches-py` means no network access at all; an archive
    already in `data_dir` with the right MD5 is extracted without downloading it again. The
    archive is kept next to the folder. An incomplete folder is completed: the archive's files
    replace those of the same name and any other file in it is kept. Temporary files that a
    killed earlier download left in `data_dir` are removed first.

    Args:
        data_dir: where to put the archive and the folder; None means `default_data_dir()`.
        url: where to download the archive from (http(s) or file://).
        md5: expected MD5 of the archive, or None to skip the check.
        progress: show a progress bar while downloading.

    Returns:
        Path: the `cifar-10-batches-py` folder.

    Raises:
        ValueError: `md5` is not 32 hex digits.
        ConnectionError: the download failed.
        DataError: wrong checksum, unsafe or corrupt archive, or an archive without the
            CIFAR-10 layout.
    """
    expected = _check_md5_arg(md5)
    data_dir = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    root = data_dir / CIFAR10_FOLDER
    if cifar10_is_complete(root):
        logger.info("CIFAR-10 is already in %s", root)
        return root
    data_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(data_dir)
    archive = data_dir / CIFAR10_ARCHIVE
    if archive.is_file() and (expected is None or file_md5(archive) == expected):
        logger.info("reusing the archive %s", archive)
    else:
        if archive.is_file():
            logger.warning("%s has the wrong checksum; downloading it again", archive)
        fetch_url(url, archive, md5=expected, progress=progress)
    return _extract_cifar10(archive, data_dir)
