"""Per-class test accuracy of imbalanced runs side by side: the README's table and a bar chart.

Run: .venv/bin/python benchmarks/imbalance.py RUN [RUN ...] [--out per_class.png]

Each RUN is a run folder of `tinyvision train ... --imbalance RATIO` (e.g. plain, with
`--class-weights balanced`, with `--sampler balanced`). The script reads their config.json and
metrics.json (nothing is trained), prints one Markdown row per run (what balances it, test
accuracy, minority- and majority-class accuracy, wall and CPU seconds) and draws each class's
test accuracy per run, the minority classes shaded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of imbalanced runs")
    parser.add_argument("--out", type=Path, default=Path("per_class.png"), help="the chart")
    return parser.parse_args(argv)


def balancing(config: dict[str, Any]) -> str:
    """How a run balanced its classes, in the words of its flags."""
    flags = []
    if config.get("class_weights", "none") != "none":
        flags.append(f"--class-weights {config['class_weights']}")
    if config.get("sampler", "uniform") != "uniform":
        flags.append(f"--sampler {config['sampler']}")
    return " ".join(flags) or "plain (no balancing)"


def read_run(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    if config.get("imbalance") is None or "test_minority_acc" not in metrics:
        raise SystemExit(f"{run} is not a finished run with --imbalance")
    return config, metrics


def main(argv: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from tinyvision.classification_evaluation import class_names
    from tinyvision.imbalance import minority_classes

    runs = [read_run(run) for run in parse_args(argv).runs]
    out = parse_args(argv).out
    print("| balancing | test acc | minority acc | majority acc | wall s | CPU s |")
    print("|---|---|---|---|---|---|")
    for config, m in runs:
        print(
            f"| {balancing(config)} | {m['test_acc']:.4f} | {m['test_minority_acc']:.4f} | "
            f"{m['test_majority_acc']:.4f} | {m['total_seconds']:.0f} | {m['cpu_seconds']:.0f} |"
        )
    config, metrics = runs[0]
    count = metrics["num_classes"]
    names = class_names(config["dataset"], count)
    figure, axes = plt.subplots(figsize=(10, 4.5))
    minority = minority_classes(count)
    axes.axvspan(minority[0] - 0.5, count - 0.5, color="0.92", zorder=0)
    width = 0.8 / len(runs)
    for i, (config, m) in enumerate(runs):
        offsets = np.arange(count) + (i - (len(runs) - 1) / 2) * width
        label = f"{balancing(config)} (minority {m['test_minority_acc']:.2f})"
        axes.bar(offsets, m["test_per_class_acc"], width, label=label, zorder=2)
    axes.set_xticks(np.arange(count), names)
    axes.set_xlabel(f"class (shaded: minority, 1/{config['imbalance']:g} of the training examples)")
    axes.set_ylabel("test accuracy of the class (recall)")
    axes.set_ylim(0, 1)
    axes.set_title(f"{config['model']} on {config['dataset']}, --imbalance {config['imbalance']:g}")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(runs), frameon=False)
    figure.tight_layout()
    figure.savefig(out, dpi=120)
    print(f"chart: {out}")


if __name__ == "__main__":
    main()
