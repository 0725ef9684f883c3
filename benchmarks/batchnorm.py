"""Batchnorm backward: the staged computational-graph version vs the closed form.

Times tinyvision's batchnorm_backward and batchnorm_backward_alt on the same forward cache, and
PyTorch's batch_norm backward (autograd, one thread, like NumPy here) as the peer, for a few
shapes and dtypes. Each time is the best of --repeat runs of --number calls.

    python benchmarks/batchnorm.py [--shapes 100x1000,1000x4096] [--dtypes float32,float64]
                                   [--repeat 5] [--number 3] [--json out.json]
    python benchmarks/batchnorm.py --quick
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from tinyvision.layers import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward

DEFAULT_SHAPES = "100x1000,1000x4096"
QUICK_SHAPES = "64x256,256x1024"


def best_time(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Seconds per call, best of repeat runs of number calls (the least-disturbed run)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def time_torch(x: np.ndarray, gamma: np.ndarray, dout: np.ndarray, repeat: int, number: int):
    """Seconds per batch_norm backward in torch, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros_like(gt, requires_grad=True)
    doutt = torch.tensor(dout)

    def backward() -> None:
        out = torch.nn.functional.batch_norm(xt, None, None, gt, bt, True, 0.1, 1e-5)
        torch.autograd.grad(out, (xt, gt, bt), doutt)

    forward_only = best_time(
        lambda: torch.nn.functional.batch_norm(xt.detach(), None, None, gt, bt, True, 0.1, 1e-5),
        repeat,
        number,
    )
    # autograd cannot run backward alone, so the forward's time is measured and subtracted.
    return max(best_time(backward, repeat, number) - forward_only, 0.0)


def run(shapes: list[tuple[int, int]], dtypes: list[str], repeat: int, number: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for n, d in shapes:
        for dtype in dtypes:
            x = rng.standard_normal((n, d)).astype(dtype)
            gamma = rng.standard_normal(d).astype(dtype)
            beta = rng.standard_normal(d).astype(dtype)
            dout = rng.standard_normal((n, d)).astype(dtype)
            _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
            staged = best_time(lambda c=cache, g=dout: batchnorm_backward(g, c), repeat, number)
            alt = best_time(lambda c=cache, g=dout: batchnorm_backward_alt(g, c), repeat, number)
            dx_staged = batchnorm_backward(dout, cache)[0]
            dx_alt = batchnorm_backward_alt(dout, cache)[0]
            scale = float(np.max(np.abs(dx_alt)))
            rows.append(
                {
                    "shape": f"{n}x{d}",
                    "dtype": dtype,
                    "staged_ms": staged * 1e3,
                    "alt_ms": alt * 1e3,
                    "staged_over_alt": staged / alt,
                    "torch_ms": None
                    if (t := time_torch(x, gamma, dout, repeat, number)) is None
                    else t * 1e3,
                    "max_dx_diff_relative": float(np.max(np.abs(dx_staged - dx_alt))) / scale,
                }
            )
    return rows


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'shape':>10} {'dtype':>8} {'staged ms':>10} {'alt ms':>9} {'staged/alt':>11} "
        f"{'torch ms':>9} {'alt/torch':>10} {'|dx diff|':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        torch_ms = row["torch_ms"]
        torch_cells = (
            f"{torch_ms:9.3f} {row['alt_ms'] / torch_ms:10.2f}"
            if torch_ms
            else f"{'n/a':>9} {'n/a':>10}"
        )
        print(
            f"{row['shape']:>10} {row['dtype']:>8} {row['staged_ms']:10.3f} {row['alt_ms']:9.3f} "
            f"{row['staged_over_alt']:11.2f} {torch_cells} {row['max_dx_diff_relative']:10.1e}"
        )


def parse_shapes(text: str) -> list[tuple[int, int]]:
    shapes = []
    for item in text.split(","):
        try:
            n, d = (int(v) for v in item.lower().split("x"))
        except ValueError:
            raise SystemExit(f"--shapes expects NxD items like 100x1000, got {item!r}") from None
        shapes.append((n, d))
    return shapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=None, help=f"NxD list, default {DEFAULT_SHAPES}")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help=f"small shapes ({QUICK_SHAPES})")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()

    shapes = parse_shapes(args.shapes or (QUICK_SHAPES if args.quick else DEFAULT_SHAPES))
    dtypes = args.dtypes.split(",")
    for dtype in dtypes:
        if dtype not in ("float32", "float64"):
            raise SystemExit(f"--dtypes accepts float32 and float64, got {dtype!r}")
    rows = run(shapes, dtypes, args.repeat, args.number)
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "batchnorm_backward", "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
