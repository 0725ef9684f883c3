"""`exercise_code.data.download_utils`: fetch and unpack an exercise's data archive.

Only an explicit call downloads anything: the I2DL datasets call `download_dataset` when they
are given a `download_url` (or `force_download=True`) and their folder is missing or empty.
The download itself is tinyvision's (`tinyvision.data.download.fetch_url`: a temporary file,
renamed into place only when complete, optional MD5 check), and so is the extraction
(`safe_extract_zip` / `safe_extract_tar`: every member checked before anything is written).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tinyvision.data.download import fetch_url, safe_extract_tar, safe_extract_zip
from tinyvision.errors import DataError
from tinyvision.files import clean_stale_temp_files, temp_file_name

__all__ = ["download_dataset", "needs_download"]

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def needs_download(data_dir: str | os.PathLike[str]) -> bool:
    """True when `data_dir` is missing or holds nothing but hidden (e.g. temporary) entries."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.exists():
        return True
    if not data_dir.is_dir():
        raise NotADirectoryError(f"{data_dir} is a file; the data set needs a folder there")
    return not any(not entry.name.startswith(".") for entry in data_dir.iterdir())


def _move_into(staging: Path, data_dir: Path) -> None:
    """Move the extracted files into data_dir, replacing files of the same name only."""
    for source in sorted(staging.rglob("*")):
        dest = data_dir / source.relative_to(staging)
        if source.is_dir():
            if dest.exists() and not dest.is_dir():
                raise DataError(
                    f"the archive has a folder where {dest} is a file; move that file away "
                    "and download again"
                )
            dest.mkdir(exist_ok=True)
        elif dest.is_dir():
            raise DataError(
                f"the archive has a file where {dest} is a folder; move that folder away and "
                "download again"
            )
        else:
            os.replace(source, dest)


def download_dataset(
    url: str,
    data_dir: str | os.PathLike[str],
    dataset_zip_name: str,
    force_download: bool = False,
    verbose: bool = False,
    md5: str | None = None,
) -> Path:
    """Download `url` into `data_dir` and unpack it there, unless the folder already has data.

    Args:
        url: http(s) or file:// URL of the archive (.zip, .tar, .tar.gz, .tgz) or of a plain
            file, which is kept as it is.
        data_dir: the data set's folder; created when missing.
        dataset_zip_name: file name to save the download under (a name, not a path).
        force_download: download and unpack again even when `data_dir` has data; files of the
            same name are replaced, other files are kept.
        verbose: show a download progress bar (the course prints its progress too).
        md5: expected MD5 of the download, or None to skip the check (the course publishes
            none).

    Returns:
        Path: `data_dir`.

    Raises:
        ValueError: `dataset_zip_name` is empty or has a folder part.
        ConnectionError: the download failed.
        DataError: wrong checksum, or an unsafe or corrupt archive.
    """
    if not dataset_zip_name or Path(dataset_zip_name).name != dataset_zip_name:
        raise ValueError(
            f"dataset_zip_name must be a plain file name such as 'cifar10.zip', got "
            f"{dataset_zip_name!r}; check that the download URL ends with the file name"
        )
    data_dir = Path(data_dir).expanduser()
    if data_dir.is_dir():
        clean_stale_temp_files(data_dir)
    if not (force_download or needs_download(data_dir)):
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    archive = data_dir / dataset_zip_name
    fetch_url(url, archive, md5=md5, progress=verbose)
    name = dataset_zip_name.lower()
    if not (name.endswith(".zip") or name.endswith(_TAR_SUFFIXES)):
        return data_dir
    # Unpack beside the data first, so a crash never leaves a half-unpacked folder that
    # looks complete; the staging folder's name marks it for clean_stale_temp_files.
    staging = temp_file_name(archive, ".tmp")
    staging.mkdir()
    try:
        if name.endswith(".zip"):
            safe_extract_zip(archive, staging)
        else:
            safe_extract_tar(archive, staging)
        _move_into(staging, data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        # The course deletes the archive once it is unpacked; a refused one goes too, so the
        # folder does not look downloaded.
        archive.unlink(missing_ok=True)
    return data_dir
