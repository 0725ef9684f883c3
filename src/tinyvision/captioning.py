"""The captioning run pipeline: from a CaptionConfig to a run folder, and back to captions.

`train_caption_run` loads the data (digit strips, or the course's COCO files), builds a
CaptioningRNN (rnn / lstm) or CaptioningTransformer, trains it with the CaptioningSolver and
writes a run folder like `tinyvision train` does:

    config.json    the resolved CaptionConfig
    metrics.json   test/val exact match and BLEU-4, train loss, seconds, model, dataset
    history.json   loss per update, the val metric per epoch (written by the Solver)
    model.npz      the model's parameters as model/<name> (never pickle)
    loss.png       training loss per update
    checkpoint.npz, best.npz   the Solver's checkpoints (resume with `resume=`)

`sample_run` rebuilds the model from a run folder and draws captions for a few images of a
split into a PNG. Test metrics use greedy captions; exact match and BLEU-4 ignore <START>,
<END> and <NULL>, and an image with several reference captions (COCO) is matched against all.

COCO has no test split in the course files: its val images are split in two by image index,
the first half for validation (model selection) and the second for the test metrics.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import runs
from tinyvision.captioning_solver import CaptioningSolver, caption_words, score_captions
from tinyvision.config import JsonConfig
from tinyvision.schedules import SCHEDULES

__all__ = [
    "CAPTION_DATASETS",
    "CAPTION_DEFAULTS",
    "CAPTION_MODELS",
    "CaptionConfig",
    "build_caption_model",
    "evaluate_captions",
    "load_caption_data",
    "resolve_caption_config",
    "sample_run",
    "train_caption_run",
]

logger = logging.getLogger(__name__)

CAPTION_MODELS = ("rnn", "lstm", "transformer")
CAPTION_DATASETS = ("digit-strips", "coco")
# Digit strips drawn for validation and test; fixed so every run is scored on the same strips.
_DIGIT_STRIPS_EVAL = 500
_DATA_SEED = 0
# Longest caption the transformer's positional table holds (COCO captions have 17 tokens).
_TRANSFORMER_MAX_LENGTH = 50

_COMMON: dict[str, Any] = {
    "update_rule": "adam",
    "lr_decay": 0.95,
    "schedule": "step",
    "num_heads": 4,
    "num_layers": 2,
    "dropout": 0.0,
    "dim_feedforward": None,
    "feature_dim": 512,
    "patience": None,
    "num_eval": None,
}
_DIGIT_STRIPS = {"batch_size": 50, "num_train": 40000, "schedule": "cosine"}
_COCO = {"epochs": 5, "batch_size": 100, "num_train": 50000, "num_eval": 1000}
_RNN_SIZES = {"hidden_dim": 128, "wordvec_dim": 64}
_COCO_RNN = {**_COCO, "learning_rate": 5e-3, "hidden_dim": 512, "wordvec_dim": 256}
# Tuned per (model, dataset): resolve_caption_config fills every None field from here. On digit
# strips, more strips (new combinations of the same training digits) beat more epochs.
CAPTION_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("rnn", "digit-strips"): {**_DIGIT_STRIPS, **_RNN_SIZES, "epochs": 5, "learning_rate": 3e-3},
    ("lstm", "digit-strips"): {**_DIGIT_STRIPS, **_RNN_SIZES, "epochs": 5, "learning_rate": 2e-3},
    ("transformer", "digit-strips"): {
        **_DIGIT_STRIPS,
        **_RNN_SIZES,
        "epochs": 4,
        "learning_rate": 5e-3,
        "dim_feedforward": 128,
    },
    ("rnn", "coco"): _COCO_RNN,
    ("lstm", "coco"): _COCO_RNN,
    ("transformer", "coco"): {
        **_COCO,
        **_RNN_SIZES,
        "learning_rate": 1e-3,
        "wordvec_dim": 256,
        "dim_feedforward": 512,
        "dropout": 0.1,
        "schedule": "cosine",
    },
}


@dataclass
class CaptionConfig(JsonConfig):
    """Everything that defines a captioning run; None means "the tuned default for this pair".

    model: "rnn", "lstm" or "transformer"; dataset: "digit-strips" or "coco"
    data_dir: folder of the course's COCO files (None: tinyvision.coco_utils.default_coco_dir)
    num_train: training strips (digit-strips) or training captions kept (coco)
    hidden_dim, wordvec_dim: RNN sizes; the transformer's width is wordvec_dim
    num_heads, num_layers, dim_feedforward, dropout: transformer only
    schedule: "step" (lr * lr_decay per epoch) or "cosine" (per update, down to 0)
    patience: early stopping after that many epochs without a better val metric
    num_eval: images scored per val/test evaluation (None: all of them)
    """

    model: str = "lstm"
    dataset: str = "digit-strips"
    data_dir: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    lr_decay: float | None = None
    schedule: str | None = None
    update_rule: str | None = None
    hidden_dim: int | None = None
    wordvec_dim: int | None = None
    num_heads: int | None = None
    num_layers: int | None = None
    dim_feedforward: int | None = None
    dropout: float | None = None
    num_train: int | None = None
    feature_dim: int | None = None
    patience: int | None = None
    num_eval: int | None = None
    val_metric: str | None = None
    dtype: str = "float32"
    seed: int = 0
    out: str | None = None


def resolve_caption_config(config: CaptionConfig) -> CaptionConfig:
    """Check config and fill every None field with the tuned default of its (model, dataset)."""
    if config.model not in CAPTION_MODELS:
        raise ValueError(
            f"unknown captioning model {config.model!r}; choose one of {', '.join(CAPTION_MODELS)}"
        )
    if config.dataset not in CAPTION_DATASETS:
        raise ValueError(
            f"unknown captioning dataset {config.dataset!r}; choose one of "
            f"{', '.join(CAPTION_DATASETS)}"
        )
    if config.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {config.dtype!r}")
    defaults = {**_COMMON, **CAPTION_DEFAULTS[(config.model, config.dataset)]}
    # Exact matches are rare on COCO, whose images each have five different captions.
    defaults.setdefault("val_metric", "bleu4" if config.dataset == "coco" else "exact_match")
    resolved = dataclasses.replace(config)
    for name, value in defaults.items():
        if getattr(resolved, name) is None:
            setattr(resolved, name, value)
    if resolved.dim_feedforward is None:
        resolved.dim_feedforward = 4 * resolved.wordvec_dim
    for name in ("epochs", "batch_size", "hidden_dim", "wordvec_dim", "num_heads", "num_layers"):
        value = getattr(resolved, name)
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in ("num_train", "feature_dim", "dim_feedforward", "num_eval", "patience"):
        value = getattr(resolved, name)
        if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not (math.isfinite(resolved.learning_rate) and resolved.learning_rate > 0):
        raise ValueError(f"learning_rate must be a finite number > 0, got {resolved.learning_rate}")
    if resolved.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {resolved.schedule!r}")
    if not 0.0 <= resolved.dropout < 1.0:
        raise ValueError(f"dropout is the drop probability, in [0, 1); got {resolved.dropout}")
    if resolved.model == "transformer" and resolved.wordvec_dim % (2 * resolved.num_heads):
        raise ValueError(
            f"the transformer's wordvec_dim ({resolved.wordvec_dim}) must be a multiple of "
            f"2 * num_heads ({2 * resolved.num_heads})"
        )
    return resolved


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


def build_caption_model(config: CaptionConfig, word_to_idx: dict[str, int], input_dim: int) -> Any:
    """A freshly initialised model for a resolved config (seeded by config.seed)."""
    dtype = np.dtype(config.dtype)
    if config.model == "transformer":
        from tinyvision.classifiers.transformer import CaptioningTransformer

        return CaptioningTransformer(
            word_to_idx,
            input_dim=input_dim,
            wordvec_dim=config.wordvec_dim,
            num_heads=config.num_heads,
            num_layers=config.num_layers,
            max_length=_TRANSFORMER_MAX_LENGTH,
            dropout=config.dropout,
            dim_feedforward=config.dim_feedforward,
            dtype=dtype,
            seed=config.seed,
        )
    from tinyvision.classifiers.rnn import CaptioningRNN

    return CaptioningRNN(
        word_to_idx,
        input_dim=input_dim,
        wordvec_dim=config.wordvec_dim,
        hidden_dim=config.hidden_dim,
        cell_type=config.model,
        dtype=dtype,
        seed=config.seed,
    )


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


def train_caption_run(
    config: CaptionConfig, verbose: bool = True, resume: str | Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Train config's captioning model and write a complete run folder.

    config: the run's settings (None fields take the tuned defaults)
    verbose: progress bars and per-epoch messages
    resume: a checkpoint.npz of an interrupted run with the same config to continue from
    returns the run folder and the metrics written to its metrics.json
    """
    config = resolve_caption_config(config)
    start, cpu_start = time.perf_counter(), time.process_time()
    data = load_caption_data(config)
    model = build_caption_model(config, data["word_to_idx"], data["train_features"].shape[1])
    run_dir = runs.new_run_dir(config.out, f"caption-{config.model}-{config.dataset}")
    runs.write_json(run_dir / "config.json", config.to_dict())

    num_captions = len(data["train_captions"])
    solver = CaptioningSolver(
        model,
        data,
        update_rule=config.update_rule,
        optim_config={"learning_rate": config.learning_rate},
        lr_decay=config.lr_decay,
        lr_schedule=config.schedule,
        batch_size=config.batch_size,
        num_epochs=config.epochs,
        num_train_samples=config.num_eval or 1000,
        num_val_samples=config.num_eval,
        print_every=max(1, num_captions // config.batch_size // 4),
        val_metric=config.val_metric,
        patience=config.patience,
        verbose=verbose,
        seed=config.seed,
        out_dir=run_dir,
        resume=resume,
    )
    solver.train()
    history = solver.history()
    ipe = solver.iterations_per_epoch
    metrics: dict[str, Any] = {"model": config.model, "dataset": config.dataset}
    for split in ("test", "val"):
        scores = evaluate_captions(model, data, split, config.num_eval)
        metrics.update({f"{split}_{name}": value for name, value in scores.items()})
    metrics.update(
        {
            "val_metric": config.val_metric,
            "best_val_metric": solver.best_val_acc,
            "train_loss": float(np.mean(solver.loss_history[-ipe:])),
            "epochs_run": solver.epoch,
            "stopped_early": solver.stopped_early,
            "num_train": num_captions,
            "num_test": len(data["test_captions"]),
            "num_params": int(sum(p.size for p in model.params.values())),
        }
    )
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    # CPU time says how much work the run was on a machine shared with other jobs.
    metrics["cpu_seconds"] = round(time.process_time() - cpu_start, 3)
    runs.save_arrays(run_dir / "model.npz", {f"model/{k}": v for k, v in model.params.items()})
    runs.write_json(run_dir / "history.json", history)
    runs.plot_history({"loss_history": history["loss_history"]}, run_dir)
    runs.write_json(run_dir / "metrics.json", metrics)
    return run_dir, metrics


def _load_run(run_dir: Path, split: str) -> tuple[CaptionConfig, dict[str, Any], Any]:
    """The config, the data (train strips only when needed) and the trained model of a run."""
    config = resolve_caption_config(
        CaptionConfig.from_dict(runs.load_json(run_dir / "config.json"))
    )
    arrays = runs.load_arrays(run_dir / "model.npz")
    params = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    # Val and test strips do not depend on the number of training strips, so skip drawing them.
    small = config.dataset == "digit-strips" and split != "train"
    data = load_caption_data(config, num_train=1 if small else None)
    model = build_caption_model(config, data["word_to_idx"], data[f"{split}_features"].shape[1])
    expected = {k: v.shape for k, v in model.params.items()}
    if {k: v.shape for k, v in params.items()} != expected:
        raise ValueError(
            f"{run_dir / 'model.npz'} does not hold the parameters of the model in its "
            "config.json; the run folder is inconsistent, train it again"
        )
    model.params = {k: params[k].astype(model.params[k].dtype) for k in expected}
    return config, data, model


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
    run_dir = Path(run_dir)
    _, data, model = _load_run(run_dir, split)
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
