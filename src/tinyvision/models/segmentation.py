"""`--model segmentation`: I2DL's semantic segmentation on the PyTorch track.

An encoder-decoder whose encoder is the stages of the `torch-cnn` model
(tinyvision.torch.applications.segmentation), trained with PyTorch Lightning on the course's
segmentation layout (tinyvision.segmentation). `--backbone RUN` starts the encoder from a
torch-cnn run on CIFAR-10 and trains the same model from scratch beside it; metrics.json then
holds both pixel accuracies and the gain. torch is imported only when the model is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyvision.config import TrainConfig
from tinyvision.models.torch_extra import check_lightning_run
from tinyvision.registry import ModelSpec, register
from tinyvision.segmentation import SEGMENTATION, SegmentationPrepared, pixel_accuracy


def build(config: TrainConfig, prepared: SegmentationPrepared) -> Any:
    from tinyvision.torch.applications.segmentation import build_segmenter

    return build_segmenter(config, prepared.num_classes, in_channels=prepared.input_shape[0])


def check(config: TrainConfig) -> None:
    check_lightning_run(config)
    if config.normalization == "layernorm":
        raise ValueError("--model segmentation takes --normalization batchnorm or none")
    reduction = 2 ** (len(config.channels) - 1)
    if config.crop_size is not None and config.crop_size % reduction:
        raise ValueError(
            f"--crop-size {config.crop_size} must be a multiple of {reduction}: each of the "
            f"{len(config.channels) - 1} encoder stages halves the image"
        )


def fit(
    model: Any,
    config: TrainConfig,
    prepared: SegmentationPrepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    from tinyvision.torch.applications.segmentation import fit as segmentation_fit

    return segmentation_fit(model, config, prepared, run_dir, verbose, resume)


def metrics(
    model: Any, config: TrainConfig, prepared: SegmentationPrepared, history: dict[str, Any]
) -> dict[str, Any]:
    """With a backbone: the from-scratch twin's pixel accuracies and the backbone's gain."""
    if getattr(model, "scratch", None) is None:
        return {"backbone": None}
    scores = {
        f"scratch_{split}_pixel_acc": pixel_accuracy(
            model.scratch.predict(prepared.X[split]), prepared.data[f"y_{split}"]
        )
        for split in ("val", "test")
    }
    test = pixel_accuracy(model.predict(prepared.X["test"]), prepared.data["y_test"])
    return {
        "backbone": config.backbone,
        **scores,
        "backbone_gain": test - scores["scratch_test_pixel_acc"],
    }


register(
    ModelSpec(
        name="segmentation",
        task=SEGMENTATION,
        build=build,
        description="encoder-decoder for semantic segmentation (I2DL; torch extra)",
        defaults={"segmentation": {}},
        inputs="images",
        fit=fit,
        checkpoint="checkpoints/last.ckpt",
        schedules=("step", "cosine"),
        clipping=True,
        check=check,
        metrics=metrics,
    )
)
