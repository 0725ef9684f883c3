"""Weights between the NumPy and the PyTorch CaptioningTransformer.

The NumPy model (`tinyvision.classifiers.transformer`) names its parameters `W_proj`,
`layers.0.self_attn.Wq`, ... and stores linear weights as (in, out); the PyTorch model
(`tinyvision.torch.classifiers.transformer`) uses the course's names (`visual_projection.weight`,
`transformer.layers.0.self_attn.query.weight`, ...) and (out, in). The table of names is the
NumPy model's own (`torch_parameter_names`), so both directions read one mapping.

A state in NumPy names is what the NumPy model's `state_dict()` gives and what a run folder's
model.npz stores, so a trained model moves between the engines in either direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from tinyvision.classifiers.transformer import torch_parameter_names
from tinyvision.model import check_state_dict
from tinyvision.torch.classifiers.transformer import CaptioningTransformer

__all__ = ["load_numpy_state_dict", "numpy_state_dict", "to_numpy_names"]


def to_numpy_names(tensors: Mapping[str, Any], num_layers: int) -> dict[str, np.ndarray]:
    """Course-named PyTorch tensors (parameters, or their gradients) under the NumPy names.

    tensors: {course PyTorch name: tensor or array}, e.g. dict(model.named_parameters())
    num_layers: the model's number of decoder layers
    returns {NumPy name: array}, linear weights transposed to (in, out); float dtype kept
    """
    out = {}
    for ours, (theirs, transposed) in torch_parameter_names(num_layers).items():
        value = tensors[theirs]
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        value = np.asarray(value)
        out[ours] = (value.T if transposed else value).copy()
    return out


def numpy_state_dict(model: CaptioningTransformer) -> dict[str, np.ndarray]:
    """The model's parameters as NumPy arrays under the NumPy CaptioningTransformer's names.

    returns exactly the keys of the NumPy twin's state_dict() (same sizes), in the model's dtype
    """
    return to_numpy_names(dict(model.named_parameters()), len(model.transformer.layers))


def load_numpy_state_dict(model: CaptioningTransformer, state: Mapping[str, np.ndarray]) -> None:
    """Copy a NumPy CaptioningTransformer's state_dict() into the PyTorch model, in place.

    model: a PyTorch CaptioningTransformer of the same sizes as the NumPy model
    state: {NumPy name: array}, exactly the names and shapes of numpy_state_dict(model);
        values are cast to the model's dtype (the positional-encoding table is fixed and
        stays the model's)
    raises ValueError naming missing, unexpected or mis-shaped entries
    """
    expected = numpy_state_dict(model)
    check_state_dict(state, expected, "PyTorch CaptioningTransformer")
    params = dict(model.named_parameters())
    names = torch_parameter_names(len(model.transformer.layers))
    with torch.no_grad():
        for ours, (theirs, transposed) in names.items():
            value = np.asarray(state[ours])
            params[theirs].copy_(
                torch.from_numpy(np.ascontiguousarray(value.T if transposed else value))
            )
