"""`tinyvision experiment NAME`: run one of the course's fully-connected-net experiments."""

from __future__ import annotations

import argparse
from typing import Any

from tinyvision.experiments import DATASETS, EXPERIMENTS, run_experiment

__all__ = ["format_table", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = "\n".join(f"  {name:24} {exp.description}" for name, exp in EXPERIMENTS.items())
    parser = subparsers.add_parser(
        "experiment",
        help="run a course experiment (overfit, update rules, batch norm, dropout, "
        "initialisation, learning-rate range test, augmentations, filters) with plots",
        description="Run one experiment of the course's fully-connected-net notebooks or the "
        "CS231n notes. The run "
        "folder gets its PNG plots and results.json; a summary table is printed.\n\n"
        f"experiments:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # No argparse choices: an unknown name gets the library's error, which lists the names.
    parser.add_argument("name", metavar="NAME", help=f"one of: {', '.join(EXPERIMENTS)}")
    parser.add_argument("--dataset", choices=DATASETS, default="digits", help="default: digits")
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py")
    parser.add_argument("--out", help="run folder (default: runs/experiment-<name>-<time>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--num-training", type=int, help="training images (default: the experiment's own)"
    )
    parser.add_argument("--epochs", type=int, help="epochs per run (default: the experiment's)")
    parser.add_argument(
        "--run",
        metavar="RUN_DIR",
        help="filters only: a trained conv run (cnn, convnet, torch-cnn) whose first-layer "
        "filters and feature maps to draw as well",
    )
    parser.set_defaults(handler=run)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """rows (dicts with the same keys) as a plain-text table with a header line."""
    if not rows:
        return "(no results)"
    headers = list(rows[0])
    cells = [[_cell(row[key]) for key in headers] for row in rows]
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.run is not None and args.name != "filters":
        raise ValueError(
            f"--run applies to `tinyvision experiment filters` only, not to {args.name!r}; "
            "leave it out"
        )
    result = run_experiment(
        args.name,
        args.dataset,
        data_dir=args.data_dir,
        out=args.out,
        seed=args.seed,
        num_training=args.num_training,
        epochs=args.epochs,
        overrides={"run": args.run} if args.run is not None else None,
    )
    sizes = [
        f"{result.settings[key]} {label}"
        for key, label in (("num_training", "training images"), ("epochs", "epochs"))
        if key in result.settings
    ]
    print(
        f"experiment {result.name} on {result.dataset} "
        f"({', '.join([*sizes, f'{result.seconds:.1f} s'])})"
    )
    print(format_table(result.rows))
    suggestion = result.results.get("suggestion")
    if suggestion is not None:
        print(
            f"suggested learning rate: {suggestion['steepest']:.3g} (steepest descent of the "
            f"smoothed loss; minimum / 10: {suggestion['min_tenth']:.3g})"
        )
    for path in result.plots:
        print(f"plot: {path}")
    print(f"run folder: {result.run_dir}")
    return 0
