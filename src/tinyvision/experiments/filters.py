"""`tinyvision experiment filters`: the notes' hand-made kernels on real images, and the learned
first-layer filters of a trained conv run.

The real images are scikit-learn's two bundled photos (`load_sample_images`: china.jpg and
flower.jpg, averaged down and made grey) and the first few training images of the data set
(digits, or CIFAR-10 in grey). Every kernel of `image_filters` filters each of them with our
convolution; `filters.png` shows them side by side. With settings["run"] set to a run folder
of a conv classifier (cnn, convnet, torch-cnn), `learned_filters.png` shows its first
convolution's filters and `feature_maps.png` their responses to a few of its test images,
preprocessed as the run does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.experiments.common import ExperimentOutput
from tinyvision.image_filters import filter_images, make_kernel, to_grey

__all__ = [
    "check_conv_run",
    "downscale",
    "filters",
    "learned_filter_pictures",
    "sample_photos",
]


def downscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Average factor x factor pixel blocks (the last rows and columns that do not fill a block
    are dropped).

    images: (N, C, H, W) float; factor: int >= 1
    returns (N, C, H // factor, W // factor) float64
    """
    n, c, h, w = images.shape
    rows, cols = h // factor, w // factor
    blocks = np.asarray(images, dtype=np.float64)[:, :, : rows * factor, : cols * factor]
    return blocks.reshape(n, c, rows, factor, cols, factor).mean(axis=(3, 5))


def sample_photos(factor: int = 4) -> tuple[list[str], np.ndarray]:
    """scikit-learn's two sample photos, averaged down by factor.

    returns (names, images): names ["china", "flower"], images (2, 3, 427 // factor,
        640 // factor) float64 RGB in [0, 255]
    """
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    names = [Path(name).stem for name in bunch.filenames]
    photos = np.stack([np.asarray(image) for image in bunch.images]).transpose(0, 3, 1, 2)
    return names, downscale(photos, factor)


def _filtered(
    batches: list[np.ndarray], kernels: Mapping[str, np.ndarray]
) -> dict[str, list[np.ndarray]]:
    """{kernel name: one (H, W) output per image}, the batches filtered in order."""
    return {
        name: [out[0] for batch in batches for out in filter_images(batch, kernel)]
        for name, kernel in kernels.items()
    }


def check_conv_run(run_dir: str | Path) -> None:
    """Refuse, before any data is loaded, a run folder whose model has no convolution.

    run_dir: a run folder; it must be a classifier's with 4-d weights in its model.npz
    raises DataError for a folder that is not a run, ValueError for a run without convolutions
    """
    from tinyvision import registry, runs
    from tinyvision.classification import CLASSIFICATION
    from tinyvision.pipeline import read_run_config

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    weights = run_dir / "model.npz"
    has_filters = weights.is_file() and any(
        key.startswith("model/") and np.ndim(value) == 4
        for key, value in runs.load_arrays(weights).items()
    )
    # An unfinished run (no model.npz) gets load_run's own message, which says how to resume.
    if registry.get(config.model).task is not CLASSIFICATION or (
        weights.is_file() and not has_filters
    ):
        raise ValueError(
            f"{run_dir} is a run of --model {config.model}, which has no convolution layer "
            "to show; pass the run folder of a convolutional classifier (--model cnn, convnet "
            "or torch-cnn)"
        )


def _mean_abs_response(outputs: list[np.ndarray], inputs: list[np.ndarray]) -> float:
    """The mean |output| over the images, each relative to its input's value range."""
    return float(
        np.mean(
            [
                np.abs(out).mean() / (float(image.max() - image.min()) or 1.0)
                for out, image in zip(outputs, inputs, strict=True)
            ]
        )
    )


def learned_filter_pictures(
    run_dir: str | Path, out_dir: Path, num_images: int, num_maps: int
) -> tuple[dict[str, Any], list[Path]]:
    """Draw a trained conv run's first-layer filters and feature maps into out_dir.

    run_dir: a run folder of a convolutional classifier (cnn, convnet, torch-cnn); its data is
        read from where it was trained (its config's data_dir)
    num_images: test images whose feature maps are drawn; num_maps: maps per image
    returns (facts about the layer for results.json, [learned_filters.png, feature_maps.png])
    raises ValueError for a run of a model without convolutions, or not a classifier
    """
    from tinyvision.filter_plots import plot_feature_maps
    from tinyvision.learned_filters import feature_maps, first_conv_layer
    from tinyvision.pipeline import load_run
    from tinyvision.vis_utils import plot_first_layer_filters

    check_conv_run(run_dir)
    run_dir = Path(run_dir)
    loaded = load_run(run_dir, splits=("test",))
    layer = first_conv_layer(loaded.model)
    inputs = loaded.prepared.X["test"][:num_images]
    maps = feature_maps(layer, inputs)
    config = loaded.config
    name = f"{config.model} on {config.dataset}"
    plots = [
        plot_first_layer_filters(
            layer.w,
            out_dir / "learned_filters.png",
            padding=1,
            title=f"First-layer filters of {name} ({layer.w.shape[0]} x "
            f"{layer.w.shape[2]}x{layer.w.shape[3]})",
        ),
        plot_feature_maps(
            inputs,
            maps,
            out_dir / "feature_maps.png",
            num_maps,
            title=f"First-layer feature maps of {name} (test images, as the model sees them)",
        ),
    ]
    facts = {
        "run": str(run_dir),
        "model": config.model,
        "dataset": config.dataset,
        "layer": layer.name,
        "filter_shape": list(layer.w.shape),
        "conv_param": layer.conv_param,
        "num_images": len(inputs),
        "feature_map_shape": list(maps.shape[1:]),
    }
    return facts, plots


def filters(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Apply the hand-made kernels to real images; with a run, draw its learned filters too.

    data: "images" (N, C, H, W) raw training images of the data set (load_experiment_images)
    out_dir: folder for filters.png (and learned_filters.png, feature_maps.png with a run)
    settings: "num_images" (data set images shown), "photo_downscale" (block size the photos
        are averaged over), "kernels" (names from image_filters.KERNEL_NAMES), "run" (a run
        folder or None), "num_run_images" and "num_maps" (the feature-map grid's rows and
        columns)
    seed: unused (nothing here is random)
    returns ExperimentOutput with one row per kernel: its size, the sum of its weights and its
        mean absolute response relative to each input's value range
    """
    from tinyvision.filter_plots import plot_filter_outputs

    if settings["run"] is not None:
        check_conv_run(settings["run"])  # before any picture is drawn
    photo_names, photos = sample_photos(settings["photo_downscale"])
    images = data["images"]
    batches = [to_grey(photos), to_grey(images.astype(np.float64))]
    image_names = [*photo_names, *(f"training image {i + 1}" for i in range(len(images)))]
    kernels = {name: make_kernel(name) for name in settings["kernels"]}
    outputs = _filtered(batches, kernels)
    inputs = [image[0] for batch in batches for image in batch]

    rows = [
        {
            "kernel": name,
            "size": f"{kernel.shape[0]}x{kernel.shape[1]}",
            "weight_sum": float(kernel.sum()),
            "mean_abs_response": _mean_abs_response(outputs[name], inputs),
        }
        for name, kernel in kernels.items()
    ]
    plots = [plot_filter_outputs(inputs, kernels, outputs, out_dir / "filters.png", image_names)]
    results: dict[str, Any] = {
        "images": image_names,
        "kernels": {name: kernel.tolist() for name, kernel in kernels.items()},
    }
    if settings["run"] is not None:
        results["learned"], learned_plots = learned_filter_pictures(
            settings["run"], out_dir, settings["num_run_images"], settings["num_maps"]
        )
        plots += learned_plots
    return ExperimentOutput(results, rows, plots)
