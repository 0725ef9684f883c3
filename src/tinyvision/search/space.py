"""The search space: what a hyperparameter search varies, what it keeps fixed, and how.

A space is written in TOML (or given as the same dict):

    model = "two-layer"
    dataset = "digits"
    sampler = "tpe"            # grid, random or tpe
    pruner = "median"          # median, halving or none
    folds = 0                  # k >= 2: score each trial by k-fold cross-validation;
                               # "loo": leave-one-out (k = N, at most 500 examples)
    [fixed]                    # TrainConfig fields every trial shares
    epochs = 10
    [search.learning_rate]     # one table per searched TrainConfig field
    type = "log-uniform"       # choice, uniform, log-uniform or int
    low = 1e-3
    high = 1.0
    [search.hidden_dims]
    type = "choice"
    values = [[64], [128], [64, 64]]

`parse_space` checks every key before any training starts and names the key that is wrong;
`default_space` gives a space that works for each model and data set when no file is given.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyvision import registry
from tinyvision.config import TrainConfig, check_setting, config_fields
from tinyvision.config_files import parse_toml, to_toml

__all__ = [
    "LEAVE_ONE_OUT",
    "LEAVE_ONE_OUT_LIMIT",
    "PARAM_TYPES",
    "PRUNERS",
    "SAMPLERS",
    "Param",
    "SearchSpace",
    "check_leave_one_out",
    "default_space",
    "load_space",
    "parse_space",
    "space_to_toml",
]

PARAM_TYPES = ("choice", "uniform", "log-uniform", "int")
SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "halving", "none")

# Points per axis when the grid sampler meets a continuous range.
GRID_POINTS = 4

# folds = "loo": as many folds as training examples, each holding out one. It trains one model
# per example, so it is for small training sets only.
LEAVE_ONE_OUT = "loo"
LEAVE_ONE_OUT_LIMIT = 500


def check_leave_one_out(num_examples: int, source: str = "search space") -> None:
    """Raise ValueError unless leave-one-out can run on num_examples training examples.

    num_examples: N, the size of the training split (or the fixed num_training)
    raises ValueError for N > LEAVE_ONE_OUT_LIMIT (N trainings per trial) or N < 2
    """
    if num_examples > LEAVE_ONE_OUT_LIMIT:
        raise ValueError(
            f"{source}: folds: leave-one-out trains one model per training example, and the "
            f"training split has {num_examples} (at most {LEAVE_ONE_OUT_LIMIT} allowed); use "
            f"folds = K (e.g. folds = 10) or fix num_training <= {LEAVE_ONE_OUT_LIMIT} in [fixed]"
        )
    if num_examples < 2:
        raise ValueError(
            f"{source}: folds: leave-one-out needs at least 2 training examples, got {num_examples}"
        )


@dataclass(frozen=True)
class Param:
    """One searched TrainConfig field: a choice among values, or a range.

    name: the TrainConfig field; kind: one of PARAM_TYPES
    low, high: the range's bounds (uniform, log-uniform, int; high included)
    values: the choices (choice); tuple-typed fields take lists, stored as tuples
    log: int ranges drawn log-uniformly
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()
    log: bool = False

    def grid(self) -> tuple[Any, ...]:
        """The values a grid search tries: the choices, or GRID_POINTS spread over the range."""
        if self.kind == "choice":
            return self.values
        if self.kind == "int":
            step = max(1, (int(self.high) - int(self.low)) // (GRID_POINTS - 1))
            return tuple(range(int(self.low), int(self.high) + 1, step))
        if self.kind == "log-uniform":
            lo, hi = math.log10(self.low), math.log10(self.high)
            points = [lo + (hi - lo) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
            return tuple(10.0**p for p in points)
        return tuple(
            self.low + (self.high - self.low) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)
        )


@dataclass(frozen=True)
class SearchSpace:
    """A whole search: the model and data set, fixed settings, searched parameters, strategy."""

    model: str
    dataset: str
    params: tuple[Param, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    sampler: str = "tpe"
    pruner: str = "median"
    folds: int | str = 0
    """0: a trial scores on the validation split; k >= 2: the mean validation accuracy of k-fold
    cross-validation on the training split (the folds of np.array_split, as the course's kNN);
    "loo": leave-one-out, k = N folds of one example each (N <= LEAVE_ONE_OUT_LIMIT)."""

    def base_config(self) -> TrainConfig:
        """The TrainConfig every trial starts from (searched fields then set per trial)."""
        return TrainConfig(model=self.model, dataset=self.dataset, **self.fixed)

    def to_dict(self) -> dict[str, Any]:
        """The space as the dict (and TOML) parse_space reads."""
        search = {}
        for p in self.params:
            entry: dict[str, Any] = {"type": p.kind}
            if p.kind == "choice":
                entry["values"] = [list(v) if isinstance(v, tuple) else v for v in p.values]
            else:
                entry.update(low=p.low, high=p.high)
                if p.log and p.kind == "int":
                    entry["log"] = True
            search[p.name] = entry
        values: dict[str, Any] = {
            "model": self.model,
            "dataset": self.dataset,
            "sampler": self.sampler,
            "pruner": self.pruner,
        }
        if self.folds:
            values["folds"] = self.folds
        return values | {
            "fixed": {k: list(v) if isinstance(v, tuple) else v for k, v in self.fixed.items()},
            "search": search,
        }


_TOP_KEYS = ("model", "dataset", "sampler", "pruner", "folds", "fixed", "search")
_FIELDS = {f.name: (f, hint) for f, hint in config_fields(TrainConfig)}
# The space's own keys name the model and data set; each trial writes no run folder.
_NOT_SETTABLE = ("model", "dataset", "out")
# Where the data is and how a run is spread can be fixed, but they are not searched.
_NOT_SEARCHABLE = (*_NOT_SETTABLE, "data_dir", "devices", "strategy", "num_nodes")


def load_space(path: str | Path) -> SearchSpace:
    """Read and check a search space TOML file (see the module docstring for its keys).

    raises FileNotFoundError when the file is missing, ValueError naming the key that is wrong
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"search space file {path} does not exist; write one (see `tinyvision tune --help`) "
            "or leave it out to search the model's default space"
        )
    return parse_space(parse_toml(path), source=str(path))


def parse_space(values: dict[str, Any], source: str = "search space") -> SearchSpace:
    """A checked SearchSpace from its dict form; a missing `search` table takes the defaults.

    raises ValueError "<source>: <key>: <problem>" for an unknown key or parameter, an empty
    range, a log range with a non-positive bound or a value of the wrong type
    """
    if not isinstance(values, dict):
        raise ValueError(f"{source}: expected a table of settings, got {type(values).__name__}")
    unknown = [k for k in values if k not in _TOP_KEYS]
    if unknown:
        raise ValueError(
            f"{source}: {unknown[0]}: unknown key; the keys are {', '.join(_TOP_KEYS)}"
        )
    model = _string(values, "model", source, default="softmax", choices=registry.names())
    if registry.get(model).task.name != "classification":
        raise ValueError(
            f"{source}: model: {model!r} is a captioning model; the search trains image "
            f"classifiers: {', '.join(registry.names('classification'))}"
        )
    dataset = _string(values, "dataset", source, default="digits")
    sampler = _string(values, "sampler", source, default="tpe", choices=SAMPLERS)
    pruner = _string(values, "pruner", source, default="median", choices=PRUNERS)
    folds = values.get("folds", 0)
    is_count = isinstance(folds, int) and not isinstance(folds, bool)
    if folds != LEAVE_ONE_OUT and (not is_count or folds == 1 or folds < 0):
        raise ValueError(
            f"{source}: folds: expected 0 (score on the validation split), a number of folds "
            f'>= 2 or "{LEAVE_ONE_OUT}" (leave-one-out), got {folds!r}'
        )
    fixed = _parse_fixed(values.get("fixed", {}), source)
    if folds == LEAVE_ONE_OUT and fixed.get("num_training") is not None:
        # Refused before any training; without a fixed size the first trial checks the data.
        check_leave_one_out(fixed["num_training"], source)
    if "search" in values:
        params = _parse_params(values["search"], source)
    else:
        params = _parse_params(_default_entry(model, dataset)["search"], source)
    clash = [p.name for p in params if p.name in fixed]
    if clash:
        raise ValueError(f"{source}: search.{clash[0]}: also in [fixed]; keep it in one of them")
    space = SearchSpace(model, dataset, params, fixed, sampler, pruner, folds)
    _check_resolves(space, source)
    return space


def _string(
    values: dict[str, Any],
    key: str,
    source: str,
    default: str,
    choices: tuple[str, ...] | list[str] | None = None,
) -> str:
    value = values.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{source}: {key}: expected a string, got {value!r}")
    if choices is not None and value not in choices:
        raise ValueError(f"{source}: {key}: {value!r} is not one of {', '.join(choices)}")
    return value


def _field(name: str, key: str, source: str) -> tuple[dataclasses.Field, Any]:
    searched = key.startswith("search.")
    excluded = _NOT_SEARCHABLE if searched else _NOT_SETTABLE
    allowed = ", ".join(n for n in _FIELDS if n not in excluded)
    if name not in _FIELDS:
        raise ValueError(
            f"{source}: {key}: unknown parameter {name!r}; the TrainConfig settings are {allowed}"
        )
    if name in excluded:
        if name in ("model", "dataset"):
            hint = f"give it as the top-level key {name} = ..."
        elif name == "out":
            hint = "trials write no run folder; give the search's folder with --out"
        else:
            hint = "fix it in [fixed]"
        verb = "searched" if searched else "set in [fixed]"
        raise ValueError(f"{source}: {key}: {name!r} cannot be {verb}: {hint}")
    return _FIELDS[name]


def _typed(value: Any, name: str, key: str, source: str) -> Any:
    """value as field `name` holds it (lists to tuples), checked by the field's own rules."""
    field_, hint = _field(name, key, source)
    expected = _expected_types(hint)
    if isinstance(value, list) and tuple in expected:
        value = tuple(value)
        item_types = _item_types(hint)
        wrong = [v for v in value if not _is_instance(v, item_types)]
        if wrong:
            raise ValueError(
                f"{source}: {key}: items must be {_names(item_types)}, got {wrong[0]!r}"
            )
    elif not _is_instance(value, expected):
        raise ValueError(f"{source}: {key}: expected {_names(expected)}, got {value!r}")
    if float in expected and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    try:
        check_setting(name, value, field_)
    except ValueError as error:
        raise ValueError(f"{source}: {key}: {error}") from None
    return value


def _expected_types(hint: Any) -> tuple[type, ...]:
    args = typing.get_args(hint) or (hint,)
    types = tuple(typing.get_origin(a) or a for a in args if a is not type(None))
    return types


def _item_types(hint: Any) -> tuple[type, ...]:
    for arg in typing.get_args(hint) or (hint,):
        if typing.get_origin(arg) is tuple:
            return tuple(a for a in typing.get_args(arg) if a is not Ellipsis)
    return (object,)


def _is_instance(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _names(types: tuple[type, ...]) -> str:
    return " or ".join("a list" if t is tuple else t.__name__ for t in types)


def _parse_fixed(fixed: Any, source: str) -> dict[str, Any]:
    if not isinstance(fixed, dict):
        raise ValueError(f"{source}: fixed: expected a table of settings, got {fixed!r}")
    return {name: _typed(value, name, f"fixed.{name}", source) for name, value in fixed.items()}


def _parse_params(search: Any, source: str) -> tuple[Param, ...]:
    if not isinstance(search, dict) or not search:
        raise ValueError(
            f"{source}: search: expected one table per searched setting, e.g. "
            '[search.learning_rate] type = "log-uniform", low = 1e-3, high = 1.0'
        )
    return tuple(_parse_param(name, entry, source) for name, entry in search.items())


def _parse_param(name: str, entry: Any, source: str) -> Param:
    key = f"search.{name}"
    _field(name, key, source)
    if not isinstance(entry, dict):
        raise ValueError(f"{source}: {key}: expected a table with type and its range or values")
    kind = entry.get("type")
    if kind not in PARAM_TYPES:
        raise ValueError(
            f"{source}: {key}.type: expected one of {', '.join(PARAM_TYPES)}, got {kind!r}"
        )
    allowed = {"type", "values"} if kind == "choice" else {"type", "low", "high", "log"}
    extra = [k for k in entry if k not in allowed]
    if extra:
        raise ValueError(
            f"{source}: {key}.{extra[0]}: not a key of a {kind} parameter; it takes "
            f"{', '.join(sorted(allowed))}"
        )
    if kind == "choice":
        values = entry.get("values")
        if not isinstance(values, list) or not values:
            raise ValueError(f"{source}: {key}.values: expected a non-empty list, got {values!r}")
        typed = tuple(_typed(v, name, f"{key}.values", source) for v in values)
        return Param(name, kind, values=typed)
    bounds = []
    for bound_name in ("low", "high"):
        bound = entry.get(bound_name)
        number = int if kind == "int" else (int, float)
        if isinstance(bound, bool) or not isinstance(bound, number):
            what = "an integer" if kind == "int" else "a number"
            raise ValueError(f"{source}: {key}.{bound_name}: expected {what}, got {bound!r}")
        bounds.append(_typed(bound, name, f"{key}.{bound_name}", source))
    low, high = bounds
    if not low < high:
        raise ValueError(
            f"{source}: {key}: empty range, low {low!r} >= high {high!r}; give low < high "
            "(or put a single value in [fixed])"
        )
    log = kind == "log-uniform" or bool(entry.get("log", False))
    if log and low <= 0:
        raise ValueError(
            f"{source}: {key}.low: a log range needs positive bounds, got low {low!r}; "
            'use type = "uniform" to include 0'
        )
    if kind == "int" and float in _expected_types(_FIELDS[name][1]):
        kind_note = "a float setting; use uniform or log-uniform"
        raise ValueError(f"{source}: {key}.type: int does not fit {name!r}, {kind_note}")
    if kind != "int" and int in _expected_types(_FIELDS[name][1]):
        raise ValueError(f'{source}: {key}.type: {name!r} is an integer setting; use type = "int"')
    return Param(name, kind, low=low, high=high, log=log)


def _check_resolves(space: SearchSpace, source: str) -> None:
    """Refuse a space whose base config the model does not accept (data set, fixed settings),
    or whose update-rule choices include one the model cannot train with (lbfgs for a model
    trained by the Solver), before any trial runs rather than when a trial draws it."""
    from tinyvision.config import resolve_config

    base = space.base_config()
    try:
        resolve_config(base)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    for param in space.params:
        if param.name != "update_rule":
            continue
        for rule in param.values:
            try:
                resolve_config(dataclasses.replace(base, update_rule=rule))
            except ValueError as error:
                raise ValueError(f"{source}: search.update_rule.values: {error}") from None


# Ranges that reach good models on the embedded digits within their default epochs; CIFAR-10
# linear models need the far smaller rates of the course.
_LINEAR = {
    "learning_rate": {"type": "log-uniform", "low": 1e-2, "high": 3.0},
    "reg": {"type": "log-uniform", "low": 1e-6, "high": 1e-2},
}
_LINEAR_CIFAR = {
    "learning_rate": {"type": "log-uniform", "low": 1e-7, "high": 1e-5},
    "reg": {"type": "log-uniform", "low": 1e3, "high": 1e5},
}
_DEFAULT_SEARCH: dict[str, dict[str, dict[str, Any]]] = {
    "softmax": _LINEAR,
    "svm": _LINEAR,
    "softmax/cifar10": _LINEAR_CIFAR,
    "svm/cifar10": _LINEAR_CIFAR,
    "two-layer": {
        "learning_rate": {"type": "log-uniform", "low": 1e-2, "high": 1.0},
        "reg": {"type": "log-uniform", "low": 1e-6, "high": 1e-2},
        "hidden_dims": {"type": "choice", "values": [[32], [64], [128]]},
    },
    "two-layer/cifar10": {
        "learning_rate": {"type": "log-uniform", "low": 1e-4, "high": 1e-2},
        "reg": {"type": "log-uniform", "low": 1e-5, "high": 1e-1},
        "hidden_dims": {"type": "choice", "values": [[100], [200], [400]]},
    },
    "fc": {
        "learning_rate": {"type": "log-uniform", "low": 1e-4, "high": 3e-2},
        "reg": {"type": "log-uniform", "low": 1e-6, "high": 1e-2},
        "dropout": {"type": "uniform", "low": 0.0, "high": 0.5},
        "hidden_dims": {"type": "choice", "values": [[64], [128, 64], [256, 128]]},
    },
    # The course's k choices, each scored by 5-fold cross-validation, all of them tried.
    "knn": {
        "sampler": "grid",
        "pruner": "none",
        "folds": 5,
        "search": {"k": {"type": "choice", "values": [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]}},
    },
    "cnn": {
        "learning_rate": {"type": "log-uniform", "low": 1e-4, "high": 1e-2},
        "reg": {"type": "log-uniform", "low": 1e-5, "high": 1e-2},
        "num_filters": {"type": "choice", "values": [8, 16, 32]},
    },
    "convnet": {
        "learning_rate": {"type": "log-uniform", "low": 3e-4, "high": 1e-2},
        "reg": {"type": "log-uniform", "low": 1e-5, "high": 1e-2},
    },
    "torch-cnn": {
        "learning_rate": {"type": "log-uniform", "low": 3e-4, "high": 1e-2},
        "reg": {"type": "log-uniform", "low": 1e-5, "high": 1e-2},
    },
    # The named architectures (CIFAR-10 only): Adam's rate and the weight decay.
    **{
        name: {
            "learning_rate": {"type": "log-uniform", "low": 3e-4, "high": 3e-3},
            "reg": {"type": "log-uniform", "low": 1e-5, "high": 1e-2},
        }
        for name in ("lenet5", "alexnet-small", "vgg", "inception", "resnet")
    },
}


def _default_entry(model: str, dataset: str) -> dict[str, Any]:
    """The default space's table for model on dataset: `search` and the space's own keys."""
    search = _DEFAULT_SEARCH.get(f"{model}/{dataset}", _DEFAULT_SEARCH.get(model))
    if search is None:
        raise ValueError(
            f"no default search space for --model {model!r}; models with one: "
            f"{', '.join(k for k in _DEFAULT_SEARCH if '/' not in k)}"
        )
    # An entry is the `search` table alone (TPE, median pruner) or a space with its own keys.
    return search if "search" in search else {"search": search}


def default_space(model: str, dataset: str = "digits") -> SearchSpace:
    """The space `tinyvision tune --model M` searches: ranges that suit the model and data set.

    raises ValueError for a model without a default space (captioning models)
    """
    entry = _default_entry(model, dataset)
    return parse_space({"model": model, "dataset": dataset, **entry}, f"default space of {model}")


def space_to_toml(space: SearchSpace) -> str:
    """The TOML text load_space reads back into space."""
    values = space.to_dict()
    top = ("model", "dataset", "sampler", "pruner", "folds")
    parts = [to_toml({k: values[k] for k in top if k in values})]
    if values["fixed"]:
        parts.append("[fixed]\n" + to_toml(values["fixed"]))
    for name, entry in values["search"].items():
        parts.append(f"[search.{name}]\n" + to_toml(entry))
    return "\n".join(parts)
