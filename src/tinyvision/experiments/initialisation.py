"""Experiment on weight initialisation: activations and gradients of a deep net, untrained.

The study of the CS231n notes (Neural Networks 2, "Weight Initialization"): one batch of
unit-gaussian inputs goes through a deep stack of affine layers (no bias) and tanh or ReLU,
once per initialisation scheme, and the per-layer statistics show what each scheme does:

- 0.01 * N(0, 1): every layer shrinks the activations, which collapse towards 0 (and so do
  the weight gradients, since each is an activation times an upstream gradient);
- N(0, 1) / sqrt(n) and Xavier: keep tanh activations at a steady scale (the two coincide
  when layers are equally wide), but halve the variance at every ReLU;
- Kaiming, N(0, 2 / n): restores the half that ReLU zeroes, so ReLU activations keep their
  scale.

A backward pass from a unit-gaussian upstream gradient at the last layer gives the gradient
of each layer's weights. Nothing is trained. The maths are tinyvision's own layers
(`affine_forward`, `tanh_forward`, `relu_forward` and their backward passes) and the schemes
are `tinyvision.init`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.experiments.common import ExperimentOutput, finish_axes, new_figure, save_figure
from tinyvision.init import init_weight
from tinyvision.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    tanh_backward,
    tanh_forward,
)

__all__ = ["INIT_SCHEMES", "NONLINEARITIES", "deep_net_statistics", "initialisation"]

NONLINEARITIES = {
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
}

# One x range for every layer and scheme, so a collapsing scheme shows as a spike at 0.
_HISTOGRAM_RANGES = {"tanh": (-1.0, 1.0), "relu": (0.0, 4.0)}

# Scheme name (a tinyvision.init method) -> how the plots call it.
INIT_SCHEMES = {
    "gaussian": "0.01 * N(0, 1)",
    "lecun": "N(0, 1) / sqrt(n)",
    "xavier": "Xavier",
    "kaiming": "Kaiming",
}


def deep_net_statistics(
    x: np.ndarray,
    weights: Sequence[np.ndarray],
    nonlinearity: str,
    dout: np.ndarray,
    num_bins: int = 30,
) -> dict[str, Any]:
    """Forward x through affine -> nonlinearity layers, backward dout; per-layer statistics.

    x: (N, D) float input batch
    weights: L arrays, the l-th (D_l, H_l) with D_0 = D and D_l = H_{l-1}; biases are zero
    nonlinearity: "tanh" or "relu"
    dout: (N, H_{L-1}) upstream gradient at the last layer's output
    num_bins: bins of each layer's activation histogram
    returns {"activation_mean", "activation_std": L floats over all N x H_l outputs of each
        layer, "weight_grad_std": L floats, the std of each dL/dW_l,
        "input_grad_std": L floats, the std of the gradient arriving at each layer's output,
        "histograms": L dicts {"counts", "edges"} of the activations over [-1, 1] (tanh) or
        of the positive ones over [0, 4] (ReLU: its zeros would be one spike),
        "zero_fraction": L floats (ReLU: dead outputs; tanh: 0 unless the layer collapsed)}
    """
    forward, backward = NONLINEARITIES[nonlinearity]
    caches, activations = [], []
    h = x
    for w in weights:
        a, affine_cache = affine_forward(h, w, np.zeros(w.shape[1], dtype=w.dtype))
        h, act_cache = forward(a)
        caches.append((affine_cache, act_cache))
        activations.append(h)
    weight_grad_std, input_grad_std = [], []
    grad = dout
    for affine_cache, act_cache in reversed(caches):
        input_grad_std.append(float(grad.std()))
        grad, dw, _ = affine_backward(backward(grad, act_cache), affine_cache)
        weight_grad_std.append(float(dw.std()))
    span = _HISTOGRAM_RANGES[nonlinearity]
    histograms = []
    for h in activations:
        values = h[h > 0] if nonlinearity == "relu" else h.ravel()
        counts, edges = np.histogram(values, bins=num_bins, range=span)
        histograms.append({"counts": counts.tolist(), "edges": edges.tolist()})
    return {
        "activation_mean": [float(h.mean()) for h in activations],
        "activation_std": [float(h.std()) for h in activations],
        "weight_grad_std": weight_grad_std[::-1],
        "input_grad_std": input_grad_std[::-1],
        "zero_fraction": [float(np.mean(h == 0)) for h in activations],
        "histograms": histograms,
    }


def _plot_statistics(results: Mapping[str, Any], nonlinearity: str, out_dir: Path) -> list[Path]:
    """init_<nonlinearity>.png (per-layer curves) and init_<nonlinearity>_histograms.png."""
    figure, axes = new_figure(ncols=3, size=(5.0, 4.0))
    panels = (
        ("activation_mean", "Activation mean", "linear"),
        ("activation_std", "Activation std", "log"),
        ("weight_grad_std", "Weight-gradient std", "log"),
    )
    for ax, (key, title, scale) in zip(axes, panels, strict=True):
        for scheme, stats in results.items():
            layers = np.arange(1, len(stats[key]) + 1)
            # Dashed, so 1/sqrt(n) stays visible where it coincides with Xavier.
            dashed = scheme == "lecun"
            ax.plot(
                layers,
                stats[key],
                "--" if dashed else "-",
                marker="o",
                ms=3,
                zorder=3 if dashed else 2,
                label=INIT_SCHEMES[scheme],
            )
        ax.set_yscale(scale)
        ax.set_title(f"{title} per layer ({nonlinearity})")
        finish_axes(ax, "layer", key.replace("_", " "))
    paths = [save_figure(figure, out_dir / f"init_{nonlinearity}.png")]

    # One panel per scheme, each layer's histogram a ridge scaled to its own peak (layer 1 at
    # the bottom): 4 axes draw far faster than one per layer and scheme.
    figure, axes = new_figure(ncols=len(results), size=(3.6, 4.5))
    for ax, (scheme, stats) in zip(axes, results.items(), strict=True):
        for layer, hist in enumerate(stats["histograms"]):
            counts = np.asarray(hist["counts"], dtype=np.float64)
            heights = layer + 0.9 * counts / max(counts.max(), 1.0)
            ax.stairs(heights, hist["edges"], baseline=layer, fill=True, color=f"C{layer % 10}")
        num_layers = len(stats["histograms"])
        ax.set_yticks(np.arange(num_layers) + 0.4, [str(n + 1) for n in range(num_layers)])
        ax.set_title(INIT_SCHEMES[scheme])
        ax.set_xlabel("positive activation" if nonlinearity == "relu" else "activation")
        ax.set_ylabel("layer")
    figure.suptitle(f"Activation histograms per layer ({nonlinearity})")
    paths.append(save_figure(figure, out_dir / f"init_{nonlinearity}_histograms.png"))
    return paths


def initialisation(
    data: Mapping[str, np.ndarray], out_dir: Path, settings: Mapping[str, Any], seed: int
) -> ExperimentOutput:
    """Per-layer activation and gradient statistics of an untrained deep net, per scheme.

    data: unused (the batch is drawn from a unit gaussian, as in the notes).
    out_dir: folder for init_<nonlinearity>.png and init_<nonlinearity>_histograms.png.
    settings: "batch_size" (N), "input_dim" (D), "hidden_dims" (one width per layer),
        "nonlinearities" (names of NONLINEARITIES), "schemes" (names of INIT_SCHEMES),
        "weight_scale" (the std of the "gaussian" scheme).
    seed: seeds the input batch, the upstream gradient and every scheme's weights (each scheme
        draws from the same stream, so only the scale differs between them).
    returns ExperimentOutput with results {nonlinearity: {scheme: deep_net_statistics}} and one
        table row per (nonlinearity, scheme).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((settings["batch_size"], settings["input_dim"]))
    dims = [settings["input_dim"], *settings["hidden_dims"]]
    dout = rng.standard_normal((settings["batch_size"], dims[-1]))
    results: dict[str, Any] = {}
    rows, plots = [], []
    for nonlinearity in settings["nonlinearities"]:
        results[nonlinearity] = {}
        for scheme in settings["schemes"]:
            weight_rng = np.random.default_rng(seed)
            weights = [
                init_weight(scheme, (d_in, d_out), weight_rng, settings["weight_scale"])
                for d_in, d_out in zip(dims[:-1], dims[1:], strict=True)
            ]
            stats = deep_net_statistics(x, weights, nonlinearity, dout)
            results[nonlinearity][scheme] = stats
            stds = stats["activation_std"]
            rows.append(
                {
                    "nonlinearity": nonlinearity,
                    "scheme": scheme,
                    "first_std": stds[0],
                    "last_std": stds[-1],
                    "last/first": stds[-1] / stds[0],
                    "first_grad_std": stats["weight_grad_std"][0],
                    "last_grad_std": stats["weight_grad_std"][-1],
                }
            )
        plots.extend(_plot_statistics(results[nonlinearity], nonlinearity, out_dir))
    return ExperimentOutput(results, rows, plots)
