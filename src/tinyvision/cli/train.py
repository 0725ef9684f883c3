"""`tinyvision train`: train a model and write a run folder."""

from __future__ import annotations

import argparse

from tinyvision.config import DATASETS, MODELS, TrainConfig
from tinyvision.pipeline import train_run
from tinyvision.schedules import SCHEDULES


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 512,256, got {text!r}") from None


def _name_tuple(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options that map onto TrainConfig, shared by `train` and `tune`."""
    parser.add_argument("--model", choices=MODELS, default="softmax", help="default: softmax")
    parser.add_argument("--dataset", choices=DATASETS, default="digits", help="default: digits")
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py")
    parser.add_argument(
        "--features",
        type=_name_tuple,
        default=(),
        metavar="hog,hsv",
        help="train on HOG and/or hue-histogram features (cifar10)",
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", "--lr", type=float, dest="learning_rate")
    parser.add_argument("--reg", type=float, help="L2 regularisation strength")
    parser.add_argument("--lr-decay", type=float, help="learning-rate factor per epoch (step)")
    parser.add_argument(
        "--schedule", choices=SCHEDULES, help="step (lr decay per epoch) or cosine (per update)"
    )
    parser.add_argument(
        "--update-rule",
        choices=("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw"),
    )
    parser.add_argument("--hidden-dims", type=_int_tuple, metavar="512,256")
    parser.add_argument("--weight-scale", type=float)
    parser.add_argument("--weight-init", choices=("gaussian", "xavier", "kaiming"))
    parser.add_argument("--normalization", choices=("batchnorm", "layernorm"))
    parser.add_argument("--dropout", type=float, help="keep probability of each hidden unit")
    parser.add_argument("--k", type=int, help="neighbours for knn")
    parser.add_argument("--num-filters", type=int, help="conv filters of the cnn")
    parser.add_argument("--filter-size", type=int, help="odd filter side of the cnn")
    parser.add_argument(
        "--channels", type=_int_tuple, metavar="32,64,128", help="stage widths of the convnet"
    )
    parser.add_argument("--blocks-per-stage", type=int, help="conv layers per convnet stage")
    parser.add_argument(
        "--residual",
        action=argparse.BooleanOptionalAction,
        help="convnet stages of residual blocks (a small ResNet)",
    )
    parser.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help="random crops (padding H/8) and horizontal flips of the training images",
    )
    parser.add_argument("--num-training", type=int, help="use only this many training images")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="run folder (default: runs/<model>-<dataset>-<time>)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the parsed model options describe."""
    return TrainConfig(
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        features=args.features,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        reg=args.reg,
        lr_decay=args.lr_decay,
        schedule=args.schedule,
        update_rule=args.update_rule,
        hidden_dims=args.hidden_dims,
        weight_scale=args.weight_scale,
        weight_init=args.weight_init,
        normalization=args.normalization,
        dropout=args.dropout,
        k=args.k,
        num_filters=args.num_filters,
        filter_size=args.filter_size,
        channels=args.channels,
        blocks_per_stage=args.blocks_per_stage,
        residual=args.residual,
        augment=args.augment,
        num_training=args.num_training,
        dtype=args.dtype,
        seed=args.seed,
        out=args.out,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model. Every option left out takes the tuned default for the chosen "
        "model and data set. The run folder gets config.json, metrics.json, history.json, "
        "model.npz and loss/accuracy plots.",
    )
    add_model_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    result = train_run(config, verbose=not args.quiet)
    m = result.metrics
    print(f"model {m['model']} on {m['dataset']} ({m['num_train']} training examples)")
    print(f"  train accuracy  {m['train_acc']:.4f}")
    print(f"  val accuracy    {m['val_acc']:.4f}")
    print(f"  test accuracy   {m['test_acc']:.4f}")
    print(f"  seconds         {m['seconds']:.1f}")
    print(f"run folder: {result.run_dir}")
    return 0
