"""`tinyvision train`: train a model and write a run folder."""

from __future__ import annotations

import argparse
import json

from tinyvision import registry
from tinyvision.cli.options import add_config_options, config_from_args
from tinyvision.cli.run_options import add_run_options, run_from_args
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.pipeline import read_run_config


def _models_epilog() -> str:
    lines = ["models:"]
    for name in registry.names():
        spec = registry.get(name)
        if spec.task.config_class is TrainConfig:
            lines.append(f"  {name:<12} {spec.description}")
    return "\n".join(lines)


def print_summary(metrics: dict, summary: tuple[tuple[str, str], ...]) -> None:
    """The run's headline numbers: the task's summary keys that metrics holds, and the times."""
    width = max([len(label) for _, label in summary] + [len("seconds")]) + 2
    for key, label in summary:
        if metrics.get(key) is not None:
            print(f"  {label:<{width}}{metrics[key]:.4f}")
    print(
        f"  {'seconds':<{width}}{metrics['total_seconds']:.1f} (fit {metrics['fit_seconds']:.1f}, "
        f"scoring {metrics['eval_seconds']:.1f})"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model. Every option left out takes the tuned default for the chosen "
        "model and data set. The run folder gets config.json, metrics.json, history.json, "
        "model.npz and loss/accuracy plots.",
        epilog=_models_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_options(parser, TrainConfig)
    add_run_options(parser)
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the settings the run would use (the tuned defaults filled in) as JSON and "
        "exit without training",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.print_config:
        config = (
            read_run_config(args.resume)
            if args.resume
            else resolve_config(config_from_args(args, TrainConfig))
        )
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    result = run_from_args(args, TrainConfig)
    if not result.metrics:  # a later process of a distributed run: the first one reports
        return 0
    m = result.metrics
    print(f"model {m['model']} on {m['dataset']} ({m['num_train']} training examples)")
    print_summary(m, registry.get(m["model"]).task.summary)
    print(f"run folder: {result.run_dir}")
    return 0
