"""The `tinyvision` command line: argument parsing and printing only; the work is in the library."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from threadpoolctl import threadpool_limits

from tinyvision import __version__, parallel, pipeline
from tinyvision.cli import (
    caption,
    data,
    describe,
    evaluate,
    experiment,
    gradcheck,
    predict,
    train,
    tune,
)
from tinyvision.cli.parser import CommandParser, add_global_options, command_parsers

__all__ = ["build_parser", "main"]

SMALL_DATASETS = ("digits", "spiral", "digit-strips")

DESCRIPTION = """\
tinyvision: deep learning for computer vision from first principles.

Train the classic course models (kNN, linear SVM, softmax, two-layer and deep
fully-connected nets) on the embedded 8x8 digits, the spiral toy data or CIFAR-10,
use them on your own pictures, check the engine's gradients, and manage data sets.
Global options (-q, -v, --threads) go before or after the command.
"""

EPILOG = """\
examples:
  tinyvision train                                   softmax on the embedded digits
  tinyvision train --model two-layer --dataset spiral
  tinyvision data download cifar10                   fetch CIFAR-10 (170 MB)
  tinyvision train --model svm --dataset cifar10
  tinyvision tune --model two-layer                  search its hyperparameters (Optuna)
  tinyvision evaluate runs/softmax-digits-...        reproduce a run's test accuracy
  tinyvision predict runs/softmax-digits-... my.png  classify your own pictures
  tinyvision gradcheck                               verify every layer's backward pass
  tinyvision describe --model resnet                 layers, parameters, receptive fields
"""


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="tinyvision",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tinyvision {__version__}")
    add_global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in (train, evaluate, predict, tune, experiment, caption, data, gradcheck, describe):
        command.register(subparsers)
    for command_parser in command_parsers(parser):
        add_global_options(command_parser, on_command=True)
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def _configure_logging(quiet: bool, verbose: bool) -> None:
    """Results only (-q), one line per phase and epoch (default), or every few updates (-v)."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    # Set every time: main may run several times in one process (tests, notebooks).
    logging.getLogger("tinyvision").setLevel(logging.DEBUG if verbose else logging.NOTSET)


def _dataset_of(args: argparse.Namespace) -> str | None:
    """The data set the command will use; a resumed run's comes from its config.json."""
    if hasattr(args, "dataset_of"):  # a command that knows better (tune: its space's)
        return args.dataset_of(args)
    if getattr(args, "resume", None):
        return pipeline.read_run_config(args.resume).dataset
    return getattr(args, "dataset", None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    _configure_logging(args.quiet, args.verbose)
    threads = args.threads
    if threads is not None and threads < 1:
        parser.error(f"--threads must be at least 1, got {threads}")
    copy_threads = parallel.num_threads()
    try:
        if threads is None and _dataset_of(args) in SMALL_DATASETS:
            threads = 1
        if threads is not None:
            parallel.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as error:
        # A library whose clean-up fails while Ctrl-C unwinds it (Optuna's trial bookkeeping
        # raises UnboundLocalError when the interrupt lands inside it) was still interrupted.
        if isinstance(error.__context__, KeyboardInterrupt):
            return _interrupted()
        if not isinstance(error, (OSError, ValueError, RuntimeError)):
            raise
        print(f"tinyvision: error: {error}", file=sys.stderr)
        return 2
    finally:
        parallel.set_num_threads(copy_threads)


def _interrupted() -> int:
    print("tinyvision: interrupted", file=sys.stderr)
    return 130


def run() -> None:
    """The `tinyvision` program: main() as a process, whose exit status is main's.

    An interrupted command (Ctrl-C, exit status 130) ends at once: a thread a library left
    running (Optuna's heartbeat of the trial the interruption caught, perhaps waiting for a
    database lock) must not keep the process alive after everything was saved.
    """
    status = main()
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(status)
    raise SystemExit(status)
