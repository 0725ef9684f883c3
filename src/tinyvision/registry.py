"""The model registry: every model registered once, with everything a run needs to know of it.

A `ModelSpec` says how to build the model from a resolved config and the prepared data, how to
fit it (the Solver unless the model has its own training, like the linear classifiers' SGD or
kNN's memorising), what inputs it takes, its tuned defaults per data set, and the pictures it
adds to a run folder. Its `task` (classification, captioning, or an application's such as
keypoints or segmentation) says how data is loaded and prepared and how a trained model is
scored. Commands never branch on a model's name: they ask
the registry.

Adding a model is one file that calls `register(ModelSpec(...))` and one import line in
`tinyvision/models/__init__.py` (a test may register a model of its own the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ModelSpec", "Task", "get", "names", "register", "unregister"]


class Task(Protocol):
    """How runs of one kind of model load data, train through the Solver and are scored.

    name: e.g. "classification", "captioning", "segmentation"; config_class: its RunConfig
    subclass;
    datasets: the data sets it reads; common_defaults: defaults shared by its models;
    primary_metric: the metrics.json key `evaluate` reproduces; folder_prefix: of run folders;
    summary: the (metrics.json key, label) pairs `tinyvision train` prints after a run.
    """

    name: str
    config_class: type
    datasets: tuple[str, ...]
    common_defaults: Mapping[str, Any]
    primary_metric: str
    folder_prefix: str
    summary: tuple[tuple[str, str], ...]

    def check(self, config: Any, spec: ModelSpec) -> None:
        """Raise ValueError for a resolved config this task cannot run."""

    def prepare(
        self, config: Any, spec: ModelSpec, verbose: bool, prep: Any = None, splits: Any = ...
    ) -> Any:
        """Load and preprocess the splits; prep: statistics saved with a model (None: fit)."""

    def solver(self, model: Any, config: Any, prepared: Any, **kwargs: Any) -> Any:
        """The Solver (or subclass) that trains model on prepared data."""

    def score(
        self, model: Any, config: Any, prepared: Any, spec: ModelSpec, splits: Any = ...
    ) -> dict[str, Any]:
        """The metrics of a trained model on the splits, as metrics.json records them."""

    def upgrade_v1(self, values: dict[str, Any]) -> dict[str, Any]:
        """A version-1 config.json dict converted to the current meaning of its fields."""

    def artifacts(self, config: Any, prepared: Any, run_dir: Path, model: Any) -> None:
        """Write pictures of the prepared data (e.g. of its preprocessing) into run_dir."""

    def report(
        self, model: Any, config: Any, prepared: Any, spec: ModelSpec, run_dir: Path, split: str
    ) -> Any:
        """What `evaluate` shows of split ("val" or "test") beyond the scores (None: nothing);
        may draw into run_dir."""


# fit(model, config, prepared, run_dir, verbose, resume) -> history
FitFunction = Callable[[Any, Any, Any, Path | None, bool, Path | None], dict[str, Any]]


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    name: what --model takes
    task: the Task its runs follow
    build: (resolved config, prepared data) -> a fresh model satisfying tinyvision.model.Model
    description: one line for --help
    defaults: {dataset: {field: value}} tuned defaults; the key "<dataset>-features" applies
        on top of "<dataset>" when --features is set
    inputs: "flat" rows centred by the training mean, "images" (N, C, H, W) standardised per
        channel, or "raw" (no preprocessing)
    bias_column: append a constant-1 column to the inputs (the linear models' bias trick)
    augmentable: accepts --augment (random crops and flips of the training images)
    fit: how it trains; None means through the task's Solver
    refit_on_load: its state is the training data itself (kNN), so evaluation refits it
        instead of loading arrays
    train_eval_limit: measure training accuracy on at most this many examples (None: all)
    check: extra rules for a resolved config (raise ValueError)
    artifacts: (model, config, prepared, run_dir) -> None, pictures beyond loss/accuracy
    scores: (model, X) -> (N, C) class scores, for `evaluate`'s top-k accuracy; None: a
        model trained by the Solver gives them as loss(X), any other model only labels
    checkpoint: the file in the run folder that `--resume` continues from (None: the model
        trains in one go and cannot be resumed)
    distributed: trains through PyTorch Lightning, so accepts --devices, --strategy and
        --num-nodes
    schedules: the learning-rate schedules a model with its own fit follows (a model trained
        by the Solver follows all of them)
    clipping: its own fit honours --clip-value / --clip-norm (the Solver always does)
    pruning: its own fit takes `trial=` (an Optuna trial) and reports each epoch's validation
        accuracy to it, so a hyperparameter search can stop it early (the Solver always does)
    metrics: (model, config, prepared, history) -> {key: value}, what metrics.json records
        beyond the task's scores (e.g. a baseline the fit trained beside the model)
    balancing: its own fit honours --class-weights balanced (a class-weighted loss) and
        --sampler balanced (tinyvision.imbalance); a model trained by the Solver takes only
        --sampler balanced
    full_batch: its own fit honours --update-rule lbfgs (L-BFGS on the whole training set,
        tinyvision.full_batch; --epochs caps its iterations)
    """

    name: str
    task: Task
    build: Callable[[Any, Any], Any]
    description: str
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    inputs: str = "flat"
    bias_column: bool = False
    augmentable: bool = False
    fit: FitFunction | None = None
    refit_on_load: bool = False
    train_eval_limit: int | None = None
    check: Callable[[Any], None] | None = None
    artifacts: Callable[[Any, Any, Any, Path], None] | None = None
    scores: Callable[[Any, Any], Any] | None = None
    checkpoint: str | None = "checkpoint.npz"
    distributed: bool = False
    schedules: tuple[str, ...] = ("step",)
    clipping: bool = False
    pruning: bool = False
    metrics: Callable[[Any, Any, Any, dict[str, Any]], dict[str, Any]] | None = None
    balancing: bool = False
    full_batch: bool = False

    def defaults_for(self, config: Any) -> dict[str, Any]:
        """The tuned values for config's data set (and features), over the task's common ones."""
        values = dict(self.task.common_defaults)
        values.update(self.defaults.get(config.dataset, {}))
        if getattr(config, "features", ()):
            values.update(self.defaults.get(f"{config.dataset}-features", {}))
        return values


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add spec under spec.name; a second model of the same name is an error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    if spec.inputs not in ("flat", "images", "raw"):
        raise ValueError(f"inputs must be 'flat', 'images' or 'raw', got {spec.inputs!r}")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a registered model (for tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def _load_builtin_models() -> None:
    import tinyvision.models  # noqa: F401  (each module registers its models on import)


def names(task: str | None = None) -> tuple[str, ...]:
    """The registered model names, in registration order, optionally of one task only."""
    _load_builtin_models()
    return tuple(n for n, s in _REGISTRY.items() if task is None or s.task.name == task)


def get(name: str) -> ModelSpec:
    """The spec registered as name; ValueError naming the registered models otherwise."""
    _load_builtin_models()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]
