"""The course's COCO captioning data: loading, minibatch sampling and caption decoding.

The files are those of CS231n assignment 3 (`get_coco_dataset.sh`), all in one directory:

- coco2014_captions.h5: train_captions / val_captions (M, T) word ids, and
  train_image_idxs / val_image_idxs (M,) row of each caption's image in the feature file
- train2014_vgg16_fc7.h5, val2014_vgg16_fc7.h5: dataset "features" (num_images, 4096)
- train2014_vgg16_fc7_pca.h5, val2014_vgg16_fc7_pca.h5: dataset "features" (num_images, 512)
- coco2014_vocab.json: {"idx_to_word": [...], "word_to_idx": {...}}
- train2014_urls.txt, val2014_urls.txt: one image URL per line, in feature-row order

Reading HDF5 needs h5py, an optional dependency: `pip install tinyvision[coco]`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.errors import DataError
from tinyvision.validation import check_positive_int

__all__ = ["decode_captions", "default_coco_dir", "load_coco_data", "sample_coco_minibatch"]

_SPLITS = ("train", "val")


def default_coco_dir() -> Path:
    """Where load_coco_data looks when base_dir is None.

    $TINYVISION_COCO_DIR if set, else ~/.cache/tinyvision/coco_captioning.
    """
    env = os.environ.get("TINYVISION_COCO_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "tinyvision" / "coco_captioning"


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"COCO captioning file not found: {path}. Download the course's coco_captioning "
            "files into that directory, or pass base_dir= pointing at them"
        )
    return path


def _read_h5(h5py: Any, path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Read the named datasets of an HDF5 file into memory, or raise DataError."""
    _require(path)
    try:
        with h5py.File(path, "r") as f:
            missing = [name for name in names if name not in f]
            if missing:
                raise DataError(
                    f"{path} lacks the dataset(s) {missing} (it has {sorted(f.keys())}); "
                    "re-download the course's COCO files"
                )
            return {name: np.asarray(f[name]) for name in names}
    except OSError as err:
        raise DataError(f"{path} is not a readable HDF5 file ({err}); re-download it") from err


def _read_lines(path: Path) -> np.ndarray:
    with open(_require(path), encoding="utf-8") as f:
        return np.asarray([line.strip() for line in f])


def _read_vocab(path: Path) -> dict[str, Any]:
    try:
        with open(_require(path), encoding="utf-8") as f:
            vocab = json.load(f)
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON ({err}); re-download it") from err
    if not isinstance(vocab, dict) or not {"idx_to_word", "word_to_idx"} <= vocab.keys():
        raise DataError(f"{path} must be a JSON object with 'idx_to_word' and 'word_to_idx'")
    return vocab


def _check_split(data: Mapping[str, Any], split: str) -> None:
    captions = data[f"{split}_captions"]
    image_idxs = data[f"{split}_image_idxs"]
    num_images = len(data[f"{split}_features"])
    if captions.ndim != 2 or not np.issubdtype(captions.dtype, np.integer):
        raise DataError(
            f"{split}_captions must be a 2-d integer array, got {captions.dtype} {captions.shape}"
        )
    if image_idxs.shape != captions.shape[:1]:
        raise DataError(
            f"{split}_image_idxs has shape {image_idxs.shape} but there are "
            f"{len(captions)} {split} captions; they must match"
        )
    if image_idxs.size and (image_idxs.min() < 0 or image_idxs.max() >= num_images):
        raise DataError(
            f"{split}_image_idxs points outside the {num_images} rows of the {split} features"
        )
    if len(data[f"{split}_urls"]) != num_images:
        raise DataError(
            f"{split}2014_urls.txt has {len(data[f'{split}_urls'])} lines but there are "
            f"{num_images} {split} feature rows; they must match"
        )


def load_coco_data(
    base_dir: str | os.PathLike[str] | None = None,
    max_train: int | None = None,
    pca_features: bool = True,
    seed: int | None = None,
) -> dict[str, Any]:
    """Load the course's COCO captioning data.

    base_dir: directory holding the files listed in the module docstring; None means
        default_coco_dir()
    max_train: keep only this many training captions, drawn at random without replacement
        (all of them when max_train >= their number); None keeps all
    pca_features: read the 512-d PCA features instead of the 4096-d fc7 features
    seed: seed of the max_train subsample
    returns a dict with train_captions, train_image_idxs, val_captions, val_image_idxs (int
        arrays as stored), train_features, val_features (float arrays), idx_to_word (list),
        word_to_idx (dict), train_urls, val_urls (string arrays)
    raises ImportError without h5py, FileNotFoundError for a missing file, DataError for a
        corrupt or inconsistent one
    """
    try:
        import h5py
    except ImportError as err:
        raise ImportError(
            "load_coco_data reads HDF5 files and needs h5py: pip install tinyvision[coco]"
        ) from err
    check_positive_int(max_train, "max_train", allow_none=True, allow_float=True)
    base = Path(default_coco_dir() if base_dir is None else base_dir)
    suffix = "_pca" if pca_features else ""

    data: dict[str, Any] = _read_h5(
        h5py,
        base / "coco2014_captions.h5",
        [f"{split}_{key}" for split in _SPLITS for key in ("captions", "image_idxs")],
    )
    for split in _SPLITS:
        path = base / f"{split}2014_vgg16_fc7{suffix}.h5"
        data[f"{split}_features"] = _read_h5(h5py, path, ["features"])["features"]
    vocab = _read_vocab(base / "coco2014_vocab.json")
    data["idx_to_word"] = vocab["idx_to_word"]
    data["word_to_idx"] = vocab["word_to_idx"]
    for split in _SPLITS:
        data[f"{split}_urls"] = _read_lines(base / f"{split}2014_urls.txt")
        _check_split(data, split)

    if max_train is not None and max_train < len(data["train_captions"]):
        rng = np.random.default_rng(seed)
        keep = rng.choice(len(data["train_captions"]), size=int(max_train), replace=False)
        data["train_captions"] = data["train_captions"][keep]
        data["train_image_idxs"] = data["train_image_idxs"][keep]
    return data


def decode_captions(
    captions: np.ndarray, idx_to_word: Sequence[str] | Mapping[int, str]
) -> str | list[str]:
    """Turn word ids back into text, as the course does.

    <NULL> is skipped and decoding stops after <END>; <START> and <END> themselves are kept
    (the course notebooks show "<START> a cat ... <END>").

    captions: (N, T) or (T,) integer word ids
    idx_to_word: maps each id to its word (a list or a dict)
    returns a list of N strings, or a single string for 1-d captions
    """
    captions = np.asarray(captions)
    singleton = captions.ndim == 1
    decoded = []
    for row in np.atleast_2d(captions):
        words = []
        for idx in row:
            word = idx_to_word[int(idx)]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded


def sample_coco_minibatch(
    data: Mapping[str, Any], batch_size: int = 100, split: str = "train", seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a random minibatch of captions (with replacement, as the course does).

    data: the dict returned by load_coco_data
    batch_size: number of captions
    split: "train" or "val"
    seed: seed of the draw; None draws fresh entropy
    returns captions (batch_size, T) word ids, image_features (batch_size, D) of each
        caption's image, and urls (batch_size,) of those images
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    check_positive_int(batch_size, "batch_size", allow_float=True)
    missing = [
        f"{split}_{key}"
        for key in ("captions", "image_idxs", "features", "urls")
        if f"{split}_{key}" not in data
    ]
    if missing:
        raise ValueError(f"data lacks {missing}; pass the dict returned by load_coco_data")
    split_size = len(data[f"{split}_captions"])
    if split_size == 0:
        raise ValueError(f"data holds no {split} captions to sample from")
    rng = np.random.default_rng(seed)
    mask = rng.choice(split_size, int(batch_size))
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    return captions, data[f"{split}_features"][image_idxs], data[f"{split}_urls"][image_idxs]
