"""`exercise_code.data.csv_dataset`: the exercise's house-price CSV dataset and its transform.

The CSV file is read and checked by the core (`tinyvision.data.CSVDataset`: UTF-8, a header,
numeric columns, NA for missing cells); this adapter adds the exercise's 60/20/20 split, its
per-split column statistics and its item form. Each item is {"features": row, "target": price}
where the row is a dict {column name: float} (NaN where the cell is missing), so that
`FeatureSelectorAndNormalizationTransform` can pick columns by name as the exercise's does
with a pandas Series (pandas is not needed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.data.csv_dataset import CSVDataset as CSVTable
from tinyvision.i2dl.data.base_dataset import Dataset
from tinyvision.i2dl.data.transforms import RescaleTransform

__all__ = ["CSVDataset", "ColumnStats", "FeatureSelectorAndNormalizationTransform"]

MODES = ("train", "val", "test")
ColumnStats = dict[str, dict[str, float]]


def _split_rows(num_rows: int, mode: str) -> np.ndarray:
    """Rows of the `mode` part: a RandomState(0) shuffle cut at 60% and 80%, as the exercise's
    `np.split(df.sample(frac=1, random_state=0), [int(.6 * N), int(.8 * N)])` cuts it."""
    order = np.random.RandomState(0).permutation(num_rows)
    train, val, test = np.split(order, [int(0.6 * num_rows), int(0.8 * num_rows)])
    return {"train": train, "val": val, "test": test}[mode]


def _stats(values: np.ndarray) -> dict[str, float]:
    """min, max and mean of the non-missing values (NaN for all three when there are none)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return {"min": math.nan, "max": math.nan, "mean": math.nan}
    return {"min": float(present.min()), "max": float(present.max()), "mean": float(present.mean())}


class CSVDataset(Dataset):
    """One part (train, val or test) of a CSV table with a numeric target column.

    The file is `input_data` when given, else `<root>/<name>.csv` where <name> is the
    download's archive name without its extension (housing_train.zip -> housing_train.csv),
    or the only .csv file in `root` when there is no download_url.

    Args:
        target_column: the column to predict (numeric, no missing cells), e.g. "SalePrice".
        transform: callable applied to each item dict, e.g.
            FeatureSelectorAndNormalizationTransform; None returns the items as they are.
        mode: "train" (60% of the rows), "val" (20%) or "test" (20%), shuffled as the
            exercise shuffles them.
        input_data: path of the CSV file (the exercise passes a pandas DataFrame here; write
            it with `df.to_csv(path, index=False)` and pass the path).
        root, download_url, force_download, verbose: as tinyvision.i2dl.data.Dataset.

    Attributes:
        feature_columns: the numeric columns other than the target, in file order (columns
            holding text are left out); data: float64 (N, D), NaN where missing; targets:
            float64 (N,); column_stats: {column: {"min", "max", "mean"}} of this part, for
            every feature column and the target (missing cells skipped), like the exercise's
            `df.min()`, `df.max()`, `df.mean()`.

    Raises:
        FileNotFoundError: no CSV file where it should be (the message says where).
        ValueError: a bad mode, or neither input_data nor root.
        DataError: the file cannot be used (see tinyvision.data.CSVDataset).
    """

    how_to_get_data = "or put the CSV file in it"

    def __init__(
        self,
        target_column: str,
        transform: Callable[[dict[str, Any]], Any] | None = None,
        mode: str = "train",
        input_data: str | os.PathLike[str] | None = None,
        root: str | os.PathLike[str] | None = None,
        download_url: str | None = None,
        force_download: bool = False,
        verbose: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if input_data is None and root is None:
            raise ValueError("CSVDataset needs input_data (a CSV file) or root (its folder)")
        if root is not None:
            super().__init__(root, download_url, force_download, verbose)
        else:
            self.root_path, self.download_url, self.dataset_zip_name = None, None, None
        if input_data is None:
            path = self._csv_path()
        elif isinstance(input_data, str | os.PathLike):
            path = Path(input_data).expanduser()
        else:
            raise ValueError(
                f"input_data must be the path of a CSV file, got {type(input_data).__name__}; "
                "save a DataFrame with df.to_csv(path, index=False) and pass the path"
            )
        table = CSVTable(path, target_column)
        rows = _split_rows(len(table), mode)
        self.path = table.path
        self.mode = mode
        self.target_column = target_column
        self.feature_columns = table.feature_columns
        self.data = table.features[rows]
        self.targets = table.targets[rows]
        self.column_stats: ColumnStats = {
            name: _stats(self.data[:, j]) for j, name in enumerate(self.feature_columns)
        }
        self.column_stats[target_column] = _stats(self.targets)
        self.transform = transform

    def _csv_path(self) -> Path:
        """The CSV file in root: named after the download, or the folder's only .csv file."""
        root = self.check_root()
        if self.dataset_zip_name is not None:
            return root / (self.dataset_zip_name.split(".", 1)[0] + ".csv")
        found = sorted(root.glob("*.csv"))
        if len(found) != 1:
            listed = ", ".join(p.name for p in found) or "none"
            raise FileNotFoundError(
                f"{root} must hold exactly one .csv file when no download_url names it, found "
                f"{listed}; pass input_data=<the CSV file> to choose one"
            )
        return found[0]

    def __len__(self) -> int:
        """Return the number of rows in this part."""
        return len(self.targets)

    def __getitem__(self, index: int) -> Any:
        """Return the (transformed) item {"features": {column: float}, "target": float}."""
        index = self._check_index(index)
        row = dict(zip(self.feature_columns, self.data[index].tolist(), strict=True))
        item = {"features": row, "target": float(self.targets[index])}
        return self.transform(item) if self.transform is not None else item


class FeatureSelectorAndNormalizationTransform:
    """Keep the feature columns named in `column_stats` and scale them (and the target) to [0, 1].

    Each kept value becomes (x - min) / (max - min) with that column's statistics (a missing
    value is first replaced by the column's mean); the scaling is the core RescaleTransform.

    Args:
        column_stats: {column: {"min", "max", "mean"}} for every feature to keep and for the
            target, e.g. computed on the training part (`CSVDataset.column_stats`).
        target_column: the target's name.

    Raises:
        ValueError: no statistics for the target, a statistic missing, or a column whose min
            equals its max (it cannot be scaled; leave it out of column_stats).
    """

    def __init__(self, column_stats: Mapping[str, Mapping[str, float]], target_column: str) -> None:
        if target_column not in column_stats:
            raise ValueError(
                f"column_stats must include the target column {target_column!r}, it has "
                f"{sorted(column_stats)}"
            )
        self.column_stats = {name: dict(stats) for name, stats in column_stats.items()}
        self.target_column = target_column
        self._scalers = {}
        for name, stats in self.column_stats.items():
            missing = {"min", "max", "mean"} - set(stats)
            if missing:
                raise ValueError(f"column_stats[{name!r}] lacks {sorted(missing)}")
            if not stats["max"] > stats["min"]:
                raise ValueError(
                    f"column {name!r} has min {stats['min']} and max {stats['max']}: it cannot "
                    "be scaled to [0, 1]; leave it out of column_stats"
                )
            self._scalers[name] = RescaleTransform((0.0, 1.0), (stats["min"], stats["max"]))

    def __call__(self, data_dict: Mapping[str, Any]) -> dict[str, Any]:
        """Return a new item: "features" float32 (D,) of the kept columns in row order,
        "target" float64 (1,)."""
        row = data_dict["features"]
        if not isinstance(row, Mapping):
            raise ValueError(
                "the item's 'features' must be a {column: value} row (as CSVDataset gives), got "
                f"{type(row).__name__}"
            )
        kept = [name for name in row if name in self._scalers and name != self.target_column]
        features = np.array(
            [self._scale(name, row[name]) for name in kept], dtype=np.float32
        ).reshape(len(kept))
        target = np.array([self._scale(self.target_column, data_dict["target"])])
        return {**data_dict, "features": features, "target": target}

    def _scale(self, name: str, value: float) -> float:
        if math.isnan(value):
            value = self.column_stats[name]["mean"]
        return float(self._scalers[name](np.float64(value)))
