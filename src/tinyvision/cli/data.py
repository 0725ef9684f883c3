"""`tinyvision data`: download data sets and show what is available."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tinyvision.data.cifar10 import CIFAR10_FILES, CLASS_NAMES, read_cifar_batch_uint8
from tinyvision.data.digits import load_digits_data
from tinyvision.data.download import (
    CIFAR10_ARCHIVE,
    CIFAR10_MD5,
    CIFAR10_URL,
    cifar10_is_complete,
    download_cifar10,
)
from tinyvision.data.mnist import MNIST_URL, download_mnist
from tinyvision.data.paths import DATA_DIR_ENV, cifar10_root, default_data_dir
from tinyvision.data.spiral import load_spiral_data
from tinyvision.errors import DataError

__all__ = ["register"]

INFO_DATASETS = ("digits", "cifar10", "spiral")

DATA_DESCRIPTION = f"""\
Download data sets and show where they are.

Data lives in ${DATA_DIR_ENV} when it is set, else in ~/.cache/tinyvision;
--data-dir (or --dir) overrides both. The digits (scikit-learn) and the spiral (generated) need
no download.
"""

DOWNLOAD_DESCRIPTION = f"""\
Download CIFAR-10 (python version, 170 MB) and extract it to DIR/cifar-10-batches-py,
or the I2DL autoencoder exercise's MNIST files (mnist.zip) into DIR/mnist.

The archive is checked against its MD5 sum before it is used (for mnist only
when --md5 is given: the course publishes none), extracted safely (no absolute
paths, '..' or links), and kept in DIR (mnist.zip is deleted once unpacked, as
the course does). Work already done is skipped: a complete folder means no
network access at all.

official sources: {CIFAR10_URL}
                  {MNIST_URL}
"""

DOWNLOAD_EPILOG = """\
examples:
  tinyvision data download cifar10
  tinyvision data download cifar10 --data-dir /data/tinyvision
  tinyvision data download cifar10 --url file:///mnt/mirror/cifar-10-python.tar.gz
  tinyvision data download mnist --md5 <32 hex digits>
"""


def _counts(labels: np.ndarray, names: tuple[str, ...]) -> str:
    counts = np.bincount(labels, minlength=len(names))
    return ", ".join(f"{name} {count}" for name, count in zip(names, counts, strict=True))


def _print_splits(data: dict[str, object], names: tuple[str, ...]) -> None:
    for split in ("train", "val", "test"):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        print(f"  {split:<5} X {X.shape}  y {y.shape}")
        print(f"        classes: {_counts(y, names)}")


def _info_digits() -> None:
    data = load_digits_data()
    print("digits: 8x8 handwritten digits, 10 classes")
    print("  location: bundled with scikit-learn (sklearn.datasets.load_digits)")
    print("  present:  yes")
    _print_splits(data, data["class_names"])


def _info_spiral() -> None:
    data = load_spiral_data()
    num_classes = int(data["y_train"].max()) + 1
    print("spiral: 2-d toy data of the CS231n notes, generated on the fly")
    print("  location: none (tinyvision.data.spiral.make_spiral)")
    print("  present:  yes")
    _print_splits(data, tuple(f"arm {j}" for j in range(num_classes)))


def _info_cifar10(data_dir: Path) -> None:
    root = cifar10_root(data_dir)
    archive = data_dir / CIFAR10_ARCHIVE
    print("cifar10: 32x32 colour images, 10 classes")
    print(f"  location: {root}")
    print(f"  archive:  {archive} ({'present' if archive.is_file() else 'absent'})")
    if not cifar10_is_complete(root):
        missing = [name for name in CIFAR10_FILES if not (root / name).is_file()]
        print(f"  present:  no (missing {', '.join(missing)})")
        print(f"  get it:   tinyvision data download cifar10 --data-dir {data_dir}")
        return
    print("  present:  yes")
    for split, names in (("train", CIFAR10_FILES[:5]), ("test", CIFAR10_FILES[5:6])):
        parts = [read_cifar_batch_uint8(root / name) for name in names]
        labels = np.concatenate([y for _, y in parts])
        shape = (len(labels), *parts[0][0].shape[1:])
        print(f"  {split:<5} X {shape}  y {labels.shape}")
        print(f"        classes: {_counts(labels, CLASS_NAMES)}")


def _run_download(args: argparse.Namespace) -> int:
    if args.dataset == "mnist":
        root = download_mnist(
            data_dir=args.dir,
            url=args.url or MNIST_URL,
            md5=args.md5,
            progress=not args.no_progress,
        )
        print(f"MNIST (the I2DL autoencoder exercise's files) is ready in {root}")
        return 0
    root = download_cifar10(
        data_dir=args.dir,
        url=args.url or CIFAR10_URL,
        md5=CIFAR10_MD5 if args.md5 is None else args.md5,
        progress=not args.no_progress,
    )
    print(f"CIFAR-10 is ready in {root}")
    return 0


def _run_info(args: argparse.Namespace) -> int:
    data_dir = Path(args.dir).expanduser() if args.dir else default_data_dir()
    names = INFO_DATASETS if args.dataset is None else (args.dataset,)
    for i, name in enumerate(names):
        if i:
            print()
        if name == "cifar10":
            _info_cifar10(data_dir)
        elif name == "digits":
            _info_digits()
        else:
            _info_spiral()
    return 0


def _handle(args: argparse.Namespace) -> int:
    if args.data_action is None:
        args.data_parser.print_help()
        return 0
    try:
        return args.data_action(args)
    except (ConnectionError, DataError, FileNotFoundError) as error:
        print(f"tinyvision data: error: {error}", file=sys.stderr)
        return 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `data` command (with `download` and `info`) to a parser's sub-commands.

    Args:
        subparsers: the action returned by `ArgumentParser.add_subparsers()`.
    """
    parser = subparsers.add_parser(
        "data",
        help="download data sets and show where they are",
        description=DATA_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_handle, data_action=None, data_parser=parser)
    actions = parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND")

    download = actions.add_parser(
        "download",
        help="download and extract a data set (cifar10, mnist)",
        description=DOWNLOAD_DESCRIPTION,
        epilog=DOWNLOAD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download.add_argument("dataset", choices=("cifar10", "mnist"), help="data set to download")
    download.add_argument(
        "--data-dir",
        "--dir",
        dest="dir",
        metavar="DIR",
        help=f"folder to download into (default: ${DATA_DIR_ENV} or ~/.cache/tinyvision)",
    )
    download.add_argument(
        "--url",
        help="where to fetch the archive from; http(s) or file:// (default: the official URL)",
    )
    download.add_argument(
        "--md5",
        help="expected MD5 sum of the archive (default: the official CIFAR-10 archive's; "
        "none for mnist)",
    )
    download.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    download.set_defaults(data_action=_run_download)

    info = actions.add_parser(
        "info",
        help="show where data sets are, whether they are present, their shapes and classes",
        description="Show each data set's location, whether it is present, the shapes of its "
        "splits and the number of examples per class.",
    )
    info.add_argument(
        "dataset",
        nargs="?",
        choices=INFO_DATASETS,
        help="data set to describe (default: all)",
    )
    info.add_argument(
        "--data-dir",
        "--dir",
        dest="dir",
        metavar="DIR",
        help=f"folder holding cifar-10-batches-py (default: ${DATA_DIR_ENV} or "
        "~/.cache/tinyvision)",
    )
    info.set_defaults(data_action=_run_info)
