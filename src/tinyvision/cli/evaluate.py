"""`tinyvision evaluate RUN`: reload a run's model and measure its test accuracy again."""

from __future__ import annotations

import argparse

from tinyvision.pipeline import evaluate_run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="reload a run folder's model and reproduce its test accuracy",
        description="Rebuild the data set and the model of a run folder from config.json and "
        "model.npz, and measure the test accuracy again.",
    )
    parser.add_argument("run", help="a run folder written by `tinyvision train`")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = evaluate_run(args.run, verbose=not args.quiet)
    same = result["test_acc"] == result["recorded_test_acc"]
    print(f"model {result['model']} on {result['dataset']}")
    print(f"  test accuracy   {result['test_acc']:.4f}")
    print(
        f"  recorded        {result['recorded_test_acc']:.4f}  "
        f"({'reproduced exactly' if same else 'DIFFERS'})"
    )
    return 0 if same else 1
