"""Data sets and the input pipeline.

CIFAR-10 (safe download and loading with the CS231n API), the scikit-learn digits and the
CS231n spiral toy data, and the I2DL pipeline (datasets, transforms, DataLoader).
"""

from tinyvision.data.cifar10 import (
    CLASS_NAMES,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
)
from tinyvision.data.csv_dataset import CSVDataset, FeatureNormalizationTransform
from tinyvision.data.datasets import (
    ArrayDataset,
    Dataset,
    ImageFolderDataset,
    MemoryImageFolderDataset,
)
from tinyvision.data.digits import load_digits_data
from tinyvision.data.download import CIFAR10_MD5, CIFAR10_URL, download_cifar10, fetch_url
from tinyvision.data.loader import DataLoader
from tinyvision.data.paths import cifar10_root, default_data_dir
from tinyvision.data.spiral import load_spiral_data, make_spiral
from tinyvision.data.transforms import (
    ComposeTransform,
    FlattenTransform,
    NormalizeTransform,
    RandomCrop,
    RandomHorizontalFlip,
    RescaleTransform,
    random_crop_batch,
    random_flip_batch,
)

__all__ = [
    "CIFAR10_MD5",
    "CIFAR10_URL",
    "CLASS_NAMES",
    "ArrayDataset",
    "CSVDataset",
    "ComposeTransform",
    "DataLoader",
    "Dataset",
    "FeatureNormalizationTransform",
    "FlattenTransform",
    "ImageFolderDataset",
    "MemoryImageFolderDataset",
    "NormalizeTransform",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RescaleTransform",
    "cifar10_root",
    "default_data_dir",
    "download_cifar10",
    "fetch_url",
    "get_CIFAR10_data",
    "load_spiral_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
    "load_digits_data",
    "make_spiral",
    "random_crop_batch",
    "random_flip_batch",
]
