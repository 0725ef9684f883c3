"""The built-in models: importing this package registers each of them (tinyvision.registry).

One module per family; a new model is a new module here plus its import line below.
"""

from tinyvision.models import (
    architectures,
    autoencoder_transfer,
    captioning,
    conv,
    fully_connected,
    gan,
    keypoints,
    knn,
    linear,
    segmentation,
    torch_captioning,
    torch_cnn,
    unet,
    vae,
)

__all__ = [
    "architectures",
    "autoencoder_transfer",
    "captioning",
    "conv",
    "fully_connected",
    "gan",
    "keypoints",
    "knn",
    "linear",
    "segmentation",
    "torch_captioning",
    "torch_cnn",
    "unet",
    "vae",
]
