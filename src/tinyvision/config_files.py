"""Run configurations as TOML files: `tinyvision train --config FILE` and the search's best.toml.

A file holds TrainConfig fields at its top level (`model = "fc"`, `hidden_dims = [128, 64]`,
...). Reading uses the standard library's tomllib; writing needs only strings, booleans,
numbers and lists of them, which `to_toml` spells by hand.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from tinyvision.config import RunConfig, check_setting

__all__ = ["parse_toml", "read_config_toml", "to_toml", "write_config_toml"]


def parse_toml(path: Path) -> dict[str, Any]:
    """The table a TOML file holds.

    raises ValueError when the text is not TOML, or on Python 3.10 (no tomllib)
    """
    try:
        import tomllib
    except ModuleNotFoundError:
        raise ValueError(f"reading {path} needs Python 3.11 or later (tomllib)") from None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from error


def _value(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: TOML config files hold finite numbers, got {value!r}")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v, key) for v in value) + "]"
    raise ValueError(f"{key}: cannot write {type(value).__name__} {value!r} to TOML")


def to_toml(values: dict[str, Any]) -> str:
    """The TOML text of a flat dict of settings; None values are left out (they mean unset)."""
    lines = [f"{key} = {_value(value, key)}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"


def write_config_toml(config: RunConfig, path: str | Path) -> Path:
    """Write config's fields (those not None) as a TOML file `--config` reads back."""
    path = Path(path)
    path.write_text(to_toml(dataclasses.asdict(config)), encoding="utf-8")
    return path


def read_config_toml(path: str | Path, config_class: type[RunConfig]) -> dict[str, Any]:
    """The settings a TOML config file gives, checked against config_class's fields.

    returns {field: value} with lists turned into tuples
    raises FileNotFoundError for a missing file, ValueError naming the key that is wrong
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    values = parse_toml(path)
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    settings = {}
    for key, value in values.items():
        if key not in fields:
            raise ValueError(
                f"{path}: {key}: not a setting of {config_class.__name__}; the settings are "
                f"{', '.join(fields)}"
            )
        if isinstance(value, dict):
            raise ValueError(f"{path}: {key}: expected a value, got a table")
        if isinstance(value, list):
            value = tuple(value)
        try:
            check_setting(key, value, fields[key])
        except ValueError as error:
            raise ValueError(f"{path}: {key}: {error}") from None
        settings[key] = value
    return settings
