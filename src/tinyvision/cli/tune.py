"""`tinyvision tune`: the course's hyperparameter searches, keeping the best model."""

from __future__ import annotations

import argparse

from tinyvision.cli.options import add_config_options, config_from_args
from tinyvision.config import TrainConfig
from tinyvision.tuning import DEFAULT_K_CHOICES, SearchOptions, tune_run


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1e-7,5e-7, got {text!r}") from None


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,3,5, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search hyperparameters and keep the best model",
        description="Search learning rate x regularisation (grid, or log-uniform random between "
        "two bounds) for softmax, svm, two-layer and fc; or choose k for knn by k-fold "
        "cross-validation. The model that reached the best validation accuracy is kept and "
        "written as a run folder, with search.json and the plots.",
        epilog="examples:\n"
        "  tinyvision tune --model svm --dataset cifar10 --learning-rates 1e-7,5e-7 "
        "--regs 2.5e4,5e4\n"
        "  tinyvision tune --model softmax --search random --learning-rates 1e-2,1 "
        "--regs 1e-5,1e-2 --num-samples 20\n"
        "  tinyvision tune --model knn --dataset cifar10 --num-training 5000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_options(parser, TrainConfig)
    parser.add_argument("--search", choices=("grid", "random"), default="grid")
    parser.add_argument(
        "--learning-rates",
        type=_float_list,
        default=(),
        metavar="A,B,...",
        help="grid values, or (low, high) bounds for --search random",
    )
    parser.add_argument(
        "--regs",
        type=_float_list,
        default=(),
        metavar="A,B,...",
        help="grid values, or (low, high) bounds for --search random",
    )
    parser.add_argument("--num-samples", type=int, default=10, help="pairs for --search random")
    parser.add_argument(
        "--k-choices",
        type=_int_list,
        default=DEFAULT_K_CHOICES,
        metavar="1,3,5",
        help="values of k to cross-validate (knn)",
    )
    parser.add_argument("--num-folds", type=int, default=5, help="folds for knn")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    options = SearchOptions(
        learning_rates=args.learning_rates,
        regs=args.regs,
        search=args.search,
        num_samples=args.num_samples,
        k_choices=args.k_choices,
        num_folds=args.num_folds,
    )
    result, record = tune_run(config_from_args(args, TrainConfig), options, verbose=not args.quiet)
    if "best_k" in record:
        print(f"{'k':>5}  mean accuracy over {record['num_folds']} folds")
        for k, accuracies in record["k_to_accuracies"].items():
            print(f"{k:>5}  {sum(accuracies) / len(accuracies):.4f}")
        print(f"best k: {record['best_k']}")
    else:
        print(f"{'learning rate':>14}{'reg':>12}{'train acc':>11}{'val acc':>9}")
        for row in record["results"]:
            pair = f"{row['learning_rate']:>14.3e}{row['reg']:>12.3e}"
            if row["diverged"]:
                print(f"{pair}{'diverged':>20}")
            else:
                print(f"{pair}{row['train_acc']:>11.4f}{row['val_acc']:>9.4f}")
        print(
            f"best: learning rate {record['best_learning_rate']:.3e}, "
            f"reg {record['best_reg']:.3e}, val accuracy {record['best_val_acc']:.4f}"
        )
    m = result.metrics
    print(f"best model test accuracy {m['test_acc']:.4f}; run folder: {result.run_dir}")
    return 0
