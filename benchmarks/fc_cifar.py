"""The best fully-connected net on CIFAR-10: accuracy of the defaults, and speed against PyTorch.

(a) Trains `tinyvision train --model fc --dataset cifar10` with its DEFAULT settings (through
    pipeline.train_run, so the numbers prove the defaults) and reports train/val/test accuracy
    against the target test accuracy of 0.57.
(b) Times one epoch of the same network (affine - batchnorm - relu - dropout blocks, same widths,
    batch size, optimiser, learning rate and L2 strength) on the same training images, ours
    (NumPy, float32) and PyTorch (float32, CPU, 2 threads), and prints the ratio.

    .venv/bin/python benchmarks/fc_cifar.py                       # full run (tens of minutes)
    .venv/bin/python benchmarks/fc_cifar.py --epochs 1 --num-training 5000   # quick check
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from tinyvision import optim, registry
from tinyvision.classification import Prepared
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.files import to_jsonable
from tinyvision.pipeline import train_run

__all__ = ["main", "time_ours", "time_torch"]

TARGET_TEST_ACC = 0.57
THREADS = 2
NET_FIELDS = (
    "hidden_dims",
    "normalization",
    "dropout",
    "weight_init",
    "weight_scale",
    "update_rule",
    "learning_rate",
    "lr_decay",
    "schedule",
    "augment",
    "reg",
    "batch_size",
    "epochs",
    "num_training",
    "dtype",
    "seed",
)


def _training_matrix(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """X_train (N, 3072) and y_train (N,) as train_run feeds them to the net (before any
    augmentation, which neither timed side includes)."""
    spec = registry.get(config.model)
    prepared = spec.task.prepare(config, spec, verbose=False, splits=("train",))
    X = prepared.X["train"]
    return X.reshape(len(X), -1), prepared.data["y_train"]


def time_ours(config: TrainConfig, X: np.ndarray, y: np.ndarray) -> float:
    """Seconds for one epoch of the config's net: the Solver's updates, without evaluation."""
    prepared = Prepared(data={"y_train": y}, prep={}, X={"train": X})
    model = registry.get(config.model).build(config, prepared)
    update = optim.get_update_rule(config.update_rule)
    configs = {name: {"learning_rate": config.learning_rate} for name in model.params}
    rng = np.random.default_rng(config.seed)
    iterations = max(len(X) // config.batch_size, 1)

    def step() -> None:
        batch = rng.choice(len(X), config.batch_size)
        _, grads = model.loss(X[batch], y[batch])
        for name, w in model.params.items():
            model.params[name], configs[name] = update(w, grads[name], configs[name])

    # One untimed update first, as for PyTorch, so both measure steady-state updates.
    step()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return time.perf_counter() - start


def time_torch(config: TrainConfig, X: np.ndarray, y: np.ndarray) -> float:
    """Seconds for one epoch of the same net, optimiser and batches in PyTorch (float32)."""
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(config.seed)
    norms = {"batchnorm": torch.nn.BatchNorm1d, "layernorm": torch.nn.LayerNorm}
    layers: list[torch.nn.Module] = []
    width = X.shape[1]
    for hidden in config.hidden_dims:
        layers.append(torch.nn.Linear(width, hidden))
        if config.normalization != "none":
            layers.append(norms[config.normalization](hidden))
        layers.append(torch.nn.ReLU())
        if config.dropout > 0:
            layers.append(torch.nn.Dropout(config.dropout))
        width = hidden
    layers.append(torch.nn.Linear(width, 10))
    net = torch.nn.Sequential(*layers).train()
    # Our loss adds 0.5 * reg * ||W||^2 for the weight matrices only: the same gradient as
    # weight_decay=reg on the Linear weights, none on biases and normalisation parameters.
    weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    others = [p for p in net.parameters() if all(p is not w for w in weights)]
    optimisers = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    optimiser = optimisers[config.update_rule](
        [{"params": weights, "weight_decay": config.reg}, {"params": others, "weight_decay": 0}],
        lr=config.learning_rate,
    )
    inputs = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    labels = torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(config.seed)
    iterations = max(len(X) // config.batch_size, 1)

    def step() -> None:
        batch = torch.from_numpy(rng.choice(len(X), config.batch_size))
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(inputs[batch]), labels[batch])
        loss.backward()
        optimiser.step()

    # The first update allocates the optimiser state and warms up the kernels: not timed.
    step()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return time.perf_counter() - start


def _row(name: str, value: Any) -> str:
    return f"  {name:34} {value}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="training epochs (default: the default's)")
    parser.add_argument("--num-training", type=int, help="training images (default: 49000)")
    parser.add_argument("--data-dir", help="the cifar-10-batches-py folder (default: standard)")
    parser.add_argument("--out", help="run folder of the training run")
    parser.add_argument("--skip-train", action="store_true", help="only time one epoch")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()

    config = TrainConfig(
        model="fc",
        dataset="cifar10",
        epochs=args.epochs,
        num_training=args.num_training,
        data_dir=args.data_dir,
        out=args.out,
    )
    resolved = resolve_config(config)
    results: dict[str, Any] = {
        "config": {name: getattr(resolved, name) for name in NET_FIELDS},
        "target_test_acc": TARGET_TEST_ACC,
    }
    with threadpool_limits(THREADS):
        if not args.skip_train:
            run = train_run(config, verbose=False)
            results["train"] = {**run.metrics, "run_dir": str(run.run_dir)}
        X, y = _training_matrix(resolved)
        ours = time_ours(resolved, X, y)
    torch_seconds = time_torch(resolved, X, y)
    results["epoch_seconds"] = {
        "images": len(X),
        "iterations": max(len(X) // resolved.batch_size, 1),
        "ours": ours,
        "torch": torch_seconds,
        "ratio": ours / torch_seconds,
    }

    schedule = "cosine" if resolved.schedule == "cosine" else f"decay {resolved.lr_decay:g}"
    print(
        "fully-connected net on CIFAR-10, default settings of `tinyvision train --model fc "
        "--dataset cifar10`"
    )
    print(_row("hidden dims", resolved.hidden_dims))
    print(_row("normalization / dropout", f"{resolved.normalization} / {resolved.dropout}"))
    print(
        _row(
            "optimiser",
            f"{resolved.update_rule} lr {resolved.learning_rate:g} {schedule} "
            f"reg {resolved.reg:g}, batch {resolved.batch_size}, {resolved.epochs} epochs",
        )
    )
    if "train" in results:
        metrics = results["train"]
        reached = metrics["test_acc"] >= TARGET_TEST_ACC
        print(
            _row("train / val accuracy", f"{metrics['train_acc']:.4f} / {metrics['val_acc']:.4f}")
        )
        print(
            _row(
                "test accuracy",
                f"{metrics['test_acc']:.4f}  (target >= {TARGET_TEST_ACC}: "
                f"{'reached' if reached else 'NOT reached'})",
            )
        )
        print(_row("train_run seconds (all epochs)", f"{metrics['total_seconds']:.1f}"))
    epoch = results["epoch_seconds"]
    print(
        f"\none epoch, {epoch['images']} images, {epoch['iterations']} updates, float32, "
        f"{THREADS} threads"
    )
    print(f"  {'':12} {'seconds':>10} {'ratio':>8}")
    print(f"  {'tinyvision':12} {ours:10.2f} {ours / torch_seconds:8.2f}")
    print(f"  {'pytorch':12} {torch_seconds:10.2f} {1.0:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(to_jsonable(results), indent=2) + "\n")


if __name__ == "__main__":
    main()
