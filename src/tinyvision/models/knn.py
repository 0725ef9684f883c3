"""kNN (`--model knn`): memorise the training set, vote among the k nearest (assignment 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyvision.classification import CLASSIFICATION, Prepared
from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor
from tinyvision.config import TrainConfig
from tinyvision.registry import ModelSpec, register


def build(config: TrainConfig, prepared: Prepared) -> KNearestNeighbor:
    return KNearestNeighbor(metric=config.metric, k=config.k)


def fit(
    model: KNearestNeighbor,
    config: TrainConfig,
    prepared: Prepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    """Memorise the training split (nothing to iterate, so no history)."""
    model.train(prepared.X["train"], prepared.data["y_train"])
    return {}


register(
    ModelSpec(
        name="knn",
        task=CLASSIFICATION,
        build=build,
        description="k-nearest neighbours (L2 or L1 distance)",
        defaults={"digits": {"k": 1}, "spiral": {"k": 5}, "cifar10": {"k": 10}},
        inputs="raw",
        fit=fit,
        refit_on_load=True,
        # kNN on its own training set is a leave-nothing-out lookup: measure a subsample.
        train_eval_limit=2000,
        checkpoint=None,
    )
)
