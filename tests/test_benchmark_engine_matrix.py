"""benchmarks/engine_matrix.py in its --quick mode: every row is there, on both sides, with
numbers a ratio can be taken of."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "engine_matrix.py"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("engine_matrix_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    out = tmp_path_factory.mktemp("bench") / "matrix.json"
    try:
        spec.loader.exec_module(module)
        assert module.main(["--quick", "--threads", "1", "--json", str(out)]) == 0
    finally:
        del sys.modules[spec.name]
    return json.loads(out.read_text())


def test_quick_run_times_every_row_on_both_sides(quick_run):
    assert quick_run["machine"]["numpy BLAS"].startswith("openblas")
    entry = quick_run["threads"]["1"]
    assert entry["matmul_peak_gflops"] > 0
    rows = entry["rows"]
    groups = [row["group"] for row in rows]
    # 7 conv shapes; 4 layers x 3 stage shapes; 3 training steps (one batch size in --quick).
    assert groups.count("conv f+b") == 7
    assert sum(g.endswith("f+b") and g != "conv f+b" for g in groups) == 12
    assert [r["case"].split(" step")[0] for r in rows if r["group"] == "train step"] == [
        "FC default",
        "ThreeLayerConvNet",
        "ConvNet default",
    ]
    for row in rows:
        assert row["ours_ms"] > 0 and row["torch_ms"] > 0
        assert row["ratio"] == pytest.approx(row["ours_ms"] / row["torch_ms"])
    assert all(r["ours_gflops"] > 0 for r in rows if r["group"] == "conv f+b")
