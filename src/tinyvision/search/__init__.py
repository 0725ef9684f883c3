"""Hyperparameter search on Optuna: `tinyvision tune`, its Python API, and the I2DL functions.

- space: what is searched (TOML or dict; default spaces per model and data set)
- study: the Optuna study, its storage, samplers and pruners; one trial is one run of the
  pipeline
- workers: the worker processes that run a study's trials
- pruning: per-epoch validation accuracy reported to the trial
- results, plots: the table of trials and the pictures
- run: a whole search into a run folder (search_run)
- dashboard: optuna-dashboard on 127.0.0.1

Optuna is the optional extra `search` (pip install -e ".[search]"); importing this package
needs it only when a function that uses it is called.
"""

from tinyvision.search.run import SearchResult, search_run
from tinyvision.search.space import SearchSpace, default_space, load_space, parse_space
from tinyvision.search.study import StudyOptions

__all__ = [
    "SearchResult",
    "SearchSpace",
    "StudyOptions",
    "default_space",
    "load_space",
    "parse_space",
    "search_run",
]
