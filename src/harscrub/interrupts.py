"""Ctrl-C, SIGTERM and SIGHUP: every one unwinds the run as KeyboardInterrupt, none is lost.

Unwinding (rather than dying) is what removes a temp file on the way out. Python itself loses
an exception raised while a finalizer (`__del__`, a weakref callback) runs: it prints
"Exception ignored in ..." and carries on, and a run blocked reading a pipe would then wait
for ever. The unraisable hook below sends such an interrupt again, a moment later, outside the
finalizer.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

# SIGALRM is an interrupt sent again (see _unraisable): held and handled like the others.
INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM})

# Long enough for the finalizer to return first, short enough to be immediate to a person.
_AGAIN_AFTER = 0.01


def install() -> None:
    """Make SIGTERM and SIGHUP unwind like Ctrl-C, and never let one of them be lost."""
    for signum in INTERRUPTS - {signal.SIGINT}:  # Python's own for SIGINT raises already
        signal.signal(signum, interrupt)
    sys.unraisablehook = _unraisable


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def hold() -> set[signal.Signals] | None:
    """Block the interrupts in this thread; returns what release needs."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)


def release(held: set[signal.Signals] | None) -> None:
    """Undo hold; an interrupt that came in between is raised now."""
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _unraisable(unraisable: Any) -> None:
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        # Not raise_signal: it runs the handler at once, still inside the finalizer.
        signal.setitimer(signal.ITIMER_REAL, _AGAIN_AFTER)
        return
    sys.__unraisablehook__(unraisable)
