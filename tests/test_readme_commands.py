"""Every fast `tinyvision` command of the README runs as written (in a fresh folder)."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyvision.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

# Commands left out: those needing CIFAR-10 or COCO files, a run folder named by its time
# ("..." or "<time>"), or minutes of work (tuning, experiments, the conv nets, segmentation).
SLOW_OR_OFFLINE = re.compile(
    r"cifar10|coco|\.\.\.|<|tune |experiment |caption |download |--model segmentation"
)


def readme_commands() -> list[str]:
    """The `tinyvision ...` lines of the README's bash blocks, in order, comments removed."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("tinyvision ")]


def fast_commands() -> list[list[str]]:
    fast = [line for line in readme_commands() if not SLOW_OR_OFFLINE.search(line)]
    return [shlex.split(line, comments=True)[1:] for line in fast]


def test_the_readme_has_a_tour_of_fast_commands():
    commands = [" ".join(c[:2]) for c in fast_commands()]
    for command in ("train --model", "evaluate runs/tour", "predict runs/tour", "--help"):
        assert any(c.startswith(command) or command in c for c in commands), command


def test_every_fast_readme_command_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # The tour's pictures: two digits drawn dark on white, as a user's scans would be.
    (tmp_path / "my_digits").mkdir()
    for i, angle in enumerate((0, 90)):
        ink = np.zeros((32, 32), dtype=np.uint8)
        ink[6:26, 14:18] = 255
        picture = Image.fromarray(255 - ink).rotate(angle, fillcolor=255)
        picture.save(tmp_path / "my_digits" / f"stroke{i}.png")
    started = time.perf_counter()
    for argv in fast_commands():
        if argv == ["--help"]:
            with pytest.raises(SystemExit) as exit_info:
                main(argv)
            assert exit_info.value.code == 0
            continue
        assert main(argv) == 0, " ".join(argv)
    assert "stroke1.png" in capsys.readouterr().out
    assert time.perf_counter() - started < 60
