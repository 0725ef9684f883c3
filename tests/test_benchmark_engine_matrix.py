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
def matrix():
    spec = importlib.util.spec_from_file_location("engine_matrix_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="module")
def quick_run(matrix, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "matrix.json"
    assert matrix.main(["--quick", "--threads", "1", "--json", str(out)]) == 0
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


def test_the_step_peak_memory_is_measured_on_both_sides_and_printed_as_a_row(matrix, capsys):
    memory = matrix.measure_memory(1)
    ours, theirs = memory["ours"]["peak_step_mib"], memory["torch"]["peak_step_mib"]
    # A ConvNet step at batch 50 keeps at least its first layer's 32x32x32 float32 output.
    floor = 50 * 32 * 32 * 32 * 4 / 2**20
    assert ours > floor and theirs > floor
    assert 0 < memory["ours"]["numpy_traced_peak_mib"] <= ours * 2
    matrix.print_memory_row(1, memory)
    row = capsys.readouterr().out.split()
    assert row[0] == "1" and "memory," in row
    assert float(row[-1]) == pytest.approx(ours / theirs, abs=0.01)
