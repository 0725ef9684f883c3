"""Shared test setup.

The shared helpers live in plain modules next to this file, importable from every test module
(this file puts tests/ on sys.path): `assertions.assert_close`, the comparison that reports the
worst element, and `strategies`, the hypothesis strategies of the property tests.
"""

import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

# pytest-xdist runs one worker per core; BLAS threads on top of that oversubscribe the machine
# and make the many small matrix products in these tests an order of magnitude slower.
threadpool_limits(1)
