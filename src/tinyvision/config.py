"""The typed run configuration: one family of dataclasses, one flag per field.

`RunConfig` holds what every run has (model, data set, optimiser, seed, folder);
`TrainConfig` adds the settings of the image classifiers and `CaptionConfig` those of the
captioning models. Each field carries its command-line help and the check its value must pass
(`setting`), so the CLI is generated from the fields (`tinyvision.cli.options`) and every field
is a flag. A field left as None takes the tuned default of its (model, dataset) pair, which
each model registers with itself (`tinyvision.registry`); `resolve_config` fills them in.

Vocabulary: `dropout` is the probability of DROPPING a unit, as in PyTorch, for every model.
The course's own classes keep the course's names (`FullyConnectedNet(dropout_keep_ratio=...)`).

config.json files carry `config_version`; files written before it existed (version 1, where
`dropout` was a keep probability for the classifiers) are converted when read.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from tinyvision.data.augmentations import DEFAULT_AUGMENTATIONS, check_augmentations
from tinyvision.errors import DataError
from tinyvision.pca import parse_preprocess
from tinyvision.schedules import SCHEDULES
from tinyvision.validation import (
    check_in_range,
    check_non_negative,
    check_non_negative_int,
    check_positive,
    check_positive_int,
    check_probability,
)

__all__ = [
    "CONFIG_VERSION",
    "CaptionConfig",
    "JsonConfig",
    "RunConfig",
    "TrainConfig",
    "config_from_json",
    "config_fields",
    "resolve_config",
    "setting",
]

CONFIG_VERSION = 2

# The Solver's rules (tinyvision.optim), and lbfgs: full-batch L-BFGS, for the models whose own
# fit offers it (tinyvision.full_batch).
UPDATE_RULES = (
    "sgd",
    "sgd_momentum",
    "nesterov_momentum",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "lbfgs",
)
FEATURES = ("hog", "hsv")


def setting(
    help: str,
    *,
    default: Any = None,
    check: str | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
    metavar: str | None = None,
    unset: str | None = None,
    bare: Any = None,
) -> Any:
    """A config field with what the CLI and resolve_config need to know about it.

    help: the flag's help text
    default: the value when neither the user nor the model's tuned defaults set it
    check: the rule a set value must pass: "positive_int", "non_negative_int", "positive",
        "non_negative", "drop_probability", "decay" (in (0, 1]), "preprocess" (a
        tinyvision.pca.parse_preprocess spelling), "ratio" (a number >= 1) or None
    choices: the allowed strings (or, for a tuple field, the allowed items)
    flag: an extra spelling of the flag (e.g. "--lr")
    metavar: how the flag's value is shown in --help
    unset: what a value of None means, for --help (default: "the model's tuned value")
    bare: for a list field, the value of the flag given without one (e.g. `--augment` alone);
        such a flag also gets `--no-<name>`, which sets False
    """
    metadata = {"help": help, "check": check, "choices": choices, "alias": flag}
    metadata["metavar"] = metavar
    metadata["unset"] = unset
    metadata["bare"] = bare
    return dataclasses.field(default=default, metadata=metadata)


# The validator (tinyvision.validation) behind each `check` name of a setting.
_CHECKS: dict[str, typing.Callable[[Any, str], Any]] = {
    "positive_int": check_positive_int,
    "non_negative_int": check_non_negative_int,
    "positive": check_positive,
    "non_negative": check_non_negative,
    "drop_probability": lambda value, name: check_probability(
        value, name, allow_one=False, hint="it is the probability of dropping a unit; 0 = none"
    ),
    "decay": lambda value, name: check_in_range(value, name, 0.0, 1.0, low_open=True),
    "preprocess": parse_preprocess,
    "ratio": lambda value, name: check_in_range(
        value, name, 1.0, hint="1 keeps every example; 10 keeps a tenth of the minority classes"
    ),
    # True / False are how config files before the list spelled flip,crop and none.
    "augmentation": lambda value, name: (
        value if isinstance(value, bool) else check_augmentations((value,))
    ),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class JsonConfig:
    """What every run-configuration dataclass shares: a plain dict for config.json and back."""

    def to_dict(self) -> dict[str, Any]:
        return {"config_version": CONFIG_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Any:
        """An instance from a config.json dict; keys this version does not know are ignored."""
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {}
        for name, value in values.items():
            if name not in known:
                continue
            # JSON has no tuples: restore the tuple-typed fields.
            if isinstance(value, list) and "tuple" in str(hints[name]):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)


@dataclass
class RunConfig(JsonConfig):
    """What every run has; None means "the tuned default of this (model, dataset) pair"."""

    model: str = setting("the model to train (see --help for the list)", default="softmax")
    dataset: str = setting("the data set", default="digits")
    data_dir: str | None = setting("folder holding the data set's files")
    epochs: int | None = setting("passes over the training data", check="positive_int")
    batch_size: int | None = setting("examples per update", check="positive_int")
    learning_rate: float | None = setting("initial learning rate", check="positive", flag="--lr")
    lr_decay: float | None = setting("learning-rate factor per epoch (step)", check="decay")
    schedule: str | None = setting(
        "step (lr decay per epoch), cosine (per update, down to 0), inverse-time "
        "(lr / (1 + k*epoch)), inverse-sqrt (lr / sqrt(1 + k*epoch)) or multistep (times "
        "--gamma at each of --milestones)",
        choices=SCHEDULES,
    )
    decay_k: float = setting(
        "k of the inverse-time and inverse-sqrt schedules", default=1.0, check="non_negative"
    )
    milestones: tuple[int, ...] | None = setting(
        "epochs at which the multistep schedule multiplies the learning rate by --gamma",
        check="positive_int",
        metavar="10,20",
        unset="none; needed by --schedule multistep",
    )
    gamma: float = setting("learning-rate factor of multistep", default=0.1, check="decay")
    clip_value: float | None = setting(
        "clamp every gradient element to [-V, V] before each update",
        check="positive",
        metavar="V",
        unset="no clipping",
    )
    clip_norm: float | None = setting(
        "rescale each update's gradients to a global norm of at most N",
        check="positive",
        metavar="N",
        unset="no clipping",
    )
    max_norm: float | None = setting(
        "after each update, rescale every unit's incoming weights to norm at most C",
        check="positive",
        metavar="C",
        unset="no constraint",
    )
    update_rule: str | None = setting(
        "optimiser; lbfgs minimises the whole training set's loss with L-BFGS (softmax, svm: "
        "--epochs is then its iteration cap)",
        choices=UPDATE_RULES,
    )
    dropout: float | None = setting(
        "probability of dropping a unit (as in PyTorch; 0 = none)", check="drop_probability"
    )
    patience: int | None = setting(
        "stop after this many epochs without a better validation score", check="positive_int"
    )
    dtype: str = setting(
        "float dtype of parameters and data", default="float32", choices=("float32", "float64")
    )
    seed: int = setting(
        "seed of initialisation, batches and masks", default=0, check="non_negative_int"
    )
    out: str | None = setting("run folder (default: runs/<model>-<dataset>-<time>)")

    def schedule_options(self) -> dict[str, Any]:
        """The Solver's schedule_options: the settings of the named schedules."""
        return {"decay_k": self.decay_k, "milestones": self.milestones, "gamma": self.gamma}

    def solver_options(self, num_train: int) -> dict[str, Any]:
        """The Solver keyword arguments every task sets from its run's settings (the update
        rule and its rate, schedule, clipping, max-norm, batches, epochs, patience, seed), with
        a progress line four times per epoch of num_train examples."""
        return {
            "update_rule": self.update_rule,
            "optim_config": {"learning_rate": self.learning_rate},
            "lr_decay": self.lr_decay,
            "lr_schedule": self.schedule,
            "schedule_options": self.schedule_options(),
            "clip_value": self.clip_value,
            "clip_norm": self.clip_norm,
            "max_norm": self.max_norm,
            "batch_size": self.batch_size,
            "num_epochs": self.epochs,
            "patience": self.patience,
            "print_every": max(1, num_train // self.batch_size // 4),
            "seed": self.seed,
        }


@dataclass
class TrainConfig(RunConfig):
    """An image-classification run (`tinyvision train`)."""

    features: tuple[str, ...] = setting(
        "train on HOG and/or hue-histogram features (cifar10)",
        default=(),
        choices=FEATURES,
        metavar="hog,hsv",
    )
    preprocess: str = setting(
        "decorrelate the flat inputs with statistics of the training split: pca:K (the top K "
        "principal components), whiten (PCA whitening; whiten:K keeps K) or zca",
        default="none",
        check="preprocess",
        metavar="pca:K|whiten|zca",
    )
    reg: float | None = setting("L2 regularisation strength", check="non_negative")
    hidden_dims: tuple[int, ...] | None = setting(
        "hidden layer sizes", check="positive_int", metavar="512,256"
    )
    weight_scale: float | None = setting("std of the gaussian initialisation", check="positive")
    weight_init: str | None = setting(
        "initialisation scheme", choices=("gaussian", "xavier", "kaiming")
    )
    normalization: str | None = setting(
        "normalisation after each hidden affine layer",
        choices=("none", "batchnorm", "layernorm"),
    )
    k: int | None = setting("neighbours that vote (knn)", check="positive_int")
    metric: str | None = setting("distance of knn", choices=("l2", "l1"))
    architecture: str | None = setting(
        "networks of the generative models: mlp (fully connected, sizes from --hidden-dims) "
        "or conv (strided and transposed convolutions, widths from --channels)",
        choices=("mlp", "conv"),
    )
    latent_dim: int | None = setting(
        "size of the latent code of the generative models (vae, gan)", check="positive_int"
    )
    num_filters: int | None = setting("conv filters of the cnn", check="positive_int")
    filter_size: int | None = setting("odd filter side of the cnn", check="positive_int")
    channels: tuple[int, ...] | None = setting(
        "stage widths of the convnet", check="positive_int", metavar="32,64,128"
    )
    blocks_per_stage: int | None = setting("conv layers per convnet stage", check="positive_int")
    residual: bool | None = setting("convnet stages of residual blocks (a small ResNet)")
    depth: int | None = setting(
        "layers of the vgg: 11, 13, 16 or 19, the VGG paper's configurations A, B, D and E",
        check="positive_int",
    )
    augment: tuple[str, ...] | None = setting(
        "augmentations of the training images, a list of flip, crop (shifts of up to H/8), "
        "jitter, rotate, shear and blur (tinyvision.data.augmentations); --augment alone "
        "means flip,crop",
        check="augmentation",
        metavar="flip,crop,...",
        bare=DEFAULT_AUGMENTATIONS,
    )
    num_training: int | None = setting(
        "use only the first N training examples",
        check="positive_int",
        metavar="N",
        unset="all; CIFAR-10: 49,000",
    )
    num_val: int | None = setting(
        "use only the first N validation examples, for a quick look",
        check="positive_int",
        metavar="N",
        unset="all",
    )
    num_test: int | None = setting(
        "use only the first N test examples, for a quick look",
        check="positive_int",
        metavar="N",
        unset="all",
    )
    crop_size: int | None = setting(
        "side of the square centre crop of segmentation images (zero padding where smaller)",
        check="positive_int",
        unset="the course's 240 with --data-dir, else the generated scenes' 96",
    )
    backbone: str | None = setting(
        "a torch-cnn run folder on cifar10 whose convolution stages start the encoder "
        "(--model segmentation); the same model is also trained from scratch to compare",
        metavar="RUN",
        unset="none: only the model from scratch",
    )
    num_labels: int | None = setting(
        "training images that keep their labels; the others are unlabelled (autoencoder-transfer)",
        check="positive_int",
        metavar="N",
        unset="the model's tuned value; CIFAR-10: 1,000",
    )
    pretrain_epochs: int | None = setting(
        "epochs of unsupervised pre-training before the labelled epochs (autoencoder-transfer)",
        check="positive_int",
    )
    devices: int | None = setting(
        "processes (CPU) or GPUs to train on, per machine (torch models)",
        check="positive_int",
        unset="1",
    )
    strategy: str | None = setting(
        "Lightning's distribution strategy (torch models; ddp: one process per device)",
        choices=("auto", "ddp"),
        unset="auto",
    )
    num_nodes: int | None = setting(
        "machines that train together (torch models, with --strategy ddp)",
        check="positive_int",
        unset="1",
    )
    imbalance: float | None = setting(
        "make the training split imbalanced: the last half of the classes (CIFAR-10: dog, "
        "frog, horse, ship, truck; digits: 5-9) keep their first 1/RATIO of examples, the "
        "others all theirs (val and test stay as they are)",
        check="ratio",
        metavar="RATIO",
        unset="none; every class keeps its examples",
    )
    class_weights: str = setting(
        "weight each class's cross-entropy: balanced gives class c the weight "
        "n_samples / (n_classes * count_c) of the training labels (PyTorch-track classifiers)",
        default="none",
        choices=("none", "balanced"),
    )
    sampler: str = setting(
        "how training draws its examples: uniform (torch: each once per epoch, in a new "
        "order; the Solver: the course's uniform draws) or balanced (as many draws, with "
        "replacement, each class equally likely)",
        default="uniform",
        choices=("uniform", "balanced"),
    )

    def __post_init__(self) -> None:
        # Before the list, augment was a flag: True meant flip,crop (config.json files and
        # callers of that time keep working).
        if isinstance(self.augment, bool):
            self.augment = DEFAULT_AUGMENTATIONS if self.augment else ()
        elif self.augment is not None:
            self.augment = tuple(self.augment)


@dataclass
class CaptionConfig(RunConfig):
    """An image-captioning run (`tinyvision caption train`)."""

    model: str = setting("the captioning model", default="lstm")
    dataset: str = setting("the captioning data set", default="digit-strips")
    hidden_dim: int | None = setting("RNN/LSTM hidden size", check="positive_int")
    wordvec_dim: int | None = setting(
        "word vector size (the transformer's width)", check="positive_int"
    )
    num_heads: int | None = setting("transformer attention heads", check="positive_int")
    num_layers: int | None = setting("transformer decoder layers", check="positive_int")
    dim_feedforward: int | None = setting("transformer feed-forward size", check="positive_int")
    num_train: int | None = setting(
        "training strips (digit-strips) or captions kept (coco)", check="positive_int"
    )
    feature_dim: int | None = setting("digit-strips feature size", check="positive_int")
    num_eval: int | None = setting("images per val/test evaluation", check="positive_int")
    val_metric: str | None = setting(
        "metric that picks the best epoch", choices=("exact_match", "bleu4")
    )


def config_fields(config_class: type[RunConfig]) -> list[tuple[dataclasses.Field, Any]]:
    """Each field of config_class with its resolved type annotation, in declaration order."""
    hints = typing.get_type_hints(config_class)
    return [(f, hints[f.name]) for f in dataclasses.fields(config_class)]


def check_setting(name: str, value: Any, field: dataclasses.Field) -> None:
    """Raise ValueError, naming `name`, unless a set value passes its field's check and choices."""
    check, choices = field.metadata.get("check"), field.metadata.get("choices")
    items = value if isinstance(value, tuple) else (value,)
    if check is not None:
        for item in items:
            _CHECKS[check](item, name)
    if choices is not None:
        bad = [item for item in items if item not in choices]
        if bad:
            raise ValueError(f"{name} must be one of {', '.join(choices)}; got {bad[0]!r}")


def resolve_config(config: RunConfig) -> RunConfig:
    """Check config and fill every None field with the tuned default of its model and data set.

    The model's registration (tinyvision.registry) supplies the defaults, the data sets it
    accepts and any rule of its own (spec.check). Returns a new config; config is unchanged.
    """
    from tinyvision import registry

    spec = registry.get(config.model)
    if not isinstance(config, spec.task.config_class):
        raise ValueError(
            f"model {config.model!r} is a {spec.task.name} model: it takes a "
            f"{spec.task.config_class.__name__}, not a {type(config).__name__}"
        )
    resolved = dataclasses.replace(config)
    default_dataset = next(f.default for f in dataclasses.fields(config) if f.name == "dataset")
    if config.dataset == default_dataset and config.dataset not in spec.task.datasets:
        # A model whose task reads other data than the default set runs on its task's first.
        resolved.dataset = spec.task.datasets[0]
    if resolved.dataset not in spec.task.datasets:
        raise ValueError(
            f"unknown dataset {config.dataset!r}; choose one of {', '.join(spec.task.datasets)}"
        )
    for name, value in spec.defaults_for(resolved).items():
        if getattr(resolved, name) is None:
            setattr(resolved, name, value)
    for field in dataclasses.fields(resolved):
        value = getattr(resolved, field.name)
        if value is not None:
            check_setting(field.name, value, field)
    _check_training_settings(resolved, spec)
    spec.task.check(resolved, spec)
    if spec.check is not None:
        spec.check(resolved)
    return resolved


def _check_training_settings(config: RunConfig, spec: Any) -> None:
    """Rules across the schedule and clipping fields, which only the Solver uses."""
    if config.schedule == "multistep" and config.milestones is None:
        raise ValueError(
            "--schedule multistep needs --milestones, the epochs at which the learning rate "
            "is multiplied by --gamma, e.g. --milestones 10,20"
        )
    if config.milestones is not None and config.schedule != "multistep":
        raise ValueError(
            f"--milestones are epochs of the multistep schedule, but the schedule is "
            f"{config.schedule!r}: add --schedule multistep or leave out --milestones"
        )
    if config.update_rule == "lbfgs" and not spec.full_batch:
        from tinyvision import registry

        full_batch = [n for n in registry.names(spec.task.name) if registry.get(n).full_batch]
        raise ValueError(
            f"--update-rule lbfgs trains full-batch with L-BFGS, which --model {config.model} "
            f"does not offer; use it with --model {', '.join(full_batch) or '(none here)'}, "
            f"or pick a minibatch rule: {', '.join(r for r in UPDATE_RULES if r != 'lbfgs')}"
        )
    if spec.fit is None:
        return
    solver_only = [
        flag
        for flag, is_set in (
            ("--clip-value", config.clip_value is not None and not spec.clipping),
            ("--clip-norm", config.clip_norm is not None and not spec.clipping),
            ("--max-norm", config.max_norm is not None),
            (
                f"--schedule {config.schedule}",
                config.schedule is not None and config.schedule not in spec.schedules,
            ),
        )
        if is_set
    ]
    if solver_only:
        from tinyvision import registry

        solver_models = [n for n in registry.names(spec.task.name) if registry.get(n).fit is None]
        verb = "apply" if len(solver_only) > 1 else "applies"
        own = f" (it follows --schedule {', '.join(spec.schedules)})"
        raise ValueError(
            f"{' and '.join(solver_only)} {verb} only to models trained by the Solver "
            f"({', '.join(solver_models)}); --model {config.model} trains in its own way{own}"
        )


def config_from_json(values: Any, source: str = "config.json") -> RunConfig:
    """The config a run folder's config.json describes, converting older versions.

    values: the parsed JSON; source: the file, named in errors
    raises DataError when the JSON is not a config of this or an earlier version
    """
    from tinyvision import registry

    if not isinstance(values, dict):
        raise DataError(f"{source} must hold a JSON object, got {type(values).__name__}")
    version = values.get("config_version", 1)
    if not _is_int(version) or version > CONFIG_VERSION:
        raise DataError(
            f"{source} has config_version {version!r}, newer than this tinyvision understands "
            f"({CONFIG_VERSION}); upgrade tinyvision"
        )
    model = values.get("model")
    if model not in registry.names():
        raise DataError(
            f"{source} names model {model!r}, which this tinyvision does not have; "
            f"models: {', '.join(registry.names())}"
        )
    spec = registry.get(model)
    values = dict(values)
    if version == 1:
        values = spec.task.upgrade_v1(values)
    try:
        return spec.task.config_class.from_dict(values)
    except TypeError as error:
        raise DataError(f"{source} does not describe a {model} run: {error}") from error
