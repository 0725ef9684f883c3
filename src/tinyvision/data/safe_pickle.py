"""A restricted unpickler for the official CIFAR-10 pickles (and the I2DL in-memory CIFAR-10).

The CIFAR-10 "python version" files are Python 2 pickles of a dict holding a NumPy array. A plain
`pickle.load` would run any callable a tampered file names, so this unpickler resolves only the
handful of globals such files need and refuses everything else before it can be called.
"""

from __future__ import annotations

import _codecs
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.errors import DataError

try:
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # NumPy 1.x only has the old module path
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

__all__ = ["ALLOWED_GLOBALS", "RestrictedUnpickler", "safe_load", "safe_loads"]


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Rebuild bytes the way Python 3 pickles them at protocol 2, for text codecs only."""
    if encoding.lower().replace("_", "-") not in {"latin1", "latin-1", "iso-8859-1"}:
        raise DataError(
            f"pickle asked for _codecs.encode with the codec {encoding!r}; only latin1 is allowed"
        )
    return _codecs.encode(text, encoding, errors)


# Official files name numpy.core.multiarray; NumPy 2 writes numpy._core.multiarray. Both map
# straight to the function object so the deprecated numpy.core shim is never imported. The
# latin1-only _codecs.encode lets files re-written by Python 3 at protocol 2 (bytes keys) load.
# `scalar` (NumPy scalars such as np.int64 labels) and `_frombuffer` (arrays at pickle protocol
# 5) only build values from a dtype and raw bytes; the I2DL in-memory CIFAR-10 file needs them.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy.core.numeric", "_frombuffer"): _numeric._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numeric._frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


# What pickle and NumPy raise on truncated or garbled input (DataError is handled first).
_CORRUPT_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    MemoryError,
    UnicodeDecodeError,
)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only `ALLOWED_GLOBALS` and raises DataError for anything else."""

    def find_class(self, module: str, name: str) -> Any:
        """Return the allowed object for `module.name`, or raise DataError naming the global.

        Args:
            module: module path written in the pickle, e.g. "numpy.core.multiarray".
            name: attribute name written in the pickle, e.g. "_reconstruct".

        Returns:
            The allowed callable or class.
        """
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"refused to unpickle the global {module}.{name}: CIFAR-10 files only need "
                "NumPy arrays; the file is not an official CIFAR-10 batch or has been tampered with"
            ) from None


def _load(stream: io.BufferedIOBase, encoding: str, source: str | None) -> Any:
    """Run the restricted unpickler on `stream`, turning pickle's failures into DataError.

    source: what the stream was read from (a file's path), named in every message; None for
    anonymous bytes.
    """
    try:
        return RestrictedUnpickler(stream, encoding=encoding).load()
    except DataError as e:
        if source is None:
            raise
        raise DataError(f"{source}: {e}") from e
    except _CORRUPT_ERRORS as e:
        raise DataError(
            f"{source or 'the pickle data'} is truncated or corrupt ({type(e).__name__}: {e}); "
            "delete it and download the data again"
        ) from e


def safe_loads(data: bytes, encoding: str = "bytes", source: str | None = None) -> Any:
    """Unpickle `data` with `RestrictedUnpickler`.

    Args:
        data: the pickle bytes.
        encoding: how Python 2 `str` objects are decoded: "bytes" (keys stay b'data', the
            default) or "latin1".
        source: where the bytes came from (a path or URL), named in every error message.

    Returns:
        The unpickled object. Refused globals and corrupt data raise DataError (naming
        `source` when given).
    """
    return _load(io.BytesIO(data), encoding, None if source is None else str(source))


def safe_load(path: str | os.PathLike[str], encoding: str = "bytes") -> Any:
    """Unpickle the file at `path` with `RestrictedUnpickler`.

    Args:
        path: file to read.
        encoding: how Python 2 `str` objects are decoded ("bytes" or "latin1").

    Returns:
        The unpickled object. Refused globals raise DataError naming the file and the global;
        truncated or corrupt files raise DataError naming the file.
    """
    path = Path(path)
    with path.open("rb") as f:
        return _load(f, encoding, str(path))
