"""`tinyvision tune`: a hyperparameter search on Optuna, keeping the best model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tinyvision.config import TrainConfig

if TYPE_CHECKING:
    from tinyvision.search.results import TrialRow
    from tinyvision.search.space import SearchSpace

SPACE_EXAMPLE = """\
search space file (TOML):
  model = "fc"
  dataset = "digits"
  sampler = "tpe"                 # grid, random or tpe
  pruner = "median"               # median, halving or none
  [fixed]                         # settings every trial shares (train's flags, as keys)
  epochs = 10
  [search.learning_rate]
  type = "log-uniform"            # choice, uniform, log-uniform or int
  low = 1e-4
  high = 1e-1
  [search.hidden_dims]
  type = "choice"
  values = [[64], [128, 64]]

examples:
  tinyvision tune --model two-layer                       default space, 20 TPE trials
  tinyvision tune space.toml --trials 50 --jobs 2         two worker processes
  tinyvision tune --resume runs/tune-two-layer-digits-... continue an interrupted search
  tinyvision tune space.toml --storage postgresql://tv:pw@db/tv --study lr-search
                                                          one worker of a cluster (same
                                                          command on every machine)
  tinyvision tune --dashboard runs/tune-two-layer-digits-...   watch it in a browser
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search hyperparameters (Optuna) and keep the best model",
        description="Search hyperparameters with Optuna: grid, random or TPE sampling, poor "
        "trials pruned from their per-epoch validation accuracy. Each trial is one training "
        "run. The run folder gets the study (study.db), trials.json, best.toml (for `train "
        "--config`), plots, and best/ (the best config trained again). Needs the `search` "
        'extra: pip install -e ".[search]".',
        epilog=SPACE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("space", nargs="?", metavar="SPACE.toml", help="the search space")
    parser.add_argument("--model", help="search this model's default space (no file)")
    parser.add_argument("--dataset", default="digits", help="data set of --model's space")
    parser.add_argument("--sampler", choices=("grid", "random", "tpe"), help="override")
    parser.add_argument("--pruner", choices=("median", "halving", "none"), help="override")
    parser.add_argument(
        "--trials",
        type=int,
        default=20,
        help="the study ends when it holds this many trials, counting earlier runs and other "
        "workers (default 20)",
    )
    parser.add_argument("--timeout", type=float, help="seconds after which no trial starts")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes on this machine")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="study database shared by workers, e.g. postgresql://user:pw@host/db "
        "(default: study.db in the run folder)",
    )
    parser.add_argument("--study", metavar="NAME", help="study name in --storage")
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="a running trial's heartbeat; one silent for three beats (its worker died) is "
        "marked failed (default 10)",
    )
    parser.add_argument("--out", help="run folder (default: runs/tune-<model>-<dataset>-<time>)")
    parser.add_argument("--resume", metavar="RUN", help="continue the search in RUN")
    parser.add_argument(
        "--no-retrain", action="store_true", help="do not train the best config again"
    )
    parser.add_argument(
        "--dashboard",
        metavar="STORAGE",
        help="serve optuna-dashboard for STORAGE (a URL or a run folder) on 127.0.0.1",
    )
    parser.add_argument("--port", type=int, default=8080, help="port of --dashboard")
    parser.set_defaults(handler=run, dataset_of=_dataset_of)


def _space(args: argparse.Namespace) -> SearchSpace | None:
    from tinyvision.search.space import default_space, load_space, parse_space

    if args.resume is not None:
        if args.space or args.model:
            raise ValueError(f"--resume {args.resume} continues its own space; leave out the space")
        return None
    if args.space and args.model:
        raise ValueError("give a space file or --model, not both (the file names its model)")
    if args.space:
        space = load_space(args.space)
    else:
        space = default_space(args.model or TrainConfig.model, args.dataset)
    overrides = {k: getattr(args, k) for k in ("sampler", "pruner") if getattr(args, k)}
    if overrides:
        space = parse_space({**space.to_dict(), **overrides}, source="command line")
    return space


def _dataset_of(args: argparse.Namespace) -> str | None:
    """The data set the search trains on (it sets the number of threads), None for --dashboard."""
    from tinyvision.search.run import SPACE_FILE
    from tinyvision.search.space import load_space

    if args.dashboard is not None:
        return None
    if args.resume is not None:
        path = Path(args.resume) / SPACE_FILE
        return load_space(path).dataset if path.is_file() else None
    return load_space(args.space).dataset if args.space else args.dataset


def run(args: argparse.Namespace) -> int:
    try:
        import optuna
    except ImportError:
        raise ValueError('tinyvision tune needs Optuna: pip install -e ".[search]"') from None
    if args.dashboard is not None:
        from tinyvision.search.dashboard import serve_dashboard

        print(f"optuna-dashboard on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)")
        serve_dashboard(args.dashboard, args.port)
        return 0
    from tinyvision.search.run import search_run
    from tinyvision.search.study import StudyOptions

    optuna.logging.set_verbosity(optuna.logging.WARNING if args.quiet else optuna.logging.INFO)
    options = StudyOptions(
        trials=args.trials,
        timeout=args.timeout,
        jobs=args.jobs,
        storage=args.storage,
        study_name=args.study,
        seed=args.seed,
        heartbeat=args.heartbeat,
    )
    result = search_run(
        _space(args),
        options,
        out=args.out,
        resume=args.resume,
        retrain=not args.no_retrain,
        verbose=not args.quiet,
    )
    _print_table(result.rows)
    print(f"best: trial {result.best_number}, val accuracy {result.best_value:.4f}")
    print(f"best config: {result.run_dir / 'best.toml'} (tinyvision train --config FILE)")
    if result.best_run is not None:
        print(f"best model: {result.best_run}")
    print(f"run folder: {result.run_dir}")
    return 0


def _print_table(rows: list[TrialRow]) -> None:
    names = list(dict.fromkeys(n for row in rows for n in row.params))
    # Cross-validated trials also show the spread of their folds' accuracies.
    spread = any(row.val_acc_std is not None for row in rows)
    header = f"{'trial':>5} {'state':>8} {'val acc':>8} " + ("fold std " if spread else "")
    header += f"{'epochs':>6}  " + "  ".join(f"{n:>13}" for n in names)
    print(header)
    for row in rows:
        acc = "" if row.val_acc is None else f"{row.val_acc:.4f}"
        std = "" if row.val_acc_std is None else f"{row.val_acc_std:.4f}"
        epochs = "" if row.epochs is None else str(row.epochs)
        values = "  ".join(f"{_cell(row.params.get(n)):>13}" for n in names)
        line = f"{row.number:>5} {row.state:>8} {acc:>8} " + (f"{std:>8} " if spread else "")
        line += f"{epochs:>6}  {values}"
        print(f"{line}  {row.reason}" if row.reason else line)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3e}"
    return str(value)
