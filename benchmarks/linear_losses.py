"""Naive (looped) against vectorised SVM and softmax loss + gradient on CIFAR-sized shapes.

Both versions get the same W (D, C), X (N, D) and y, so the table also reports how far apart
their losses and gradients are; the speed-up is naive seconds / vectorised seconds.

    .venv/bin/python benchmarks/linear_losses.py
    .venv/bin/python benchmarks/linear_losses.py --num-examples 500 --repeats 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinyvision.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from tinyvision.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from tinyvision.gradient_check import rel_error

PAIRS = {
    "svm": (svm_loss_naive, svm_loss_vectorized),
    "softmax": (softmax_loss_naive, softmax_loss_vectorized),
}


def best_time(fn, repeats: int, *args) -> tuple[float, tuple]:
    """Fastest of `repeats` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-examples", type=int, default=500)
    parser.add_argument("--dim", type=int, default=3073, help="3072 pixels + bias")
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--reg", type=float, default=5e-6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    W = (0.0001 * rng.standard_normal((args.dim, args.num_classes))).astype(args.dtype)
    X = rng.uniform(-128, 128, (args.num_examples, args.dim)).astype(args.dtype)
    y = rng.integers(0, args.num_classes, args.num_examples)

    print(f"W {W.shape}, X {X.shape}, {args.dtype}, best of {args.repeats}")
    print(
        f"{'loss':>8} {'naive s':>9} {'vector s':>9} {'speed-up':>9} {'loss rel':>9} {'dW rel':>9}"
    )
    rows = []
    for name, (naive, vectorized) in PAIRS.items():
        naive_s, (naive_loss, naive_dW) = best_time(naive, args.repeats, W, X, y, args.reg)
        vec_s, (vec_loss, vec_dW) = best_time(vectorized, args.repeats, W, X, y, args.reg)
        row = {
            "loss": name,
            "num_examples": args.num_examples,
            "dim": args.dim,
            "num_classes": args.num_classes,
            "dtype": args.dtype,
            "naive_seconds": naive_s,
            "vectorized_seconds": vec_s,
            "speedup": naive_s / vec_s,
            "loss_rel_error": rel_error(naive_loss, vec_loss),
            "grad_rel_error": rel_error(naive_dW, vec_dW),
        }
        rows.append(row)
        print(
            f"{name:>8} {naive_s:9.4f} {vec_s:9.5f} {row['speedup']:8.1f}x "
            f"{row['loss_rel_error']:9.1e} {row['grad_rel_error']:9.1e}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
