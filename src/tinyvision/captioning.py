"""Image captioning runs: data, the CaptioningSolver, scores, and captions drawn from a run.

The task behind `tinyvision caption train` (the models are registered in
tinyvision/models/captioning.py and trained by the one run function in tinyvision.pipeline):
it loads digit strips (generated, offline) or the course's COCO files, hands them to the
CaptioningSolver, and scores a trained model by exact match and BLEU-4 of its greedy captions.
Exact match and BLEU-4 ignore <START>, <END> and <NULL>, and an image with several reference
captions (COCO) is matched against all of them.

`sample_run` rebuilds the model of a run folder and draws captions for a few images of a split
into a PNG.

COCO has no test split in the course files: its val images are split in two by image index,
the first half for validation (model selection) and the second for the test metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.captioning_solver import CaptioningSolver, caption_words, score_captions
from tinyvision.config import CaptionConfig
from tinyvision.registry import ModelSpec

__all__ = [
    "CAPTIONING",
    "CAPTION_DATASETS",
    "CaptionPrepared",
    "CaptioningTask",
    "evaluate_captions",
    "load_caption_data",
    "sample_run",
]

CAPTION_DATASETS = ("digit-strips", "coco")
# Digit strips drawn for validation and test; fixed so every run is scored on the same strips.
_DIGIT_STRIPS_EVAL = 500
_DATA_SEED = 0

_COMMON_DEFAULTS: dict[str, Any] = {
    "update_rule": "adam",
    "lr_decay": 0.95,
    "schedule": "step",
    "num_heads": 4,
    "num_layers": 2,
    "dropout": 0.0,
    "feature_dim": 512,
}


def _split_coco_val(data: dict[str, Any]) -> None:
    """Turn the course's val split into val (first half of the images) and test (second)."""
    image_idxs = np.asarray(data["val_image_idxs"])
    half = len(data["val_features"]) // 2
    for split, keep in (("test", image_idxs >= half), ("val", image_idxs < half)):
        data[f"{split}_captions"] = np.asarray(data["val_captions"])[keep]
        data[f"{split}_image_idxs"] = image_idxs[keep]
        data[f"{split}_features"] = data["val_features"]
    data["test_urls"] = data["val_urls"]


def load_caption_data(config: CaptionConfig, num_train: int | None = None) -> dict[str, Any]:
    """The train/val/test captioning data of a resolved config, in the load_coco_data layout.

    config: a resolved CaptionConfig
    num_train: override of config.num_train (sample_run needs no training strips)
    returns the data dict, with test_* entries added for COCO (see the module docstring)
    raises FileNotFoundError / ImportError when the COCO files or h5py are missing
    """
    count = config.num_train if num_train is None else num_train
    if config.dataset == "digit-strips":
        from tinyvision.data.digit_strips import load_digit_strips

        return load_digit_strips(
            num_train=count,
            num_val=_DIGIT_STRIPS_EVAL,
            num_test=_DIGIT_STRIPS_EVAL,
            seed=_DATA_SEED,
            feature_dim=config.feature_dim,
        )
    from tinyvision.coco_utils import load_coco_data

    try:
        data = load_coco_data(config.data_dir, max_train=count, seed=_DATA_SEED)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"{err}. --dataset coco needs the CS231n assignment-3 coco_captioning files "
            "(get_coco_dataset.sh); pass their folder with --data-dir, or use "
            "--dataset digit-strips, which needs no download"
        ) from err
    _split_coco_val(data)
    return data


def _split_images(data: dict[str, Any], split: str, num: int | None) -> tuple[np.ndarray, list]:
    """The first `num` distinct images of a split and the reference word lists of each."""
    image_idxs = np.asarray(data[f"{split}_image_idxs"])
    words = caption_words(data[f"{split}_captions"], data["idx_to_word"])
    refs: dict[int, list[list[str]]] = {}
    for image, sentence in zip(image_idxs.tolist(), words, strict=True):
        refs.setdefault(image, []).append(sentence)
    images = sorted(refs)[:num] if num is not None else sorted(refs)
    if not images:
        raise ValueError(f"the {split} split holds no captions to evaluate")
    return np.asarray(images, dtype=np.int64), [refs[i] for i in images]


def evaluate_captions(
    model: Any, data: dict[str, Any], split: str, num: int | None = None, batch_size: int = 500
) -> dict[str, float]:
    """Exact match and BLEU-4 of the model's greedy captions on a split.

    model: a trained captioning model
    data: the data dict of load_caption_data
    split: "train", "val" or "test"
    num: score only the first num distinct images (None: all)
    batch_size: images per sample() call
    returns {"exact_match": float, "bleu4": float}
    """
    images, references = _split_images(data, split, num)
    features = data[f"{split}_features"][images]
    max_length = data[f"{split}_captions"].shape[1] - 1
    generated = np.concatenate(
        [
            model.sample(features[i : i + batch_size], max_length=max_length)
            for i in range(0, len(images), batch_size)
        ]
    )
    hypotheses = caption_words(generated, data["idx_to_word"])
    return {
        metric: score_captions(references, hypotheses, metric)
        for metric in ("exact_match", "bleu4")
    }


@dataclass
class CaptionPrepared:
    """Captioning data ready for a model: the data dict of load_caption_data, no statistics."""

    data: dict[str, Any]
    prep: dict[str, np.ndarray]

    @property
    def input_dim(self) -> int:
        """D, the size of an image feature vector."""
        return int(self.data["train_features"].shape[1])


class CaptioningTask:
    """The Task (see tinyvision.registry) of the captioning models."""

    name = "captioning"
    config_class = CaptionConfig
    datasets = CAPTION_DATASETS
    common_defaults = _COMMON_DEFAULTS
    folder_prefix = "caption-"
    primary_metric = "test_exact_match"
    summary = (
        ("train_loss", "train loss"),
        ("val_exact_match", "val exact match"),
        ("val_bleu4", "val BLEU-4"),
        ("test_exact_match", "test exact match"),
        ("test_bleu4", "test BLEU-4"),
    )

    def check(self, config: CaptionConfig, spec: ModelSpec) -> None:
        """Captioning runs have no rules across fields beyond each model's own."""

    def prepare(
        self,
        config: CaptionConfig,
        spec: ModelSpec,
        verbose: bool,
        prep: Any = None,
        splits: tuple[str, ...] = ("train", "val", "test"),
    ) -> CaptionPrepared:
        """The captioning data; without "train" in splits, digit strips skip drawing them."""
        # Val and test strips do not depend on the number of training strips.
        skip_train = config.dataset == "digit-strips" and "train" not in splits
        return CaptionPrepared(load_caption_data(config, 1 if skip_train else None), {})

    def solver(
        self, model: Any, config: CaptionConfig, prepared: CaptionPrepared, **kwargs: Any
    ) -> CaptioningSolver:
        """A CaptioningSolver for model (kwargs: out_dir, verbose, resume, ...)."""
        num_captions = len(prepared.data["train_captions"])
        options = config.solver_options(num_captions) | {
            "num_train_samples": config.num_eval or 1000,
            "num_val_samples": config.num_eval,
            "val_metric": config.val_metric,
        }
        return CaptioningSolver(model, prepared.data, **{**options, **kwargs})

    def score(
        self,
        model: Any,
        config: CaptionConfig,
        prepared: CaptionPrepared,
        spec: ModelSpec,
        splits: tuple[str, ...] = ("test", "val"),
    ) -> dict[str, Any]:
        """Exact match and BLEU-4 of greedy captions per split, and the run's sizes."""
        metrics: dict[str, Any] = {}
        for split in splits:
            scores = evaluate_captions(model, prepared.data, split, config.num_eval)
            metrics.update({f"{split}_{name}": value for name, value in scores.items()})
        metrics.update(
            val_metric=config.val_metric,
            num_train=len(prepared.data["train_captions"]),
            num_test=len(prepared.data["test_captions"]),
            num_params=int(sum(p.size for _, p in model.named_parameters())),
        )
        return metrics

    def upgrade_v1(self, values: dict[str, Any]) -> dict[str, Any]:
        """Version-1 caption configs already used dropout as the drop probability."""
        return dict(values)

    def artifacts(
        self, config: CaptionConfig, prepared: CaptionPrepared, run_dir: Path, model: Any
    ) -> None:
        """Captioning data has no preprocessing to picture."""

    def report(
        self,
        model: Any,
        config: CaptionConfig,
        prepared: CaptionPrepared,
        spec: ModelSpec,
        run_dir: Path,
        split: str = "test",
    ) -> None:
        """Nothing beyond the scores: `evaluate` prints exact match and BLEU-4 (`caption
        sample` shows the captions)."""


CAPTIONING = CaptioningTask()


def sample_run(
    run_dir: str | Path, split: str = "test", num: int = 8, out_png: str | Path | None = None
) -> tuple[list[dict[str, Any]], Path]:
    """Caption the first `num` images of a split with a trained run's model and draw them.

    run_dir: a folder written by train_caption_run
    split: "train", "val" or "test"
    num: number of images
    out_png: where to write the figure (default: run_dir / "samples-<split>.png")
    returns one {"image": index, "generated": str, "references": [str]} per image, and the
        PNG path. Digit strips are drawn with their captions under them; COCO images (not in
        the course files) are shown by their URL.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if isinstance(num, bool) or int(num) != num or num < 1:
        raise ValueError(f"num must be a positive integer, got {num!r}")
    from tinyvision.pipeline import load_run

    run_dir = Path(run_dir)
    loaded = load_run(run_dir, splits=(split,))
    data, model = loaded.prepared.data, loaded.model
    images, references = _split_images(data, split, int(num))
    max_length = data[f"{split}_captions"].shape[1] - 1
    generated = model.sample(data[f"{split}_features"][images], max_length=max_length)
    hypotheses = caption_words(generated, data["idx_to_word"])
    samples = [
        {
            "image": int(image),
            "generated": " ".join(hyp),
            "references": [" ".join(ref) for ref in refs],
        }
        for image, hyp, refs in zip(images.tolist(), hypotheses, references, strict=True)
    ]
    out = Path(out_png) if out_png is not None else run_dir / f"samples-{split}.png"
    pictures = data.get(f"{split}_images")
    urls = data.get(f"{split}_urls")
    _draw_samples(samples, None if pictures is None else pictures[images], urls, out)
    return samples, out


def _draw_samples(
    samples: list[dict[str, Any]], pictures: np.ndarray | None, urls: Any, out: Path
) -> None:
    """One panel per sample: the image (or its URL) with generated and true captions below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(4, len(samples))
    rows = math.ceil(len(samples) / columns)
    figure = Figure(figsize=(3.2 * columns, 1.4 * rows))
    FigureCanvasAgg(figure)
    for k, sample in enumerate(samples):
        axes = figure.add_subplot(rows, columns, k + 1)
        axes.set_xticks([])
        axes.set_yticks([])
        if pictures is not None:
            axes.imshow(pictures[k, 0], cmap="gray_r", vmin=0, vmax=1)
        else:
            url = "" if urls is None else str(urls[sample["image"]])
            axes.text(0.5, 0.5, url, ha="center", va="center", fontsize=6, wrap=True)
        hit = sample["generated"].split() in [ref.split() for ref in sample["references"]]
        axes.set_xlabel(
            f"ours: {sample['generated']}\ntrue: {sample['references'][0]}",
            fontsize=8,
            color="black" if hit else "firebrick",
        )
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
