"""The I2DL exercise's hyperparameter search functions, as thin layers over an Optuna study.

`grid_search` and `random_search` turn their search spaces into a list of configs and hand it
to `findBestConfig`, which trains `model_class(**config)` with the exercise Solver for each
config as one trial of an in-memory Optuna study and keeps the model with the lowest
validation loss, as the exercise does. `random_search_spaces_to_config` draws one config
through an Optuna random sampler seeded from NumPy's global RNG, so `np.random.seed` makes a
search repeatable as in the notebook.

Search space spellings, as in the exercise: grid `{"learning_rate": [1e-4, 1e-3], ...}`;
random `{"learning_rate": ([1e-4, 1e-1], "log"), "hidden_size": ([100, 400], "int"),
"dropout": ([0.0, 0.5], "float"), "activation": ([Sigmoid(), Relu()], "item")}`; an "int"
range includes its low end and excludes its high end (numpy's randint).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tinyvision.errors import TrainingDivergedError
from tinyvision.i2dl.networks import ClassificationNet
from tinyvision.i2dl.solver import Solver

__all__ = [
    "ALLOWED_RANDOM_SEARCH_PARAMS",
    "findBestConfig",
    "grid_search",
    "random_search",
    "random_search_spaces_to_config",
]

ALLOWED_RANDOM_SEARCH_PARAMS = ("log", "int", "float", "item")


def _check_grid(grid_search_spaces: Mapping[str, Sequence[Any]]) -> None:
    if not isinstance(grid_search_spaces, Mapping) or not grid_search_spaces:
        raise ValueError(
            "grid_search_spaces must be a non-empty dict {name: [values]}, got "
            f"{grid_search_spaces!r}"
        )
    for name, values in grid_search_spaces.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or not list(values):
            raise ValueError(
                f"grid_search_spaces[{name!r}] must be a non-empty list, got {values!r}"
            )


def grid_search(
    train_loader: Any,
    val_loader: Any,
    grid_search_spaces: Mapping[str, Sequence[Any]] | None = None,
    model_class: type = ClassificationNet,
    epochs: int = 20,
    patience: int = 5,
) -> tuple[Any, list[tuple[dict[str, Any], dict[str, float]]]]:
    """Train every combination of the grid's values; return the best model and all results.

    grid_search_spaces: {name: [values]} (default: learning_rate x reg as in the exercise)
    returns (the model with the lowest validation loss, [(config, best_model_stats), ...])
    """
    if grid_search_spaces is None:
        grid_search_spaces = {"learning_rate": [1e-4, 1e-3, 1e-2, 1e-1], "reg": [1e-4, 1e-5, 1e-6]}
    _check_grid(grid_search_spaces)
    names = list(grid_search_spaces)
    configs = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(list(grid_search_spaces[n]) for n in names))
    ]
    return findBestConfig(train_loader, val_loader, configs, epochs, patience, model_class)


def random_search(
    train_loader: Any,
    val_loader: Any,
    random_search_spaces: Mapping[str, tuple[Sequence[Any], str]] | None = None,
    model_class: type = ClassificationNet,
    num_search: int = 20,
    epochs: int = 20,
    patience: int = 5,
) -> tuple[Any, list[tuple[dict[str, Any], dict[str, float]]]]:
    """Train num_search configs drawn from the spaces; return the best model and all results.

    random_search_spaces: {name: (range or items, mode)}, mode one of
        ALLOWED_RANDOM_SEARCH_PARAMS (default: a log-uniform learning rate, as the exercise)
    returns (the model with the lowest validation loss, [(config, best_model_stats), ...])
    """
    if random_search_spaces is None:
        random_search_spaces = {"learning_rate": ([1e-4, 1e-1], "log")}
    if isinstance(num_search, bool) or not isinstance(num_search, int) or num_search < 1:
        raise ValueError(f"num_search must be a positive integer, got {num_search!r}")
    configs = [random_search_spaces_to_config(random_search_spaces) for _ in range(num_search)]
    return findBestConfig(train_loader, val_loader, configs, epochs, patience, model_class)


def _distribution(name: str, space: Any) -> Any:
    """The Optuna distribution of one random search space entry (items drawn by index)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if not (isinstance(space, tuple) and len(space) == 2):
        raise ValueError(
            f"random_search_spaces[{name!r}] must be (range or items, mode), e.g. "
            f"([1e-4, 1e-1], 'log'); got {space!r}"
        )
    values, mode = space
    if mode not in ALLOWED_RANDOM_SEARCH_PARAMS:
        raise ValueError(
            f"random_search_spaces[{name!r}]: mode {mode!r} is not one of "
            f"{', '.join(ALLOWED_RANDOM_SEARCH_PARAMS)}"
        )
    values = list(values)
    if not values:
        raise ValueError(f"random_search_spaces[{name!r}]: the range or items are empty")
    if mode == "item":
        return CategoricalDistribution(list(range(len(values))))
    low, high = values[0], values[-1]
    if not low < high if mode == "int" else not low <= high:
        raise ValueError(
            f"random_search_spaces[{name!r}]: empty range [{low!r}, {high!r}); give low < high"
        )
    if mode == "int":
        return IntDistribution(int(low), int(high) - 1)
    if mode == "log" and low <= 0:
        raise ValueError(
            f"random_search_spaces[{name!r}]: a 'log' range needs positive bounds, got {low!r}"
        )
    return FloatDistribution(float(low), float(high), log=mode == "log")


def random_search_spaces_to_config(
    random_search_spaces: Mapping[str, tuple[Sequence[Any], str]],
) -> dict[str, Any]:
    """One config drawn from the spaces: log-uniform, integer, uniform or one of the items.

    Draws through an Optuna random sampler seeded from np.random (np.random.seed repeats it).
    """
    import optuna

    if not isinstance(random_search_spaces, Mapping) or not random_search_spaces:
        raise ValueError(
            "random_search_spaces must be a non-empty dict {name: (range, mode)}, got "
            f"{random_search_spaces!r}"
        )
    distributions = {n: _distribution(n, s) for n, s in random_search_spaces.items()}
    sampler = optuna.samplers.RandomSampler(seed=int(np.random.randint(2**31 - 1)))
    study = optuna.create_study(sampler=sampler)
    trial = study.ask(distributions)
    config = {}
    for name, (values, mode) in random_search_spaces.items():
        drawn = trial.params[name]
        config[name] = list(values)[drawn] if mode == "item" else drawn
    return config


def findBestConfig(  # the exercise's names, capitals and all
    train_loader: Any,
    val_loader: Any,
    configs: Sequence[Mapping[str, Any]],
    EPOCHS: int,
    PATIENCE: int,
    model_class: type,
) -> tuple[Any, list[tuple[dict[str, Any], dict[str, float]]]]:
    """Train model_class(**config) for each config; keep the one with the lowest val loss.

    Each config is one trial of an in-memory Optuna study (minimising the validation loss); a
    config whose training diverges (non-finite loss) is recorded as failed and skipped.
    Prints each config and the result, as the exercise does.
    returns (the best model, [(config, best_model_stats), ...] for the configs in order)
    """
    import optuna

    if not configs:
        raise ValueError("configs is empty: give at least one config dict to train")
    study = optuna.create_study(direction="minimize")
    models, results = {}, []
    for i, config in enumerate(configs):
        config = dict(config)
        print(f"\nEvaluating Config #{i + 1} [of {len(configs)}]:\n", config)
        trial = study.ask()
        model = model_class(**config)
        solver = Solver(model, train_loader, val_loader, **config)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                solver.train(epochs=EPOCHS, patience=PATIENCE)
        except TrainingDivergedError as error:
            print(f"Config #{i + 1} diverged: {error}")
        stats = solver.best_model_stats
        results.append(stats)
        val_loss = None if stats is None else stats["val_loss"]
        if val_loss is None or not math.isfinite(val_loss):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, val_loss)
        models[trial.number] = (model, config)
    if not models:
        raise ValueError("every config's training diverged; lower the learning rates")
    best_model, best_config = models[study.best_trial.number]
    print(f"\nSearch done. Best Val Loss = {study.best_value}")
    print("Best Config:", best_config)
    return best_model, list(zip([dict(c) for c in configs], results, strict=True))
