"""The engine's speed matrix: every layer shape the course's nets and our ConvNet use, and one
training step of each net, ours against PyTorch, on 1 and on 2 threads.

Run: python benchmarks/engine_matrix.py [--threads 1,2] [--repeat 15] [--json FILE] [--quick]

Method. Ours and PyTorch's run in this one process, interleaved (ours, torch, ours, torch, ...),
each call timed with the wall clock; a row keeps the minimum of --repeat calls per side after
one untimed warm-up call each, so load from other processes on a shared machine hits both alike
and the minimum estimates what the code itself costs. For each thread count t, ours uses t BLAS
threads (threadpoolctl) and t copy threads (tinyvision.parallel.set_num_threads), PyTorch
torch.set_num_threads(t). Everything is float32. Ratio = ours / PyTorch (below 1: ours faster).

Rows:
- conv forward+backward (dx, dw, db) for every shape of ThreeLayerConvNet (7x7, 3->32 at 32x32)
  and of the ConvNet (3x3, pad 1: 3->32 and 32->32 at 32x32, 32->64 and 64->64 at 16x16,
  64->128 and 128->128 at 8x8) at batch 50 and 100; GFLOP/s count the three products
  (3 * 2 * N * F * H' * W' * C * HH * WW) against the machine's float32 matmul peak, measured
  with a 2048 x 2048 np.matmul at the same thread count.
- max pool 2x2/2, average pool 2x2/2, spatial batch norm (training mode) and ReLU,
  forward+backward, on the ConvNet's three activation shapes at batch 50 and 100.
- one training step (forward, backward, Adam update of every parameter, the L2 penalty on the
  weights) of the FC default, ThreeLayerConvNet (32 7x7 filters, hidden 500, batch 50) and the
  registered ConvNet default, each against a PyTorch twin with the same layers, batch and update
  rule (our L2 penalty 0.5 * reg * |W|^2 is Adam's weight_decay=reg on the same weights).
- peak memory of one ConvNet training step, each side in a fresh subprocess that imports only
  its own library: the high-water mark of the resident set after three
  steps minus the resident set just before the first (model, optimiser and batch already
  built), i.e. the extra memory a step needs at its peak, in the same units for both sides
  (VmRSS and VmHWM of /proc/self/status).
  Ours also reports the peak of NumPy's allocations traced by tracemalloc (NumPy reports its
  buffers to it; PyTorch does not, so it cannot be the common yardstick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from tinyvision import parallel, registry
from tinyvision.classification import Prepared
from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.layers import (
    avg_pool_backward,
    avg_pool_forward,
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from tinyvision.optim import adam

__all__ = ["main"]

Step = Callable[[], object]
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
# (C, H) of the ConvNet's activations at its three stages.
STAGES = ((32, 32), (64, 16), (128, 8))


@dataclass
class Case:
    """One row: a name, the two sides' callables and the floating-point work of one call."""

    group: str
    name: str
    ours: Step
    theirs: Step
    flops: float = 0.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts to run, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per side (min kept)")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    parser.add_argument(
        "--quick", action="store_true", help="tiny batches, 2 repeats, no memory: a smoke run"
    )
    parser.add_argument("--only", default="", help="run only rows whose name contains this")
    parser.add_argument("--memory-child", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.quick:
        args.repeat = 2
    return args


def best_of(cases: list[Case], repeat: int) -> list[dict[str, float]]:
    """Minimum wall and CPU seconds of each case per side, the two sides' calls interleaved.

    The CPU time (time.process_time: this process, all its threads) is recorded beside the
    wall clock: on a loaded machine a call waits for a core without using CPU, so the CPU time
    is the steadier measure of the work itself (for one thread; with two it also counts time
    a thread spends spinning while it waits for the other).
    """
    results = []
    for case in cases:
        case.ours()
        case.theirs()
        best = dict.fromkeys(("ours_wall", "torch_wall", "ours_cpu", "torch_cpu"), float("inf"))
        for _ in range(repeat):
            for side, fn in (("ours", case.ours), ("torch", case.theirs)):
                wall, cpu = time.perf_counter(), time.process_time()
                fn()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                best[f"{side}_wall"] = min(best[f"{side}_wall"], wall)
                best[f"{side}_cpu"] = min(best[f"{side}_cpu"], cpu)
        results.append(best)
    return results


def matmul_peak(repeat: int, size: int) -> float:
    """Best float32 np.matmul throughput in GFLOP/s on (size x size) matrices."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _torch_fwd_bwd(torch, fn: Callable, inputs: list, dout) -> Step:
    """fn(*inputs) then backward(dout), the gradients cleared first."""

    def step() -> None:
        for t in inputs:
            t.grad = None
        fn(*inputs).backward(dout)

    return step


def conv_cases(torch, batches: tuple[int, ...], rng: np.random.Generator) -> list[Case]:
    # (C, F, H, kernel): ThreeLayerConvNet's layer, then the ConvNet's six, stage by stage.
    shapes = [(3, 32, 32, 7), (3, 32, 32, 3), (32, 32, 32, 3)]
    shapes += [(32, 64, 16, 3), (64, 64, 16, 3), (64, 128, 8, 3), (128, 128, 8, 3)]
    cases = []
    for n in batches:
        for c, f, h, k in shapes:
            x = rng.standard_normal((n, c, h, h), dtype=np.float32)
            w = rng.standard_normal((f, c, k, k), dtype=np.float32) * 0.1
            b = rng.standard_normal(f, dtype=np.float32)
            param = {"stride": 1, "pad": k // 2}
            dout = rng.standard_normal((n, f, h, h), dtype=np.float32)

            def ours(x=x, w=w, b=b, param=param, dout=dout) -> None:
                conv_backward_fast(dout, conv_forward_fast(x, w, b, param)[1])

            tensors = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
            theirs = _torch_fwd_bwd(
                torch,
                lambda x, w, b, k=k: torch.nn.functional.conv2d(x, w, b, padding=k // 2),
                tensors,
                torch.from_numpy(dout),
            )
            flops = 3 * 2 * n * f * h * h * c * k * k
            name = f"conv {k}x{k} {c}->{f} at {h}x{h}, batch {n}"
            cases.append(Case("conv f+b", name, ours, theirs, flops))
    return cases


def layer_cases(torch, batches: tuple[int, ...], rng: np.random.Generator) -> list[Case]:
    tf = torch.nn.functional
    cases = []
    for n in batches:
        for c, h in STAGES:
            x = rng.standard_normal((n, c, h, h), dtype=np.float32)
            dout = rng.standard_normal(x.shape, dtype=np.float32)
            dpool = rng.standard_normal((n, c, h // 2, h // 2), dtype=np.float32)
            gamma = rng.standard_normal(c, dtype=np.float32)
            beta = rng.standard_normal(c, dtype=np.float32)
            shape = f"x({n},{c},{h},{h})"
            tx = torch.from_numpy(x).requires_grad_()
            tg, tb = (torch.from_numpy(a).requires_grad_() for a in (gamma, beta))
            running = [torch.zeros(c), torch.ones(c)]

            def ours_max(x=x, d=dpool) -> None:
                max_pool_backward_fast(d, max_pool_forward_fast(x, POOL_PARAM)[1])

            def ours_avg(x=x, d=dpool) -> None:
                avg_pool_backward(d, avg_pool_forward(x, POOL_PARAM)[1])

            def ours_bn(x=x, g=gamma, b=beta, d=dout) -> None:
                bn_param = {"mode": "train"}
                spatial_batchnorm_backward(d, spatial_batchnorm_forward(x, g, b, bn_param)[1])

            def ours_relu(x=x, d=dout) -> None:
                relu_backward(d, relu_forward(x)[1])

            def torch_bn(x, g, b, running=running):
                return tf.batch_norm(x, *running, g, b, training=True, momentum=0.1)

            rows = [
                ("max pool 2x2", ours_max, lambda x: tf.max_pool2d(x, 2), [tx], dpool),
                ("avg pool 2x2", ours_avg, lambda x: tf.avg_pool2d(x, 2), [tx], dpool),
                ("spatial batch norm", ours_bn, torch_bn, [tx, tg, tb], dout),
                ("relu", ours_relu, torch.relu, [tx], dout),
            ]
            for name, ours, fn, inputs, d in rows:
                theirs = _torch_fwd_bwd(torch, fn, inputs, torch.from_numpy(d))
                cases.append(Case(f"{name} f+b", f"{name} {shape}", ours, theirs))
    return cases


# --- whole training steps ------------------------------------------------------------------


class OurStep:
    """model.loss(X, y) and one Adam update of every parameter: what the Solver does per batch."""

    def __init__(self, model, learning_rate: float, X: np.ndarray, y: np.ndarray) -> None:
        self.model, self.X, self.y = model, X, y
        self.configs = {name: {"learning_rate": learning_rate} for name in model.params}

    def __call__(self) -> None:
        _, grads = self.model.loss(self.X, self.y)
        params = self.model.params
        for name in list(params):
            params[name], self.configs[name] = adam(params[name], grads[name], self.configs[name])


class TorchStep:
    """The twin's forward, cross-entropy, backward and Adam step (weight_decay = reg on weights)."""

    def __init__(self, torch, net, lr: float, reg: float, X: np.ndarray, y: np.ndarray) -> None:
        self.torch, self.net = torch, net.train()
        weights = [m.weight for m in net.modules() if isinstance(m, WEIGHTED(torch))]
        others = [p for p in net.parameters() if all(p is not w for w in weights)]
        self.optimizer = torch.optim.Adam(
            [{"params": weights, "weight_decay": reg}, {"params": others, "weight_decay": 0.0}],
            lr=lr,
        )
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def __call__(self) -> None:
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.net(self.X), self.y)
        loss.backward()
        self.optimizer.step()


def WEIGHTED(torch) -> tuple[type, ...]:  # noqa: N802 - a constant that needs torch
    return (torch.nn.Linear, torch.nn.Conv2d)


def _default_config(model: str) -> TrainConfig:
    return resolve_config(TrainConfig(model=model, dataset="cifar10", seed=0))


def _images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((n, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, n)


def fc_step(torch, quick: bool, rng) -> Case:
    config = _default_config("fc")
    n = 10 if quick else config.batch_size
    X, y = _images(n, rng)
    X = X.reshape(n, -1)
    prepared = Prepared(data={"y_train": y}, prep={}, X={"train": X})
    ours = OurStep(registry.get("fc").build(config, prepared), config.learning_rate, X, y)
    layers, width = [], X.shape[1]
    for hidden in config.hidden_dims:
        layers += [torch.nn.Linear(width, hidden), torch.nn.BatchNorm1d(hidden), torch.nn.ReLU()]
        layers.append(torch.nn.Dropout(config.dropout))
        width = hidden
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
    theirs = TorchStep(torch, net, config.learning_rate, config.reg, X, y)
    dims = "-".join(map(str, config.hidden_dims))
    return Case("train step", f"FC default step ({dims}, bn, dropout, batch {n})", ours, theirs)


def cnn_step(torch, quick: bool, rng) -> Case:
    n, filters, size, hidden, reg, lr = (10 if quick else 50), 32, 7, 500, 1e-3, 1e-3
    X, y = _images(n, rng)
    model = ThreeLayerConvNet(
        num_filters=filters, filter_size=size, hidden_dim=hidden, reg=reg, seed=0,
        weight_init="kaiming",
    )  # fmt: skip
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, filters, size, padding=size // 2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(filters * 16 * 16, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 10),
    )
    name = f"ThreeLayerConvNet step (32 7x7, hidden 500, batch {n})"
    return Case("train step", name, OurStep(model, lr, X, y), TorchStep(torch, net, lr, reg, X, y))


def torch_convnet(torch, channels: tuple[int, ...], blocks: int):
    """The PyTorch twin of tinyvision's ConvNet (plain conv-bn-relu stages)."""
    layers, width = [], 3
    for out in channels:
        for _ in range(blocks):
            layers += [
                torch.nn.Conv2d(width, out, 3, padding=1),
                torch.nn.BatchNorm2d(out),
                torch.nn.ReLU(),
            ]
            width = out
        layers.append(torch.nn.MaxPool2d(2))
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(width, 10)]
    return torch.nn.Sequential(*layers)


def convnet_steps(quick: bool, rng, side: str) -> tuple[OurStep | TorchStep, str]:
    """The registered ConvNet default's training step, on our side or PyTorch's."""
    config = _default_config("convnet")
    n = 10 if quick else config.batch_size
    X, y = _images(n, rng)
    name = f"ConvNet default step ({'-'.join(map(str, config.channels))}, batch {n})"
    if side == "ours":
        prepared = Prepared(data={"y_train": y}, prep={}, X={"train": X})
        model = registry.get("convnet").build(config, prepared)
        return OurStep(model, config.learning_rate, X, y), name
    import torch

    net = torch_convnet(torch, config.channels, config.blocks_per_stage)
    return TorchStep(torch, net, config.learning_rate, config.reg, X, y), name


def step_cases(torch, quick: bool, rng) -> list[Case]:
    ours, name = convnet_steps(quick, rng, "ours")
    theirs, _ = convnet_steps(quick, np.random.default_rng(0), "torch")
    theirs.X, theirs.y = torch.from_numpy(ours.X), torch.from_numpy(ours.y.astype(np.int64))
    return [
        fc_step(torch, quick, rng),
        cnn_step(torch, quick, rng),
        Case("train step", name, ours, theirs),
    ]


# --- peak memory ---------------------------------------------------------------------------


def _resident_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak so far) of this process in KiB, from /proc/self/status.

    Not getrusage's ru_maxrss: Linux carries it over from the parent through fork and exec,
    so a child started by a large benchmark process would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def memory_child(side: str, threads: int) -> dict:
    """Run three ConvNet training steps; report the peak resident memory above the start."""
    import tracemalloc

    if side == "torch":
        import torch

        torch.set_num_threads(threads)
    parallel.set_num_threads(threads)
    with threadpool_limits(threads):
        step, _ = convnet_steps(False, np.random.default_rng(0), side)
        before = _resident_kib("VmRSS")
        if side == "ours":
            tracemalloc.start()
        for _ in range(3):
            step()
        result = {"peak_step_mib": (_resident_kib("VmHWM") - before) / 1024}
        if side == "ours":
            result["numpy_traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    return result


def measure_memory(threads: int) -> dict:
    """memory_child on each side, each in its own interpreter."""
    results = {}
    for side in ("ours", "torch"):
        command = [sys.executable, __file__, "--memory-child", side, "--threads", str(threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[side] = json.loads(done.stdout)
    return results


# --- the matrix ----------------------------------------------------------------------------


def run_matrix(args: argparse.Namespace) -> dict:
    import torch

    batches = (4,) if args.quick else (50, 100)
    peak_size = 256 if args.quick else 2048
    results: dict = {"repeat": args.repeat, "threads": {}}
    for threads in args.threads:
        torch.set_num_threads(threads)
        parallel.set_num_threads(threads)
        with threadpool_limits(threads):
            rng = np.random.default_rng(0)
            cases = conv_cases(torch, batches, rng) + layer_cases(torch, batches, rng)
            cases += step_cases(torch, args.quick, rng)
            cases = [case for case in cases if args.only in case.name]
            peak = matmul_peak(args.repeat, peak_size)
            rows = []
            for case, best in zip(cases, best_of(cases, args.repeat), strict=True):
                ours, theirs = best["ours_wall"], best["torch_wall"]
                row = {"group": case.group, "case": case.name, "ours_ms": ours * 1e3}
                row |= {"torch_ms": theirs * 1e3, "ratio": ours / theirs}
                row |= {"ratio_cpu": best["ours_cpu"] / max(best["torch_cpu"], 1e-9)}
                if case.flops:
                    row["ours_gflops"] = case.flops / ours / 1e9
                    row["torch_gflops"] = case.flops / theirs / 1e9
                rows.append(row)
                print_row(threads, row, peak)
            entry = {"matmul_peak_gflops": peak, "rows": rows}
            if not args.quick:
                entry["memory"] = measure_memory(threads)
                print_memory_row(threads, entry["memory"])
            results["threads"][str(threads)] = entry
    return results


HEADER = (
    f"{'thr':>3} {'case':<54} {'ours ms':>9} {'torch ms':>9} {'ratio':>6} {'cpu':>5} "
    f"{'GFLOP/s ours/torch':>18} {'of peak':>7}"
)


def print_row(threads: int, row: dict, peak: float) -> None:
    gflops = of_peak = ""
    if "ours_gflops" in row:
        gflops = f"{row['ours_gflops']:.0f} / {row['torch_gflops']:.0f}"
        of_peak = f"{row['ours_gflops'] / peak:.0%}"
    print(
        f"{threads:>3} {row['case']:<54} {row['ours_ms']:9.2f} {row['torch_ms']:9.2f} "
        f"{row['ratio']:6.2f} {row['ratio_cpu']:5.2f} {gflops:>18} {of_peak:>7}",
        flush=True,
    )


def print_memory_row(threads: int, memory: dict) -> None:
    """The step's peak memory as a row of the table, MiB in the time columns."""
    ours, theirs = memory["ours"]["peak_step_mib"], memory["torch"]["peak_step_mib"]
    print(
        f"{threads:>3} {'ConvNet step peak memory, MiB (not ms)':<54} {ours:9.0f} "
        f"{theirs:9.0f} {ours / theirs:6.2f}",
        flush=True,
    )


def machine() -> dict[str, str]:
    """What the numbers depend on: CPU, cores, library versions and the BLAS kernels in use."""
    import torch
    from threadpoolctl import threadpool_info

    model = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    blas = [f"{i['internal_api']} {i.get('architecture', '')}" for i in threadpool_info()]
    return {
        "cpu": f"{model} x {os.cpu_count()}",
        "numpy": np.__version__,
        "torch": torch.__version__,
        "numpy BLAS": ", ".join(b for b in blas if b.startswith("openblas")),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.threads[0])))
        return 0
    results_machine = machine()
    print(", ".join(f"{key} {value}" for key, value in results_machine.items()))
    print(HEADER)
    print("-" * len(HEADER))
    results = {"machine": results_machine, **run_matrix(args)}
    for threads, entry in results["threads"].items():
        print(f"{threads} thread(s): float32 matmul peak {entry['matmul_peak_gflops']:.0f} GFLOP/s")
        if "memory" in entry:
            memory = entry["memory"]
            print(
                f"  ConvNet step peak memory: ours {memory['ours']['peak_step_mib']:.0f} MiB "
                f"(NumPy traced {memory['ours']['numpy_traced_peak_mib']:.0f} MiB), "
                f"torch {memory['torch']['peak_step_mib']:.0f} MiB"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
