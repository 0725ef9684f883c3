"""Command-line flags generated from the config dataclasses: every field is a flag, and back.

`add_config_options(parser, TrainConfig)` adds one flag per field (`--hidden-dims` for
`hidden_dims`), typed from the field's annotation: integers and floats, comma-separated lists
for tuple fields (`--augment` alone takes the field's `bare` value, `--no-augment` none),
`--x/--no-x` for booleans, and the field's choices. The model and data set
choices come from the registry. `config_from_args` turns the parsed flags back into the config.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from tinyvision import registry
from tinyvision.config import RunConfig, check_setting, config_fields

__all__ = ["add_config_options", "config_from_args"]

_TUNED = "the model's tuned value"


def _list_of(item_type: type) -> Any:
    """An argparse type for comma-separated values such as 512,256."""

    def parse(text: str) -> tuple:
        try:
            return tuple(item_type(part.strip()) for part in text.split(",") if part.strip())
        except ValueError:
            kind = "integers" if item_type is int else "values"
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind} like 512,256, got {text!r}"
            ) from None

    return parse


def _checked(parse: Any, field: dataclasses.Field) -> Any:
    """An argparse type that also runs the field's check, so a bad value names its flag."""

    def parse_and_check(text: str) -> Any:
        value = parse(text)
        try:
            check_setting(field.name, value, field)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    parse_and_check.__name__ = getattr(parse, "__name__", "value")
    return parse_and_check


def _scalar_type(annotation: Any) -> Any:
    """The non-None type of an annotation such as `int | None` (a tuple type stays whole)."""
    if typing.get_origin(annotation) is tuple:
        return annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def _choices(config_class: type[RunConfig], name: str) -> tuple[str, ...] | None:
    """The models whose task takes config_class (several tasks may), or their data sets."""
    specs = [
        spec
        for spec in map(registry.get, registry.names())
        if spec.task.config_class is config_class
    ]
    if name == "model":
        return tuple(spec.name for spec in specs)
    if name == "dataset":
        return tuple(dict.fromkeys(d for spec in specs for d in spec.task.datasets))
    return None


def add_config_options(parser: argparse.ArgumentParser, config_class: type[RunConfig]) -> None:
    """Add one flag per field of config_class (help, type and choices from the field)."""
    for field, annotation in config_fields(config_class):
        meta = field.metadata
        flags = [f"--{field.name.replace('_', '-')}"]
        if meta.get("alias"):
            flags.append(meta["alias"])
        kind = _scalar_type(annotation)
        options: dict[str, Any] = {"dest": field.name, "default": field.default}
        help_text = meta.get("help", "")
        if field.default not in (None, ()):
            help_text += f" (default: {field.default})"
        else:
            help_text += f" (default: {meta.get('unset') or _TUNED})"
        options["help"] = help_text
        choices = _choices(config_class, field.name) or meta.get("choices")
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            item_type = typing.get_args(kind)[0]
            options["type"] = _checked(_list_of(item_type), field)
            options["metavar"] = meta.get("metavar") or "A,B"
            if meta.get("bare") is not None:
                options["nargs"] = "?"
                options["const"] = meta["bare"]
                parser.add_argument(
                    f"--no-{field.name.replace('_', '-')}",
                    dest=field.name,
                    action="store_const",
                    const=False,
                    help=f"turn --{field.name.replace('_', '-')} off",
                )
        else:
            options["type"] = _checked(kind, field)
            if choices is not None:
                options["choices"] = choices
            if meta.get("metavar"):
                options["metavar"] = meta["metavar"]
        parser.add_argument(*flags, **options)


def config_from_args(args: argparse.Namespace, config_class: type[RunConfig]) -> RunConfig:
    """The config that the parsed flags describe (one field per flag)."""
    return config_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)})
