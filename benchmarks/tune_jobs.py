"""`tinyvision tune --jobs 2` against `--jobs 1`: wall time of the same 20-trial digits search.

Each search runs in a fresh run folder with its own SQLite study; the only difference is the
number of worker processes (each computing on one core). Prints both times and their ratio.
A worker is a fresh interpreter (about 2 s of imports and data loading before its first trial),
so the trials are long enough (300 epochs, about a second each) for that to be a small part.

    .venv/bin/python benchmarks/tune_jobs.py
    .venv/bin/python benchmarks/tune_jobs.py --trials 20 --epochs 300 --json tune_jobs.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from tinyvision.search import StudyOptions, parse_space, search_run


def _space(epochs: int):
    return parse_space(
        {
            "model": "two-layer",
            "sampler": "random",
            # No pruning: both searches train the same amount, so only the workers differ.
            "pruner": "none",
            "fixed": {"epochs": epochs},
            "search": {
                "learning_rate": {"type": "log-uniform", "low": 0.05, "high": 1.0},
                "hidden_dims": {"type": "choice", "values": [[128], [256]]},
            },
        }
    )


def time_search(jobs: int, trials: int, epochs: int, folder: Path) -> dict[str, float]:
    """Seconds of one search with `jobs` worker processes, and its best validation accuracy."""
    started = time.perf_counter()
    result = search_run(
        _space(epochs),
        StudyOptions(trials=trials, jobs=jobs),
        out=folder / f"jobs{jobs}",
        retrain=False,
    )
    seconds = time.perf_counter() - started
    return {"jobs": jobs, "seconds": round(seconds, 2), "best_val_acc": result.best_value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # As `tinyvision tune` on the digits: one BLAS thread in this process (each worker of
    # --jobs 2 limits itself to one as well).
    with threadpool_limits(1), tempfile.TemporaryDirectory(prefix="tinyvision-tune-") as scratch:
        one = time_search(1, args.trials, args.epochs, Path(scratch))
        two = time_search(2, args.trials, args.epochs, Path(scratch))
    ratio = one["seconds"] / two["seconds"]
    cores = os.cpu_count()
    print(
        f"{args.trials} two-layer trials on the digits ({args.epochs} epochs each), {cores} cores"
    )
    print(f"  --jobs 1: {one['seconds']:7.2f} s  (best val accuracy {one['best_val_acc']:.4f})")
    print(f"  --jobs 2: {two['seconds']:7.2f} s  (best val accuracy {two['best_val_acc']:.4f})")
    print(f"  speed-up: {ratio:.2f}x")
    if args.json:
        record = {
            "trials": args.trials,
            "epochs": args.epochs,
            "runs": [one, two],
            "speedup": ratio,
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
