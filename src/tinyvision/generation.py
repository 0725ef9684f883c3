"""Generative-model runs: the embedded digits, and how a trained generator is scored.

The task behind `tinyvision train --model vae` and `--model gan` (registered in
tinyvision/models/vae.py and gan.py, trained with PyTorch Lightning). It loads the digits as
(N, 1, 8, 8) images in [0, 1] with the classifiers' fixed split, and scores a trained model by

- its own loss terms on the split, where it has a likelihood (the VAE: reconstruction, KL and
  their sum, the negative ELBO, in nats per image), and
- the quality of its samples: `SAMPLES_PER_SPLIT` images drawn from a fixed noise seed per
  split (so `evaluate` redraws exactly the same ones) are classified by a digits classifier
  trained separately (`digits_scorer`: the registered `fc` model at its digits defaults,
  seed 0, on the training split). `sample_score` turns its probabilities into the fraction
  classified with confidence >= 0.9 and the spread over the ten classes (the histogram of
  predicted classes and its entropy; ln 10 = 2.303 nats when every class is equally common).
  The same classifier on the split's real images gives the reference a perfect generator
  would reach. `SampleScore.quality` folds the two into one number (the confident fraction
  times the entropy relative to ln 10), which picks the GAN's best epoch: the confident
  fraction alone would pick an epoch whose generator draws one digit very clearly.

A confident classifier is no proof of a good sample (the classifier is confident on some
uniform noise too); the entropy catches a generator that draws one digit only, and the
pictures (samples.png) are the final judge.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification import Prepared, load_dataset
from tinyvision.config import TrainConfig
from tinyvision.registry import ModelSpec

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "GAN_TASK",
    "GENERATION_DATASETS",
    "SAMPLES_PER_SPLIT",
    "GenerationTask",
    "SampleScore",
    "VAE_TASK",
    "digits_scorer",
    "sample_score",
    "split_seed",
]

logger = logging.getLogger(__name__)

GENERATION_DATASETS = ("digits",)
SPLITS = ("train", "val", "test")
CONFIDENCE_THRESHOLD = 0.9
SAMPLES_PER_SPLIT = 1000
NUM_CLASSES = 10
# The scorer: a registered classifier trained at its tuned digits defaults (fc: 0.978 test
# accuracy, 94% of the real test digits classified with confidence >= 0.9).
SCORER_MODEL = "fc"
SCORER_SEED = 0
SCORER_EPOCHS: int | None = None

_COMMON_DEFAULTS: dict[str, Any] = {
    "batch_size": 64,
    "update_rule": "adam",
    "reg": 0.0,
    "lr_decay": 1.0,
    "schedule": "step",
    "dropout": 0.0,
    "augment": False,
}


def split_seed(split: str) -> int:
    """The seed of the noise a split's samples are drawn from (fixed, so scores reproduce)."""
    return SPLITS.index(split) + 1


@dataclass(frozen=True)
class SampleScore:
    """How a digits classifier sees a set of images.

    confident_fraction: share of images whose top class probability is >= the threshold
    class_counts: (C,) int, images per predicted class (argmax, every image counted)
    class_entropy: entropy of class_counts / N in nats (0: one class only; ln C: uniform)
    """

    confident_fraction: float
    class_counts: tuple[int, ...]
    class_entropy: float

    @property
    def quality(self) -> float:
        """confident_fraction x class_entropy / ln C: 1 for confident images spread evenly over
        every class, 0 for a generator that draws one class only, however confidently."""
        return self.confident_fraction * self.class_entropy / math.log(len(self.class_counts))

    def as_metrics(self, prefix: str) -> dict[str, Any]:
        """The metrics.json entries, each key starting with prefix (e.g. "test_")."""
        return {
            f"{prefix}confident_fraction": self.confident_fraction,
            f"{prefix}class_entropy": self.class_entropy,
            f"{prefix}class_counts": list(self.class_counts),
            f"{prefix}sample_quality": self.quality,
        }


def sample_score(probabilities: np.ndarray, threshold: float = CONFIDENCE_THRESHOLD) -> SampleScore:
    """Score images by a classifier's class probabilities.

    probabilities: (N, C) rows of class probabilities (non-negative, each summing to 1)
    threshold: the confidence an image's top class needs to count as recognised
    returns a SampleScore (counts over the C classes)
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(
            f"probabilities must be a non-empty (N, C) array, got shape {probabilities.shape}"
        )
    if np.any(probabilities < 0) or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(
            "each row of probabilities must be non-negative and sum to 1 (apply a softmax to "
            "class scores first)"
        )
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    counts = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
    shares = counts[counts > 0] / len(probabilities)
    return SampleScore(
        confident_fraction=float(np.mean(probabilities.max(axis=1) >= threshold)),
        class_counts=tuple(int(c) for c in counts),
        class_entropy=float(-np.sum(shares * np.log(shares)) + 0.0),
    )


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def digits_scorer() -> Callable[[np.ndarray], np.ndarray]:
    """The digits classifier that scores samples, trained once per process (cached).

    It is the registered SCORER_MODEL at its tuned digits defaults (SCORER_EPOCHS, when set,
    shortens its training, for tests), seed SCORER_SEED, in float64 on the digits training
    split, through the same pipeline as `tinyvision train` (no folder); the NumPy Solver is
    deterministic, so `evaluate` retrains the same classifier.
    returns classify: (N, 1, 8, 8) images in [0, 1] -> (N, 10) class probabilities
    """
    return _trained_scorer(SCORER_EPOCHS)


@functools.cache
def _trained_scorer(epochs: int | None) -> Callable[[np.ndarray], np.ndarray]:
    from tinyvision import pipeline, registry
    from tinyvision.config import resolve_config

    config = resolve_config(
        TrainConfig(
            model=SCORER_MODEL, dataset="digits", seed=SCORER_SEED, dtype="float64", epochs=epochs
        )
    )
    spec = registry.get(SCORER_MODEL)
    prepared = spec.task.prepare(config, spec, False, splits=("train", "val"))
    model = spec.build(config, prepared)
    logger.info("training the sample scorer (%s on the digits)", SCORER_MODEL)
    # Its per-epoch lines would read as the generative model's own; one line says it is done.
    solver_log = logging.getLogger("tinyvision.solver")
    level = solver_log.level
    solver_log.setLevel(logging.WARNING)
    try:
        pipeline.fit(spec, model, config, prepared, None, False)
    finally:
        solver_log.setLevel(level)
    model.eval()
    accuracy = float(np.mean(model.predict(prepared.X["val"]) == prepared.data["y_val"]))
    logger.info("sample scorer trained: val accuracy %.4f", accuracy)

    def classify(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float64)
        if images.ndim != 4 or images.shape[1:] != (1, 8, 8):
            raise ValueError(f"expected (N, 1, 8, 8) digit images, got shape {images.shape}")
        inputs = spec.task.model_inputs(config, spec, prepared.prep, images)
        return _softmax(model.loss(inputs))

    return classify


class GenerationTask:
    """The Task (see tinyvision.registry) of the generative models on the digits.

    primary_metric: what `evaluate` reproduces (the VAE's test loss, the GAN's sample score)
    summary: the (metrics.json key, label) pairs `tinyvision train` prints
    The model answers `loss_terms(X)` ({name: mean per image}, empty without a likelihood)
    and `sample(n, seed)` ((n, 1, 8, 8) images in [0, 1]).
    """

    name = "generation"
    config_class = TrainConfig
    datasets = GENERATION_DATASETS
    common_defaults = _COMMON_DEFAULTS
    folder_prefix = ""

    def __init__(self, primary_metric: str, summary: tuple[tuple[str, str], ...]) -> None:
        self.primary_metric = primary_metric
        self.summary = summary

    def check(self, config: TrainConfig, spec: ModelSpec) -> None:
        """The generative models take raw digit images, on one process, without dropout."""
        given = [
            flag
            for flag, is_set in (
                ("--features", bool(config.features)),
                ("--preprocess", config.preprocess != "none"),
                ("--augment", bool(config.augment)),
                ("--dropout", bool(config.dropout)),
                ("--devices", config.devices not in (None, 1)),
                ("--num-nodes", config.num_nodes not in (None, 1)),
                ("--strategy", config.strategy not in (None, "auto")),
            )
            if is_set
        ]
        if given:
            raise ValueError(
                f"--model {config.model} learns the raw digit images on one process: leave out "
                f"{', '.join(given)}"
            )

    def prepare(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        verbose: bool,
        prep: Any = None,
        splits: tuple[str, ...] = SPLITS,
    ) -> Prepared:
        """The digits as (N, 1, 8, 8) images in [0, 1] (config.dtype); no statistics."""
        data = load_dataset(config)
        return Prepared(data=data, prep={}, X={s: data[f"X_{s}"] for s in splits})

    def solver(self, model: Any, config: TrainConfig, prepared: Prepared, **kwargs: Any) -> Any:
        raise ValueError(
            f"--model {config.model} trains through PyTorch Lightning (its own fit), not the Solver"
        )

    def score(
        self,
        model: Any,
        config: TrainConfig,
        prepared: Prepared,
        spec: ModelSpec,
        splits: tuple[str, ...] = ("val", "test"),
    ) -> dict[str, Any]:
        """Per split: the model's loss terms, its samples' score and the real images' score.

        The training split is left out: the training loss of the last epoch comes from the
        history (metrics.json's train_loss).
        """
        classify = digits_scorer()
        metrics: dict[str, Any] = {}
        for split in splits:
            images, labels = prepared.X[split], prepared.data[f"y_{split}"]
            terms = model.loss_terms(images)
            metrics.update({f"{split}_{name}": value for name, value in terms.items()})
            samples = model.sample(SAMPLES_PER_SPLIT, seed=split_seed(split))
            metrics.update(sample_score(classify(samples)).as_metrics(f"{split}_"))
            real = classify(images)
            metrics[f"{split}_real_confident_fraction"] = sample_score(real).confident_fraction
            metrics[f"{split}_scorer_acc"] = float(np.mean(real.argmax(axis=1) == labels))
        metrics.update(
            num_train=int(len(prepared.data["y_train"])),
            num_test=int(len(prepared.data["y_test"])),
            num_params=int(sum(p.size for _, p in model.named_parameters())),
            max_class_entropy=math.log(NUM_CLASSES),
            samples_per_split=SAMPLES_PER_SPLIT,
            scorer=SCORER_MODEL,
        )
        return metrics

    def upgrade_v1(self, values: dict[str, Any]) -> dict[str, Any]:
        """The generative models came after config version 1: nothing to convert."""
        return dict(values)

    def artifacts(self, config: TrainConfig, prepared: Prepared, run_dir: Path, model: Any) -> None:
        """The data has no preprocessing to picture (the models draw their own figures)."""

    def report(
        self,
        model: Any,
        config: TrainConfig,
        prepared: Prepared,
        spec: ModelSpec,
        run_dir: Path,
        split: str = "test",
    ) -> None:
        """Nothing beyond the scores, which `evaluate` prints."""


VAE_TASK = GenerationTask(
    "test_loss",
    (
        ("train_loss", "train loss (-ELBO)"),
        ("val_loss", "val loss (-ELBO)"),
        ("test_reconstruction_loss", "test reconstruction"),
        ("test_kl", "test KL"),
        ("test_loss", "test loss (-ELBO)"),
        ("test_confident_fraction", "samples confident"),
        ("test_class_entropy", "samples class entropy"),
    ),
)

GAN_TASK = GenerationTask(
    "test_confident_fraction",
    (
        ("val_confident_fraction", "val samples confident"),
        ("test_confident_fraction", "test samples confident"),
        ("test_class_entropy", "test samples class entropy"),
        ("test_sample_quality", "test sample quality"),
        ("test_real_confident_fraction", "real test digits confident"),
    ),
)
