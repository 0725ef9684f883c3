"""Autoencoder transfer learning (I2DL exercise 8): the exercise's models on tiny data, the
`autoencoder-transfer` run end to end on CIFAR-10 and MNIST files written here in the formats
the course reads, the MNIST reader's checks and its download from a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import pickle
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision.cli import main  # noqa: E402
from tinyvision.data.mnist import (  # noqa: E402
    MNIST_FILES,
    download_mnist,
    load_mnist,
    read_mnist_images,
    read_mnist_labels,
)
from tinyvision.errors import DataError  # noqa: E402
from tinyvision.i2dl.models import Autoencoder, Classifier, Decoder, Encoder  # noqa: E402

HPARAMS = {"channels": (8, 16), "n_hidden": 32, "learning_rate": 3e-3, "device": "cpu"}


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _blobs(count: int, shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is a smooth colour pattern plus noise (learnable from the pixels),
    on the 0-255 scale, (N, C, H, W), and their labels 0-9."""
    rng = np.random.default_rng(seed)
    channels, height, width = shape
    labels = rng.integers(0, 10, size=count)
    yy, xx = np.meshgrid(np.linspace(0, np.pi, height), np.linspace(0, np.pi, width), indexing="ij")
    patterns = np.stack(
        [
            np.stack([np.sin((k + 1) * xx + c) * np.cos((k % 3 + 1) * yy) for c in range(channels)])
            for k in range(10)
        ]
    )
    images = 128 + 90 * patterns[labels] + rng.normal(0, 20, size=(count, *shape))
    return np.clip(images, 0, 255), labels


# ---------------------------------------------------------------- the exercise's models


@pytest.mark.parametrize(
    ("size", "shape"), [(28 * 28, (1, 28, 28)), (3 * 32 * 32, (3, 32, 32)), ((3, 20, 20), None)]
)
def test_encoder_and_decoder_map_images_to_latents_and_back(size, shape):
    shape = shape or size
    encoder = Encoder(HPARAMS, input_size=size, latent_dim=12)
    decoder = Decoder(HPARAMS, latent_dim=12, output_size=size)
    images = torch.randn(5, *shape)
    latent = encoder(images)
    assert latent.shape == (5, 12)
    assert decoder(latent).shape == (5, *shape)
    # Flat inputs, as the exercise's loops pass them, give the same latents and come back flat.
    flat = images.reshape(5, -1)
    encoder.eval()
    torch.testing.assert_close(encoder(flat), encoder(images))
    autoencoder = Autoencoder(HPARAMS, encoder, decoder)
    assert autoencoder(flat).shape == flat.shape


def test_input_size_must_be_a_square_image():
    with pytest.raises(ValueError, match=r"input_size 200 is not C\*H\*W"):
        Encoder(HPARAMS, input_size=200)


def test_autoencoder_training_step_lowers_the_reconstruction_error():
    torch.manual_seed(0)
    images, _ = _blobs(64, (3, 16, 16), seed=1)
    batch = torch.as_tensor((images - 128) / 64, dtype=torch.float32)
    autoencoder = Autoencoder(
        HPARAMS, Encoder(HPARAMS, (3, 16, 16), 16), Decoder(HPARAMS, 16, (3, 16, 16))
    )
    loss = torch.nn.MSELoss()
    before = float(autoencoder.validation_step(batch, loss))
    for _ in range(60):
        autoencoder.training_step(batch, loss)
    after = float(autoencoder.validation_step(batch, loss))
    assert after < 0.5 * before
    loader = torch.utils.data.DataLoader(batch, batch_size=16)
    reconstructions = autoencoder.getReconstructions(loader)
    assert reconstructions.shape == (64, 3, 16, 16)
    assert np.mean((reconstructions - batch.numpy()) ** 2) == pytest.approx(after, rel=1e-4)


def test_classifier_learns_the_labels_and_getAcc_counts_them():
    torch.manual_seed(0)
    images, labels = _blobs(80, (3, 16, 16), seed=2)
    X = torch.as_tensor((images - 128) / 64, dtype=torch.float32)
    y = torch.as_tensor(labels)
    classifier = Classifier(HPARAMS, Encoder(HPARAMS, 3 * 16 * 16, 16))
    losses = []
    for _ in range(40):
        classifier.train()
        classifier.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(classifier(X.reshape(80, -1)), y)
        loss.backward()
        classifier.optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    loader = torch.utils.data.DataLoader(list(zip(X, y, strict=True)), batch_size=32)
    predictions, accuracy = classifier.getAcc(loader)
    classifier.eval()
    with torch.no_grad():
        expected = classifier(X).argmax(dim=1).numpy()
    np.testing.assert_array_equal(predictions, expected)
    assert accuracy == pytest.approx(np.mean(expected == labels))
    assert accuracy > 0.9


# ---------------------------------------------------------------- CIFAR-10 run end to end


def _write_cifar(root: Path, per_batch: int, num_test: int) -> None:
    """cifar-10-batches-py as the official files lay it out (pickled dicts of uint8 rows)."""
    root.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        images, labels = _blobs(num_test if name == "test_batch" else per_batch, (3, 32, 32), seed)
        rows = np.rint(images).astype(np.uint8).reshape(len(images), -1)
        batch = {b"data": rows, b"labels": labels.tolist(), b"batch_label": name.encode()}
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [b"c%d" % k for k in range(10)], b"num_vis": 3072}
    (root / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


TINY = [
    "--model",
    "autoencoder-transfer",
    "--channels",
    "8,16",
    "--hidden-dims",
    "16",
    "--batch-size",
    "32",
    "--pretrain-epochs",
    "2",
    "--epochs",
    "3",
]


def test_cifar10_run_writes_both_accuracies_the_gain_and_the_reconstructions(tmp_path, capsys):
    _write_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=40, num_test=40)
    out = tmp_path / "run"
    argv = ["train", *TINY, "--dataset", "cifar10", "--data-dir", str(tmp_path / "data")]
    argv += ["--num-training", "150", "--num-labels", "60", "--num-val", "30", "--num-test", "40"]
    argv += ["--out", str(out)]
    assert main(["-q", *argv]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_labels"] == 60 and metrics["num_unlabelled"] == 90
    assert metrics["num_train"] == 60 and metrics["num_test"] == 40
    gain = metrics["test_acc"] - metrics["scratch_test_acc"]
    assert metrics["transfer_gain"] == pytest.approx(gain, abs=1e-12)
    assert 0 < metrics["test_reconstruction_mse"] < 1.5
    for label, key in (
        ("from scratch, test", "scratch_test_acc"),
        ("transfer gain", "transfer_gain"),
        ("reconstruction MSE", "test_reconstruction_mse"),
    ):
        assert f"{label}" in printed and f"{metrics[key]:.4f}" in printed
    # One Lightning fit per stage, each with its own checkpoints.
    for stage in (out, out / "pretrain", out / "scratch"):
        assert {"best.ckpt", "last.ckpt"} <= {p.name for p in (stage / "checkpoints").iterdir()}
    history = json.loads((out / "history.json").read_text())
    assert len(history["val_acc_history"]) == 3
    assert (out / "reconstructions.png").stat().st_size > 5000
    assert main(["-q", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_more_labels_than_training_images_is_refused(tmp_path, capsys):
    argv = ["train", *TINY, "--dataset", "cifar10", "--num-training", "100", "--num-labels", "100"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    assert "--num-labels 100 leaves no unlabelled image" in capsys.readouterr().err


# ---------------------------------------------------------------- the course's MNIST files


def _mnist_tensors(seed: int = 0, labelled: int = 20, unlabelled: int = 60) -> dict[str, object]:
    """The eight tensors of the course's mnist folder: uint8 (N, 28, 28) images, int64 labels."""
    tensors: dict[str, object] = {}
    for offset, (split, count) in enumerate(
        [("train", labelled), ("val", labelled), ("test", labelled)]
    ):
        images, labels = _blobs(count, (1, 28, 28), seed + offset)
        tensors[f"{split}_images.pt"] = torch.as_tensor(np.rint(images[:, 0]).astype(np.uint8))
        tensors[f"{split}_labels.pt"] = torch.as_tensor(labels)
    for offset, split in enumerate(("unlabeled_train", "unlabeled_val")):
        images, _ = _blobs(unlabelled, (1, 28, 28), seed + 10 + offset)
        tensors[f"{split}_images.pt"] = torch.as_tensor(np.rint(images[:, 0]).astype(np.uint8))
    return tensors


def _write_mnist(folder: Path, tensors: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, tensor in tensors.items():
        torch.save(tensor, folder / name)


def test_load_mnist_reads_the_course_files(tmp_path):
    tensors = _mnist_tensors()
    # The course's images may also be floats in [0, 1] with a channel axis.
    tensors["val_images.pt"] = tensors["val_images.pt"].float().div(255).unsqueeze(1)
    _write_mnist(tmp_path / "mnist", tensors)
    data = load_mnist(tmp_path)
    assert data["X_train"].shape == (20, 1, 28, 28) and data["X_train"].dtype == np.float32
    assert data["X_unlabeled_train"].shape == (60, 1, 28, 28)
    np.testing.assert_allclose(data["X_train"][:, 0], tensors["train_images.pt"].numpy() / 255)
    np.testing.assert_allclose(data["X_val"][:, 0], tensors["val_images.pt"].numpy()[:, 0])
    np.testing.assert_array_equal(data["y_test"], tensors["test_labels.pt"].numpy())
    # --data-dir may also name the folder of the files itself.
    np.testing.assert_array_equal(load_mnist(tmp_path / "mnist")["y_val"], data["y_val"])


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("train_labels.pt", torch.tensor([1, 2, 12]), "holds label 12 at index 2"),
        ("train_labels.pt", torch.zeros(3, 2, dtype=torch.int64), "expected \\(N,\\) integers"),
        ("train_images.pt", torch.zeros(3, 32, 32, dtype=torch.uint8), "MNIST images are"),
        ("train_images.pt", torch.full((3, 28, 28), 7.0), "outside \\[0, 1\\]"),
        ("train_images.pt", torch.full((3, 28, 28), float("nan")), "NaN or infinite pixels"),
        ("train_images.pt", {"images": torch.zeros(1)}, "holds a dict, expected one tensor"),
    ],
)
def test_bad_mnist_files_are_rejected_with_what_is_wrong(tmp_path, name, bad, message):
    tensors = _mnist_tensors()
    tensors[name] = bad
    _write_mnist(tmp_path / "mnist", tensors)
    with pytest.raises(DataError, match=message):
        load_mnist(tmp_path)


def test_mnist_images_and_labels_must_match_and_files_must_exist(tmp_path):
    tensors = _mnist_tensors()
    tensors["test_labels.pt"] = tensors["test_labels.pt"][:-1]
    _write_mnist(tmp_path / "mnist", tensors)
    with pytest.raises(DataError, match="holds 20 images but test_labels.pt 19 labels"):
        load_mnist(tmp_path)
    (tmp_path / "not-torch.pt").write_bytes(b"plain text")
    with pytest.raises(DataError, match="is not a tensor file"):
        read_mnist_images(tmp_path / "not-torch.pt")
    with pytest.raises(FileNotFoundError, match="tinyvision data download mnist"):
        read_mnist_labels(tmp_path / "mnist" / "missing_labels.pt")


class _Server:
    """http.server on 127.0.0.1 in a thread, serving one archive and counting requests."""

    def __init__(self, body: bytes) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output clean."""

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist.zip"


@pytest.fixture
def mnist_server() -> Iterator[tuple[_Server, bytes, dict[str, object]]]:
    tensors = _mnist_tensors()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, tensor in tensors.items():
            payload = io.BytesIO()
            torch.save(tensor, payload)
            archive.writestr(name, payload.getvalue())
    body = buffer.getvalue()
    server = _Server(body)
    server.thread.start()
    try:
        yield server, body, tensors
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


def test_download_mnist_checks_the_archive_and_unpacks_the_files(tmp_path, mnist_server):
    server, body, tensors = mnist_server
    md5 = hashlib.md5(body).hexdigest()
    root = download_mnist(tmp_path, url=server.url, md5=md5, progress=False)
    assert root == tmp_path / "mnist"
    assert sorted(p.name for p in root.iterdir()) == sorted(MNIST_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["mnist"]  # the archive is gone
    np.testing.assert_array_equal(load_mnist(tmp_path)["y_train"], tensors["train_labels.pt"])
    download_mnist(tmp_path, url=server.url, md5=md5, progress=False)
    assert len(server.requests) == 1  # complete: no second download


def test_download_mnist_with_a_wrong_checksum_leaves_nothing(tmp_path, mnist_server, capsys):
    server, _, _ = mnist_server
    argv = ["data", "download", "mnist", "--data-dir", str(tmp_path), "--url", server.url]
    assert main([*argv, "--md5", "0" * 32, "--no-progress"]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main([*argv, "--no-progress"]) == 0
    assert f"ready in {tmp_path / 'mnist'}" in capsys.readouterr().out


def test_mnist_run_trains_on_the_course_files(tmp_path, capsys):
    _write_mnist(tmp_path / "mnist", _mnist_tensors(labelled=40, unlabelled=120))
    out = tmp_path / "run"
    argv = ["train", *TINY, "--dataset", "mnist", "--data-dir", str(tmp_path)]
    assert main(["-q", *argv, "--num-labels", "30", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_labels"] == 30 and metrics["num_unlabelled"] == 120
    assert metrics["num_test"] == 40
    assert (out / "reconstructions.png").is_file()
