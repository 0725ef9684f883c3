"""coco_utils: loading tiny files in the course's exact format, sampling, decoding, bad files."""

import builtins
import json

import numpy as np
import pytest

from tinyvision.coco_utils import (
    decode_captions,
    default_coco_dir,
    load_coco_data,
    sample_coco_minibatch,
)
from tinyvision.errors import DataError

h5py = pytest.importorskip("h5py", reason="COCO files need: pip install -e '.[coco]'")

IDX_TO_WORD = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "sits"]
WORD_TO_IDX = {w: i for i, w in enumerate(IDX_TO_WORD)}


def _write_dataset(base, rng, num_train=12, num_val=6, train_images=4, val_images=3):
    """Write the course's seven files (both feature flavours) with tiny random contents."""
    arrays = {
        "train_captions": rng.integers(0, len(IDX_TO_WORD), (num_train, 5)).astype(np.int32),
        "train_image_idxs": rng.integers(0, train_images, num_train).astype(np.int32),
        "val_captions": rng.integers(0, len(IDX_TO_WORD), (num_val, 5)).astype(np.int32),
        "val_image_idxs": rng.integers(0, val_images, num_val).astype(np.int32),
    }
    with h5py.File(base / "coco2014_captions.h5", "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)
    for split, count in (("train", train_images), ("val", val_images)):
        for suffix, dim in (("", 8), ("_pca", 3)):
            features = rng.standard_normal((count, dim)).astype(np.float32)
            arrays[f"{split}_features{suffix}"] = features
            with h5py.File(base / f"{split}2014_vgg16_fc7{suffix}.h5", "w") as f:
                f.create_dataset("features", data=features)
        urls = [f"http://images.example/{split}/{k}.jpg" for k in range(count)]
        arrays[f"{split}_urls"] = urls
        (base / f"{split}2014_urls.txt").write_text("\n".join(urls) + "\n")
    vocab = {"idx_to_word": IDX_TO_WORD, "word_to_idx": WORD_TO_IDX}
    (base / "coco2014_vocab.json").write_text(json.dumps(vocab))
    return arrays


@pytest.fixture
def coco_dir(tmp_path):
    arrays = _write_dataset(tmp_path, np.random.default_rng(0))
    return tmp_path, arrays


def test_load_reads_every_course_key(coco_dir):
    base, arrays = coco_dir
    data = load_coco_data(base)
    assert set(data) == {
        "train_captions",
        "train_image_idxs",
        "val_captions",
        "val_image_idxs",
        "train_features",
        "val_features",
        "idx_to_word",
        "word_to_idx",
        "train_urls",
        "val_urls",
    }
    for key in ("train_captions", "train_image_idxs", "val_captions", "val_image_idxs"):
        np.testing.assert_array_equal(data[key], arrays[key])
    np.testing.assert_array_equal(data["train_features"], arrays["train_features_pca"])
    np.testing.assert_array_equal(data["val_features"], arrays["val_features_pca"])
    assert data["idx_to_word"] == IDX_TO_WORD and data["word_to_idx"] == WORD_TO_IDX
    assert list(data["train_urls"]) == arrays["train_urls"]
    assert list(data["val_urls"]) == arrays["val_urls"]


def test_load_full_features_and_default_dir(coco_dir, monkeypatch):
    base, arrays = coco_dir
    monkeypatch.setenv("TINYVISION_COCO_DIR", str(base))
    assert default_coco_dir() == base
    data = load_coco_data(pca_features=False)
    np.testing.assert_array_equal(data["train_features"], arrays["train_features"])
    assert data["val_features"].shape == (3, 8)


def test_max_train_subsamples_distinct_captions_reproducibly(coco_dir):
    base, arrays = coco_dir
    data = load_coco_data(base, max_train=5, seed=3)
    assert data["train_captions"].shape == (5, 5)
    pairs = {
        (tuple(c), int(i))
        for c, i in zip(arrays["train_captions"], arrays["train_image_idxs"], strict=True)
    }
    kept = list(
        zip(map(tuple, data["train_captions"]), data["train_image_idxs"].tolist(), strict=True)
    )
    assert all(pair in pairs for pair in kept)
    again = load_coco_data(base, max_train=5, seed=3)
    np.testing.assert_array_equal(again["train_captions"], data["train_captions"])
    assert len(load_coco_data(base, max_train=100)["train_captions"]) == 12
    np.testing.assert_array_equal(data["val_captions"], arrays["val_captions"])


@pytest.mark.parametrize(
    "name",
    [
        "coco2014_captions.h5",
        "val2014_vgg16_fc7_pca.h5",
        "coco2014_vocab.json",
        "train2014_urls.txt",
    ],
)
def test_missing_file_is_named(coco_dir, name):
    base, _ = coco_dir
    (base / name).unlink()
    with pytest.raises(FileNotFoundError, match=name):
        load_coco_data(base)


def test_corrupt_and_inconsistent_files(coco_dir):
    base, _ = coco_dir
    (base / "coco2014_vocab.json").write_text("{not json")
    with pytest.raises(DataError, match="coco2014_vocab.json is not valid JSON"):
        load_coco_data(base)
    (base / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": IDX_TO_WORD}))
    with pytest.raises(DataError, match="'idx_to_word' and 'word_to_idx'"):
        load_coco_data(base)

    (base / "train2014_vgg16_fc7_pca.h5").write_bytes(b"this is not an HDF5 file")
    with pytest.raises(DataError, match="train2014_vgg16_fc7_pca.h5 is not a readable HDF5"):
        load_coco_data(base)
    with h5py.File(base / "train2014_vgg16_fc7_pca.h5", "w") as f:
        f.create_dataset("feats", data=np.zeros((4, 3)))
    with pytest.raises(DataError, match=r"lacks the dataset\(s\) \['features'\]"):
        load_coco_data(base)


def test_image_index_out_of_range_and_url_count(tmp_path):
    _write_dataset(tmp_path, np.random.default_rng(1))
    with h5py.File(tmp_path / "coco2014_captions.h5", "a") as f:
        f["val_image_idxs"][0] = 3
    with pytest.raises(DataError, match="val_image_idxs points outside the 3 rows"):
        load_coco_data(tmp_path)
    _write_dataset(tmp_path, np.random.default_rng(1))
    (tmp_path / "train2014_urls.txt").write_text("only-one-url\n")
    with pytest.raises(DataError, match="train2014_urls.txt has 1 lines but there are 4"):
        load_coco_data(tmp_path)


def test_missing_h5py_names_the_extra(coco_dir, monkeypatch):
    base, _ = coco_dir
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"pip install tinyvision\[coco\]"):
        load_coco_data(base)


def test_bad_max_train(coco_dir):
    with pytest.raises(ValueError, match="max_train must be a positive integer"):
        load_coco_data(coco_dir[0], max_train=0)


def test_sample_minibatch_pairs_captions_with_their_images(coco_dir):
    base, _ = coco_dir
    data = load_coco_data(base)
    for split in ("train", "val"):
        captions, features, urls = sample_coco_minibatch(data, batch_size=20, split=split, seed=4)
        assert captions.shape == (20, 5) and features.shape == (20, 3) and urls.shape == (20,)
        for caption, feature, url in zip(captions, features, urls, strict=True):
            rows = np.flatnonzero((data[f"{split}_captions"] == caption).all(axis=1))
            images = data[f"{split}_image_idxs"][rows]
            assert any(np.array_equal(data[f"{split}_features"][i], feature) for i in images)
            assert url in data[f"{split}_urls"][images]
    first = sample_coco_minibatch(data, batch_size=7, seed=9)
    second = sample_coco_minibatch(data, batch_size=7, seed=9)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sample_minibatch_bad_arguments(coco_dir):
    data = load_coco_data(coco_dir[0])
    with pytest.raises(ValueError, match="split must be 'train' or 'val', got 'test'"):
        sample_coco_minibatch(data, split="test")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        sample_coco_minibatch(data, batch_size=0)
    with pytest.raises(ValueError, match=r"data lacks \['val_urls'\]"):
        sample_coco_minibatch({k: v for k, v in data.items() if k != "val_urls"}, split="val")


def test_decode_captions_follows_the_course():
    captions = np.array(
        [
            [1, 4, 5, 7, 2, 0, 0],
            [1, 4, 0, 6, 2, 5, 5],
            [4, 5, 6, 6, 6, 6, 6],
        ]
    )
    assert decode_captions(captions, IDX_TO_WORD) == [
        "<START> a cat sits <END>",
        "<START> a dog <END>",
        "a cat dog dog dog dog dog",
    ]
    assert decode_captions(captions[1], IDX_TO_WORD) == "<START> a dog <END>"
    as_dict = dict(enumerate(IDX_TO_WORD))
    assert decode_captions(captions[:1], as_dict) == ["<START> a cat sits <END>"]
