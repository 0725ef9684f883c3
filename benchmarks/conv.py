"""Benchmark tinyvision's fast conv and max-pool layers against PyTorch, side by side.

Run: .venv/bin/python benchmarks/conv.py [--repeat 7] [--quick] [--json results.json]

Every timing is the minimum over --repeat runs after one warm-up run, because the machine may be
shared and the minimum is the least noisy estimate of what the code itself costs; ours and
torch run interleaved so that background load affects both alike. Both sides use
float32 and the same number of threads (--threads; torch.set_num_threads and OpenBLAS). Reported:
forward and forward+backward times with the ratio ours/torch (< 1.5 is the target), achieved
GFLOP/s of our conv as a fraction of this machine's float32 np.matmul peak, and the speed-up of
the fast layers over the loop-based naive references on a small shape.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (min is kept)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument("--quick", action="store_true", help="smaller batches, for a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the results to this file")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time; cpu: CPU time of this process summed over its threads, which "
        "other load on a shared machine disturbs much less (it compares work, not latency)",
    )
    return parser.parse_args(argv)


ARGS = parse_args()
# OpenBLAS reads its thread count at import, so set it before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as tf  # noqa: E402

from tinyvision.fast_layers import (  # noqa: E402
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from tinyvision.layers import (  # noqa: E402
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)


def best_times(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Minimum time (--clock) in seconds of each fn over `repeat` rounds, after one warm-up round.

    The callables run interleaved (one of each per round), so load from other processes on a
    shared machine hits ours and torch's alike and the ratios stay meaningful.
    """
    for fn in fns:
        fn()
    clock = time.perf_counter if ARGS.clock == "wall" else time.process_time
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = clock()
            fn()
            best[k] = min(best[k], clock() - start)
    return best


def matmul_peak(repeat: int) -> float:
    """Best float32 np.matmul throughput in GFLOP/s on square matrices."""
    rng = np.random.default_rng(0)
    best = 0.0
    for n in (512, 1024, 2048):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        best = max(best, 2 * n**3 / best_times([lambda a=a, b=b: a @ b], repeat)[0] / 1e9)
    return best


def bench_conv(x_shape, w_shape, pad, stride, repeat, peak):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32) * 0.1
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    conv_param = {"stride": stride, "pad": pad}
    out, _ = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    def ours_fb():
        _, cache = conv_forward_fast(x, w, b, conv_param)
        conv_backward_fast(dout, cache)

    tx = torch.from_numpy(x).requires_grad_()
    tw = torch.from_numpy(w).requires_grad_()
    tb = torch.from_numpy(b).requires_grad_()
    tdout = torch.from_numpy(dout)

    def torch_f():
        with torch.no_grad():
            tf.conv2d(tx, tw, tb, stride=stride, padding=pad)

    def torch_fb():
        tx.grad = tw.grad = tb.grad = None
        tf.conv2d(tx, tw, tb, stride=stride, padding=pad).backward(tdout)

    ours_f_t, torch_f_t, ours_fb_t, torch_fb_t = best_times(
        [lambda: conv_forward_fast(x, w, b, conv_param), torch_f, ours_fb, torch_fb], repeat
    )
    flops = 2 * out.size * w[0].size
    return {
        "case": f"conv x{x_shape} w{w_shape} pad {pad} stride {stride}",
        "ours_fwd_ms": ours_f_t * 1e3,
        "torch_fwd_ms": torch_f_t * 1e3,
        "ours_fwd_bwd_ms": ours_fb_t * 1e3,
        "torch_fwd_bwd_ms": torch_fb_t * 1e3,
        "ratio_fwd_bwd": ours_fb_t / torch_fb_t,
        "ours_gflops_fwd_bwd": 3 * flops / ours_fb_t / 1e9,
        "fraction_of_peak": 3 * flops / ours_fb_t / 1e9 / peak,
    }


def bench_pool(x_shape, size, stride, repeat):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    pool_param = {"pool_height": size, "pool_width": size, "stride": stride}
    out, _ = max_pool_forward_fast(x, pool_param)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    def ours_fb():
        _, cache = max_pool_forward_fast(x, pool_param)
        max_pool_backward_fast(dout, cache)

    tx = torch.from_numpy(x).requires_grad_()
    tdout = torch.from_numpy(dout)

    def torch_f():
        with torch.no_grad():
            tf.max_pool2d(tx, size, stride)

    def torch_fb():
        tx.grad = None
        tf.max_pool2d(tx, size, stride).backward(tdout)

    ours_f_t, torch_f_t, ours_fb_t, torch_fb_t = best_times(
        [lambda: max_pool_forward_fast(x, pool_param), torch_f, ours_fb, torch_fb], repeat
    )
    return {
        "case": f"max pool x{x_shape} {size}x{size} stride {stride}",
        "ours_fwd_ms": ours_f_t * 1e3,
        "torch_fwd_ms": torch_f_t * 1e3,
        "ours_fwd_bwd_ms": ours_fb_t * 1e3,
        "torch_fwd_bwd_ms": torch_fb_t * 1e3,
        "ratio_fwd_bwd": ours_fb_t / torch_fb_t,
    }


def bench_naive_vs_fast(repeat):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 16, 16))
    w = rng.standard_normal((8, 3, 3, 3))
    b = rng.standard_normal(8)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = rng.standard_normal((4, 8, 16, 16))
    dpool = rng.standard_normal((4, 3, 8, 8))
    pairs = {
        "conv fwd+bwd x(4,3,16,16) w(8,3,3,3)": (
            lambda: conv_backward_naive(dout, conv_forward_naive(x, w, b, conv_param)[1]),
            lambda: conv_backward_fast(dout, conv_forward_fast(x, w, b, conv_param)[1]),
        ),
        "max pool fwd+bwd x(4,3,16,16) 2x2/2": (
            lambda: max_pool_backward_naive(dpool, max_pool_forward_naive(x, pool_param)[1]),
            lambda: max_pool_backward_fast(dpool, max_pool_forward_fast(x, pool_param)[1]),
        ),
    }
    rows = []
    for case, (naive, fast) in pairs.items():
        naive_t, fast_t = best_times([naive, fast], max(1, repeat // 3))
        rows.append(
            {
                "case": case,
                "naive_ms": naive_t * 1e3,
                "fast_ms": fast_t * 1e3,
                "speedup": naive_t / fast_t,
            }
        )
    return rows


def main() -> int:
    torch.set_num_threads(ARGS.threads)
    repeat = ARGS.repeat
    batch = 10 if ARGS.quick else None
    peak = matmul_peak(repeat)
    conv_cases = [((50, 3, 32, 32), (32, 3, 7, 7), 3, 1), ((100, 64, 16, 16), (64, 64, 3, 3), 1, 1)]
    pool_cases = [((100, 64, 32, 32), 2, 2), ((100, 64, 33, 33), 3, 2)]
    if batch:
        conv_cases = [((batch, *x[1:]), w, p, s) for x, w, p, s in conv_cases]
        pool_cases = [((batch, *x[1:]), k, s) for x, k, s in pool_cases]
    conv_rows = [bench_conv(*case, repeat, peak) for case in conv_cases]
    pool_rows = [bench_pool(*case, repeat) for case in pool_cases]
    naive_rows = bench_naive_vs_fast(repeat)

    print(
        f"float32 np.matmul peak: {peak:.1f} GFLOP/s ({ARGS.threads} threads, {ARGS.clock} clock)\n"
    )
    header = (
        f"{'case':<52} {'ours fwd':>9} {'torch fwd':>9} {'ours f+b':>9} {'torch f+b':>9} "
        f"{'ratio':>6} {'GFLOP/s':>8} {'of peak':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in conv_rows + pool_rows:
        gflops = f"{row['ours_gflops_fwd_bwd']:8.1f}" if "ours_gflops_fwd_bwd" in row else " " * 8
        frac = f"{row['fraction_of_peak']:7.0%}" if "fraction_of_peak" in row else " " * 7
        print(
            f"{row['case']:<52} {row['ours_fwd_ms']:7.2f}ms {row['torch_fwd_ms']:7.2f}ms "
            f"{row['ours_fwd_bwd_ms']:7.2f}ms {row['torch_fwd_bwd_ms']:7.2f}ms "
            f"{row['ratio_fwd_bwd']:6.2f} {gflops} {frac}"
        )
    print(f"\n{'naive -> fast':<52} {'naive':>9} {'fast':>9} {'speed-up':>9}")
    for row in naive_rows:
        print(
            f"{row['case']:<52} {row['naive_ms']:7.1f}ms {row['fast_ms']:7.3f}ms "
            f"{row['speedup']:8.0f}x"
        )
    if ARGS.json:
        results = {
            "threads": ARGS.threads,
            "clock": ARGS.clock,
            "repeat": repeat,
            "matmul_peak_gflops": peak,
            "conv": conv_rows,
            "max_pool": pool_rows,
            "naive_vs_fast": naive_rows,
        }
        with open(ARGS.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
