"""The course module name `tinyvision.data_utils` and the package re-exports."""

from __future__ import annotations

import tinyvision.data as data_pkg
import tinyvision.data_utils as data_utils
from tinyvision.data import cifar10, digits, spiral


def test_course_module_reexports_the_loaders() -> None:
    assert data_utils.load_CIFAR_batch is cifar10.load_CIFAR_batch
    assert data_utils.load_CIFAR10 is cifar10.load_CIFAR10
    assert data_utils.get_CIFAR10_data is cifar10.get_CIFAR10_data
    assert data_utils.load_digits_data is digits.load_digits_data
    assert data_utils.make_spiral is spiral.make_spiral
    namespace: dict[str, object] = {}
    exec("from tinyvision.data_utils import *", namespace)
    assert {"load_CIFAR10", "get_CIFAR10_data", "load_CIFAR_batch"} <= set(namespace)


def test_package_all_is_importable() -> None:
    for name in data_pkg.__all__:
        assert getattr(data_pkg, name) is not None, name
