"""Shared test setup.

The shared helpers live in plain modules next to this file, importable from every test module
(this file puts tests/ on sys.path): `assertions.assert_close`, the comparison that reports the
worst element, and `strategies`, the hypothesis strategies of the property tests.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

# pytest-xdist runs one worker per core; BLAS threads on top of that oversubscribe the machine
# and make the many small matrix products in these tests an order of magnitude slower.
threadpool_limits(1)

# Without the torch extra, the modules that compare with PyTorch are skipped, with the reason in
# the report (`pytest -rs`), and everything else runs.
HAVE_TORCH = importlib.util.find_spec("torch") is not None
TORCH_REASON = "compares with PyTorch, which is not installed: pip install -e '.[torch]'"
IMPORTS_TORCH = re.compile(r"^\s*(import torch|from torch\b)", re.M)


class _NeedsTorch(pytest.Module):
    def collect(self):
        pytest.skip(TORCH_REASON)


def pytest_pycollect_makemodule(module_path, parent):
    if not HAVE_TORCH and IMPORTS_TORCH.search(module_path.read_text(encoding="utf-8")):
        return _NeedsTorch.from_parent(parent, path=module_path)
    return None
