"""One torch thread per test worker in the PyTorch-track tests.

The root conftest limits the BLAS threads, which torch's own intra-op pool ignores. On a busy
2-core machine two torch threads per xdist worker make these small convolutions 20x slower.
"""

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    torch = pytest.importorskip(
        "torch", reason="the PyTorch track needs: pip install -e '.[torch]'"
    )
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
