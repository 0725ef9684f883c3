"""Course module `cs231n.data_utils`: the CIFAR-10 and Tiny-ImageNet loaders plus the digits
and spiral data.

Course code `from cs231n.data_utils import get_CIFAR10_data` works after renaming the package.
"""

from tinyvision.data.cifar10 import (
    CLASS_NAMES,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
)
from tinyvision.data.digits import load_digits_data
from tinyvision.data.spiral import load_spiral_data, make_spiral
from tinyvision.data.tiny_imagenet import load_tiny_imagenet

__all__ = [
    "CLASS_NAMES",
    "get_CIFAR10_data",
    "load_spiral_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
    "load_digits_data",
    "load_tiny_imagenet",
    "make_spiral",
]
