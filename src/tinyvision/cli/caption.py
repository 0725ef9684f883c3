"""`tinyvision caption`: train an image-captioning model, and caption images with a trained run."""

from __future__ import annotations

import argparse

from threadpoolctl import threadpool_limits

from tinyvision.captioning import sample_run
from tinyvision.cli.options import add_config_options
from tinyvision.cli.run_options import add_run_options, run_from_args
from tinyvision.config import CaptionConfig

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
    add_config_options(parser, CaptionConfig)
    add_run_options(parser)
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
    # The digit-strips models multiply small matrices, where BLAS threads only add overhead.
    threads = getattr(args, "threads", None)
    if threads is None and args.dataset == "digit-strips":
        threads = 1
    try:
        with threadpool_limits(limits=threads):
            result = run_from_args(args, CaptionConfig)
    except ImportError as err:
        raise RuntimeError(str(err)) from err
    m = result.metrics
    print(f"caption model {m['model']} on {m['dataset']} ({m['num_train']} training captions)")
    print(f"  train loss        {m['train_loss']:.4f}")
    print(f"  val exact match   {m['val_exact_match']:.4f}")
    print(f"  val BLEU-4        {m['val_bleu4']:.4f}")
    print(f"  test exact match  {m['test_exact_match']:.4f}")
    print(f"  test BLEU-4       {m['test_bleu4']:.4f}")
    print(f"  seconds           {m['total_seconds']:.1f} ({m['cpu_seconds']:.1f} s CPU)")
    print(f"run folder: {result.run_dir}")
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
