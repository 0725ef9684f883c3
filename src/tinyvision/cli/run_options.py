"""Flags that say what to do with the run folder, shared by `train` and `caption train`.

They are not part of the run's config (config.json): `--overwrite` empties a folder that holds
a run, and `--resume RUN` continues a stopped run with the settings of its own config.json.
"""

from __future__ import annotations

import argparse
import dataclasses

from tinyvision.cli.options import config_from_args
from tinyvision.config import RunConfig
from tinyvision.config_files import read_config_toml
from tinyvision.pipeline import RunResult, resume_run, train_run

__all__ = ["add_run_options", "run_from_args"]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="read the settings from a TOML file (e.g. the best.toml of `tinyvision tune`); "
        "flags given beside it take precedence",
    )
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
    if getattr(args, "config", None) is not None:
        config = _with_file(config, args.config)
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


def _with_file(config: RunConfig, path: str) -> RunConfig:
    """config with a TOML file's settings wherever the flags left the default."""
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    settings = read_config_toml(path, type(config))
    unset = {k: v for k, v in settings.items() if getattr(config, k) == defaults[k]}
    return dataclasses.replace(config, **unset)
