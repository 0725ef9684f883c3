"""Reading each field of a checkpoint archive with checks: a junk field is a DataError.

`load_checkpoint` reads a checkpoint through these functions only. Each takes the archive's
``{key: ndarray}`` (as ``np.load`` gives it), the key and the file's path, and returns the
field as the Solver uses it, or raises `tinyvision.errors.DataError` naming the file, the key,
what was expected and what came. The Solver itself never writes anything these refuse, so a
refusal means a damaged, hand-edited or foreign file.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from tinyvision import optim
from tinyvision.errors import DataError

__all__ = [
    "bit_generator_state",
    "counter",
    "finite_scalar",
    "history",
    "json_field",
    "legacy_rng_state",
    "loader_rng_states",
    "meta_field",
    "optim_configs",
    "weights",
]

_MT19937_WORDS = 624
# The bit generators NumPy ships; a state dict names one of them.
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def bad_field(path: str | os.PathLike, key: str, problem: str) -> DataError:
    """The DataError for one malformed field: names the file and the key, then the problem."""
    return DataError(
        f"checkpoint {str(path)!r}: {key!r} {problem}; the file is damaged or was not written "
        "by tinyvision (resume from another checkpoint, or start the run again)"
    )


def _describe(value: np.ndarray) -> str:
    return f"an array of dtype {value.dtype} and shape {value.shape}"


def json_field(arrays: dict[str, np.ndarray], key: str, path: str | os.PathLike) -> Any:
    """The JSON text stored under key (a 0-d string array), decoded."""
    value = arrays[key]
    if value.ndim != 0 or value.dtype.kind not in "US":
        raise bad_field(path, key, f"must be a JSON string, got {_describe(value)}")
    text = value.item()
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise bad_field(path, key, f"is not valid JSON ({error})") from error


def counter(arrays: dict[str, np.ndarray], key: str, path: str | os.PathLike) -> int:
    """A 0-d integer >= 0 (epoch, iteration, ...) as a Python int."""
    value = arrays[key]
    if value.ndim != 0 or value.dtype.kind not in "iu":
        raise bad_field(path, key, f"must be a whole number >= 0, got {_describe(value)}")
    number = int(value)
    if number < 0:
        raise bad_field(path, key, f"must be a whole number >= 0, got {number}")
    return number


def finite_scalar(arrays: dict[str, np.ndarray], key: str, path: str | os.PathLike) -> float:
    """A 0-d finite real number (best_val_acc) as a Python float."""
    value = arrays[key]
    if value.ndim != 0 or value.dtype.kind not in "iuf":
        raise bad_field(path, key, f"must be a finite number, got {_describe(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise bad_field(path, key, f"must be a finite number, got {number}")
    return number


def history(
    arrays: dict[str, np.ndarray],
    key: str,
    path: str | os.PathLike,
    *,
    integer: bool = False,
    learning_rates: bool = False,
) -> list:
    """A 1-d history as a list: finite floats, ints >= 0 (integer), or learning rates.

    learning_rates: each value is a finite number >= 0, or NaN (a rule without a learning rate).
    """
    value = arrays[key]
    kinds = "iu" if integer else "iuf"
    expected = "whole numbers >= 0" if integer else "numbers"
    if value.ndim != 1 or value.dtype.kind not in kinds:
        raise bad_field(path, key, f"must be a 1-d array of {expected}, got {_describe(value)}")
    if integer:
        if value.size and value.min() < 0:
            raise bad_field(path, key, f"must hold whole numbers >= 0, got {int(value.min())}")
        return [int(v) for v in value]
    values = value.astype(np.float64)
    if learning_rates:
        bad, expected = np.isinf(values) | (values < 0), "finite numbers >= 0 (or NaN)"
    else:
        bad, expected = ~np.isfinite(values), "finite numbers"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise bad_field(path, key, f"must hold {expected}, got {values[i]} at position {i}")
    return values.tolist()


def weights(
    arrays: dict[str, np.ndarray], group: str, path: str | os.PathLike
) -> dict[str, np.ndarray]:
    """The arrays under "<group>/<name>" (params, buffers, ...): named, numeric."""
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if not key.startswith(group + "/"):
            continue
        name = key[len(group) + 1 :]
        if not name:
            raise bad_field(path, key, "has no name after the group")
        if value.dtype.kind not in "biufc":
            raise bad_field(path, key, f"must be a numeric array, got {_describe(value)}")
        out[name] = value
    return out


def _config_entry(value: np.ndarray) -> Any:
    """0-d entries come back as Python scalars (so t stays an int), others as arrays."""
    return value.item() if value.ndim == 0 else value


def optim_configs(
    arrays: dict[str, np.ndarray], params: dict[str, np.ndarray], path: str | os.PathLike
) -> dict[str, dict[str, Any]]:
    """The "optim/<param>/<key>" entries as {param: {key: value}}.

    Hyperparameters must lie in the ranges the update rules accept (a learning rate finite and
    >= 0, momentum in [0, 1), ...), the step count t must be a whole number >= 0, and the state
    arrays of a parameter (velocity, cache, m, v) must have that parameter's shape.
    """
    configs: dict[str, dict[str, Any]] = {}
    for key, raw in arrays.items():
        if not key.startswith("optim/"):
            continue
        param, _, name = key[len("optim/") :].rpartition("/")
        if not param or not name:
            raise bad_field(path, key, "must be named optim/<parameter>/<setting>")
        if raw.dtype.kind not in "biufcUS":
            raise bad_field(path, key, f"must be a number, a string or an array, got {raw.dtype}")
        value = _config_entry(raw)
        try:
            optim.validate_config({name: value}, hint=None)
        except ValueError as error:
            raise bad_field(path, key, f"is out of range ({error})") from error
        if name == "t" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise bad_field(path, key, f"must be a whole number >= 0, got {value!r}")
        if raw.ndim and param in params and raw.shape != params[param].shape:
            raise bad_field(
                path, key, f"has shape {raw.shape} but params/{param} has {params[param].shape}"
            )
        configs.setdefault(param, {})[name] = value
    return configs


def bit_generator_state(state: Any, key: str, path: str | os.PathLike) -> dict[str, Any]:
    """A Generator's ``bit_generator.state`` dict, checked by loading it into its generator."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise bad_field(
            path,
            key,
            f"must be a random generator state naming one of {', '.join(_BIT_GENERATORS)}, "
            f"got {str(state)[:80]}",
        )
    try:
        getattr(np.random, name)().state = state
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        raise bad_field(
            path, key, f"is not a valid {name} state ({type(error).__name__}: {error})"
        ) from error
    return state


def legacy_rng_state(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> tuple | None:
    """``np.random.get_state()`` rebuilt from legacy_rng/keys and legacy_rng/info, or None."""
    present = [k for k in ("legacy_rng/keys", "legacy_rng/info") if k in arrays]
    if not present:
        return None
    if len(present) == 1:
        other = "legacy_rng/info" if present[0] == "legacy_rng/keys" else "legacy_rng/keys"
        raise bad_field(path, other, f"is missing although {present[0]!r} is there")
    keys = arrays["legacy_rng/keys"]
    if keys.shape != (_MT19937_WORDS,) or keys.dtype.kind not in "iu":
        raise bad_field(
            path,
            "legacy_rng/keys",
            f"must be {_MT19937_WORDS} unsigned 32-bit words, got {_describe(keys)}",
        )
    info = json_field(arrays, "legacy_rng/info", path)
    shape_ok = isinstance(info, list) and len(info) == 4
    if shape_ok:
        name, pos, has_gauss, cached = info
        shape_ok = (
            name == "MT19937"
            and type(pos) is int
            and 0 <= pos <= _MT19937_WORDS
            and has_gauss in (0, 1)
            and type(has_gauss) is int
            and type(cached) in (int, float)
        )
    if not shape_ok:
        raise bad_field(
            path,
            "legacy_rng/info",
            f'must be ["MT19937", position 0..624, has_gauss 0 or 1, cached float], got {info!r}',
        )
    state = ("MT19937", keys.astype(np.uint32), pos, has_gauss, float(cached))
    try:
        np.random.RandomState().set_state(state)
    except (TypeError, ValueError, OverflowError) as error:
        raise bad_field(path, "legacy_rng/info", f"is not a valid state ({error})") from error
    return state


def loader_rng_states(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> dict[str, Any]:
    """{loader name: bit generator state} from the loader_rng_states JSON."""
    states = json_field(arrays, "loader_rng_states", path)
    if not isinstance(states, dict):
        raise bad_field(
            path, "loader_rng_states", f"must be a JSON object, got {type(states).__name__}"
        )
    return {
        name: bit_generator_state(state, f"loader_rng_states/{name}", path)
        for name, state in states.items()
    }


def meta_field(arrays: dict[str, np.ndarray], path: str | os.PathLike, version: int) -> dict:
    """The meta JSON object, with the format version and the settings the Solver reads checked."""
    meta = json_field(arrays, "meta", path)
    if not isinstance(meta, dict):
        raise bad_field(path, "meta", f"must be a JSON object, got {type(meta).__name__}")
    found = meta.get("format_version")
    if type(found) is not int or found != version:
        raise DataError(
            f"checkpoint {str(path)!r} has format version {found!r}, this tinyvision reads "
            f"version {version}"
        )
    ipe = meta.get("iterations_per_epoch")
    if ipe is not None and (type(ipe) is not int or ipe < 1):
        raise bad_field(
            path, "meta/iterations_per_epoch", f"must be a positive whole number, got {ipe!r}"
        )
    if not isinstance(meta.get("stopped_early", False), bool):
        raise bad_field(
            path, "meta/stopped_early", f"must be true or false, got {meta['stopped_early']!r}"
        )
    rule = meta.get("update_rule")
    if rule is not None and not isinstance(rule, str):
        raise bad_field(path, "meta/update_rule", f"must be a name, got {rule!r}")
    return meta
