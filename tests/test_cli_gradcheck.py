"""`tinyvision gradcheck`: one line per layer, selection and listing, and the exit status."""

import subprocess
import sys

import numpy as np
import pytest

import tinyvision.layers
import tinyvision.layers.recurrent
from tinyvision import diagnostics
from tinyvision.cli import main
from tinyvision.diagnostics import GRADIENT_CHECKS, TOLERANCE, gradient_checks


def _rows(out):
    """{layer: (max error, worst input, result)} from the printed table, plus the other lines."""
    lines = out.splitlines()
    assert lines[0].split()[0] == "layer"
    rows, other = {}, []
    for line in lines[1:]:
        parts = line.split()
        if parts and parts[0] in GRADIENT_CHECKS and not line.startswith(" "):
            rows[parts[0]] = (float(parts[1]) if parts[1] != "-" else None, parts[2], parts[3])
        else:
            other.append(line)
    return rows, other


def test_every_layer_passes_with_one_line_each(capsys):
    assert main(["gradcheck"]) == 0
    rows, other = _rows(capsys.readouterr().out)
    assert list(rows) == list(GRADIENT_CHECKS)
    table = gradient_checks()
    assert all(r == "ok" and e <= table[name].tolerance for name, (e, _, r) in rows.items())
    own = {name: table[name].tolerance for name in table if table[name].tolerance != TOLERANCE}
    assert set(own) == {"conv_bn_relu"} and own["conv_bn_relu"] <= 1e-6
    assert other == [
        f"all {len(GRADIENT_CHECKS)} layers passed (tolerance {TOLERANCE:g}; conv_bn_relu 1e-06)"
    ]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--layers", "conv,relu"], ["relu", "conv"]),
        (["relu", "affine"], ["affine", "relu"]),
        (["--layers", "max_pool*"], ["max_pool", "max_pool_fast", "max_pool_fast_overlapping"]),
        (["lstm", "--layers", "lstm*, word_embedding"], ["lstm_step", "lstm", "word_embedding"]),
    ],
)
def test_layers_are_selected_by_name_or_pattern(capsys, argv, expected):
    assert main(["gradcheck", *argv]) == 0
    rows, _ = _rows(capsys.readouterr().out)
    assert list(rows) == expected


def test_unknown_layer_is_a_usage_error(capsys):
    assert main(["gradcheck", "--layers", "relu,convolution"]) == 2
    captured = capsys.readouterr()
    assert "no gradient check matches 'convolution'" in captured.err
    assert "--list" in captured.err and "relu" not in captured.out


def test_list_names_every_check_and_its_functions_without_running(capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("--list must not run the checks")

    monkeypatch.setattr("tinyvision.cli.gradcheck.check_layer", refuse)
    assert main(["gradcheck", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(GRADIENT_CHECKS)
    conv = next(line for line in lines if line.startswith("conv_fast_stride1 "))
    assert "tinyvision.layers.conv.conv_backward_fast" in conv


def test_broken_backward_fails_with_exit_status_1(capsys, monkeypatch):
    # ReLU's backward forgets the mask: gradient flows where the input was negative too.
    monkeypatch.setattr(tinyvision.layers, "relu_backward", lambda dout, cache: dout)
    assert main(["gradcheck", "--layers", "affine,relu"]) == 1
    out = capsys.readouterr().out
    rows, other = _rows(out)
    assert rows["affine"][2] == "ok"
    error, worst, result = rows["relu"]
    assert result == "FAIL" and worst == "x" and error > 0.1
    # The failure says which element of which input, with both values.
    assert any(line.startswith("    x (5, 7): element (") and "analytic" in line for line in other)
    assert other[-1] == "1 of 2 layers FAILED: relu"


def test_wrong_weight_gradient_names_the_input(capsys, monkeypatch):
    original = tinyvision.layers.recurrent.lstm_step_backward

    def lstm_step_backward(dnext_h, dnext_c, cache):
        dx, dprev_h, dprev_c, dWx, dWh, db = original(dnext_h, dnext_c, cache)
        return dx, dprev_h, dprev_c, dWx, dWh * 1.001, db

    monkeypatch.setattr(tinyvision.layers.recurrent, "lstm_step_backward", lstm_step_backward)
    assert main(["gradcheck", "lstm_step"]) == 1
    rows, _ = _rows(capsys.readouterr().out)
    assert rows["lstm_step"][1:] == ("Wh", "FAIL")


def test_crashing_backward_fails_and_the_others_still_run(capsys, monkeypatch):
    def crash(dout, cache):
        raise IndexError("boom")

    monkeypatch.setattr(tinyvision.layers, "sigmoid_backward", crash)
    assert main(["gradcheck", "--layers", "sigmoid,tanh"]) == 1
    rows, other = _rows(capsys.readouterr().out)
    assert rows["sigmoid"] == (None, "-", "FAIL") and rows["tanh"][2] == "ok"
    assert "    IndexError: boom" in other


def test_seed_changes_the_inputs(capsys):
    assert main(["gradcheck", "--seed", "1", "affine"]) == 0
    first = _rows(capsys.readouterr().out)[0]["affine"][0]
    errors = diagnostics.run_gradient_check("affine", seed=1)
    assert np.isclose(first, max(errors.values()), rtol=0.01)
    assert errors != diagnostics.run_gradient_check("affine", seed=0)


def test_exit_status_of_the_command():
    ok = subprocess.run(
        [sys.executable, "-m", "tinyvision", "gradcheck", "--layers", "relu"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "tinyvision", "gradcheck", "--layers", "nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no gradient check matches" in bad.stderr
