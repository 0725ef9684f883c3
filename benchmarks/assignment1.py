"""Assignment-1 accuracy on CIFAR-10: our models at their CLI defaults vs scikit-learn's.

Each of our rows is exactly `tinyvision train --model M --dataset cifar10 [--features hog,hsv]`
(the pipeline with the tuned defaults), so the table shows what a user gets without searching.
The peers are trained on the same preprocessed matrices:
scikit-learn's SGDClassifier(loss="hinge") and LogisticRegression.

    python benchmarks/assignment1.py --data-dir ~/.cache/tinyvision-dev [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier

from tinyvision.config import TrainConfig, resolve_config
from tinyvision.pipeline import (
    apply_preprocessing,
    feature_matrices,
    fit_preprocessing,
    load_dataset,
    train_run,
)

OURS = [
    ("svm", ()),
    ("softmax", ()),
    ("two-layer", ()),
    ("svm", ("hog", "hsv")),
    ("two-layer", ("hog", "hsv")),
]
TARGETS = {
    ("svm", ()): ("test", 0.39),
    ("softmax", ()): ("test", 0.40),
    ("two-layer", ()): ("test", 0.52),
    ("svm", ("hog", "hsv")): ("val", 0.42),
    ("two-layer", ("hog", "hsv")): ("test", 0.56),
}


def run_ours(data_dir: str | None, num_training: int | None, work: Path) -> list[dict]:
    rows = []
    for model, features in OURS:
        config = TrainConfig(
            model=model,
            dataset="cifar10",
            data_dir=data_dir,
            features=features,
            num_training=num_training,
            out=str(work / f"{model}-{'-'.join(features) or 'pixels'}"),
        )
        result = train_run(config, verbose=False)
        split, target = TARGETS[(model, features)]
        rows.append(
            {
                "model": f"tinyvision {model}" + (" on HOG+HSV" if features else ""),
                "test_acc": result.metrics["test_acc"],
                "val_acc": result.metrics["val_acc"],
                "seconds": result.metrics["seconds"],
                "target": f"{split} >= {target}",
                "met": result.metrics[f"{split}_acc"] >= target,
            }
        )
    return rows


def run_peers(data_dir: str | None, num_training: int | None) -> list[dict]:
    rows = []
    for features in ((), ("hog", "hsv")):
        config = resolve_config(
            TrainConfig(
                model="svm",
                dataset="cifar10",
                data_dir=data_dir,
                features=features,
                num_training=num_training,
            )
        )
        data = load_dataset(config)
        matrices = feature_matrices(config, data, ("train", "val", "test"), verbose=False)
        prep = fit_preprocessing(config, matrices["train"])
        X = {s: apply_preprocessing(config, m, prep)[:, :-1] for s, m in matrices.items()}
        if not features:
            # Raw pixels span hundreds; the solvers converge far faster on unit-scale inputs.
            X = {s: m / 255.0 for s, m in X.items()}
        peers = [
            (
                "sklearn SGDClassifier(hinge)",
                SGDClassifier(loss="hinge", alpha=1e-3, max_iter=20, tol=None, random_state=0),
            ),
            (
                "sklearn LogisticRegression",
                LogisticRegression(max_iter=200, C=1e-3 if not features else 1.0),
            ),
        ]
        for name, estimator in peers:
            start = time.perf_counter()
            estimator.fit(X["train"], data["y_train"])
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "model": name + (" on HOG+HSV" if features else ""),
                    "test_acc": float(estimator.score(X["test"], data["y_test"])),
                    "val_acc": float(estimator.score(X["val"], data["y_val"])),
                    "seconds": round(seconds, 3),
                    "target": "",
                    "met": None,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py")
    parser.add_argument("--num-training", type=int, help="fewer training images, for a quick run")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        rows = run_ours(args.data_dir, args.num_training, Path(work))
    if not args.skip_peers:
        rows += run_peers(args.data_dir, args.num_training)
    print(f"{'model':<42}{'test acc':>9}{'val acc':>9}{'seconds':>9}  target")
    for row in rows:
        verdict = "" if row["met"] is None else ("met" if row["met"] else "MISSED")
        print(
            f"{row['model']:<42}{row['test_acc']:>9.4f}{row['val_acc']:>9.4f}"
            f"{row['seconds']:>9.1f}  {row['target']} {verdict}"
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "numpy": np.__version__}, indent=2))


if __name__ == "__main__":
    main()
