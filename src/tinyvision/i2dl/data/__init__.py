"""`exercise_code.data` of the I2DL exercises: datasets, transforms, DataLoader.

`from tinyvision.i2dl.data import ImageFolderDataset` works as the exercise's
`from exercise_code.data import ImageFolderDataset` does, and so do the module paths
(`tinyvision.i2dl.data.image_folder_dataset`, `.base_dataset`, `.dataloader`, `.csv_dataset`,
`.transforms`, `.download_utils`). Every class is a thin adapter over `tinyvision.data`.
`housing` adds the offline, generated house-price table behind `get_housing_data`.
"""

from tinyvision.i2dl.data.base_dataset import Dataset
from tinyvision.i2dl.data.csv_dataset import CSVDataset, FeatureSelectorAndNormalizationTransform
from tinyvision.i2dl.data.dataloader import DataLoader
from tinyvision.i2dl.data.download_utils import download_dataset
from tinyvision.i2dl.data.housing import binarize, get_housing_data, make_housing_table
from tinyvision.i2dl.data.image_folder_dataset import (
    ImageFolderDataset,
    MemoryImageFolderDataset,
)
from tinyvision.i2dl.data.transforms import (
    ComposeTransform,
    FlattenTransform,
    NormalizeTransform,
    RandomHorizontalFlip,
    RescaleTransform,
    compute_image_mean_and_std,
)

__all__ = [
    "CSVDataset",
    "ComposeTransform",
    "DataLoader",
    "Dataset",
    "FeatureSelectorAndNormalizationTransform",
    "FlattenTransform",
    "ImageFolderDataset",
    "MemoryImageFolderDataset",
    "NormalizeTransform",
    "RandomHorizontalFlip",
    "RescaleTransform",
    "binarize",
    "compute_image_mean_and_std",
    "download_dataset",
    "get_housing_data",
    "make_housing_table",
]
