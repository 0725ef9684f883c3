"""A registered image classifier's layer table, built for a data set's input without its data.

`describe_model("vgg", "cifar10")` resolves the model's tuned defaults for that data set, builds
it for the data set's image shape (classification.DATASET_SHAPES: nothing is loaded) and lists
its layers with tinyvision.nn.summary: output shapes, parameters, receptive fields. The networks
of tinyvision.nn modules are listed as they are; the course's ThreeLayerConvNet (`cnn`) through
the equivalent modules it gives (`to_modules`). Models without layers over images (kNN, the
linear classifiers on flat rows) are refused with a message saying so. The segmentation U-Net
(`unet`) is described on the segmentation task's images: the generated scenes' size, or
--crop-size when its defaults set one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyvision import registry
from tinyvision.classification import CLASSIFICATION, DATASET_SHAPES, Prepared
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.data.segmentation_generator import GENERATED_SIZE
from tinyvision.nn import LayerRow, Module, summarize
from tinyvision.segmentation import SegmentationPrepared

__all__ = ["ModelDescription", "describe_model", "layered_models"]


@dataclass(frozen=True)
class ModelDescription:
    """The layer table of one model on one data set.

    model, dataset: the names; input_shape: one example, (C, H, W); rows: one per layer
    """

    model: str
    dataset: str
    input_shape: tuple[int, ...]
    rows: list[LayerRow]


def layered_models() -> list[str]:
    """The registered models describe can list: the image classifiers and the U-Net."""
    return [
        *(
            name
            for name in registry.names(CLASSIFICATION.name)
            if registry.get(name).inputs == "images"
        ),
        "unet",
    ]


def describe_model(name: str, dataset: str | None = None) -> ModelDescription:
    """Build model name at its tuned defaults for dataset's input shape and summarize it.

    dataset: an image classifier's data set (default cifar10); the U-Net always describes on
        the segmentation images
    raises ValueError for a model that is neither an image classifier nor the U-Net, one whose
    network is not made of tinyvision.nn modules, or a data set the model refuses
    """
    spec = registry.get(name)
    known = ", ".join(other for other in layered_models() if other != name)
    if name == "unet":
        config = resolve_config(TrainConfig(model=name))
        size = config.crop_size or GENERATED_SIZE
        shape = (3, size, size)
        model = spec.build(config, SegmentationPrepared({}, {}, {"train": np.zeros((0, *shape))}))
        return ModelDescription(name, config.dataset, shape, summarize(model, shape))
    if spec.task is not CLASSIFICATION or spec.inputs != "images":
        kind = "flat rows" if spec.task is CLASSIFICATION else f"the {spec.task.name} task"
        raise ValueError(
            f"{name} has no layer table: describe lists the image classifiers' layers and the "
            f"U-Net's ({known}); {name} is a model of {kind}"
        )
    config = resolve_config(TrainConfig(model=name, dataset=dataset or "cifar10"))
    shape, classes = DATASET_SHAPES[config.dataset]
    model = spec.build(config, Prepared({}, {}, {}, shape=shape, classes=classes))
    if isinstance(model, Module):
        network = model
    elif hasattr(model, "to_modules"):
        network = model.to_modules()
    else:
        raise ValueError(
            f"{name} is not built from tinyvision.nn modules, so describe cannot list its "
            f"layers; it can for {known}"
        )
    return ModelDescription(name, config.dataset, shape, summarize(network, shape))
