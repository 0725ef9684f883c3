"""Writing and reading files so that a crash never leaves half a file, and .npz without pickle.

Every atomic write goes to a temporary file next to its target whose name says who wrote it,
``.<target name>.tvtmp-<host>-<pid>-<token>.tmp`` (``.part`` for downloads), and which is then
renamed onto the target. A writer killed mid-write (``kill -9``, a power cut) leaves that file
behind; `clean_stale_temp_files` recognises and removes such leftovers when a run or a download
starts again in the folder, and never touches files it did not name this way.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from tinyvision.errors import DataError

__all__ = [
    "STALE_AFTER",
    "atomic_write",
    "clean_stale_temp_files",
    "create_temp_file",
    "load_arrays",
    "load_json",
    "save_arrays",
    "temp_file_name",
    "to_jsonable",
    "write_json",
]

logger = logging.getLogger(__name__)

# Seconds without a change after which a temp file counts as abandoned even when its writer's
# pid is alive (the pid may have been reused) or cannot be checked (another host).
STALE_AFTER = 3600.0

_TEMP_SUFFIXES = (".tmp", ".part")
_TEMP_RE = re.compile(
    r"^\.(?P<target>.+)\.tvtmp-(?P<host>[A-Za-z0-9]*)-(?P<pid>[0-9]+)-[0-9a-f]{8}\.(?:tmp|part)$"
)
# Names written by earlier versions: mkstemp's ".<name>.<8 chars>.tmp", the download's
# ".<name>.<32 hex>.part" and its extraction folder ".cifar-10-extract-<8 chars>". They carry no
# pid, so only their age says they are abandoned.
_LEGACY_RE = re.compile(
    r"^(?:\..+\.[a-z0-9_]{8}\.tmp|\..+\.[0-9a-f]{32}\.part|\.cifar-10-extract-[a-z0-9_]{8})$"
)


def _host_tag() -> str:
    """This machine's name reduced to letters and digits (at most 32), for temp file names."""
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32]


def temp_file_name(path: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """A fresh temp file path next to path that clean_stale_temp_files will recognise.

    path: the file the temp file will replace; suffix: ".tmp" (atomic writes) or ".part"
    (downloads).
    returns <folder>/.<name>.tvtmp-<host>-<pid>-<8 hex digits><suffix> (not created).
    """
    if suffix not in _TEMP_SUFFIXES:
        raise ValueError(f"suffix must be one of {_TEMP_SUFFIXES}, got {suffix!r}")
    path = Path(path)
    token = secrets.token_hex(4)
    return path.parent / f".{path.name}.tvtmp-{_host_tag()}-{os.getpid()}-{token}{suffix}"


def create_temp_file(path: str | os.PathLike, suffix: str = ".tmp") -> tuple[Path, IO[bytes]]:
    """Create and open (binary, write) a new temp file next to path, named by temp_file_name.

    The file is created as open() creates files, so it gets the permissions the user's umask
    allows (0644 under the usual umask 022), not mkstemp's 0600.
    path: the file the temp file will replace (its folder must exist); suffix: as temp_file_name.
    returns (temp path, open binary file); the caller closes it and renames or deletes it.
    """
    for _ in range(100):
        temp = temp_file_name(path, suffix)
        try:
            return temp, open(temp, "xb")  # the caller closes it
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a unique temp file next to {path}")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call write(file) on a temp file next to path, fsync it, then os.replace it onto path.

    path: the destination (its folder is created when missing); write: fills the open binary
    file. The file ends up with the permissions of the user's umask, as open() would give it.
    returns path. On any error the temp file is removed and an existing path is left intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp, handle = create_temp_file(path)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def _writer_is_gone(host: str, pid: int) -> bool:
    """True when the process that named a temp file certainly no longer runs."""
    if host != _host_tag() or os.name == "nt":  # os.kill(pid, 0) would end a process on Windows
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _is_stale(entry: os.DirEntry, now: float, max_age: float) -> bool:
    """Whether a folder entry is a temp file (or folder) left by a writer that has stopped."""
    match = _TEMP_RE.match(entry.name)
    if match is None and _LEGACY_RE.match(entry.name) is None:
        return False
    try:
        age = now - entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:  # its writer renamed or removed it meanwhile
        return False
    if age > max_age:
        return True
    return match is not None and _writer_is_gone(match["host"], int(match["pid"]))


def clean_stale_temp_files(folder: str | os.PathLike, max_age: float = STALE_AFTER) -> list[Path]:
    """Delete the temp files that killed writers left in folder (not in its sub-folders).

    Only names made by temp_file_name (and the temp names of earlier tinyvision versions) are
    considered. One is removed when the process that made it (on this machine) no longer runs,
    or when it has not changed for max_age seconds (a reused pid, a writer on another machine,
    a name without a pid). Temp files of running writers are left alone, so this is safe while
    another tinyvision process writes into the same folder.

    folder: the run or data folder; a missing folder has nothing to clean.
    max_age: seconds without a change after which any temp file counts as abandoned.
    returns the removed paths, sorted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    with os.scandir(folder) as entries:
        stale = [Path(e.path) for e in entries if _is_stale(e, now, max_age)]
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        logger.info("removed %s, left behind by an interrupted write", path)
    return sorted(stale)


def to_jsonable(value: Any) -> Any:
    """value with NumPy arrays/scalars, tuples and paths turned into plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write data as indented JSON, atomically."""
    text = json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n"
    return atomic_write(path, lambda handle: handle.write(text.encode()))


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON file, with errors that name a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; is this a tinyvision run folder?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path} is not valid JSON ({error}); it may be truncated") from error


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Save named arrays to an .npz file, atomically."""
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npz file; pickled objects are refused, corrupt files raise DataError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; check the path")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise DataError(
            f"{path} is not a readable .npz archive ({error}); it may be truncated, hold "
            "pickled objects, or not be a tinyvision file"
        ) from error
