"""memory_report: per-layer bytes of params, grads, buffers and caches, checked by hand."""

import numpy as np
import pytest

from tinyvision import nn


def test_report_of_a_tiny_net_matches_hand_computed_sizes():
    N, D, H, C = 5, 4, 3, 2
    X = np.random.default_rng(0).standard_normal((N, D))
    y = np.array([0, 1, 0, 1, 1])
    model = nn.Sequential(
        nn.Linear(D, H, seed=0), nn.BatchNorm1d(H), nn.Sigmoid(), nn.Linear(H, C, seed=1)
    )
    report = nn.memory_report(model, X, y)
    f8 = 8
    rows = {row.name: row for row in report.layers}
    assert [(r.name, r.layer) for r in report.layers] == [
        ("0", "Linear"),
        ("1", "BatchNorm1d"),
        ("2", "Sigmoid"),
        ("3", "Linear"),
    ]
    # Linear caches x (its own W and b are not counted twice).
    assert rows["0"].param_bytes == rows["0"].grad_bytes == (D * H + H) * f8
    assert rows["0"].cache_bytes == N * D * f8
    # BatchNorm caches x_hat and x_centered (N, H) and inv_std (H,); gamma is its own param.
    assert rows["1"].param_bytes == rows["1"].grad_bytes == rows["1"].buffer_bytes == 2 * H * f8
    assert rows["1"].cache_bytes == (2 * N * H + H) * f8
    # Sigmoid caches its output, which the next Linear caches again as its input.
    assert rows["2"].cache_bytes == N * H * f8
    assert rows["3"].cache_bytes == N * H * f8
    assert rows["3"].param_bytes == (H * C + C) * f8
    assert report.unique_cache_bytes == report.total("cache_bytes") - N * H * f8
    assert report.total_bytes == sum(
        r.param_bytes + r.grad_bytes + r.buffer_bytes + r.cache_bytes for r in report.layers
    )


def test_cache_grows_with_the_batch_and_params_do_not():
    model = nn.Sequential(nn.Linear(6, 8, seed=0), nn.ReLU(), nn.Linear(8, 3, seed=1))
    rng = np.random.default_rng(1)
    small = nn.memory_report(model, rng.standard_normal((4, 6)), np.zeros(4, dtype=int))
    large = nn.memory_report(model, rng.standard_normal((8, 6)), np.zeros(8, dtype=int))
    assert large.total("cache_bytes") == 2 * small.total("cache_bytes")
    assert large.total("param_bytes") == small.total("param_bytes")


def test_format_memory_report_is_a_table_with_totals():
    model = nn.Sequential(nn.Linear(6, 8, seed=0), nn.ReLU(), nn.Linear(8, 3, seed=1))
    X = np.random.default_rng(2).standard_normal((16, 6))
    report = nn.memory_report(model, X, np.zeros(16, dtype=int))
    text = nn.format_memory_report(report)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "params", "grads", "buffers", "cache", "total"]
    assert lines[2].split()[:2] == ["0", "Linear"]
    # Linear 0 caches X: 16 * 6 * 8 = 768 bytes; its params are 6 * 8 + 8 = 56 float64s.
    assert lines[2].split()[2:4] == ["448", "B"]
    assert f"{16 * 6 * 8} B" in lines[2]
    assert lines[-2].startswith("total")
    assert "counting each array once" in lines[-1]
    assert len(lines) == 2 + 3 + 2 + 1


def test_memory_report_needs_a_model_with_loss():
    with pytest.raises(ValueError, match="loss\\(X, y\\) method"):
        nn.memory_report(nn.ReLU(), np.zeros((1, 1)), np.zeros(1, dtype=int))
