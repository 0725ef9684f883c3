"""`--model keypoints`: the I2DL facial-keypoints conv net (tinyvision.torch.applications.
keypoints), trained with PyTorch Lightning on the facial-keypoints CSV files
(tinyvision.keypoints). torch is imported only when the model is built or fitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.config import TrainConfig
from tinyvision.keypoints import KEYPOINTS, KeypointPrepared, keypoint_score
from tinyvision.models.torch_extra import check_lightning_run
from tinyvision.registry import ModelSpec, register


def build(config: TrainConfig, prepared: KeypointPrepared) -> Any:
    import torch

    from tinyvision import parallel
    from tinyvision.torch.applications.keypoints import KeypointModel, TorchKeypointRegressor

    # The same threads when training and when evaluate scores again, so the sums agree.
    torch.set_num_threads(parallel.num_threads())
    torch.manual_seed(config.seed)
    module = KeypointModel(
        {
            "channels": config.channels,
            "dropout": config.dropout,
            "batchnorm": config.normalization == "batchnorm",
            "update_rule": config.update_rule,
            "learning_rate": config.learning_rate,
            "weight_decay": config.reg,
            "schedule": config.schedule,
            "lr_decay": config.lr_decay,
            "epochs": config.epochs,
        }
    ).to(dtype=getattr(torch, config.dtype))
    return TorchKeypointRegressor(module)


def check(config: TrainConfig) -> None:
    check_lightning_run(config)
    if config.normalization == "layernorm":
        raise ValueError(f"--model {config.model} takes --normalization batchnorm or none")
    if len(config.channels) < 3:
        raise ValueError(
            f"--model {config.model} needs at least 3 --channels (stem, 24x24 and 12x12 "
            f"stages), got {','.join(map(str, config.channels))}"
        )


def fit(
    model: Any,
    config: TrainConfig,
    prepared: KeypointPrepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    """Train on the train split, keep the epoch of the lowest validation MSE."""
    from tinyvision.torch.applications.keypoints import KeypointDataModule
    from tinyvision.torch.run import train_module

    data = KeypointDataModule(
        prepared.data, config.batch_size, augment=bool(config.augment), seed=config.seed
    )
    history = train_module(
        model.module,
        data,
        config,
        run_dir,
        verbose,
        num_train=len(prepared.data["y_train"]),
        resume=resume,
        monitor="val_mse",
        mode="min",
    )
    model.eval()
    # The per-epoch curves are MSEs and scores, not accuracies (no accuracy.png).
    val_mse = history.pop("val_acc_history")
    history["val_mse_history"] = val_mse
    history["train_mse_history"] = history.pop("train_acc_history")
    history["val_keypoint_score_history"] = [1.0 / (2.0 * m) for m in val_mse]
    history["best_val_acc"] = max(history["val_keypoint_score_history"], default=0.0)
    return history


def mean_face_score(
    model: Any, config: TrainConfig, prepared: KeypointPrepared, history: dict[str, Any]
) -> dict[str, Any]:
    """The score of always predicting the training rows' mean face: the bar to clear."""
    mean = prepared.data["y_train"].astype(np.float64).mean(axis=0)
    target = prepared.data["y_test"]
    return {
        "mean_face_test_keypoint_score": keypoint_score(np.broadcast_to(mean, target.shape), target)
    }


register(
    ModelSpec(
        name="keypoints",
        task=KEYPOINTS,
        build=build,
        description="I2DL facial keypoints: a conv net in PyTorch Lightning (torch extra)",
        defaults={
            "keypoints": {
                "epochs": 8,
                "batch_size": 32,
                "update_rule": "adam",
                "learning_rate": 2e-3,
                "reg": 1e-4,
                "schedule": "cosine",
                "lr_decay": 1.0,
                "dropout": 0.1,
                "channels": (16, 32, 64, 128),
                "normalization": "batchnorm",
                "augment": True,
            }
        },
        inputs="images",
        augmentable=True,
        fit=fit,
        checkpoint="checkpoints/last.ckpt",
        schedules=("step", "cosine"),
        clipping=True,
        check=check,
        metrics=mean_face_score,
    )
)
