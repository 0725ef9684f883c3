"""Fixtures for the data tests: tiny CIFAR-10 folders written the way the official files are,
their tar.gz archives, and a real local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

TRAIN_NAMES = [f"data_batch_{i}" for i in range(1, 6)]
LABEL_NAMES = [
    b"airplane",
    b"automobile",
    b"bird",
    b"cat",
    b"deer",
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]


class Py2StylePickler(pickle._Pickler):
    """Writes bytes as Python 2 `str` opcodes (SHORT_BINSTRING/BINSTRING), like the official
    CIFAR-10 files, instead of Python 3's `_codecs.encode` calls at protocol 2."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj: object) -> bytes:
    """Pickle `obj` at protocol 2 the way Python 2 + NumPy 1 wrote CIFAR-10."""
    buffer = io.BytesIO()
    Py2StylePickler(buffer, protocol=2).dump(obj)
    # The official files name the NumPy 1 module; memo indices do not depend on byte offsets.
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def batch_dict(data: np.ndarray, labels: list[int], name: bytes) -> dict[bytes, object]:
    return {
        b"batch_label": name,
        b"labels": labels,
        b"data": data,
        b"filenames": [b"img_%05d.png" % i for i in range(len(labels))],
    }


def write_cifar_folder(
    root: Path, per_batch: int = 12, num_test: int = 10, seed: int = 0
) -> dict[str, np.ndarray]:
    """Write a tiny cifar-10-batches-py into `root`; return the raw rows and labels."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    raw: dict[str, np.ndarray] = {}
    for name, n in [(name, per_batch) for name in TRAIN_NAMES] + [("test_batch", num_test)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n)
        label_name = b"training batch" if name != "test_batch" else b"testing batch"
        (root / name).write_bytes(py2_pickle(batch_dict(data, labels.tolist(), label_name)))
        raw[name] = data
        raw[name + "_labels"] = labels
    meta = {b"num_cases_per_batch": per_batch, b"label_names": LABEL_NAMES, b"num_vis": 3072}
    (root / "batches.meta").write_bytes(py2_pickle(meta))
    (root / "readme.txt").write_text("tiny CIFAR-10 for tests\n")
    return raw


@pytest.fixture
def cifar_folder(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "cifar-10-batches-py"
    return root, write_cifar_folder(root)


def make_tar_gz(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, payload in entries:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def file_entry(name: str, payload: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mode = 0o644
    return info, payload


def cifar_archive(tmp_path: Path, extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> bytes:
    """Build cifar-10-python.tar.gz in the official layout, optionally with extra members."""
    source = tmp_path / "archive-source" / "cifar-10-batches-py"
    write_cifar_folder(source)
    folder = tarfile.TarInfo("cifar-10-batches-py")
    folder.type = tarfile.DIRTYPE
    folder.mode = 0o755
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = [(folder, None)]
    for path in sorted(source.iterdir()):
        entries.append(file_entry(f"cifar-10-batches-py/{path.name}", path.read_bytes()))
    return make_tar_gz(entries + list(extra))


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class FileServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving in-memory files and counting requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "not found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output clean."""

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes) -> str:
        self.files[path] = body
        return self.url(path)


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


@pytest.fixture
def archive_factory(tmp_path: Path) -> Callable[..., bytes]:
    def build(extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> bytes:
        return cifar_archive(tmp_path, extra)

    return build


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The builder functions above, for tests (conftest is not importable under importlib)."""
    return SimpleNamespace(
        py2_pickle=py2_pickle,
        batch_dict=batch_dict,
        write_cifar_folder=write_cifar_folder,
        make_tar_gz=make_tar_gz,
        file_entry=file_entry,
        md5_of=md5_of,
    )
