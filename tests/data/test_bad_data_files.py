"""Issue 12, data files: values a loader would silently turn into garbage are DataErrors.

CIFAR-10 batches whose pixels are NaN, 300 or -1 used to be cast to uint8 (wrapping around);
a CSV value "inf" or "1e400" became NaN features after normalisation, a repeated header name
dropped a column, a UTF-8 byte-order mark hid the first column's name, and a Latin-1 file gave
a bare UnicodeDecodeError. Each message names the file (and the column, line or image).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyvision.cli import main
from tinyvision.data.cifar10 import (
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
    read_cifar_batch_uint8,
)
from tinyvision.data.csv_dataset import CSVDataset
from tinyvision.errors import DataError

# ----------------------------------------------------------------------------------- CIFAR-10


def write_batch(helpers, path: Path, data: np.ndarray, labels: list[int]) -> None:
    path.write_bytes(helpers.py2_pickle(helpers.batch_dict(data, labels, b"training batch")))


def pixels(dtype, n: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 3072)).astype(dtype)


def with_value(dtype, value, image: int = 1, position: int = 5) -> np.ndarray:
    data = pixels(dtype)
    data[image, position] = value
    return data


BAD_PIXELS = {
    "float NaN": (with_value(np.float64, np.nan), r"got nan \(dtype float64\) in image 1, value 5"),
    "float inf": (with_value(np.float32, np.inf), r"got inf \(dtype float32\) in image 1, value 5"),
    "int64 300": (with_value(np.int64, 300), r"got 300 \(dtype int64\) in image 1, value 5"),
    "int64 -1": (with_value(np.int64, -1), r"got -1 \(dtype int64\) in image 1, value 5"),
    "int16 256": (with_value(np.int16, 256, 2, 3071), r"got 256 \(dtype int16\) in image 2"),
    "float fraction": (
        with_value(np.float64, 12.5, 0, 0),
        r"got 12.5 \(dtype float64\) in image 0, value 0",
    ),
}


@pytest.mark.parametrize(("data", "pattern"), BAD_PIXELS.values(), ids=list(BAD_PIXELS))
def test_pixels_a_cast_would_change_are_refused_naming_the_file(helpers, tmp_path, data, pattern):
    path = tmp_path / "data_batch_1"
    write_batch(helpers, path, data, [0, 1, 2])
    for reader in (read_cifar_batch_uint8, load_CIFAR_batch):
        with pytest.raises(DataError, match=pattern) as info:
            reader(path)
        message = str(info.value)
        assert message.startswith(f"{path}: b'data' must hold whole pixel values in [0, 255]")
        assert "download it again" in message


@pytest.mark.parametrize("dtype", [np.bool_, np.complex128, object])
def test_pixels_of_a_non_numeric_dtype_are_refused(helpers, tmp_path, dtype):
    path = tmp_path / "test_batch"
    write_batch(helpers, path, np.zeros((2, 3072), dtype=dtype), [0, 1])
    with pytest.raises(DataError, match=r"test_batch: b'data' must hold pixel values as integers"):
        read_cifar_batch_uint8(path)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.float64, np.float32])
def test_whole_pixels_of_other_dtypes_read_like_uint8(helpers, tmp_path, dtype):
    path = tmp_path / "data_batch_1"
    write_batch(helpers, path, pixels(dtype), [0, 1, 9])
    X, y = read_cifar_batch_uint8(path)
    reference = pixels(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    assert X.dtype == np.uint8
    np.testing.assert_array_equal(X, reference)
    np.testing.assert_array_equal(y, [0, 1, 9])


@pytest.mark.parametrize("labels", [[0, 10, 1], [0, -1, 1]])
def test_labels_outside_the_ten_classes_are_refused(helpers, tmp_path, labels):
    path = tmp_path / "data_batch_1"
    write_batch(helpers, path, pixels(np.uint8), labels)
    with pytest.raises(DataError, match=rf"{path}: b'labels' must hold 3 integers in \[0, 10\)"):
        read_cifar_batch_uint8(path)


def test_the_loaders_name_the_bad_batch(helpers, cifar_folder):
    root, _ = cifar_folder
    write_batch(helpers, root / "data_batch_3", with_value(np.float64, np.nan, 0, 0), [0, 1, 2])
    for load in (load_CIFAR10, lambda r: get_CIFAR10_data(10, 5, 5, cifar10_dir=r)):
        with pytest.raises(DataError, match=r"data_batch_3: b'data' .* got nan"):
            load(root)


def test_data_info_reports_the_bad_batch_and_exits_non_zero(helpers, cifar_folder, capsys):
    root, _ = cifar_folder
    write_batch(helpers, root / "data_batch_2", with_value(np.int64, 300), [0, 1, 2])
    assert main(["data", "info", "cifar10", "--data-dir", str(root.parent)]) == 2
    err = capsys.readouterr().err
    assert "tinyvision data: error:" in err
    assert "data_batch_2: b'data' must hold whole pixel values in [0, 255], got 300" in err


# ---------------------------------------------------------------------------------------- CSV


def write_csv(tmp_path: Path, text: str, name: str = "table.csv", **kwargs) -> Path:
    path = tmp_path / name
    path.write_text(text, **kwargs)
    return path


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-Infinity"])
@pytest.mark.parametrize("column", ["age", "passed"])
def test_infinite_values_are_refused_naming_file_column_and_line(tmp_path, value, column):
    rows = {"age": ["20", "30", "40"], "passed": ["0", "1", "1"]}
    rows[column][1] = value
    text = "age,passed\n" + "".join(f"{a},{p}\n" for a, p in zip(*rows.values(), strict=True))
    path = write_csv(tmp_path, text)
    with pytest.raises(DataError) as info:
        CSVDataset(path, target_column="passed")
    assert type(info.value) is DataError
    assert str(info.value).startswith(
        f"{path}: column {column!r} holds the value {value!r} in line 3, which is not a finite "
        "number"
    )


def test_infinite_values_in_an_unused_column_do_not_matter(tmp_path):
    path = write_csv(tmp_path, "age,score,passed\n20,inf,0\n30,1,1\n")
    dataset = CSVDataset(path, target_column="passed", feature_columns=["age"])
    assert np.isfinite(dataset.normalization_transform()(dataset[0])["features"]).all()


def test_missing_values_are_still_allowed(tmp_path):
    path = write_csv(tmp_path, "age,passed\n20,0\nnan,1\n,1\n40,0\n")
    dataset = CSVDataset(path, target_column="passed")
    assert np.isnan(dataset.features[1:3, 0]).all()


def test_a_repeated_column_name_is_refused_naming_it(tmp_path):
    path = write_csv(tmp_path, "age,income,age,passed,income\n1,2,3,0,5\n")
    with pytest.raises(DataError) as info:
        CSVDataset(path, target_column="passed")
    assert type(info.value) is DataError
    assert str(info.value) == (
        f"{path}: the header names the column(s) ['age', 'income'] more than once; give every "
        "column its own name"
    )


def test_a_byte_order_mark_does_not_hide_the_first_column(tmp_path):
    path = write_csv(tmp_path, "age,passed\n20,0\n30,1\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    dataset = CSVDataset(path, target_column="passed", feature_columns=["age"])
    assert dataset.feature_columns == ["age"]
    np.testing.assert_array_equal(dataset.features[:, 0], [20, 30])


def test_text_that_is_not_utf8_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("ville,passed\nM\u00fcnchen,0\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        CSVDataset(path, target_column="passed")
    assert type(info.value) is DataError
    assert str(info.value) == (
        f"{path} is not UTF-8 text (byte 0xfc at offset 14); save it as UTF-8 CSV"
    )
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
