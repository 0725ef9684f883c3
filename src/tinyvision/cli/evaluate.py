"""`tinyvision evaluate RUN [RUN ...] [--split val|test] [--data-dir DIR]`: score a run's model
again, or an ensemble of several.

For one classifier it also prints top-k accuracy, a per-class table (precision, recall, F1,
support, with macro and weighted averages) and where it drew the confusion matrix and the
misclassified examples. For several run folders it scores the average of their class
probabilities and each member (tinyvision.ensemble).
"""

from __future__ import annotations

import argparse

from tinyvision.classification_evaluation import ClassifierEvaluation
from tinyvision.ensemble import EnsembleResult, evaluate_ensemble
from tinyvision.pipeline import evaluate_run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="reload a run folder's model and reproduce its test score",
        description="Rebuild the data set and the model of a run folder from config.json and "
        "model.npz, and measure its score again on the test (or val) split: accuracy for "
        "classifiers, exact match and BLEU-4 for captioning models. Classifiers also get "
        "top-k accuracy, precision, recall and F1 per class, confusion.png and, for images, "
        "errors.png (misclassified examples) in the run folder. Several run folders of one data "
        "set are scored as an ensemble: the average of their class probabilities, with each "
        "member's own accuracy.",
    )
    parser.add_argument(
        "run",
        nargs="+",
        help="a run folder written by `tinyvision train` or `caption train`; two or more "
        "classifier runs of the same data set make an ensemble",
    )
    parser.add_argument(
        "--split", choices=("val", "test"), default="test", help="split to score (default: test)"
    )
    parser.add_argument(
        "--data-dir",
        help="where the run's data set lives on this machine (default: the run's own --data-dir)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if len(args.run) > 1:
        ensemble = evaluate_ensemble(
            args.run, split=args.split, data_dir=args.data_dir, verbose=not args.quiet
        )
        _print_ensemble(ensemble)
        return 0
    result = evaluate_run(
        args.run[0], verbose=not args.quiet, split=args.split, data_dir=args.data_dir
    )
    print(f"model {result['model']} on {result['dataset']}, {result['split']} split")
    for name, value in result["scores"].items():
        if name.startswith(f"{result['split']}_") and isinstance(value, float):
            print(f"  {name.replace('_', ' '):<15} {value:.4f}")
    recorded = result["recorded"]
    same = recorded is None or result["value"] == recorded
    if recorded is not None:
        verdict = "reproduced exactly" if same else "DIFFERS"
        print(f"  {'recorded':<15} {recorded:.4f}  ({verdict})")
    if isinstance(result["report"], ClassifierEvaluation):
        _print_classifier_report(result["report"])
    elif isinstance(result["report"], str):  # a task's report in words (e.g. where it drew)
        print(result["report"])
    return 0 if same else 1


def _print_classifier_report(evaluation: ClassifierEvaluation) -> None:
    if evaluation.top_k is None:
        print(f"  {'top-k accuracy':<15} not measured: {evaluation.top_k_missing}")
    else:
        for k, accuracy in evaluation.top_k.items():
            print(f"  {f'top-{k} accuracy':<15} {accuracy:.4f}")
    report = evaluation.report
    width = max(12, *(len(name) for name in evaluation.class_names))
    total = int(report.support.sum())
    print(f"per class on the {evaluation.split} split ({total} examples):")
    print(f"  {'class':<{width}} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    rows = zip(
        evaluation.class_names,
        report.precision,
        report.recall,
        report.f1,
        report.support,
        strict=True,
    )
    for name, precision, recall, f1, support in rows:
        print(f"  {name:<{width}} {precision:>9.3f} {recall:>7.3f} {f1:>7.3f} {support:>8d}")
    for label, average in (("macro avg", report.macro), ("weighted avg", report.weighted)):
        values = f"{average['precision']:>9.3f} {average['recall']:>7.3f} {average['f1']:>7.3f}"
        print(f"  {label:<{width}} {values} {total:>8d}")
    if evaluation.picture is not None:
        print(f"confusion matrix: {evaluation.picture}")
    if evaluation.gallery is not None:
        print(f"misclassified examples: {evaluation.gallery}")


def _print_ensemble(ensemble: EnsembleResult) -> None:
    count = len(ensemble.members)
    print(
        f"ensemble of {count} runs on {ensemble.dataset}, {ensemble.split} split "
        f"({len(ensemble.labels)} examples)"
    )
    width = max(
        len("ensemble (mean probability)"), *(len(str(m.run_dir)) for m in ensemble.members)
    )
    print(f"  {'run':<{width}} {'model':<12} {ensemble.split + ' acc':>9}")
    for member in ensemble.members:
        print(f"  {str(member.run_dir):<{width}} {member.model:<12} {member.accuracy:>9.4f}")
    print(f"  {'ensemble (mean probability)':<{width}} {'':<12} {ensemble.accuracy:>9.4f}")
