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
        description="Build a registered image classifier (or the segmentation U-Net) at its\n"
        "tuned defaults for a data set's image shape (no data is read) and print each layer's\n"
        "output shape, number of parameters and receptive field in input pixels, then the\n"
        "totals.",
        epilog="examples:\n  tinyvision describe --model resnet\n"
        "  tinyvision describe --model cnn --dataset digits\n  tinyvision describe --model unet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", required=True, choices=registry.names(), help="the model to describe"
    )
    parser.add_argument(
        "--dataset",
        choices=[name for name, (shape, _) in DATASET_SHAPES.items() if len(shape) == 3],
        help="the data set whose images a classifier is built for (default: cifar10; the "
        "U-Net always takes the segmentation images)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    description = describe_model(args.model, args.dataset)
    print(f"model {description.model} on {description.dataset}")
    print(format_summary(description.rows, description.input_shape))
    return 0
