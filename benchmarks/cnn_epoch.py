"""Seconds per CIFAR-10 training epoch of ThreeLayerConvNet: tinyvision vs PyTorch, side by side.

Run: .venv/bin/python benchmarks/cnn_epoch.py [--num-training 49000] [--json results.json]

Both sides train the same network, conv(F filters, k x k, pad (k-1)//2) - relu - 2x2 max pool -
affine(H) - relu - affine(10) - softmax, in float32 on mini-batches of --batch-size, with Adam
(lr 1e-3) and the course's L2 penalty 0.5 * reg * sum(W^2) on the three weights; ours runs
ThreeLayerConvNet.loss plus tinyvision.optim.adam on every parameter (what the Solver does per
iteration), theirs torch.nn + torch.optim.Adam with the same penalty added to the loss. Inputs
are standard-normal images of CIFAR-10's shape (3, 32, 32): the work of every layer is the same
for any pixel values, so no data set is needed. Both use --threads threads (OpenBLAS and
torch.set_num_threads).

The steps of ours and torch alternate, one mini-batch each, so that background load on a shared
machine slows both alike; each side's time is the sum over its own steps after one warm-up
step. With --num-training below 49,000 only that many images (num_training // batch_size
steps) are timed and the epoch time is extrapolated linearly to 49,000 images; the table says
so. Ratio = ours / torch (target: within 2x).
"""

from __future__ import annotations

import argparse
import json
import os
import time

EPOCH_IMAGES = 49000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--num-training",
        type=int,
        default=EPOCH_IMAGES,
        help="images to time (default: one full epoch of 49000); fewer are extrapolated",
    )
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--num-filters", type=int, default=32)
    parser.add_argument("--filter-size", type=int, default=7)
    parser.add_argument("--hidden-dim", type=int, default=500)
    parser.add_argument("--reg", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time; cpu: CPU time of this process over all its threads (less "
        "disturbed by other load on a shared machine)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.num_training < args.batch_size:
        parser.error(f"--num-training {args.num_training} is below one batch of {args.batch_size}")
    return args


ARGS = parse_args()
# OpenBLAS reads its thread count at import, so set it before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tinyvision.classifiers.cnn import ThreeLayerConvNet  # noqa: E402
from tinyvision.optim import adam  # noqa: E402


class Ours:
    """ThreeLayerConvNet plus one Adam update per parameter, as a Solver step."""

    def __init__(self, seed: int) -> None:
        self.model = ThreeLayerConvNet(
            num_filters=ARGS.num_filters,
            filter_size=ARGS.filter_size,
            hidden_dim=ARGS.hidden_dim,
            reg=ARGS.reg,
            dtype=np.float32,
            seed=seed,
            weight_init="kaiming",
        )
        self.configs = {name: {"learning_rate": 1e-3} for name in self.model.params}

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        loss, grads = self.model.loss(X, y)
        for name, w in self.model.params.items():
            self.model.params[name], self.configs[name] = adam(w, grads[name], self.configs[name])
        return loss


class Theirs:
    """The same network and update in torch."""

    def __init__(self, seed: int) -> None:
        torch.manual_seed(seed)
        side = 32 // 2
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(3, ARGS.num_filters, ARGS.filter_size, padding=ARGS.filter_size // 2),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(ARGS.num_filters * side * side, ARGS.hidden_dim),
            torch.nn.ReLU(),
            torch.nn.Linear(ARGS.hidden_dim, 10),
        )
        self.weights = [self.model[i].weight for i in (0, 4, 6)]
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        self.optimizer.zero_grad()
        scores = self.model(torch.from_numpy(X))
        loss = torch.nn.functional.cross_entropy(scores, torch.from_numpy(y))
        loss = loss + 0.5 * ARGS.reg * sum((w * w).sum() for w in self.weights)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


def main() -> int:
    torch.set_num_threads(ARGS.threads)
    rng = np.random.default_rng(0)
    steps = ARGS.num_training // ARGS.batch_size
    images = steps * ARGS.batch_size
    X = rng.standard_normal((images, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, images)
    sides = {"tinyvision": Ours(seed=0), "torch": Theirs(seed=0)}
    clock = time.perf_counter if ARGS.clock == "wall" else time.process_time
    for side in sides.values():
        side.step(X[: ARGS.batch_size], y[: ARGS.batch_size])
    seconds = dict.fromkeys(sides, 0.0)
    for i in range(steps):
        batch = slice(i * ARGS.batch_size, (i + 1) * ARGS.batch_size)
        for name, side in sides.items():
            start = clock()
            side.step(X[batch], y[batch])
            seconds[name] += clock() - start

    scale = EPOCH_IMAGES / images
    note = "" if images == EPOCH_IMAGES else f" (timed {images} images, extrapolated x{scale:.2f})"
    print(
        f"ThreeLayerConvNet, {ARGS.num_filters} filters {ARGS.filter_size}x{ARGS.filter_size}, "
        f"hidden {ARGS.hidden_dim}, batch {ARGS.batch_size}, float32, Adam, {ARGS.threads} "
        f"threads, {ARGS.clock} clock"
    )
    print(f"seconds per {EPOCH_IMAGES}-image epoch{note}")
    header = f"{'':<12} {'ms/batch':>10} {'s/epoch':>10}"
    print(header)
    print("-" * len(header))
    for name, total in seconds.items():
        print(f"{name:<12} {1e3 * total / steps:>10.1f} {total * scale:>10.1f}")
    ratio = seconds["tinyvision"] / seconds["torch"]
    print(f"ratio tinyvision / torch: {ratio:.2f} (target <= 2)")
    if ARGS.json:
        results = {
            "config": vars(ARGS),
            "timed_images": images,
            "extrapolated_to": EPOCH_IMAGES,
            "seconds_per_epoch": {name: total * scale for name, total in seconds.items()},
            "ms_per_batch": {name: 1e3 * total / steps for name, total in seconds.items()},
            "ratio": ratio,
        }
        with open(ARGS.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
