"""An offline house-price table for the I2DL regression and logistic-regression exercises.

The course downloads Kaggle's "House Prices" training table (housing_train.csv, 1,460 houses,
81 columns). This machine has no internet, so `make_housing_table` GENERATES a table instead:
a seeded, synthetic stand-in with the columns the exercises use (SalePrice, OverallQual,
GrLivArea, GarageCars, TotalBsmtSF, YearBuilt, FullBath, LotFrontage with missing values)
and relations of the same kind (price grows with quality and living area). It is NOT the
Kaggle data, and numbers measured on it are not the course's. A real housing_train.csv placed
in the folder is used as it is.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from tinyvision.data.paths import default_data_dir
from tinyvision.files import atomic_write
from tinyvision.i2dl.data.csv_dataset import CSVDataset, FeatureSelectorAndNormalizationTransform
from tinyvision.validation import check_positive_int

__all__ = [
    "HOUSING_COLUMNS",
    "HOUSING_FILE",
    "binarize",
    "get_housing_data",
    "make_housing_table",
    "write_housing_csv",
]

HOUSING_FILE = "housing_train.csv"
HOUSING_COLUMNS = (
    "Id",
    "OverallQual",
    "GrLivArea",
    "GarageCars",
    "TotalBsmtSF",
    "FullBath",
    "YearBuilt",
    "LotFrontage",
    "SalePrice",
)


def make_housing_table(num_rows: int = 1460, seed: int = 0) -> dict[str, np.ndarray]:
    """Generate the synthetic house-price table (the same table for the same arguments).

    The draws: quality 1..10 around 6; living area log-normal around 1,460 sq ft, larger for
    better houses; garage cars, basement area, full baths and year built following quality
    and area; lot frontage with about 18% missing (as in Kaggle's column); and
    log(price) = 12.02 + 0.13 (quality - 6) + 0.5 log(area / 1460) + 0.05 (cars - 1.8)
    + 0.002 (year - 1971) + N(0, 0.13^2), so the median price is near Kaggle's $163,000.

    Args:
        num_rows: number of houses (Kaggle's table has 1,460).
        seed: seed of the generator.

    Returns:
        {column: float64 array of shape (num_rows,)} for HOUSING_COLUMNS, in that order;
        LotFrontage is NaN where missing; every other value is a whole number.
    """
    num_rows = check_positive_int(num_rows, "num_rows")
    rng = np.random.default_rng(seed)
    quality = np.clip(np.rint(rng.normal(6.1, 1.4, num_rows)), 1, 10)
    area = np.rint(np.clip(np.exp(rng.normal(np.log(1460) + 0.08 * (quality - 6), 0.3)), 334, 5642))
    cars = np.clip(np.rint(0.5 + 0.22 * quality + rng.normal(0, 0.6, num_rows)), 0, 4)
    basement = np.maximum(0, np.rint(0.65 * area + rng.normal(0, 300, num_rows)))
    basement[rng.random(num_rows) < 0.03] = 0
    baths = np.clip(np.rint(area / 900 + rng.normal(0, 0.4, num_rows)), 0, 3)
    year = np.clip(np.rint(1971 + 9 * (quality - 6) + rng.normal(0, 22, num_rows)), 1872, 2010)
    frontage = np.rint(np.clip(rng.normal(70, 22, num_rows), 21, 313))
    frontage[rng.random(num_rows) < 0.18] = np.nan
    log_price = (
        12.02
        + 0.13 * (quality - 6)
        + 0.5 * np.log(area / 1460)
        + 0.05 * (cars - 1.8)
        + 0.002 * (year - 1971)
        + rng.normal(0, 0.13, num_rows)
    )
    columns = {
        "Id": np.arange(1, num_rows + 1, dtype=np.float64),
        "OverallQual": quality,
        "GrLivArea": area,
        "GarageCars": cars,
        "TotalBsmtSF": basement,
        "FullBath": baths,
        "YearBuilt": year,
        "LotFrontage": frontage,
        "SalePrice": np.rint(np.exp(log_price)),
    }
    return {name: columns[name] for name in HOUSING_COLUMNS}


def write_housing_csv(path: str | os.PathLike[str], num_rows: int = 1460, seed: int = 0) -> Path:
    """Write `make_housing_table(num_rows, seed)` as a CSV file (atomically), NA for missing.

    Returns:
        Path: the file written.
    """
    table = make_housing_table(num_rows, seed)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(table)
    for row in zip(*table.values(), strict=True):
        writer.writerow("NA" if np.isnan(value) else str(int(value)) for value in row)
    return atomic_write(path, lambda f: f.write(text.getvalue().encode("utf-8")))


def binarize(
    X: np.ndarray, y: np.ndarray, a_percentile: float, b_percentile: float
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the examples with y <= a_percentile (label 0) or y >= b_percentile (label 1).

    Args:
        X: (N, D) features.
        y: (N, 1) or (N,) targets.
        a_percentile, b_percentile: the two thresholds, a_percentile < b_percentile.

    Returns:
        (X kept, labels of shape (M, 1), 0.0 or 1.0 in y's float dtype).
    """
    y = np.asarray(y)
    values = y.reshape(len(y))
    keep = (values <= a_percentile) | (values >= b_percentile)
    labels = (values[keep] >= b_percentile).astype(np.result_type(y.dtype, np.float32))
    return np.asarray(X)[keep], labels[:, None]


def _stack(dataset: CSVDataset) -> tuple[np.ndarray, np.ndarray]:
    items = [dataset[i] for i in range(len(dataset))]
    return np.stack([it["features"] for it in items]), np.stack([it["target"] for it in items])


def get_housing_data(
    root: str | os.PathLike[str] | None = None,
    selected_columns: tuple[str, ...] = ("GrLivArea",),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, CSVDataset]:
    """The exercise's expensive-or-cheap house data, from the offline table.

    Writes the generated table to `<root>/housing_train.csv` unless a file is already there,
    reads the train/val/test parts with CSVDataset, scales the selected features and the
    price to [0, 1] with the training part's statistics, and labels the houses below the
    30th price percentile (of all parts) 0 and those above the 70th 1, dropping the rest.

    Args:
        root: folder of the table; None means `<default data dir>/i2dl/housing`.
        selected_columns: the feature columns to keep (the exercise keeps GrLivArea).

    Returns:
        (X_train, y_train, X_val, y_val, X_test, y_test, train_dataset): X float32 (M, D),
        y float64 (M, 1) of 0.0 / 1.0, and the training CSVDataset with its transform.
    """
    root = default_data_dir() / "i2dl" / "housing" if root is None else Path(root).expanduser()
    path = root / HOUSING_FILE
    if not path.is_file():
        write_housing_csv(path)
    target = "SalePrice"
    stats = CSVDataset(target, mode="train", input_data=path).column_stats
    unknown = [name for name in selected_columns if name not in stats or name == target]
    if unknown:
        raise ValueError(
            f"selected_columns {unknown} are not numeric feature columns of {path}; choose "
            f"from {sorted(set(stats) - {target})}"
        )
    transform = FeatureSelectorAndNormalizationTransform(
        {name: stats[name] for name in (*selected_columns, target)}, target
    )
    parts = [CSVDataset(target, transform, mode, path) for mode in ("train", "val", "test")]
    arrays = [_stack(part) for part in parts]
    prices = np.concatenate([y for _, y in arrays])
    low, high = np.percentile(prices, 30), np.percentile(prices, 70)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = (
        binarize(X, y, low, high) for X, y in arrays
    )
    return X_train, y_train, X_val, y_val, X_test, y_test, parts[0]
