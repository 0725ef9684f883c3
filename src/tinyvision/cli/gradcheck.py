"""`tinyvision gradcheck`: compare every layer's backward pass with numerical gradients."""

from __future__ import annotations

import argparse
import fnmatch

from tinyvision.diagnostics import GRADIENT_CHECKS, TOLERANCE, check_layer, gradient_checks


def tolerances(names: list[str], table: dict) -> str:
    """The tolerance the checks passed, with the layers that have their own."""
    own = [f"{n} {table[n].tolerance:g}" for n in names if table[n].tolerance != TOLERANCE]
    return "; ".join([f"tolerance {TOLERANCE:g}", *own])


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradcheck",
        help="check each layer's backward pass against numerical gradients",
        description="Run each layer forward and backward on small random float64 inputs and\n"
        "print, per layer, the largest relative error of any gradient against centred\n"
        f"differences (pass below {TOLERANCE:g}; the last line names layers with their own).\n"
        "Exits with status 1 when a layer fails.",
        epilog="examples:\n  tinyvision gradcheck\n  tinyvision gradcheck --layers conv,relu\n"
        "  tinyvision gradcheck --layers 'conv*,lstm*'\n  tinyvision gradcheck --list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="LAYER",
        help="layers to check, as --layers takes them (default: all)",
    )
    parser.add_argument(
        "--layers",
        metavar="NAMES",
        help="comma-separated layer names or shell patterns such as 'conv*' (default: all; "
        "--list shows the names)",
    )
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.set_defaults(handler=run)


def select(patterns: list[str]) -> list[str]:
    """The check names matching any of the names or shell patterns, in the table's order.

    Raises ValueError naming a pattern that matches no check.
    """
    if not patterns:
        return list(GRADIENT_CHECKS)
    for pattern in patterns:
        if not fnmatch.filter(GRADIENT_CHECKS, pattern):
            raise ValueError(
                f"no gradient check matches {pattern!r}; `tinyvision gradcheck --list` shows "
                f"the {len(GRADIENT_CHECKS)} checks"
            )
    return [n for n in GRADIENT_CHECKS if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def _print_list() -> None:
    for name, check in gradient_checks().items():
        functions = ", ".join(f"{f.__module__}.{f.__name__}" for f in check.covers)
        print(f"{name:<32}{functions}")


def run(args: argparse.Namespace) -> int:
    if args.list:
        _print_list()
        return 0
    patterns = list(args.names)
    if args.layers:
        patterns += [part.strip() for part in args.layers.split(",") if part.strip()]
    names = select(patterns)
    table = gradient_checks()
    failed = []
    print(f"{'layer':<32}{'max rel. error':>14}  {'worst input':<13}result")
    for name in names:
        try:
            reports = check_layer(name, seed=args.seed, check=table[name])
        except Exception as error:  # a backward that crashes fails its check; go on with the rest
            failed.append(name)
            print(f"{name:<32}{'-':>14}  {'-':<13}FAIL")
            print(f"    {type(error).__name__}: {error}")
            continue
        worst = max(reports, key=lambda report: report.error)
        ok = worst.error <= table[name].tolerance
        if not ok:
            failed.append(name)
        print(f"{name:<32}{worst.error:>14.2e}  {worst.input:<13}{'ok' if ok else 'FAIL'}")
        if not ok:
            for report in reports:
                if report.error > table[name].tolerance:
                    print(f"    {report.worst()} (error {report.error:.2e})")
    if failed:
        print(f"{len(failed)} of {len(names)} layers FAILED: {', '.join(failed)}")
        return 1
    print(f"all {len(names)} layers passed ({tolerances(names, table)})")
    return 0
