"""Assignment 1 side by side: tinyvision's kNN, linear SVM, softmax and two-layer net against
scikit-learn's, on the same prepared matrices, each side tuned the same way.

    python benchmarks/assignment1.py --data-dir ~/.cache/tinyvision-dev --json a1.json
    python benchmarks/assignment1.py --num-training 2000 --num-test 500    # small mode, ~40 s
    python benchmarks/assignment1.py --dataset digits                        # offline, 10 s

The full CIFAR-10 run trains every grid point of every row on 49,000 images: expect it to take
on the order of half an hour with one thread.

What both sides share:
- Data. The matrices are prepared once, before any timing, and both sides get the very same
  arrays: raw pixels centred by the training mean and divided by their overall standard
  deviation, or HOG + hue-histogram features standardised per feature. Feature extraction is
  timed on a row of its own (its cost is the same whichever classifier follows).
- Tuning. Every classifier tries the same number of settings and keeps the one with the best
  accuracy on the same validation split; the test split is scored once, for that setting.
  Regularisation strengths come from one grid of lambda, the weight of ||W||^2 in the mean loss,
  turned into each library's own parameter (ours: reg = lambda for the linear models, 2 lambda
  for the net; SGDClassifier alpha = 2 lambda; LogisticRegression C = 1 / (2 N lambda);
  MLPClassifier alpha = 2 B lambda). Models trained by epochs run the same number of epochs E,
  are scored on the validation split after each one, and keep their best epoch (tinyvision's
  Solver does this itself); LogisticRegression's lbfgs has no epochs and runs to convergence
  or to its default limit of 100 iterations (the row shows how many it took). kNN tries the
  same values of k. Learning rates are not searched: ours are tinyvision's defaults (rescaled
  to unit-variance pixels), scikit-learn's are its own (SGDClassifier's "optimal" schedule,
  MLPClassifier's Adam at 1e-3).
- Timing. `fit s` is training the chosen setting from the prepared matrices (all E epochs with
  their validation scoring, which both sides do; our linear models' bias column included),
  `predict s` labelling the test split, `search s` the whole grid. Both use the same BLAS
  (`--threads` limits it for both).

Imports only the data loaders, the classifiers and the features of tinyvision, not its
training pipeline, so the rows measure the classifiers and nothing around them.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import tinyvision
from tinyvision.classifiers.fc_net import TwoLayerNet
from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor
from tinyvision.classifiers.linear_classifier import LinearSVM, Softmax
from tinyvision.data_utils import get_CIFAR10_data, load_digits_data
from tinyvision.features import color_histogram_hsv, extract_features, hog_feature
from tinyvision.solver import Solver

MODELS = ("knn", "svm", "softmax", "two-layer")
SPLITS = ("train", "val", "test")
INPUTS = ("pixels", "features")
BATCH_SIZE = 200
K_GRID = (1, 5, 10, 20)
LINEAR_LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
NET_LAMBDAS = (1e-5, 1e-4, 1e-3)
# Epochs E per (dataset, model, inputs), the same for both sides.
EPOCHS = {
    ("cifar10", "svm", "pixels"): 20,
    ("cifar10", "softmax", "pixels"): 20,
    ("cifar10", "two-layer", "pixels"): 20,
    ("cifar10", "svm", "features"): 10,
    ("cifar10", "softmax", "features"): 10,
    ("cifar10", "two-layer", "features"): 10,
    ("digits", "svm", "pixels"): 50,
    ("digits", "softmax", "pixels"): 50,
    ("digits", "two-layer", "pixels"): 20,
    ("digits", "svm", "features"): 20,
    ("digits", "softmax", "features"): 20,
    ("digits", "two-layer", "features"): 20,
}
# Our learning rates: `tinyvision train`'s defaults. For pixels those were tuned on raw centred
# values (std s: 63 on CIFAR-10, 0.27 on the digits scaled to [0, 1]); on the unit-variance
# pixels here the same linear model needs lr * s^2 (and reg / s^2, which the lambda grid covers).
# The net on pixels starts from Kaiming weights, as unit-variance inputs call for; its CIFAR-10
# rate was picked from 1e-2, 3e-2 and 1e-1 in a 10-epoch run on 5,000 training images (scored on
# images 5,000-5,999 of the training batches, not the validation split of a full run); the
# digits' 0.1 was not searched.
OURS = {
    ("cifar10", "svm", "pixels"): {"learning_rate": 2e-3, "lr_decay": 0.9},
    ("cifar10", "softmax", "pixels"): {"learning_rate": 4e-2, "lr_decay": 0.9},
    ("cifar10", "two-layer", "pixels"): {
        "learning_rate": 3e-2,
        "lr_decay": 0.95,
        "weight_init": "kaiming",
    },
    ("digits", "svm", "pixels"): {"learning_rate": 2.2e-2, "lr_decay": 1.0},
    ("digits", "softmax", "pixels"): {"learning_rate": 7.3e-2, "lr_decay": 1.0},
    ("digits", "two-layer", "pixels"): {
        "learning_rate": 0.1,
        "lr_decay": 0.95,
        "weight_init": "kaiming",
    },
}
# On standardised features the defaults apply as they are, for both data sets; softmax has none
# there, and takes ten times the SVM's rate (its gradients are bounded by 1 per example, the
# hinge's by the number of classes).
OURS_FEATURES = {
    "svm": {"learning_rate": 1e-2, "lr_decay": 1.0},
    "softmax": {"learning_rate": 1e-1, "lr_decay": 1.0},
    "two-layer": {
        "learning_rate": 0.3,
        "lr_decay": 0.95,
        "weight_init": "gaussian",
        "weight_scale": 1e-2,
    },
}


@dataclass
class Trial:
    """One setting of the grid, trained: its validation accuracy, fit time and predictor."""

    setting: str
    val_acc: float
    seconds: float
    predict: Callable[[np.ndarray], np.ndarray]


@dataclass
class Task:
    """What one contender is trained on: the shared matrices and the shared budget."""

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    epochs: int
    ours: dict[str, Any]
    hidden_dim: int
    seed: int

    def score(self, model: Any) -> float:
        """Validation accuracy of a scikit-learn-style model."""
        return accuracy(model.predict, self.X["val"], self.y["val"])


def accuracy(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(X) == y))


def best_epoch(
    model: Any, train_epoch: Callable[[int], None], epochs: int, score: Callable[[Any], float]
) -> tuple[Any, int, float]:
    """Train for `epochs`, scoring the validation split after each; the best copy of model,
    its epoch (1-based) and its validation accuracy."""
    best, best_at, best_acc = model, 0, -1.0
    for epoch in range(epochs):
        train_epoch(epoch)
        acc = score(model)
        if acc > best_acc:
            best, best_at, best_acc = copy.deepcopy(model), epoch + 1, acc
    return best, best_at, best_acc


def with_bias(X: np.ndarray) -> np.ndarray:
    """The course's bias trick: a column of ones after the features."""
    return np.hstack([X, np.ones((len(X), 1), dtype=X.dtype)])


# ------------------------------------------------------------------------- the contenders
# Each is a generator of Trials, one per grid point, so that the caller times nothing but them.


def ours_knn(task: Task) -> Iterator[Trial]:
    for k in K_GRID:
        start = time.perf_counter()
        model = KNearestNeighbor()
        model.train(task.X["train"], task.y["train"])
        seconds = time.perf_counter() - start

        def predict(X, model=model, k=k):
            return model.predict(X, k=k)

        yield Trial(f"k={k}", accuracy(predict, task.X["val"], task.y["val"]), seconds, predict)


def sklearn_knn(task: Task) -> Iterator[Trial]:
    for k in K_GRID:
        start = time.perf_counter()
        model = KNeighborsClassifier(n_neighbors=k, algorithm="brute")
        model.fit(task.X["train"], task.y["train"])
        seconds = time.perf_counter() - start
        acc = accuracy(model.predict, task.X["val"], task.y["val"])
        yield Trial(f"k={k}", acc, seconds, model.predict)


def _ours_linear(cls: type, task: Task) -> Iterator[Trial]:
    lr, decay = task.ours["learning_rate"], task.ours["lr_decay"]
    steps = math.ceil(len(task.y["train"]) / BATCH_SIZE)
    for lam in LINEAR_LAMBDAS:
        start = time.perf_counter()
        X_train, X_val = with_bias(task.X["train"]), with_bias(task.X["val"])
        model = cls(seed=task.seed)

        def train_epoch(epoch, model=model, X_train=X_train, lam=lam):
            # One call per epoch at the decayed rate is exactly train(..., lr_decay=decay).
            model.train(X_train, task.y["train"], lr * decay**epoch, lam, steps, BATCH_SIZE)

        def score(m, X_val=X_val):
            return float(np.mean(m.predict(X_val) == task.y["val"]))

        best, at, acc = best_epoch(model, train_epoch, task.epochs, score)
        seconds = time.perf_counter() - start
        yield Trial(
            f"lambda={lam:g}, epoch {at}", acc, seconds, lambda X, m=best: m.predict(with_bias(X))
        )


def ours_svm(task: Task) -> Iterator[Trial]:
    return _ours_linear(LinearSVM, task)


def ours_softmax(task: Task) -> Iterator[Trial]:
    return _ours_linear(Softmax, task)


def sklearn_sgd_hinge(task: Task) -> Iterator[Trial]:
    classes = np.unique(task.y["train"])
    for lam in LINEAR_LAMBDAS:
        start = time.perf_counter()
        model = SGDClassifier(loss="hinge", alpha=2 * lam, random_state=task.seed)

        def train_epoch(epoch, model=model):
            model.partial_fit(task.X["train"], task.y["train"], classes=classes)

        best, at, acc = best_epoch(model, train_epoch, task.epochs, task.score)
        seconds = time.perf_counter() - start
        yield Trial(f"lambda={lam:g}, epoch {at}", acc, seconds, best.predict)


def sklearn_logistic(task: Task) -> Iterator[Trial]:
    n = len(task.y["train"])
    for lam in LINEAR_LAMBDAS:
        start = time.perf_counter()
        model = LogisticRegression(C=1 / (2 * n * lam))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(task.X["train"], task.y["train"])
        seconds = time.perf_counter() - start
        acc = accuracy(model.predict, task.X["val"], task.y["val"])
        yield Trial(f"lambda={lam:g}, {int(model.n_iter_[0])} iter.", acc, seconds, model.predict)


def _predict_net(model: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [np.argmax(model.loss(X[i : i + 1000]), axis=1) for i in range(0, len(X), 1000)]
    )


def ours_two_layer(task: Task) -> Iterator[Trial]:
    settings = task.ours
    for lam in NET_LAMBDAS:
        start = time.perf_counter()
        model = TwoLayerNet(
            input_dim=task.X["train"].shape[1],
            hidden_dim=task.hidden_dim,
            num_classes=int(task.y["train"].max()) + 1,
            weight_scale=settings.get("weight_scale", 1e-3),
            reg=2 * lam,
            weight_init=settings["weight_init"],
            seed=task.seed,
            dtype=task.X["train"].dtype,
        )
        data = {"X_train": task.X["train"], "y_train": task.y["train"]}
        solver = Solver(
            model,
            {**data, "X_val": task.X["val"], "y_val": task.y["val"]},
            optim_config={"learning_rate": settings["learning_rate"]},
            lr_decay=settings["lr_decay"],
            batch_size=BATCH_SIZE,
            num_epochs=task.epochs,
            verbose=False,
            seed=task.seed,
        )
        solver.train()  # keeps the parameters of the epoch with the best validation accuracy
        seconds = time.perf_counter() - start
        at = int(np.argmax(solver.val_acc_history))
        yield Trial(
            f"lambda={lam:g}, epoch {at}",
            float(solver.best_val_acc),
            seconds,
            lambda X, m=model: _predict_net(m, X),
        )


def sklearn_mlp(task: Task) -> Iterator[Trial]:
    classes = np.unique(task.y["train"])
    for lam in NET_LAMBDAS:
        start = time.perf_counter()
        model = MLPClassifier(
            hidden_layer_sizes=(task.hidden_dim,),
            alpha=2 * BATCH_SIZE * lam,
            batch_size=BATCH_SIZE,
            random_state=task.seed,
        )

        def train_epoch(epoch, model=model):
            model.partial_fit(task.X["train"], task.y["train"], classes=classes)

        best, at, acc = best_epoch(model, train_epoch, task.epochs, task.score)
        seconds = time.perf_counter() - start
        yield Trial(f"lambda={lam:g}, epoch {at}", acc, seconds, best.predict)


CONTENDERS: dict[str, list[tuple[str, str, Callable[[Task], Iterator[Trial]]]]] = {
    "knn": [
        ("tinyvision", "KNearestNeighbor", ours_knn),
        ("scikit-learn", "KNeighborsClassifier(brute)", sklearn_knn),
    ],
    "svm": [
        ("tinyvision", "LinearSVM", ours_svm),
        ("scikit-learn", "SGDClassifier(hinge)", sklearn_sgd_hinge),
    ],
    "softmax": [
        ("tinyvision", "Softmax", ours_softmax),
        ("scikit-learn", "LogisticRegression", sklearn_logistic),
    ],
    "two-layer": [
        ("tinyvision", "TwoLayerNet + Solver", ours_two_layer),
        ("scikit-learn", "MLPClassifier", sklearn_mlp),
    ],
}


# ------------------------------------------------------------------------ data and features


def load_images(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """X_train, y_train, X_val, y_val, X_test, y_test; images (N, C, H, W) in [0, 255]."""
    if args.dataset == "digits":
        data = load_digits_data(
            num_validation=args.num_validation or 270, num_test=args.num_test or 270
        )
        data = {f"{kind}_{split}": data[f"{kind}_{split}"] for kind in "Xy" for split in SPLITS}
        for split in SPLITS:
            data[f"X_{split}"] = (data[f"X_{split}"] * 255).astype(args.dtype)
        if args.num_training:
            data["X_train"] = data["X_train"][: args.num_training]
            data["y_train"] = data["y_train"][: args.num_training]
        return data
    root = Path(args.data_dir).expanduser() if args.data_dir else None
    if root is not None and (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    return get_CIFAR10_data(
        num_training=args.num_training or 49000,
        num_validation=args.num_validation or 1000,
        num_test=args.num_test or 10000,
        subtract_mean=False,
        cifar10_dir=root,
        dtype=np.dtype(args.dtype),
    )


def image_features(images: np.ndarray) -> np.ndarray:
    """HOG + hue histogram of (N, C, H, W) images in [0, 255].

    The 8x8 grey digits are enlarged 4x to 32x32 and given three equal channels, so that the
    same features as for CIFAR-10 apply (their hue histogram is then constant).
    """
    if images.shape[1] == 1:
        images = np.repeat(np.repeat(images, 4, axis=2), 4, axis=3).repeat(3, axis=1)
    channels_last = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
    return extract_features(channels_last, [hog_feature, color_histogram_hsv])


def standardise(X: dict[str, np.ndarray], per_feature: bool, dtype: str) -> dict[str, np.ndarray]:
    """Centre by the training mean; divide by the training std (one number, or per feature)."""
    mean = X["train"].mean(axis=0)
    std = (X["train"] - mean).std(axis=0 if per_feature else None) + 1e-8
    return {split: ((m - mean) / std).astype(dtype) for split, m in X.items()}


def prepare(args: argparse.Namespace) -> tuple[dict, dict, list[dict]]:
    """The shared matrices by inputs kind, the labels, and the feature-extraction row."""
    data = load_images(args)
    y = {split: data[f"y_{split}"] for split in SPLITS}
    images = {split: data[f"X_{split}"] for split in SPLITS}
    matrices, rows = {}, []
    if "pixels" in args.inputs:
        flat = {split: x.reshape(len(x), -1) for split, x in images.items()}
        matrices["pixels"] = standardise(flat, per_feature=False, dtype=args.dtype)
    if "features" in args.inputs:
        start = time.perf_counter()
        features = {split: image_features(x) for split, x in images.items()}
        seconds = time.perf_counter() - start
        count = sum(len(x) for x in images.values())
        rows.append(
            {
                "name": "HOG + hue histogram extraction",
                "library": "tinyvision",
                "model": "features",
                "inputs": "features",
                "images": count,
                "dim": features["train"].shape[1],
                "seconds": round(seconds, 3),
            }
        )
        matrices["features"] = standardise(features, per_feature=True, dtype=args.dtype)
    return matrices, y, rows


# ------------------------------------------------------------------------------ the runs


def run_contender(search: Callable[[Task], Iterator[Trial]], task: Task) -> dict[str, Any]:
    """Try every grid point, keep the best on validation, score it once on the test split."""
    trials = list(search(task))
    best = max(trials, key=lambda trial: trial.val_acc)  # the first of equals: the smaller value
    start = time.perf_counter()
    test_acc = accuracy(best.predict, task.X["test"], task.y["test"])
    predict_seconds = time.perf_counter() - start
    return {
        "tuned": True,
        "grid_points": len(trials),
        "chosen": best.setting,
        "val_acc": best.val_acc,
        "test_acc": test_acc,
        "fit_seconds": round(best.seconds, 3),
        "predict_seconds": round(predict_seconds, 3),
        "search_seconds": round(sum(t.seconds for t in trials), 3),
        "grid": [{"setting": t.setting, "val_acc": t.val_acc} for t in trials],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    matrices, y, rows = prepare(args)
    num_train = len(y["train"])
    hidden_dim = args.hidden_dim or (
        500 if args.dataset == "cifar10" and num_train >= 10000 else 100
    )
    for inputs, X in matrices.items():
        for model in args.models:
            if model == "knn" and inputs == "features":
                continue
            ours = (
                OURS_FEATURES.get(model)
                if inputs == "features"
                else OURS.get((args.dataset, model, inputs))
            )
            task = Task(
                X,
                y,
                EPOCHS.get((args.dataset, model, inputs), 0),
                ours or {},
                hidden_dim,
                args.seed,
            )
            for library, name, search in CONTENDERS[model]:
                if library == "scikit-learn" and args.skip_sklearn:
                    continue
                row = {"name": name, "library": library, "model": model, "inputs": inputs}
                row.update(run_contender(search, task))
                rows.append(row)
                print(
                    f"{library} {name} on {inputs}: test {row['test_acc']:.4f} "
                    f"({row['search_seconds']:.1f} s for {row['grid_points']} settings)",
                    file=sys.stderr,
                )
    return {
        "dataset": args.dataset,
        "num_train": num_train,
        "num_val": len(y["val"]),
        "num_test": len(y["test"]),
        "dtype": args.dtype,
        "hidden_dim": hidden_dim,
        "threads": args.threads,
        "seed": args.seed,
        "versions": {
            "tinyvision": tinyvision.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "rows": rows,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['dataset']}: {result['num_train']} train / {result['num_val']} val / "
        f"{result['num_test']} test, {result['dtype']}, every row tuned on the validation split"
    )
    print(
        f"{'inputs':<9}{'library':<13}{'model':<29}{'grid':>5}  {'chosen':<26}"
        f"{'val acc':>8}{'test acc':>9}{'fit s':>8}{'predict s':>10}{'search s':>9}"
    )
    for row in result["rows"]:
        if row["model"] == "features":
            print(
                f"{row['inputs']:<9}{row['library']:<13}{row['name']:<29}{'':>5}  "
                f"{row['images']} images -> {row['dim']} numbers, {row['seconds']:.2f} s"
            )
            continue
        print(
            f"{row['inputs']:<9}{row['library']:<13}{row['name']:<29}{row['grid_points']:>5}  "
            f"{row['chosen']:<26}{row['val_acc']:>8.4f}{row['test_acc']:>9.4f}"
            f"{row['fit_seconds']:>8.2f}{row['predict_seconds']:>10.2f}{row['search_seconds']:>9.2f}"
        )


def _names(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}; got {text!r}")
        return names

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
    )
    parser.add_argument("--dataset", choices=("cifar10", "digits"), default="cifar10")
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py")
    parser.add_argument(
        "--num-training", type=int, help="training images (default: 49000, all digits left)"
    )
    parser.add_argument("--num-validation", type=int, help="default: 1000 (digits: 270)")
    parser.add_argument("--num-test", type=int, help="default: 10000 (digits: 270)")
    parser.add_argument(
        "--models", type=_names(MODELS), default=MODELS, help=f"default: {','.join(MODELS)}"
    )
    parser.add_argument(
        "--inputs", type=_names(INPUTS), default=INPUTS, help=f"default: {','.join(INPUTS)}"
    )
    parser.add_argument(
        "--hidden-dim",
        type=int,
        help="hidden units of both nets (default: 500 on CIFAR-10 with 10,000 training images "
        "or more, else 100)",
    )
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS and OpenMP threads, the same for both sides (default: 1, the most repeatable "
        "on a shared machine; 0 for no limit)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-sklearn", action="store_true", help="only our rows")
    parser.add_argument("--json", type=Path, help="write the table and the grids to this file")
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads or None):
        result = run(args)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
