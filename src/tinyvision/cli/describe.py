"""`tinyvision describe`: a model's layers, output shapes, parameters and receptive fields."""

from __future__ import annotations

import argparse

from tinyvision import registry
from tinyvision.classification import DATASET_SHAPES
from tinyvision.model_summary import describe_model
from tinyvision.nn import format_summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="print a model's layer table (shapes, parameters, receptive fields)",
        description="Build a registered image classifier at its tuned defaults for a data\n"
        "set's image shape (no data is read) and print each layer's output shape, number of\n"
        "parameters and receptive field in input pixels, then the totals.",
        epilog="examples:\n  tinyvision describe --model resnet\n"
        "  tinyvision describe --model cnn --dataset digits",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", required=True, choices=registry.names(), help="the model to describe"
    )
    parser.add_argument(
        "--dataset",
        default="cifar10",
        choices=[name for name, (shape, _) in DATASET_SHAPES.items() if len(shape) == 3],
        help="the data set whose images the model is built for (default: cifar10)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    description = describe_model(args.model, args.dataset)
    print(f"model {description.model} on {description.dataset}")
    print(format_summary(description.rows, description.input_shape))
    return 0
