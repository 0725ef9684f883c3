"""`tinyvision evaluate RUN`: reload a run's model and measure its test score again."""

from __future__ import annotations

import argparse

from tinyvision.pipeline import evaluate_run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="reload a run folder's model and reproduce its test score",
        description="Rebuild the data set and the model of a run folder from config.json and "
        "model.npz, and measure the test score again (accuracy for classifiers, exact match "
        "for captioning models).",
    )
    parser.add_argument("run", help="a run folder written by `tinyvision train` or `caption train`")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = evaluate_run(args.run, verbose=not args.quiet)
    same = result["value"] == result["recorded"]
    name = result["metric"].replace("_", " ")
    print(f"model {result['model']} on {result['dataset']}")
    print(f"  {name:<15} {result['value']:.4f}")
    verdict = "reproduced exactly" if same else "DIFFERS"
    print(f"  {'recorded':<15} {result['recorded']:.4f}  ({verdict})")
    return 0 if same else 1
