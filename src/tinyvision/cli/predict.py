"""`tinyvision predict RUN IMAGE_OR_FOLDER...`: a trained classifier on one's own pictures."""

from __future__ import annotations

import argparse
import json

from tinyvision.pipeline import load_run
from tinyvision.prediction import image_files, predict_files


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify PNG/JPEG pictures with a trained run",
        description="Read PNG or JPEG pictures (files, or every picture in a folder), resize "
        "them to the run's input (digits: 8x8 grey, inverted when the background is light; "
        "CIFAR-10: 32x32 RGB), apply the run's preprocessing and print the most probable "
        "classes with their probabilities.",
    )
    parser.add_argument("run", help="a run folder written by `tinyvision train`")
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER")
    parser.add_argument("--top", type=int, default=3, help="classes per picture (default: 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.add_argument(
        "--data-dir",
        help="where the run's data set lives on this machine (only kNN runs read it: their "
        "training set is the model)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    paths = image_files(args.images)
    # No split: the pictures need only the model and its preprocessing (kNN still reads its
    # training set, which is its model).
    loaded = load_run(args.run, (), data_dir=args.data_dir)
    predictions = predict_files(loaded, paths, top=args.top)
    if args.json:
        rows = [
            {
                "image": str(p.path),
                "top": [
                    {"class": name, "probability": probability}
                    for name, probability in zip(p.classes, p.probabilities, strict=True)
                ],
            }
            for p in predictions
        ]
        print(json.dumps({"run": str(args.run), "predictions": rows}, indent=2))
        return 0
    for prediction in predictions:
        guesses = ", ".join(
            f"{name} {probability:.3f}"
            for name, probability in zip(prediction.classes, prediction.probabilities, strict=True)
        )
        print(f"{prediction.path}: {guesses}")
    return 0
