"""`exercise_code.data.base_dataset`: the abstract Dataset every I2DL dataset derives from.

It adds the exercise's `root` / `download_url` / `force_download` / `verbose` arguments to
tinyvision's `tinyvision.data.Dataset` (indexing, negative indices, IndexError).
"""

from __future__ import annotations

import os
from pathlib import Path

from tinyvision.data.datasets import Dataset as CoreDataset
from tinyvision.i2dl.data.download_utils import download_dataset, needs_download

__all__ = ["Dataset"]


class Dataset(CoreDataset):
    """Abstract dataset over the folder `root`, downloaded there only when asked to.

    Subclasses implement `__len__` and `__getitem__` (returning a dict) and may set
    `default_download_url` (what `force_download=True` fetches when no URL is given) and
    `how_to_get_data` (the hint of the error raised when `root` is missing).

    Args:
        root: the data set's folder (str or path; kept as given in `root_path`).
        download_url: where to download the data from when `root` is missing or empty; its
            last path segment names the archive (`dataset_zip_name`). None: never download.
        force_download: download and unpack again even when `root` has data; without a
            `download_url` it uses `default_download_url`.
        verbose: show the download's progress bar.

    Raises:
        ValueError: force_download without any URL to download from.
        ConnectionError, DataError: the download failed (see download_dataset).
    """

    default_download_url: str | None = None
    how_to_get_data: str = "put the data set's files there"

    def __init__(
        self,
        root: str | os.PathLike[str],
        download_url: str | None = None,
        force_download: bool = False,
        verbose: bool = False,
    ) -> None:
        self.root_path = os.fspath(Path(root).expanduser())
        if force_download and download_url is None:
            download_url = self.default_download_url
            if download_url is None:
                raise ValueError(
                    f"force_download=True needs a download_url: {type(self).__name__} has no "
                    "default one; pass download_url='https://.../data.zip'"
                )
        self.download_url = download_url
        self.dataset_zip_name = None
        if download_url is not None:
            self.dataset_zip_name = download_url.rstrip("/").rsplit("/", 1)[-1]
            download_dataset(
                url=download_url,
                data_dir=self.root_path,
                dataset_zip_name=self.dataset_zip_name,
                force_download=force_download,
                verbose=verbose,
            )

    def check_root(self) -> Path:
        """Return `root_path` as a Path, or raise FileNotFoundError saying how to get the data."""
        root = Path(self.root_path)
        if needs_download(root):
            state = "is empty" if root.is_dir() else "does not exist"
            url = self.default_download_url
            download = (
                f"pass download_url={url!r} (or force_download=True) to download it, or "
                if url
                else ""
            )
            raise FileNotFoundError(
                f"the data folder {root} {state}: {download}{self.how_to_get_data}. Nothing is "
                "downloaded unless you ask for it"
            )
        return root
