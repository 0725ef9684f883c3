"""CSVDataset and its normalisation transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyvision.data.csv_dataset import CSVDataset, FeatureNormalizationTransform
from tinyvision.data.loader import DataLoader
from tinyvision.errors import DataError

CSV = """id,age,income,city,passed
1,20,1000,Munich,0
2,30,NA,Berlin,1
3,40,3000,Munich,1
4,,5000,Hamburg,0
"""


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    return path


def test_default_features_are_the_numeric_columns(csv_path) -> None:
    ds = CSVDataset(csv_path, target_column="passed")
    assert ds.feature_columns == ["id", "age", "income"]
    assert len(ds) == 4
    np.testing.assert_array_equal(ds.targets, [0, 1, 1, 0])
    item = ds[1]
    assert item["target"] == 1.0
    np.testing.assert_array_equal(item["features"], [2, 30, np.nan])
    assert ds.column_stats["income"] == {"min": 1000.0, "max": 5000.0, "mean": 3000.0}
    assert ds.column_stats["age"]["mean"] == 30.0


def test_normalisation_transform(csv_path) -> None:
    ds = CSVDataset(csv_path, target_column="passed", feature_columns=["age", "income"])
    ds.transform = ds.normalization_transform()
    features = np.stack([ds[i]["features"] for i in range(4)])
    age = np.array([20, 30, 40, 30.0])
    income = np.array([1000, 3000, 3000, 5000.0])
    np.testing.assert_allclose(features[:, 0], (age - 30) / 20)
    np.testing.assert_allclose(features[:, 1], (income - 3000) / 4000)
    batch = next(iter(DataLoader(ds, batch_size=3)))
    assert batch["features"].shape == (3, 2) and batch["target"].shape == (3,)


def test_transform_with_training_statistics_and_constant_columns() -> None:
    stats = {"a": {"min": 0.0, "max": 4.0, "mean": 1.0}, "b": {"min": 2.0, "max": 2.0, "mean": 2.0}}
    transform = FeatureNormalizationTransform(stats, ["b", "a"])
    out = transform({"features": np.array([5.0, np.nan]), "target": 1.0})
    np.testing.assert_allclose(out["features"], [3.0, 0.0])
    assert out["target"] == 1.0
    with pytest.raises(ValueError, match=r"no statistics for \['c'\]"):
        FeatureNormalizationTransform(stats, ["a", "c"])


def test_unknown_column_lists_the_available_ones(csv_path) -> None:
    with pytest.raises(DataError, match=r"no column 'label'; available columns: id, age"):
        CSVDataset(csv_path, target_column="label")
    with pytest.raises(DataError, match=r"no column 'height'"):
        CSVDataset(csv_path, target_column="passed", feature_columns=["age", "height"])


def test_non_numeric_and_malformed_files(csv_path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"column 'city' holds the non-numeric value 'Munich'"):
        CSVDataset(csv_path, target_column="passed", feature_columns=["city"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CSVDataset(tmp_path / "none.csv", target_column="x")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    with pytest.raises(DataError, match=r"rows \[3\] do not have 2 cells"):
        CSVDataset(ragged, target_column="b")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    with pytest.raises(DataError, match="at least one data row"):
        CSVDataset(header_only, target_column="b")
    no_target = tmp_path / "no_target.csv"
    no_target.write_text("a,b\n1,\n")
    with pytest.raises(DataError, match=r"target column 'b' is empty in line 2"):
        CSVDataset(no_target, target_column="b")
