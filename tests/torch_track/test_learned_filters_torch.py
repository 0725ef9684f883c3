"""`tinyvision experiment filters --run` on a torch-cnn run: its first torch.nn.Conv2d read as
NumPy, and the feature maps of our convolution equal to that torch layer's output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from assertions import assert_close

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision.cli import main  # noqa: E402
from tinyvision.learned_filters import feature_maps, first_conv_layer  # noqa: E402
from tinyvision.pipeline import load_run  # noqa: E402


@pytest.mark.parametrize("normalization", ["batchnorm", "none"])
def test_filters_run_reads_the_first_conv_of_a_torch_cnn_run(tmp_path, capsys, normalization):
    run = tmp_path / "run"
    train = ["-q", "train", "--model", "torch-cnn", "--channels", "4,8", "--epochs", "1"]
    flags = ["--num-training", "64", "--normalization", normalization, "--out", str(run)]
    assert main([*train, *flags]) == 0
    out = tmp_path / "filters"
    assert main(["experiment", "filters", "--run", str(run), "--out", str(out)]) == 0
    for name in ("learned_filters.png", "feature_maps.png"):
        assert (out / name).stat().st_size > 2000

    loaded = load_run(run)
    conv = loaded.model.module.net.features[0][0]
    assert isinstance(conv, torch.nn.Conv2d)
    layer = first_conv_layer(loaded.model)
    assert_close(layer.w, conv.weight.detach().numpy(), rtol=0)
    # With batch norm the conv has no bias (zeros here); without, it has a learned one.
    assert (conv.bias is None) == (normalization == "batchnorm")
    x = loaded.prepared.X["test"][:3]
    with torch.no_grad():
        expected = conv(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    scale = np.abs(expected).max()
    assert_close(feature_maps(layer, x), expected, rtol=1e-5, atol=1e-6 * scale)
    saved = json.loads((out / "results.json").read_text())["results"]["learned"]
    assert saved["model"] == "torch-cnn" and saved["filter_shape"] == [4, 1, 3, 3]
    assert saved["conv_param"] == {"stride": 1, "pad": 1}
