"""The restricted unpickler loads CIFAR-10-format pickles and refuses every other global."""

from __future__ import annotations

import builtins
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tinyvision.data.safe_pickle import safe_load, safe_loads
from tinyvision.errors import DataError


class _ShellPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class _EvalPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


def _batch(helpers, rng: np.random.Generator, n: int = 5) -> dict[bytes, object]:
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    return helpers.batch_dict(data, rng.integers(0, 10, size=n).tolist(), b"training batch")


def test_loads_official_python2_format(helpers, tmp_path: Path) -> None:
    batch = _batch(helpers, np.random.default_rng(0))
    path = tmp_path / "data_batch_1"
    path.write_bytes(helpers.py2_pickle(batch))
    assert b"cnumpy.core.multiarray\n_reconstruct" in path.read_bytes()

    loaded = safe_load(path)

    assert set(loaded) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert loaded[b"data"].dtype == np.uint8
    np.testing.assert_array_equal(loaded[b"data"], batch[b"data"])
    assert loaded[b"labels"] == batch[b"labels"]
    assert loaded[b"filenames"][0] == b"img_00000.png"


def test_loads_numpy2_protocol2_pickles(helpers) -> None:
    batch = _batch(helpers, np.random.default_rng(1))
    blob = pickle.dumps(batch, protocol=2)
    assert b"numpy._core.multiarray" in blob and b"_codecs" in blob

    loaded = safe_loads(blob)

    np.testing.assert_array_equal(loaded[b"data"], batch[b"data"])
    assert loaded[b"batch_label"] == b"training batch"


def test_latin1_encoding_gives_str_keys(helpers) -> None:
    loaded = safe_loads(helpers.py2_pickle({b"label_names": [b"cat"]}), encoding="latin1")
    assert loaded == {"label_names": ["cat"]}


@pytest.mark.parametrize("protocol", [2, 4])
def test_refuses_os_system_without_running_it(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    blob = pickle.dumps({b"data": _ShellPayload(marker)}, protocol=protocol)

    with pytest.raises(DataError, match=r"refused to unpickle the global (posix|os)\.system"):
        safe_loads(blob)
    assert not marker.exists()


def test_refuses_builtins_eval_from_a_file_and_the_payload_is_real(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(_EvalPayload(marker), protocol=2))

    with pytest.raises(DataError, match=r"global (__builtin__|builtins)\.eval"):
        safe_load(path)
    assert not marker.exists()

    # Control: the same bytes under the plain unpickler do run the payload, so the check above
    # could have failed.
    pickle.loads(path.read_bytes())
    assert marker.exists()


def test_refuses_codecs_other_than_latin1() -> None:
    class _Rot13:
        def __reduce__(self):
            import _codecs

            return (_codecs.encode, ("payload", "rot13"))

    with pytest.raises(DataError, match="only latin1"):
        safe_loads(pickle.dumps(_Rot13(), protocol=2))


def test_truncated_file_names_the_file(helpers, tmp_path: Path) -> None:
    path = tmp_path / "data_batch_3"
    blob = helpers.py2_pickle(_batch(helpers, np.random.default_rng(2)))
    path.write_bytes(blob[: len(blob) // 2])

    with pytest.raises(DataError, match=r"data_batch_3 is truncated or corrupt"):
        safe_load(path)


def test_garbage_is_a_data_error() -> None:
    with pytest.raises(DataError, match="truncated or corrupt"):
        safe_loads(b"\x80\x02this is not a pickle")
