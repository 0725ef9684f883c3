"""Training checkpoints as ``.npz`` archives (never pickle), written atomically.

A checkpoint holds everything the Solver needs to continue a run bit for bit
(`TrainingState`); `save_weights` / `load_weights` hold just parameters and buffers (the
``best.npz`` of a run folder). Every file is read with ``np.load(allow_pickle=False)``, so a
checkpoint from an untrusted source cannot run code. Keys inside the archive:

==========================  =========================================================
params/<name>               the model's parameters
buffers/<name>              the model's buffers (see "Model buffers" below)
best_params/<name>          parameters with the best validation accuracy so far
best_buffers/<name>         buffers saved together with best_params
optim/<param>/<key>         each parameter's optimiser config: arrays (velocity, m, v,
                            cache) and 0-d scalars (learning_rate, t, ...)
epoch, iteration, ...       0-d integer counters and the best validation accuracy
loss_history, ...           1-d float histories
rng_state                   JSON of ``Generator.bit_generator.state`` (minibatch sampling)
legacy_rng/keys, /info      ``np.random.get_state()``: the MT19937 key array and JSON of
                            the remaining fields (used by course layers such as dropout)
loader_rng_states           JSON: {"train": state, "val": state} of data loaders' Generators
meta                        JSON: format version and the run's settings
==========================  =========================================================

Writes go to a temporary file in the destination folder which then replaces the target with
``os.replace``, so a crash mid-write leaves the previous checkpoint intact.

Model buffers (non-learned state such as batch-norm running means) come from the model
contract (`tinyvision.model`): they are the entries of ``model.state_dict()`` that are not in
``model.params``, and ``model.load_state_dict`` puts them back. A course-style object of the
user's own with only ``params`` and ``loss`` has no buffers.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision import checkpoint_checks as checks
from tinyvision.errors import DataError
from tinyvision.files import atomic_write, load_arrays

__all__ = [
    "FORMAT_VERSION",
    "TrainingState",
    "atomic_write_json",
    "capture_loader_rngs",
    "check_resumable",
    "get_buffers",
    "load_checkpoint",
    "load_weights",
    "restore_loader_rngs",
    "save_checkpoint",
    "save_weights",
    "set_buffers",
]

FORMAT_VERSION = 1

logger = logging.getLogger(__name__)

_HISTORIES = ("loss_history", "train_acc_history", "val_acc_history", "lr_history")
_COUNTERS = ("epoch", "iteration", "epochs_without_improvement")
_GROUPS = ("params", "buffers", "best_params", "best_buffers")


@dataclass
class TrainingState:
    """A training run frozen between two updates: what the Solver writes and resumes from.

    params, buffers, best_params, best_buffers: {name: ndarray} of any shapes and dtypes.
    optim_configs: {param name: {key: ndarray or Python scalar}} as the update rules keep them.
    epoch, iteration: int, epochs and updates finished; epochs_without_improvement: int.
    best_val_acc: float. loss_history: one float per update; train_acc_history,
    val_acc_history: one float per accuracy check; acc_iterations: the iteration of each
    check; lr_history: the learning rate used in each finished epoch (NaN when unknown).
    rng_state: the Solver Generator's ``bit_generator.state`` dict, or None.
    legacy_rng_state: ``np.random.get_state()`` tuple, or None.
    loader_rng_states: {"train"/"val": bit_generator state} of loaders that own a Generator.
    meta: JSON-serialisable dict of run settings (checked when resuming).
    """

    params: dict[str, np.ndarray]
    optim_configs: dict[str, dict[str, Any]]
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    best_params: dict[str, np.ndarray] = field(default_factory=dict)
    best_buffers: dict[str, np.ndarray] = field(default_factory=dict)
    best_val_acc: float = 0.0
    epoch: int = 0
    iteration: int = 0
    epochs_without_improvement: int = 0
    loss_history: list[float] = field(default_factory=list)
    train_acc_history: list[float] = field(default_factory=list)
    val_acc_history: list[float] = field(default_factory=list)
    acc_iterations: list[int] = field(default_factory=list)
    lr_history: list[float] = field(default_factory=list)
    rng_state: dict[str, Any] | None = None
    legacy_rng_state: tuple | None = None
    loader_rng_states: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def get_buffers(model: Any) -> dict[str, np.ndarray]:
    """Copies of the model's buffers: its state_dict() entries that are not parameters.

    model: any object with params; one without state_dict() has no buffers ({}).
    returns {name: ndarray} copies, safe to keep while training goes on.
    """
    if not callable(getattr(model, "state_dict", None)):
        return {}
    params = model.params
    return {k: np.array(v, copy=True) for k, v in model.state_dict().items() if k not in params}


def set_buffers(model: Any, buffers: Mapping[str, np.ndarray]) -> None:
    """Put buffers (as returned by get_buffers) back into the model with load_state_dict.

    model: the object get_buffers read; buffers: {name: ndarray}.
    Raises DataError when the names or shapes do not fit the model.
    """
    if not buffers:
        return
    if not callable(getattr(model, "load_state_dict", None)):
        raise DataError(
            f"the checkpoint holds buffers {sorted(buffers)} but this model has no "
            "load_state_dict() to take them"
        )
    try:
        model.load_state_dict({**model.params, **buffers})
    except ValueError as error:
        raise DataError(f"the checkpoint's buffers do not fit this model: {error}") from error


def _json_default(obj: Any) -> Any:
    """Let json encode NumPy arrays and scalars found in RNG states."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def _json(obj: Any) -> np.ndarray:
    return np.asarray(json.dumps(obj, default=_json_default))


def _config_value(name: str, value: Any) -> np.ndarray:
    """Turn one optimiser config entry into an array np.load can read without pickle."""
    arr = np.asarray(value)
    if arr.dtype.hasobject:
        raise ValueError(
            f"optimiser config entry {name!r} = {value!r} cannot be checkpointed; "
            f"keep only numbers, strings and arrays in optim_config"
        )
    return arr


def _arrays(state: TrainingState) -> dict[str, np.ndarray]:
    """Flatten a TrainingState into the {key: ndarray} layout of the module docstring."""
    out: dict[str, np.ndarray] = {}
    for group in _GROUPS:
        for name, value in getattr(state, group).items():
            out[f"{group}/{name}"] = np.asarray(value)
    for param, config in state.optim_configs.items():
        for key, value in config.items():
            out[f"optim/{param}/{key}"] = _config_value(f"{param}/{key}", value)
    for name in _COUNTERS:
        out[name] = np.asarray(int(getattr(state, name)), dtype=np.int64)
    out["best_val_acc"] = np.asarray(float(state.best_val_acc))
    for name in _HISTORIES:
        out[name] = np.asarray(getattr(state, name), dtype=np.float64)
    out["acc_iterations"] = np.asarray(state.acc_iterations, dtype=np.int64)
    out["rng_state"] = _json(state.rng_state)
    if state.legacy_rng_state is not None:
        name, keys, pos, has_gauss, cached = state.legacy_rng_state
        out["legacy_rng/keys"] = np.asarray(keys, dtype=np.uint32)
        out["legacy_rng/info"] = _json([name, int(pos), int(has_gauss), float(cached)])
    out["loader_rng_states"] = _json(state.loader_rng_states)
    out["meta"] = _json({**state.meta, "format_version": FORMAT_VERSION})
    return out


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write obj as indented JSON to path atomically.

    path: destination file; obj: JSON-serialisable (NumPy scalars and arrays are converted).
    returns the path written.
    """
    text = json.dumps(obj, indent=2, default=_json_default).encode()
    return atomic_write(Path(path), lambda f: f.write(text))


def save_checkpoint(path: str | os.PathLike, state: TrainingState) -> Path:
    """Write state to path (an .npz file) atomically.

    path: destination; state: the TrainingState to store.
    returns the path written. Raises ValueError for optimiser entries that need pickle.
    """
    arrays = _arrays(state)
    return atomic_write(Path(path), lambda f: np.savez(f, **arrays))


def _open_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every array of a checkpoint without pickle; DataError if it is unreadable."""
    try:
        return load_arrays(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"checkpoint {str(path)!r} does not exist; check the path"
        ) from None


def load_checkpoint(path: str | os.PathLike) -> TrainingState:
    """Read a checkpoint written by save_checkpoint, checking every field.

    path: the .npz file.
    returns the TrainingState. Raises FileNotFoundError for a missing file and
    tinyvision.errors.DataError for a corrupt, truncated or foreign file, naming the file and
    the key of every missing or malformed field: JSON that does not parse, counters that are
    not whole numbers >= 0, histories that are not 1-d numbers, learning rates that are
    negative or not finite, optimiser state of the wrong shape, RNG states NumPy refuses.
    """
    arrays = _open_npz(path)
    required = ("meta", "rng_state", "loader_rng_states", "best_val_acc", "acc_iterations")
    missing = [k for k in (*required, *_COUNTERS, *_HISTORIES) if k not in arrays]
    if missing:
        raise DataError(
            f"{str(path)!r} is not a tinyvision training checkpoint: missing {missing}; "
            f"pass the checkpoint.npz of a run folder (best.npz holds weights only)"
        )
    meta = checks.meta_field(arrays, path, FORMAT_VERSION)
    groups = {group: checks.weights(arrays, group, path) for group in _GROUPS}
    params, best = groups["params"], groups["best_params"]
    if best and {k: v.shape for k, v in best.items()} != {k: v.shape for k, v in params.items()}:
        raise checks.bad_field(
            path,
            "best_params",
            f"holds {_shapes(best)} but params holds {_shapes(params)}; they must match",
        )
    histories = {
        name: checks.history(arrays, name, path, learning_rates=name == "lr_history")
        for name in _HISTORIES
    }
    acc_iterations = checks.history(arrays, "acc_iterations", path, integer=True)
    lengths = {
        "train_acc_history": len(histories["train_acc_history"]),
        "val_acc_history": len(histories["val_acc_history"]),
        "acc_iterations": len(acc_iterations),
    }
    if len(set(lengths.values())) > 1:
        raise checks.bad_field(
            path, "acc_iterations", f"and the accuracy histories differ in length: {lengths}"
        )
    rng_state = checks.json_field(arrays, "rng_state", path)
    if rng_state is not None:
        rng_state = checks.bit_generator_state(rng_state, "rng_state", path)
    return TrainingState(
        **groups,
        optim_configs=checks.optim_configs(arrays, params, path),
        best_val_acc=checks.finite_scalar(arrays, "best_val_acc", path),
        **{name: checks.counter(arrays, name, path) for name in _COUNTERS},
        **histories,
        acc_iterations=acc_iterations,
        rng_state=rng_state,
        legacy_rng_state=checks.legacy_rng_state(arrays, path),
        loader_rng_states=checks.loader_rng_states(arrays, path),
        meta=meta,
    )


def _shapes(arrays: Mapping[str, np.ndarray]) -> str:
    return "{" + ", ".join(f"{k}: {v.shape}" for k, v in sorted(arrays.items())) + "}"


def save_weights(
    path: str | os.PathLike,
    params: Mapping[str, np.ndarray],
    buffers: Mapping[str, np.ndarray] | None = None,
    **info: float,
) -> Path:
    """Write parameters (and buffers) to an .npz file atomically.

    path: destination; params, buffers: {name: ndarray}; info: extra scalars stored under
    their own names (e.g. best_val_acc=0.93, epoch=4).
    returns the path written.
    """
    arrays = {f"params/{k}": np.asarray(v) for k, v in params.items()}
    arrays.update({f"buffers/{k}": np.asarray(v) for k, v in (buffers or {}).items()})
    arrays.update({k: np.asarray(v) for k, v in info.items()})
    return atomic_write(Path(path), lambda f: np.savez(f, **arrays))


def load_weights(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read parameters and buffers from a save_weights file or a full checkpoint.

    path: the .npz file.
    returns (params, buffers), each {name: ndarray}. Raises FileNotFoundError or DataError.
    """
    arrays = _open_npz(path)
    params = checks.weights(arrays, "params", path)
    if not params:
        raise DataError(f"{str(path)!r} holds no 'params/<name>' arrays; it is not a weights file")
    return params, checks.weights(arrays, "buffers", path)


def check_resumable(
    state: TrainingState,
    params: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    path: str | os.PathLike,
) -> None:
    """Raise ValueError unless state can continue a run with these params and settings.

    state: the loaded checkpoint; params: the model's {name: ndarray}; meta: the resuming
    Solver's settings (iterations_per_epoch must match; update_rule may differ, with a warning);
    path: the checkpoint file, for the message.
    """
    expected = {k: np.shape(v) for k, v in params.items()}
    stored = {k: v.shape for k, v in state.params.items()}
    if expected != stored:
        raise ValueError(
            f"checkpoint {str(path)!r} holds parameters {stored} but the model has "
            f"{expected}; resume with the model the checkpoint was written for"
        )
    ipe = state.meta.get("iterations_per_epoch")
    if ipe != meta.get("iterations_per_epoch"):
        raise ValueError(
            f"checkpoint {str(path)!r} was written with {ipe} iterations per epoch, this run "
            f"has {meta.get('iterations_per_epoch')}; use the same data and batch_size"
        )
    if state.meta.get("update_rule") != meta.get("update_rule"):
        logger.warning(
            "resuming a %s run with %s", state.meta.get("update_rule"), meta.get("update_rule")
        )


def _generators(owner: Any, name: str, depth: int = 4) -> dict[str, np.random.Generator]:
    """Every Generator a loader draws from: its own `rng`, its dataset's, the dataset's
    transforms' (random flips and crops), named by path ("train", "train.dataset", ...)."""
    found: dict[str, np.random.Generator] = {}
    if owner is None or depth == 0:
        return found
    if isinstance(getattr(owner, "rng", None), np.random.Generator):
        found[name] = owner.rng
    for attribute in ("dataset", "transform"):
        found.update(_generators(getattr(owner, attribute, None), f"{name}.{attribute}", depth - 1))
    for i, transform in enumerate(getattr(owner, "transforms", None) or []):
        found.update(_generators(transform, f"{name}.transforms.{i}", depth - 1))
    return found


def capture_loader_rngs(loaders: Mapping[str, Any]) -> dict[str, Any]:
    """Bit-generator states of every Generator the loaders draw from (see _generators).

    loaders: {"train"/"val": loader or None}.
    returns {path: bit_generator.state}; "train" is the train loader's own shuffling Generator.
    """
    return {
        path: rng.bit_generator.state
        for key, loader in loaders.items()
        for path, rng in _generators(loader, key).items()
    }


def restore_loader_rngs(state: TrainingState, loaders: Mapping[str, Any]) -> None:
    """Put the Generator states recorded in state back into the loaders' matching Generators.

    state: the loaded checkpoint; loaders: {"train"/"val": loader or None}.
    """
    generators = {
        path: rng
        for key, loader in loaders.items()
        for path, rng in _generators(loader, key).items()
    }
    for path, rng_state in state.loader_rng_states.items():
        if path in generators:
            generators[path].bit_generator.state = rng_state
