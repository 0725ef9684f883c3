"""Ctrl-C that is never lost.

Python turns SIGINT into KeyboardInterrupt in whatever code runs at that moment. When that is
a weakref callback or a `__del__` (SQLAlchemy runs them all the time under Optuna), Python
prints "Exception ignored in ..." and carries on, so a search could ignore the user's Ctrl-C
and run its remaining trials. Within `honoured()` an interrupt is also remembered, and
`raise_if_requested()` raises it again at the next point that checks.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["honoured", "raise_if_requested"]

_requested = threading.Event()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise KeyboardInterrupt


@contextmanager
def honoured() -> Iterator[None]:
    """Remember every Ctrl-C that arrives within the block (it still raises KeyboardInterrupt).

    Only where Python's own handler is in place, in the main thread: an ignored SIGINT (a
    background job) stays ignored, and another program's handler stays its own.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    _requested.clear()
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _requested.clear()


def raise_if_requested() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived within honoured(), even one Python swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt
