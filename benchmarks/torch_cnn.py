"""torch-cnn on CIFAR-10, epoch by epoch: seconds and test accuracy, next to the NumPy ConvNet.

Run: .venv/bin/python benchmarks/torch_cnn.py --data-dir ~/.cache/tinyvision-dev [--threads 2]
     [--epochs 10] [--numpy-images 2000] [--json results.json]

The torch side is exactly `tinyvision train --model torch-cnn --dataset cifar10` at its
defaults (the same config, data preparation, model and Lightning trainer,
tinyvision.torch.run.fit), with one addition: after every epoch the test split is scored, so the
table shows test accuracy per epoch (the run itself keeps the epoch with the best validation
accuracy). Seconds per epoch are wall clock of the training epoch and its validation, without
the extra test scoring.

The NumPy side times the training steps of the engine's own ConvNet (`--model convnet`, its
CIFAR-10 defaults: loss, gradients and Adam per mini-batch) on the first --numpy-images training
images and extrapolates to 49,000; its accuracy is not measured
here (README: 18 epochs, two threads). Ratio = NumPy seconds per epoch / torch seconds per
epoch, both with --threads threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

EPOCH_IMAGES = 49000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py")
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads")
    parser.add_argument("--epochs", type=int, help="default: torch-cnn's own (10)")
    parser.add_argument(
        "--num-training", type=int, help="train torch-cnn on fewer images (a quick check)"
    )
    parser.add_argument(
        "--numpy-images",
        type=int,
        default=2000,
        help="training images to time the NumPy ConvNet on (0: skip that row)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results to this file")
    return parser.parse_args(argv)


def torch_epochs(args: argparse.Namespace) -> list[dict[str, float]]:
    """Train torch-cnn at its defaults; per epoch: seconds, val and test accuracy."""
    import numpy as np
    import pytorch_lightning as pl
    import torch

    from tinyvision import registry
    from tinyvision.config import TrainConfig, resolve_config
    from tinyvision.torch.run import fit

    config = resolve_config(
        TrainConfig(
            model="torch-cnn",
            dataset="cifar10",
            data_dir=args.data_dir,
            epochs=args.epochs,
            num_training=args.num_training,
        )
    )
    spec = registry.get(config.model)
    prepared = spec.task.prepare(config, spec, False)
    model = spec.build(config, prepared)
    X_test, y_test = prepared.X["test"], prepared.data["y_test"]
    rows: list[dict[str, float]] = []

    class EpochTable(pl.Callback):
        def on_train_epoch_start(self, trainer: pl.Trainer, module: Any) -> None:
            self.started = time.perf_counter()

        def on_validation_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
            seconds = time.perf_counter() - self.started
            with torch.no_grad():
                test_acc = float(np.mean(model.predict(X_test) == y_test))
            module.train()
            val_acc = float(trainer.callback_metrics["val_acc"])
            rows.append({"epoch": len(rows) + 1, "seconds": seconds, "val_acc": val_acc,
                         "test_acc": test_acc})  # fmt: skip
            print(f"epoch {len(rows):>2}  {seconds:7.1f} s  val {val_acc:.4f}  test {test_acc:.4f}",
                  flush=True)  # fmt: skip

    fit(model, config, prepared, None, verbose=False, extra_callbacks=[EpochTable()])
    return rows


def numpy_epoch_seconds(args: argparse.Namespace) -> float:
    """Seconds the NumPy ConvNet's training steps take for 49,000 images (extrapolated).

    Each step is what the Solver does per mini-batch: loss and gradients, then Adam on every
    parameter; the Solver's per-epoch scoring is left out, as on the torch side.
    """
    from tinyvision import optim, registry
    from tinyvision.config import TrainConfig, resolve_config

    config = resolve_config(
        TrainConfig(
            model="convnet",
            dataset="cifar10",
            data_dir=args.data_dir,
            num_training=args.numpy_images,
        )
    )
    spec = registry.get(config.model)
    prepared = spec.task.prepare(config, spec, False)
    model = spec.build(config, prepared)
    X, y = prepared.X["train"], prepared.data["y_train"]
    states: dict[str, dict[str, Any]] = {name: {} for name in model.params}
    started = time.perf_counter()
    for start in range(0, len(y), config.batch_size):
        _, grads = model.loss(
            X[start : start + config.batch_size], y[start : start + config.batch_size]
        )
        for name, grad in grads.items():
            model.params[name], states[name] = optim.adam(model.params[name], grad, states[name])
    return (time.perf_counter() - started) * EPOCH_IMAGES / len(y)


def main() -> int:
    args = parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from threadpoolctl import threadpool_limits

    from tinyvision import parallel

    parallel.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        rows = torch_epochs(args)
        numpy_seconds = numpy_epoch_seconds(args) if args.numpy_images else None
    torch_seconds = sum(r["seconds"] for r in rows) / len(rows)
    print()
    print("| epoch | seconds | val acc | test acc |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['epoch']} | {r['seconds']:.1f} | {r['val_acc']:.4f} | {r['test_acc']:.4f} |")
    print(f"\ntorch-cnn: {torch_seconds:.1f} s per epoch, {sum(r['seconds'] for r in rows):.0f} s "
          f"in all, {args.threads} threads")  # fmt: skip
    results: dict[str, Any] = {"threads": args.threads, "torch_cnn": rows}
    if numpy_seconds is not None:
        ratio = numpy_seconds / torch_seconds
        print(f"NumPy ConvNet: {numpy_seconds:.1f} s per epoch (from {args.numpy_images} images);"
              f" ratio NumPy / torch-cnn {ratio:.1f}")  # fmt: skip
        results.update(numpy_convnet_epoch_seconds=numpy_seconds, ratio=ratio)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
