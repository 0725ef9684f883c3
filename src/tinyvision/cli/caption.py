"""`tinyvision caption`: train an image-captioning model, and caption images with a trained run."""

from __future__ import annotations

import argparse

from threadpoolctl import threadpool_limits

from tinyvision.captioning import (
    CAPTION_DATASETS,
    CAPTION_MODELS,
    CaptionConfig,
    sample_run,
    train_caption_run,
)
from tinyvision.schedules import SCHEDULES

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "caption",
        help="train a captioning model (RNN, LSTM, transformer) or caption images",
        description="Image captioning as in CS231n assignment 3, on the offline digit strips "
        "(handwritten digits side by side, captioned with their names) or the course's COCO "
        "files.",
    )
    commands = parser.add_subparsers(title="caption commands", metavar="COMMAND")
    _register_train(commands)
    _register_sample(commands)
    parser.set_defaults(handler=lambda _: parser.print_help() or 0)


def _register_train(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a captioning model and write a run folder",
        description="Train a captioning model. Every option left out takes the tuned default "
        "for the chosen model and data set. The run folder gets config.json, metrics.json "
        "(test exact match and BLEU-4), history.json, model.npz and loss.png.",
    )
    parser.add_argument("--model", choices=CAPTION_MODELS, default="lstm", help="default: lstm")
    parser.add_argument(
        "--dataset", choices=CAPTION_DATASETS, default="digit-strips", help="default: digit-strips"
    )
    parser.add_argument("--data-dir", help="folder of the course's coco_captioning files")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", "--lr", type=float, dest="learning_rate")
    parser.add_argument("--lr-decay", type=float, help="learning-rate factor per epoch (step)")
    parser.add_argument("--schedule", choices=SCHEDULES, help="step (lr decay) or cosine")
    parser.add_argument(
        "--update-rule", choices=("sgd", "sgd_momentum", "rmsprop", "adam", "adamw")
    )
    parser.add_argument("--hidden-dim", type=int, help="RNN/LSTM hidden size")
    parser.add_argument("--wordvec-dim", type=int, help="word vector size (transformer width)")
    parser.add_argument("--num-heads", type=int, help="transformer attention heads")
    parser.add_argument("--num-layers", type=int, help="transformer decoder layers")
    parser.add_argument("--dim-feedforward", type=int, help="transformer feed-forward size")
    parser.add_argument("--dropout", type=float, help="transformer drop probability")
    parser.add_argument(
        "--num-train", type=int, help="training strips (digit-strips) or captions (coco)"
    )
    parser.add_argument("--feature-dim", type=int, help="digit-strips feature size")
    parser.add_argument("--patience", type=int, help="stop after N epochs without improvement")
    parser.add_argument("--num-eval", type=int, help="images per val/test evaluation")
    parser.add_argument("--val-metric", choices=("exact_match", "bleu4"))
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="run folder (default: runs/caption-<model>-<dataset>-<time>)")
    parser.set_defaults(handler=run_train)


def _register_sample(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sample",
        help="caption images with a trained run and draw them into a PNG",
        description="Reload a run folder's model, caption the first images of a split and "
        "write them, with their generated and true captions, into a PNG.",
    )
    parser.add_argument("run", help="run folder written by `tinyvision caption train`")
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")
    parser.add_argument("--num", type=int, default=8, help="number of images (default: 8)")
    parser.add_argument("--out", help="PNG path (default: RUN/samples-<split>.png)")
    parser.set_defaults(handler=run_sample)


def run_train(args: argparse.Namespace) -> int:
    config = CaptionConfig(
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        lr_decay=args.lr_decay,
        schedule=args.schedule,
        update_rule=args.update_rule,
        hidden_dim=args.hidden_dim,
        wordvec_dim=args.wordvec_dim,
        num_heads=args.num_heads,
        num_layers=args.num_layers,
        dim_feedforward=args.dim_feedforward,
        dropout=args.dropout,
        num_train=args.num_train,
        feature_dim=args.feature_dim,
        patience=args.patience,
        num_eval=args.num_eval,
        val_metric=args.val_metric,
        dtype=args.dtype,
        seed=args.seed,
        out=args.out,
    )
    # The digit-strips models multiply small matrices, where BLAS threads only add overhead.
    threads = getattr(args, "threads", None)
    if threads is None and args.dataset == "digit-strips":
        threads = 1
    try:
        with threadpool_limits(limits=threads):
            run_dir, m = train_caption_run(config, verbose=not args.quiet)
    except ImportError as err:
        raise RuntimeError(str(err)) from err
    print(f"caption model {m['model']} on {m['dataset']} ({m['num_train']} training captions)")
    print(f"  train loss        {m['train_loss']:.4f}")
    print(f"  val exact match   {m['val_exact_match']:.4f}")
    print(f"  val BLEU-4        {m['val_bleu4']:.4f}")
    print(f"  test exact match  {m['test_exact_match']:.4f}")
    print(f"  test BLEU-4       {m['test_bleu4']:.4f}")
    print(f"  seconds           {m['seconds']:.1f} ({m['cpu_seconds']:.1f} s CPU)")
    print(f"run folder: {run_dir}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    try:
        samples, png = sample_run(args.run, split=args.split, num=args.num, out_png=args.out)
    except ImportError as err:
        raise RuntimeError(str(err)) from err
    for sample in samples:
        print(f"[{sample['image']}] ours: {sample['generated']}")
        print(f"{'':>{len(str(sample['image'])) + 2}} true: {sample['references'][0]}")
    print(f"figure: {png}")
    return 0
