"""tinyvision.i2dl.data: the I2DL exercises' data code, run as the exercise notebooks run it.

Every test builds its data itself (PNG folders, a cifar10.pckl, CSV tables, zip archives served
as file:// URLs) and checks the numbers against tinyvision's core classes and against values
computed here independently with NumPy, Python's csv module and scikit-learn.
"""

from __future__ import annotations

import csv
import math
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import tinyvision.data as core
from tinyvision.errors import DataError
from tinyvision.i2dl.data import (
    ComposeTransform,
    CSVDataset,
    DataLoader,
    FeatureSelectorAndNormalizationTransform,
    FlattenTransform,
    ImageFolderDataset,
    MemoryImageFolderDataset,
    NormalizeTransform,
    RandomHorizontalFlip,
    RescaleTransform,
    compute_image_mean_and_std,
    get_housing_data,
    make_housing_table,
)
from tinyvision.i2dl.data.housing import HOUSING_COLUMNS, write_housing_csv
from tinyvision.i2dl.data.image_folder_dataset import CIFAR10_URL

CLASSES = {"cat": 4, "dog": 3, "frog": 3}  # 10 images, so the 60/20/20 split is 6/2/2


def _write_folder(root: Path) -> list[tuple[str, np.ndarray]]:
    """root/<class>/<i>.png of random 4x4 RGB images; returns (class, pixels) in file order."""
    rng = np.random.default_rng(0)
    written = []
    for name, count in CLASSES.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:04d}.png")
            written.append((name, pixels))
    return written


@pytest.fixture
def cifar(tmp_path: Path) -> tuple[Path, list[tuple[str, np.ndarray]]]:
    root = tmp_path / "datasets" / "cifar10"
    return root, _write_folder(root)


def _exercise_permutation(n: int) -> np.ndarray:
    """The exercise's order: it seeds NumPy's global generator with 0 and permutes."""
    state = np.random.get_state()
    np.random.seed(0)
    order = np.random.permutation(n)
    np.random.set_state(state)
    return order


def _zip_uri(path: Path, files: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in files.items():
            zf.writestr(name, payload)
    return path.as_uri()


# --- namespace -----------------------------------------------------------------------------


def test_module_paths_of_the_exercise_resolve_to_the_same_objects() -> None:
    from tinyvision.i2dl.data.base_dataset import Dataset
    from tinyvision.i2dl.data.csv_dataset import CSVDataset as CSVFromModule
    from tinyvision.i2dl.data.dataloader import DataLoader as LoaderFromModule
    from tinyvision.i2dl.data.image_folder_dataset import (
        ImageFolderDataset as FolderFromModule,
    )
    from tinyvision.i2dl.data.image_folder_dataset import RescaleTransform as RescaleFromModule

    assert (CSVFromModule, LoaderFromModule, FolderFromModule, RescaleFromModule) == (
        CSVDataset,
        DataLoader,
        ImageFolderDataset,
        RescaleTransform,
    )
    assert issubclass(ImageFolderDataset, Dataset) and issubclass(Dataset, core.Dataset)
    assert issubclass(DataLoader, core.DataLoader)


def test_importing_the_namespace_imports_nothing_else() -> None:
    code = "import sys, tinyvision.i2dl; print(sorted(m for m in sys.modules if 'tinyvision' in m))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "['tinyvision', 'tinyvision.i2dl']"


# --- ImageFolderDataset --------------------------------------------------------------------


def test_image_folder_dataset_reads_every_image_like_the_core(cifar) -> None:
    root, written = cifar
    dataset = ImageFolderDataset(root=str(root), mode=None)
    reference = core.ImageFolderDataset(root)
    assert dataset.classes == sorted(CLASSES) == reference.classes
    assert dataset.class_to_idx == {"cat": 0, "dog": 1, "frog": 2}
    assert len(dataset) == len(written) == len(reference)
    for i, (name, pixels) in enumerate(written):
        item = dataset[i]
        assert item["label"] == dataset.class_to_idx[name] == reference[i]["label"]
        assert item["image"].dtype == np.float64
        np.testing.assert_array_equal(item["image"], pixels.astype(np.float64))
        np.testing.assert_array_equal(item["image"], reference[i]["image"])
    assert Path(dataset.images[0]).name == "0000.png"
    np.testing.assert_array_equal(dataset[-1]["image"], written[-1][1])
    with pytest.raises(IndexError, match="out of range"):
        dataset[len(written)]


def test_image_folder_dataset_splits_as_the_exercise_does(cifar) -> None:
    root, written = cifar
    before = np.random.get_state()[1].copy()
    parts = {mode: ImageFolderDataset(root, mode=mode) for mode in ("train", "val", "test")}
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # the global RNG untouched
    everything = ImageFolderDataset(root, mode=None)
    order = _exercise_permutation(len(written))
    expected = {"train": order[:6], "val": order[6:8], "test": order[8:]}
    for mode, dataset in parts.items():
        assert dataset.images == [everything.images[i] for i in expected[mode]]
        assert dataset.labels == [everything.labels[i] for i in expected[mode]]
        for j, i in enumerate(expected[mode]):
            np.testing.assert_array_equal(dataset[j]["image"], written[i][1])
    assert sorted(sum((d.images for d in parts.values()), [])) == sorted(everything.images)

    limited = ImageFolderDataset(root, mode="train", limit_files=4)
    assert limited.images == parts["train"].images[:4]
    custom = ImageFolderDataset(root, mode="val", split={"train": 0.5, "val": 0.3, "test": 0.2})
    assert custom.images == [everything.images[i] for i in order[5:8]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "training"}, "mode must be one of"),
        ({"split": {"train": 0.7, "val": 0.2, "test": 0.2}}, "add up to 1"),
        ({"split": {"train": 0.8}}, "needs the fractions 'train' and 'val'"),
        ({"limit_files": 0}, "limit_files must be"),
    ],
)
def test_image_folder_dataset_rejects_bad_arguments(cifar, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ImageFolderDataset(cifar[0], **kwargs)


def test_a_missing_folder_says_how_to_get_it_and_downloads_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist") as error:
        ImageFolderDataset(tmp_path / "nowhere")
    assert CIFAR10_URL in str(error.value) and "download_url" in str(error.value)
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="is empty"):
        ImageFolderDataset(tmp_path / "empty")


def test_download_url_fetches_and_unpacks_a_missing_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    written = _write_folder(source)
    files = {str(p.relative_to(source)): p.read_bytes() for p in source.rglob("*.png")}
    url = _zip_uri(tmp_path / "cifar10.zip", files)
    root = tmp_path / "datasets" / "cifar10"

    dataset = ImageFolderDataset(root, download_url=url, mode=None)

    assert len(dataset) == len(written)
    np.testing.assert_array_equal(dataset[3]["image"], written[3][1])
    assert not (root / "cifar10.zip").exists()  # unpacked, then removed as the course does
    # A folder with data is not downloaded again: this URL would fail if it were fetched.
    missing = (tmp_path / "gone.zip").as_uri()
    assert len(ImageFolderDataset(root, download_url=missing, mode=None)) == len(written)
    with pytest.raises(ConnectionError):
        ImageFolderDataset(root, download_url=missing, force_download=True)


def test_an_unsafe_archive_is_refused_and_leaves_no_data(tmp_path: Path) -> None:
    url = _zip_uri(tmp_path / "evil.zip", {"cat/0.png": b"x", "../outside.txt": b"x"})
    root = tmp_path / "data"
    with pytest.raises(DataError, match="escapes the target folder"):
        ImageFolderDataset(root, download_url=url)
    assert not (tmp_path / "outside.txt").exists()
    assert [p.name for p in root.iterdir() if not p.name.startswith(".")] == []


# --- MemoryImageFolderDataset --------------------------------------------------------------


def _write_pickle(folder: Path, images: np.ndarray, labels: list, protocol: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    saved = {
        "images": images,
        "labels": labels,
        "classes": sorted(CLASSES),
        "class_to_idx": {name: i for i, name in enumerate(sorted(CLASSES))},
    }
    (folder / "cifar10.pckl").write_bytes(pickle.dumps(saved, protocol=protocol))


@pytest.mark.parametrize(
    ("protocol", "label_type"), [(2, int), (4, np.int64), (5, np.int64)], ids=str
)
def test_memory_dataset_reads_the_course_pickle(tmp_path: Path, protocol, label_type) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    labels = [label_type(v) for v in rng.integers(0, 3, size=10)]
    _write_pickle(tmp_path / "cifar10memory", images, labels, protocol)

    dataset = MemoryImageFolderDataset(root=str(tmp_path / "cifar10"), mode="train")

    assert dataset.root_path == str(tmp_path / "cifar10memory")
    assert dataset.classes == sorted(CLASSES)
    order = _exercise_permutation(10)[:6]
    assert len(dataset) == 6
    for j, i in enumerate(order):
        item = dataset[j]
        np.testing.assert_array_equal(item["image"], images[i].astype(np.float64))
        assert item["label"] == int(labels[i])
    everything = MemoryImageFolderDataset(tmp_path / "cifar10memory", mode=None)
    assert len(everything) == 10 and everything.labels == [int(v) for v in labels]


def test_memory_dataset_refuses_pickles_that_run_code_or_lack_keys(tmp_path: Path) -> None:
    folder = tmp_path / "cifar10memory"
    folder.mkdir()
    (folder / "cifar10.pckl").write_bytes(pickle.dumps({"images": os.getcwd}))
    with pytest.raises(DataError, match=r"refused to unpickle the global posix\.getcwd"):
        MemoryImageFolderDataset(folder)
    (folder / "cifar10.pckl").write_bytes(pickle.dumps({"images": np.zeros((2, 4, 4, 3))}))
    with pytest.raises(DataError, match="must hold a dict with the keys"):
        MemoryImageFolderDataset(folder)
    _write_pickle(folder, np.zeros((2, 4, 4, 3), np.uint8), [0, 7], protocol=4)
    with pytest.raises(DataError, match=r"labels must lie in \[0, 3\)"):
        MemoryImageFolderDataset(folder)
    (folder / "cifar10.pckl").unlink()
    (folder / "notes.txt").write_text("not the pickle")
    with pytest.raises(FileNotFoundError, match="cifar10memory.zip"):
        MemoryImageFolderDataset(folder)


# --- transforms ----------------------------------------------------------------------------


def test_transforms_follow_the_notebook_pipeline(cifar) -> None:
    root, written = cifar
    images = np.stack([pixels for _, pixels in written]).astype(np.float64)  # (10, 4, 4, 3)

    # Both spellings of the exercise, by keyword and by position, rescale the same way.
    rescale = RescaleTransform(out_range=(-1, 1), in_range=(0, 255))
    for other in (
        RescaleTransform(range_=(-1, 1), old_range=(0, 255)),
        RescaleTransform((-1, 1), (0, 255)),
    ):
        np.testing.assert_array_equal(other(images), rescale(images))
    np.testing.assert_allclose(rescale(images), images / 255.0 * 2.0 - 1.0, rtol=1e-12)
    np.testing.assert_allclose(RescaleTransform()(images), images / 255.0, rtol=1e-12)
    assert (rescale._data_min, rescale._data_max, rescale.min, rescale.max) == (0, 255, -1, 1)

    rescaled = rescale(images)
    mean, std = compute_image_mean_and_std(rescaled)
    scaler = StandardScaler().fit(rescaled.reshape(-1, 3))
    np.testing.assert_allclose(mean, scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(std, np.sqrt(scaler.var_), rtol=1e-12)

    pipeline = ComposeTransform([rescale, NormalizeTransform(mean, std), FlattenTransform()])
    dataset = ImageFolderDataset(root, mode=None, transform=pipeline)
    expected = scaler.transform(rescaled.reshape(-1, 3)).reshape(10, -1)
    for i in range(len(dataset)):
        assert dataset[i]["image"].shape == (48,)
        np.testing.assert_allclose(dataset[i]["image"], expected[i], rtol=1e-10, atol=1e-12)


def test_rescale_refuses_a_range_given_under_both_names() -> None:
    with pytest.raises(ValueError, match="out_range and range_ are two names"):
        RescaleTransform(out_range=(0, 1), range_=(0, 1))
    with pytest.raises(ValueError, match="in_range must have two different ends"):
        RescaleTransform(old_range=(3, 3))


def test_compute_image_mean_and_std_accepts_integer_images_and_checks_the_shape() -> None:
    images = np.arange(2 * 3 * 2 * 3, dtype=np.uint8).reshape(2, 3, 2, 3)
    mean, std = compute_image_mean_and_std(images)
    for c in range(3):
        channel = [float(v) for v in images[..., c].ravel()]
        average = sum(channel) / len(channel)
        assert mean[c] == pytest.approx(average)
        assert std[c] == pytest.approx(math.sqrt(sum((v - average) ** 2 for v in channel) / 12))
    with pytest.raises(ValueError, match="images must have 4 dimensions"):
        compute_image_mean_and_std(images[0])


def test_random_horizontal_flip_uses_prob_and_the_global_seed() -> None:
    image = np.arange(2 * 3 * 3, dtype=np.float64).reshape(2, 3, 3)
    np.testing.assert_array_equal(RandomHorizontalFlip(prob=1.0)(image), image[:, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(prob=0.0)(image), image)
    assert RandomHorizontalFlip(0.25).prob == 0.25

    def flips() -> list[bool]:
        flip = RandomHorizontalFlip()
        return [not np.array_equal(flip(image), image) for _ in range(40)]

    np.random.seed(5)
    first = flips()
    np.random.seed(5)
    assert flips() == first
    assert 5 < sum(first) < 35
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(prob=1.5)


# --- DataLoader ----------------------------------------------------------------------------


def test_dataloader_batches_and_length_with_and_without_drop_last(cifar) -> None:
    root, written = cifar
    dataset = ImageFolderDataset(root, mode=None, transform=RescaleTransform())
    images = np.stack([pixels for _, pixels in written]) / 255.0
    labels = np.array([dataset.class_to_idx[name] for name, _ in written])
    for batch_size in range(1, 12):
        for drop_last in (False, True):
            loader = DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)
            batches = list(loader)
            assert len(loader) == len(batches)
            full, rest = divmod(len(written), batch_size)
            assert len(batches) == full + (rest > 0 and not drop_last)
            if batches:
                seen = np.concatenate([b["image"] for b in batches])
                np.testing.assert_allclose(seen, images[: len(seen)], rtol=1e-12)
                np.testing.assert_array_equal(
                    np.concatenate([b["label"] for b in batches]), labels[: len(seen)]
                )
    first = next(iter(DataLoader(dataset, batch_size=3)))
    assert first["image"].shape == (3, 4, 4, 3) and first["label"].shape == (3,)


def test_dataloader_shuffles_with_the_global_seed_or_its_own(cifar) -> None:
    dataset = ImageFolderDataset(cifar[0], mode=None)

    def labels_in_order(loader: DataLoader) -> list[int]:
        return [int(v) for batch in loader for v in batch["label"]]

    np.random.seed(3)
    first = labels_in_order(DataLoader(dataset, batch_size=4, shuffle=True))
    np.random.seed(3)
    assert labels_in_order(DataLoader(dataset, batch_size=4, shuffle=True)) == first
    assert sorted(first) == sorted(dataset.labels)
    seeded = DataLoader(dataset, batch_size=4, shuffle=True, seed=11)
    reference = core.DataLoader(dataset, batch_size=4, shuffle=True, seed=11)
    assert labels_in_order(seeded) == labels_in_order(reference)


# --- CSVDataset ----------------------------------------------------------------------------


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    """The table as {column: float64 values}, NA as NaN, read with the csv module."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        name: np.array([math.nan if r[name] == "NA" else float(r[name]) for r in rows])
        for name in rows[0]
    }


def test_csv_dataset_splits_and_computes_column_stats(tmp_path: Path) -> None:
    path = write_housing_csv(tmp_path / "housing" / "housing_train.csv", num_rows=50, seed=1)
    table = _read_csv(path)
    order = _exercise_permutation(50)  # pandas' df.sample(frac=1, random_state=0) order
    cuts = {"train": order[:30], "val": order[30:40], "test": order[40:]}
    for mode, rows in cuts.items():
        dataset = CSVDataset(target_column="SalePrice", root=tmp_path / "housing", mode=mode)
        assert len(dataset) == len(rows)
        assert dataset.feature_columns == [c for c in HOUSING_COLUMNS if c != "SalePrice"]
        for j, i in enumerate(rows[:5]):
            item = dataset[j]
            assert item["target"] == table["SalePrice"][i]
            for name, value in item["features"].items():
                assert value == table[name][i] or (math.isnan(value) and math.isnan(table[name][i]))
        for name in ("GrLivArea", "LotFrontage", "SalePrice"):
            values = table[name][rows]
            assert dataset.column_stats[name] == pytest.approx(
                {"min": np.nanmin(values), "max": np.nanmax(values), "mean": np.nanmean(values)}
            )


def test_feature_selector_scales_like_min_max_scaler_and_loads_in_batches(tmp_path: Path) -> None:
    path = write_housing_csv(tmp_path / "housing_train.csv", num_rows=60, seed=2)
    table = _read_csv(path)
    train = CSVDataset("SalePrice", mode="train", input_data=path)
    selected = ("GrLivArea", "LotFrontage", "SalePrice")
    transform = FeatureSelectorAndNormalizationTransform(
        {name: train.column_stats[name] for name in selected}, "SalePrice"
    )
    rows = _exercise_permutation(60)[36:48]
    val = CSVDataset("SalePrice", transform=transform, mode="val", input_data=path)

    train_rows = _exercise_permutation(60)[:36]
    columns = np.column_stack([table[name] for name in selected])
    scaler = MinMaxScaler().fit(columns[train_rows])  # ignores NaN, like the exercise's stats
    filled = np.where(np.isnan(columns), np.nanmean(columns[train_rows], axis=0), columns)
    expected = scaler.transform(filled[rows])
    assert np.isnan(columns[rows, 1]).any()  # the mean-filling is exercised
    for j in range(len(val)):
        item = val[j]
        assert item["features"].dtype == np.float32 and item["features"].shape == (2,)
        np.testing.assert_allclose(item["features"], expected[j, :2], rtol=1e-6)
        assert item["target"].shape == (1,)
        np.testing.assert_allclose(item["target"], expected[j, 2:], rtol=1e-12)

    batches = list(DataLoader(val, batch_size=5))
    assert [b["features"].shape for b in batches] == [(5, 2), (5, 2), (2, 2)]
    assert [b["target"].shape for b in batches] == [(5, 1), (5, 1), (2, 1)]
    np.testing.assert_allclose(np.concatenate([b["target"] for b in batches]), expected[:, 2:])


def test_csv_dataset_finds_the_file_named_by_the_download(tmp_path: Path) -> None:
    source = write_housing_csv(tmp_path / "source.csv", num_rows=20)
    url = _zip_uri(tmp_path / "housing_train.zip", {"housing_train.csv": source.read_bytes()})
    root = tmp_path / "datasets" / "housing"
    dataset = CSVDataset("SalePrice", root=root, download_url=url, mode="test")
    assert dataset.path == root / "housing_train.csv" and len(dataset) == 4
    (root / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(FileNotFoundError, match="exactly one .csv file"):
        CSVDataset("SalePrice", root=root)


def test_csv_dataset_and_transform_reject_bad_input(tmp_path: Path) -> None:
    path = write_housing_csv(tmp_path / "h.csv", num_rows=20)
    with pytest.raises(ValueError, match="mode must be one of"):
        CSVDataset("SalePrice", mode="all", input_data=path)
    with pytest.raises(ValueError, match="needs input_data"):
        CSVDataset("SalePrice")
    with pytest.raises(DataError, match="no column 'Price'"):
        CSVDataset("Price", input_data=path)
    with pytest.raises(ValueError, match="force_download=True needs a download_url"):
        CSVDataset("SalePrice", root=tmp_path, force_download=True)
    stats = {"GrLivArea": {"min": 1.0, "max": 2.0, "mean": 1.5}}
    with pytest.raises(ValueError, match="must include the target column 'SalePrice'"):
        FeatureSelectorAndNormalizationTransform(stats, "SalePrice")
    stats["SalePrice"] = {"min": 3.0, "max": 3.0, "mean": 3.0}
    with pytest.raises(ValueError, match="cannot be scaled"):
        FeatureSelectorAndNormalizationTransform(stats, "SalePrice")


# --- the offline housing table -------------------------------------------------------------


def test_make_housing_table_is_seeded_and_house_like() -> None:
    table = make_housing_table(seed=0)
    assert tuple(table) == HOUSING_COLUMNS and len(table["SalePrice"]) == 1460
    again = make_housing_table(seed=0)
    assert all(np.array_equal(table[c], again[c], equal_nan=True) for c in HOUSING_COLUMNS)
    assert not np.array_equal(make_housing_table(seed=1)["SalePrice"], table["SalePrice"])
    assert 0.1 < np.isnan(table["LotFrontage"]).mean() < 0.3
    assert np.corrcoef(table["GrLivArea"], table["SalePrice"])[0, 1] > 0.5
    assert np.corrcoef(table["OverallQual"], table["SalePrice"])[0, 1] > 0.5
    assert 100_000 < np.median(table["SalePrice"]) < 250_000


def test_get_housing_data_labels_cheap_and_expensive_houses(tmp_path: Path) -> None:
    X_train, y_train, X_val, y_val, X_test, y_test, train = get_housing_data(tmp_path)
    table = _read_csv(tmp_path / "housing_train.csv")
    prices, area = table["SalePrice"], table["GrLivArea"]
    low, high = np.percentile(prices, 30), np.percentile(prices, 70)
    order = _exercise_permutation(len(prices))
    train_rows = order[: int(0.6 * len(prices))]
    for rows, X, y in (
        (train_rows, X_train, y_train),
        (order[int(0.6 * len(prices)) : int(0.8 * len(prices))], X_val, y_val),
        (order[int(0.8 * len(prices)) :], X_test, y_test),
    ):
        kept = rows[(prices[rows] <= low) | (prices[rows] >= high)]
        assert X.shape == (len(kept), 1) and y.shape == (len(kept), 1)
        np.testing.assert_array_equal(y[:, 0], (prices[kept] >= high).astype(float))
        span = area[train_rows].max() - area[train_rows].min()
        np.testing.assert_allclose(X[:, 0], (area[kept] - area[train_rows].min()) / span, 1e-6)
    assert len(train) == len(train_rows)


def test_get_housing_data_uses_a_table_already_in_the_folder(tmp_path: Path) -> None:
    write_housing_csv(tmp_path / "housing_train.csv", num_rows=40, seed=7)
    X_train, y_train, *_, train = get_housing_data(tmp_path, selected_columns=("OverallQual",))
    assert len(train) == 24 and X_train.shape[1] == 1
    with pytest.raises(ValueError, match="not numeric feature columns"):
        get_housing_data(tmp_path, selected_columns=("Kitchen",))


def test_i2dl_flip_on_channels_first_arrays_flips_the_width() -> None:
    # get_CIFAR10_data returns (C, H, W): the flip must mirror W, not H.
    image = np.arange(3 * 5 * 6, dtype=np.float64).reshape(3, 5, 6)
    np.testing.assert_array_equal(RandomHorizontalFlip(prob=1.0)(image), image[:, :, ::-1])
    with pytest.raises(ValueError, match="cannot tell the channel axis"):
        RandomHorizontalFlip(prob=1.0)(np.zeros((3, 4, 3)))
    stack = np.random.default_rng(0).standard_normal((4, 3, 5, 6))
    mean, std = compute_image_mean_and_std(stack, channel_axis=0)
    np.testing.assert_allclose(mean, stack.transpose(0, 2, 3, 1).reshape(-1, 3).mean(0))
    np.testing.assert_allclose(std, stack.transpose(0, 2, 3, 1).reshape(-1, 3).std(0))
