"""`tinyvision gradcheck`: compare every layer's backward pass with numerical gradients."""

from __future__ import annotations

import argparse

from tinyvision.diagnostics import GRADIENT_CHECKS, run_gradient_check

TOLERANCE = 1e-7


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradcheck",
        help="check each layer's backward pass against numerical gradients",
        description="Run each layer forward and backward on small random float64 inputs and "
        f"print the relative error against centred differences (pass below {TOLERANCE:g}).",
    )
    parser.add_argument(
        "layers",
        nargs="*",
        metavar="LAYER",
        help=f"layers to check (default: all of {', '.join(GRADIENT_CHECKS)})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    failures = 0
    print(f"{'layer':<20}{'input':<8}{'rel. error':>12}  result")
    for name in args.layers or GRADIENT_CHECKS:
        for input_name, error in run_gradient_check(name, seed=args.seed).items():
            ok = error < TOLERANCE
            failures += not ok
            print(f"{name:<20}{input_name:<8}{error:>12.2e}  {'ok' if ok else 'FAIL'}")
    return 1 if failures else 0
