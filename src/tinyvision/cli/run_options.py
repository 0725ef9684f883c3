"""Flags that say what to do with the run folder, shared by `train` and `caption train`.

They are not part of the run's config (config.json): `--overwrite` empties a folder that holds
a run, and `--resume RUN` continues a stopped run with the settings of its own config.json.
"""

from __future__ import annotations

import argparse
import dataclasses

from tinyvision.cli.options import config_from_args
from tinyvision.config import RunConfig
from tinyvision.pipeline import RunResult, resume_run, train_run

__all__ = ["add_run_options", "run_from_args"]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the stopped run in RUN from its last checkpoint, with the settings of "
        "RUN/config.json (give no other option)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="if --out holds a run, empty it first (by default that is an error)",
    )


def run_from_args(args: argparse.Namespace, config_class: type[RunConfig]) -> RunResult:
    """Train a new run, or resume one, as the flags say."""
    config = config_from_args(args, config_class)
    verbose = not args.quiet
    if args.resume is None:
        return train_run(config, verbose=verbose, overwrite=args.overwrite)
    given = [
        f"--{f.name.replace('_', '-')}"
        for f in dataclasses.fields(config_class)
        if getattr(config, f.name) != f.default
    ]
    if given or args.overwrite:
        extra = ", ".join(given + (["--overwrite"] if args.overwrite else []))
        raise ValueError(
            f"--resume {args.resume} continues the run with the settings of its config.json; "
            f"leave out {extra}"
        )
    return resume_run(args.resume, verbose=verbose)
