"""A dataset over the rows of a CSV file (I2DL regression and binary logistic regression).

Each example is {"features": float64 vector of the chosen columns, "target": float}. Feature
selection is the dataset's `feature_columns`; `FeatureNormalizationTransform` fills missing
values with the column mean and scales each feature by its min/max range.

The file is read as UTF-8 (a byte-order mark is dropped). Values that are numbers but not
finite ("inf", "1e400") are refused rather than read: they would turn whole columns into NaN
after normalisation. Missing cells (empty, NA, nan, ...) are allowed in feature columns.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.errors import DataError

__all__ = ["MISSING_VALUES", "CSVDataset", "FeatureNormalizationTransform"]

MISSING_VALUES: frozenset[str] = frozenset({"", "na", "nan", "n/a", "null", "none"})
ColumnStats = dict[str, dict[str, float]]


def _parse(cell: str) -> float | None:
    """Return the cell as a float (nan when missing), or None when it is not a number."""
    text = cell.strip()
    if text.lower() in MISSING_VALUES:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


class FeatureNormalizationTransform:
    """Normalise the "features" of a CSV item: missing -> column mean, then
    (x - mean) / (max - min) per column (a constant column is only centred).

    Args:
        column_stats: {column: {"min", "max", "mean"}}, e.g. `CSVDataset.column_stats` of the
            training set (so validation and test use the training statistics).
        feature_columns: column names in the order of the item's "features" vector.
    """

    def __init__(self, column_stats: ColumnStats, feature_columns: Sequence[str]) -> None:
        missing = [c for c in feature_columns if c not in column_stats]
        if missing:
            raise ValueError(
                f"column_stats has no statistics for {missing}; it covers {sorted(column_stats)}"
            )
        self.feature_columns = list(feature_columns)
        self.mean = np.array([column_stats[c]["mean"] for c in feature_columns])
        span = np.array([column_stats[c]["max"] - column_stats[c]["min"] for c in feature_columns])
        self.span = np.where(span > 0, span, 1.0)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        """Return a new item whose "features" are filled and normalised."""
        features = np.asarray(item["features"], dtype=np.float64)
        features = np.where(np.isnan(features), self.mean, features)
        return {**item, "features": (features - self.mean) / self.span}


class CSVDataset:
    """Rows of a CSV file with a header line as {"features": (D,) float64, "target": float}.

    Args:
        path: CSV file; the first line names the columns.
        target_column: column holding the target (numeric, no missing values).
        feature_columns: columns used as features, in this order; None means every other
            column whose cells are all numbers (or missing: empty, NA, nan, ...).
        transform: optional callable applied to each item dict, e.g.
            FeatureNormalizationTransform.

    Attributes:
        features: float64 (N, D) with nan for missing cells; targets: float64 (N,);
        column_stats: {column: {"min", "max", "mean"}} over the non-missing feature values.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: not UTF-8 text, no header or rows, a column name given twice, an unknown
            column (the message lists the available ones), or a non-numeric or infinite cell
            in a feature or target column; each message names the file (and the column and
            line when there is one).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        target_column: str,
        feature_columns: Sequence[str] | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise FileNotFoundError(f"CSV file {self.path} does not exist")
        # utf-8-sig drops the byte-order mark some editors write, which would otherwise stick
        # to the first column's name.
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
        except UnicodeDecodeError as error:
            raise DataError(
                f"{self.path} is not UTF-8 text (byte {error.object[error.start]:#04x} at "
                f"offset {error.start}); save it as UTF-8 CSV"
            ) from error
        if len(rows) < 2:
            raise DataError(f"{self.path} needs a header line and at least one data row")
        header, body = [h.strip() for h in rows[0]], rows[1:]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise DataError(
                f"{self.path}: the header names the column(s) {repeated} more than once; "
                "give every column its own name"
            )
        bad = [i + 2 for i, row in enumerate(body) if len(row) != len(header)]
        if bad:
            raise DataError(
                f"{self.path}: rows {bad[:5]} do not have {len(header)} cells like the header"
            )
        columns = {name: [row[i] for row in body] for i, name in enumerate(header)}
        requested = [target_column, *(feature_columns or [])]
        unknown = [c for c in requested if c not in columns]
        if unknown:
            raise DataError(
                f"{self.path} has no column {', '.join(map(repr, unknown))}; available "
                f"columns: {', '.join(header)}"
            )
        parsed = {name: [_parse(cell) for cell in cells] for name, cells in columns.items()}
        if feature_columns is None:
            feature_columns = [c for c in header if c != target_column and None not in parsed[c]]
            if not feature_columns:
                raise DataError(f"{self.path} has no numeric column besides {target_column!r}")
        self.feature_columns = list(feature_columns)
        self.target_column = target_column
        for name in [*self.feature_columns, target_column]:
            if None in parsed[name]:
                row = parsed[name].index(None)
                raise DataError(
                    f"{self.path}: column {name!r} holds the non-numeric value "
                    f"{columns[name][row]!r} in line {row + 2}"
                )
            infinite = [i for i, value in enumerate(parsed[name]) if math.isinf(value)]
            if infinite:
                raise DataError(
                    f"{self.path}: column {name!r} holds the value {columns[name][infinite[0]]!r}"
                    f" in line {infinite[0] + 2}, which is not a finite number; fix or remove "
                    "it (write an empty cell for a missing value)"
                )
        self.targets = np.array(parsed[target_column], dtype=np.float64)
        if np.isnan(self.targets).any():
            line = int(np.flatnonzero(np.isnan(self.targets))[0]) + 2
            raise DataError(f"{self.path}: target column {target_column!r} is empty in line {line}")
        self.features = np.array(
            [parsed[c] for c in self.feature_columns], dtype=np.float64
        ).T.reshape(len(body), len(self.feature_columns))
        self.column_stats: ColumnStats = {}
        for j, name in enumerate(self.feature_columns):
            values = self.features[:, j][~np.isnan(self.features[:, j])]
            if values.size == 0:
                raise DataError(f"{self.path}: feature column {name!r} has no values at all")
            self.column_stats[name] = {
                "min": float(values.min()),
                "max": float(values.max()),
                "mean": float(values.mean()),
            }
        self.transform = transform

    def normalization_transform(self) -> FeatureNormalizationTransform:
        """Return a FeatureNormalizationTransform built from this dataset's statistics."""
        return FeatureNormalizationTransform(self.column_stats, self.feature_columns)

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.targets)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return {"features": (D,) float64, "target": float} of row `index`, transformed."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} rows")
        item = {"features": self.features[index].copy(), "target": float(self.targets[index])}
        return self.transform(item) if self.transform is not None else item
