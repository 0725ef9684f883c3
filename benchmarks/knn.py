"""kNN on CIFAR-10: tinyvision's KNearestNeighbor against scikit-learn's brute-force kNN.

Each (classifier, size) runs in a fresh subprocess so that its peak resident memory
(ru_maxrss) is its own; the table shows seconds (train + predict), peak memory, the memory
added by the classifier on top of the loaded data, test accuracy, and how often the two
classifiers predict the same label.

    .venv/bin/python benchmarks/knn.py --sizes 5000x500
    .venv/bin/python benchmarks/knn.py --sizes 5000x500,50000x10000 --json knn.json
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_ROOT = Path.home() / ".cache" / "tinyvision-dev" / "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def read_batch_uint8(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch as uint8 (n, 3072) rows in HWC order, and int64 labels."""
    try:
        from tinyvision.data.cifar10 import read_cifar_batch_uint8
    except ImportError:
        # A trusted local copy of the official files; the library's loader is preferred.
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        images = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    else:
        images, labels = read_cifar_batch_uint8(path)
    return images.reshape(len(images), -1), labels


def load_subset(root: Path, num_train: int, num_test: int, dtype: str):
    """The first num_train training and num_test test images, flattened, as dtype."""
    X_train = np.empty((num_train, 3072), dtype=dtype)
    y_train = np.empty(num_train, dtype=np.int64)
    filled = 0
    for name in TRAIN_BATCHES:
        if filled == num_train:
            break
        images, labels = read_batch_uint8(root / name)
        take = min(len(images), num_train - filled)
        X_train[filled : filled + take] = images[:take]
        y_train[filled : filled + take] = labels[:take]
        filled += take
    images, labels = read_batch_uint8(root / "test_batch")
    return X_train, y_train, images[:num_test].astype(dtype), labels[:num_test]


def max_rss_mb() -> float:
    """Peak resident memory of this process (since the last reset_peak_rss), in MiB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        # ru_maxrss is KiB on Linux and cannot be reset.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def reset_peak_rss() -> None:
    """Make the peak start from the current RSS, so loading the data does not count (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def worker(args: argparse.Namespace) -> None:
    """Run one classifier on one size and write predictions and measurements to args.out."""
    X_train, y_train, X_test, y_test = load_subset(
        Path(args.data_dir), args.num_train, args.num_test, args.dtype
    )
    from sklearn.neighbors import KNeighborsClassifier

    from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor

    reset_peak_rss()
    rss_loaded = max_rss_mb()
    start = time.perf_counter()
    if args.worker == "tinyvision":
        knn = KNearestNeighbor(dtype=args.dtype)
        knn.train(X_train, y_train)
        y_pred = knn.predict(X_test, k=args.k)
    else:
        knn = KNeighborsClassifier(n_neighbors=args.k, algorithm="brute")
        knn.fit(X_train, y_train)
        y_pred = knn.predict(X_test)
    seconds = time.perf_counter() - start
    peak = max_rss_mb()
    np.savez(
        args.out,
        y_pred=y_pred,
        seconds=seconds,
        peak_mb=peak,
        extra_mb=peak - rss_loaded,
        accuracy=np.mean(y_pred == y_test),
    )


def run_one(impl: str, num_train: int, num_test: int, args: argparse.Namespace) -> dict:
    """Start a worker subprocess and collect its results."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.npz"
        command = [
            sys.executable, __file__, "--worker", impl, "--num-train", str(num_train),
            "--num-test", str(num_test), "--k", str(args.k), "--dtype", args.dtype,
            "--data-dir", args.data_dir, "--out", str(out),
        ]  # fmt: skip
        subprocess.run(command, check=True, env=os.environ.copy())
        with np.load(out) as result:
            return {key: result[key].tolist() for key in result.files}


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        train, _, test = item.partition("x")
        if not (train.isdigit() and test.isdigit()):
            raise argparse.ArgumentTypeError(f"sizes look like 5000x500,50000x10000; got {item!r}")
        if not (0 < int(train) <= 50000 and 0 < int(test) <= 10000):
            raise argparse.ArgumentTypeError(f"{item}: CIFAR-10 has 50000 train, 10000 test")
        sizes.append((int(train), int(test)))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("5000x500"),
        help="comma-separated TRAINxTEST sizes (default 5000x500)",
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--data-dir", default=str(DEFAULT_ROOT), help="cifar-10-batches-py folder")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--worker", choices=["tinyvision", "sklearn"], help=argparse.SUPPRESS)
    parser.add_argument("--num-train", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--num-test", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()  # fmt: skip
    if args.worker:
        worker(args)
        return
    if not (Path(args.data_dir) / "test_batch").is_file():
        sys.exit(f"no CIFAR-10 at {args.data_dir}; pass --data-dir cifar-10-batches-py")

    rows = []
    header = (
        f"{'train x test':>14} {'impl':>10} {'seconds':>8} {'peak MiB':>9} {'extra MiB':>9} "
        f"{'accuracy':>8} {'agree':>7} {'time ratio':>10}"
    )
    print(f"kNN, k={args.k}, {args.dtype}; ratio = sklearn seconds / tinyvision seconds")
    print(header)
    for num_train, num_test in args.sizes:
        ours = run_one("tinyvision", num_train, num_test, args)
        theirs = run_one("sklearn", num_train, num_test, args)
        agreement = float(np.mean(np.array(ours["y_pred"]) == np.array(theirs["y_pred"])))
        ratio = theirs["seconds"] / ours["seconds"]
        for name, result in (("tinyvision", ours), ("sklearn", theirs)):
            print(
                f"{f'{num_train}x{num_test}':>14} {name:>10} {result['seconds']:8.2f} "
                f"{result['peak_mb']:9.0f} {result['extra_mb']:9.0f} {result['accuracy']:8.4f} "
                f"{agreement:7.4f} {ratio if name == 'tinyvision' else 1.0:10.2f}"
            )
        rows.append(
            {
                "num_train": num_train,
                "num_test": num_test,
                "k": args.k,
                "dtype": args.dtype,
                "agreement": agreement,
                "speedup_vs_sklearn": ratio,
                **{
                    f"{name}_{key}": value
                    for name, result in (("tinyvision", ours), ("sklearn", theirs))
                    for key, value in result.items()
                    if key != "y_pred"
                },
            }
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
