"""A Ctrl-C that Python swallows (raised inside a `__del__` or weakref callback) is not lost
within interrupts.honoured(), and the search stops at its next trial."""

import signal
import sys

import pytest

from tinyvision import interrupts


class _InterruptedWhileCollected:
    """An object whose finaliser is running when Ctrl-C arrives."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


def _swallow_an_interrupt(monkeypatch):
    """Deliver SIGINT inside a finaliser; return what Python reported instead of raising."""
    swallowed = []
    monkeypatch.setattr(sys, "unraisablehook", swallowed.append)
    obj = _InterruptedWhileCollected()
    del obj
    return swallowed


def test_an_interrupt_python_swallows_is_raised_at_the_next_check(monkeypatch):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interrupts.honoured():
        swallowed = _swallow_an_interrupt(monkeypatch)
        assert [type(s.exc_value) for s in swallowed] == [KeyboardInterrupt]
        with pytest.raises(KeyboardInterrupt):
            interrupts.raise_if_requested()
    # Outside the block Python's own handler is back and nothing is remembered.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupts.raise_if_requested()


def test_within_the_block_ctrl_c_still_raises_at_once():
    with interrupts.honoured(), pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
        # The handler runs before the next bytecode; this line is never reached.
        pytest.fail("the interrupt did not raise")


def test_an_ignored_sigint_stays_ignored(monkeypatch):
    monkeypatch.setattr(signal, "getsignal", lambda signum: signal.SIG_IGN)
    installed = []
    monkeypatch.setattr(signal, "signal", lambda *args: installed.append(args))
    with interrupts.honoured():
        pass
    assert installed == []


def test_a_search_stops_at_the_next_trial_after_a_swallowed_interrupt(tmp_path, monkeypatch):
    optuna = pytest.importorskip("optuna")
    from tinyvision.cli import main

    space_file = tmp_path / "space.toml"
    space_file.write_text(
        'model = "two-layer"\n[search.learning_rate]\ntype = "log-uniform"\n'
        "low = 0.05\nhigh = 1.0\n"
    )
    trials = []

    def optimize(self, *args, **kwargs):
        trials.append(_swallow_an_interrupt(monkeypatch))

    monkeypatch.setattr(optuna.study.Study, "optimize", optimize)
    argv = ["tune", str(space_file), "--trials", "5", "--no-retrain", "--out", str(tmp_path / "t")]
    assert main(argv) == 130
    assert len(trials) == 1 and [type(s.exc_value) for s in trials[0]] == [KeyboardInterrupt]
