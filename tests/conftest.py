"""Shared test setup."""

from threadpoolctl import threadpool_limits

# pytest-xdist runs one worker per core; BLAS threads on top of that oversubscribe the machine
# and make the many small matrix products in these tests an order of magnitude slower.
threadpool_limits(1)
