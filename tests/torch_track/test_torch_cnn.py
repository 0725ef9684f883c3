"""`--model torch-cnn` on PyTorch Lightning: a run folder like every model's, evaluate, TensorBoard
events, a clear message without the extra, and distributed training on 127.0.0.1 that ends where
one process trained on the same global batch ends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision.cli import main  # noqa: E402
from tinyvision.files import load_arrays  # noqa: E402

SMALL = ["--model", "torch-cnn", "--channels", "16,32", "--epochs", "3"]
# No batch norm and no augmentation: then the data of each update is the only thing that can
# differ between one process and several, and the test shows it does not.
EXACT = [
    "--model",
    "torch-cnn",
    "--channels",
    "8,16",
    "--epochs",
    "2",
    "--normalization",
    "none",
    "--dtype",
    "float64",
    "--num-training",
    "256",
]


def test_torch_cnn_writes_a_run_folder_that_evaluates(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["-q", "train", *SMALL, "--augment", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "metrics.json", "history.json", "model.npz", "loss.png"} <= names
    assert {"best.ckpt", "last.ckpt"} <= {p.name for p in (out / "checkpoints").iterdir()}
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert metrics["epochs_run"] == 3 and len(history["val_acc_history"]) == 3
    assert metrics["val_acc"] == pytest.approx(max(history["val_acc_history"]), abs=1e-6)
    assert metrics["test_acc"] > 0.5  # ten classes: chance is 0.1
    # The cosine schedule is stepped every update, down towards 0 at the end.
    lrs = history["lr_history"]
    assert len(lrs) == history["iteration"] and lrs[0] > lrs[len(lrs) // 2] > lrs[-1]
    capsys.readouterr()
    assert main(["-q", "evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "reproduced exactly" in printed
    top1 = float(printed.split("top-1 accuracy")[1].split()[0])
    assert top1 == pytest.approx(metrics["test_acc"], abs=1e-4)


def test_lightning_progress_bars_go_to_stderr_leaving_stdout_to_the_results(tmp_path, capsys):
    argv = ["train", *EXACT[:4], "--epochs", "1", "--num-training", "128", "--out"]
    assert main([*argv, str(tmp_path / "run")]) == 0
    printed = capsys.readouterr()
    assert "Epoch 0:" in printed.err and "it/s" in printed.err
    assert "Epoch 0:" not in printed.out and "it/s" not in printed.out
    assert "test accuracy" in printed.out


def test_without_the_extra_torch_cnn_says_how_to_install_it(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None
        sys.modules["pytorch_lightning"] = None
        from tinyvision.cli import main
        sys.exit(main(["train", "--model", "torch-cnn", "--out", {str(tmp_path / "r")!r}]))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "install the torch extra: pip install -e '.[torch]'" in result.stderr


def test_numpy_models_refuse_the_distributed_flags(tmp_path, capsys):
    argv = ["train", "--model", "fc", "--devices", "2", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    assert "--devices train through PyTorch Lightning" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


WORKER = """
import sys
from pathlib import Path
from tinyvision import pipeline, registry
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.files import save_arrays

config = resolve_config(TrainConfig(
    model="torch-cnn", channels=(8, 16), epochs=2, normalization="none", dtype="float64",
    num_training=256, batch_size=16, devices=2, strategy="ddp",
))
spec = registry.get(config.model)
prepared = spec.task.prepare(config, spec, False)
model = spec.build(config, prepared)
pipeline.fit(spec, model, config, prepared, None, False)
save_arrays(Path(sys.argv[1]), model.state_dict())
"""


def test_two_processes_on_localhost_end_with_the_weights_of_one_on_the_global_batch(tmp_path):
    port = str(_free_port())
    workers = []
    for rank in (0, 1):
        env = dict(
            os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2",
            RANK=str(rank), LOCAL_RANK=str(rank), NODE_RANK="0",
        )  # fmt: skip
        command = [sys.executable, "-c", WORKER, str(tmp_path / f"rank{rank}.npz")]
        workers.append(subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True))
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    rank0, rank1 = (load_arrays(tmp_path / f"rank{r}.npz") for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        np.testing.assert_array_equal(rank0[name], rank1[name], err_msg=name)

    one = tmp_path / "one"
    assert main(["-q", "train", *EXACT, "--batch-size", "32", "--out", str(one)]) == 0
    single = load_arrays(one / "model.npz")
    for name, value in rank0.items():
        np.testing.assert_allclose(value, single[f"model/{name}"], rtol=0, atol=1e-10, err_msg=name)


def test_cli_ddp_matches_one_process_on_the_global_batch(tmp_path):
    two, one = tmp_path / "two", tmp_path / "one"
    command = [sys.executable, "-m", "tinyvision", "-q", "train", *EXACT, "--batch-size", "16"]
    env = dict(os.environ, MASTER_PORT=str(_free_port()))
    result = subprocess.run(
        [*command, "--devices", "2", "--strategy", "ddp", "--out", str(two)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert main(["-q", "train", *EXACT, "--batch-size", "32", "--out", str(one)]) == 0
    ours, theirs = load_arrays(two / "model.npz"), load_arrays(one / "model.npz")
    assert ours.keys() == theirs.keys()
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=0, atol=1e-10, err_msg=name)
    assert json.loads((two / "config.json").read_text())["devices"] == 2
    assert not list(Path(two).glob(".lock"))


def test_cifar10_data_module_standardises_with_the_training_statistics(tmp_path):
    from data.conftest import write_cifar_folder

    from tinyvision.torch.data import CIFAR10DataModule, CIFAR10Dataset

    raw = write_cifar_folder(tmp_path / "cifar-10-batches-py")
    sizes = {"num_training": 40, "num_validation": 10, "num_test": 10}
    module = CIFAR10DataModule(tmp_path, batch_size=8, augment=True, **sizes)
    module.prepare_data()
    module.setup("fit")
    train_rows = np.concatenate([raw[f"data_batch_{i}"] for i in range(1, 6)])[:40]
    images = train_rows.reshape(40, 3, 32, 32).astype(np.float64)
    mean = images.mean(axis=(0, 2, 3), keepdims=True)
    std = images.std(axis=(0, 2, 3), keepdims=True)
    test = raw["test_batch"].reshape(10, 3, 32, 32)
    np.testing.assert_allclose(module.arrays["X_test"], (test - mean) / std, rtol=1e-5, atol=1e-5)
    assert list(module.arrays["y_test"]) == list(raw["test_batch_labels"])
    batches = list(module.train_dataloader())
    assert len(batches) == 5 and batches[0][0].shape == (8, 3, 32, 32)
    assert batches[0][0].dtype.is_floating_point and batches[0][1].dtype == torch.int64
    labels = np.sort(np.concatenate([y.numpy() for _, y in batches]))
    assert list(labels) == sorted(module.arrays["y_train"])
    val = CIFAR10Dataset("val", tmp_path, **sizes)
    assert len(val) == 10 and val[0][0].shape == (3, 32, 32)
    with pytest.raises(ValueError, match="split must be one of train, val, test"):
        CIFAR10Dataset("holdout", tmp_path, **sizes)
