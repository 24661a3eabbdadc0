"""Ctrl-C that always stops a run.

Python raises KeyboardInterrupt in whatever code runs when SIGINT arrives; inside a weakref
callback or a ``__del__`` it only prints "Exception ignored" and the run goes on (seen in CI).
Inside :func:`stop_on_sigint`, SIGINT also sets :data:`STOP`, and the simulators that step every
plant step call :func:`check_stop`, which raises KeyboardInterrupt again from an ordinary frame.
Inside :func:`sigint_deferred` (a world's shutdown, which finishes the record) SIGINT only sets
:data:`STOP`, for the caller to read when the cleanup is done.
Nothing changes where SIGINT is ignored (e.g. a background job) or handled by someone else.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

STOP = threading.Event()
DEFER = threading.Event()


@contextmanager
def stop_on_sigint():
    """While inside (main thread, Python's default SIGINT handler in place): SIGINT sets STOP and
    raises KeyboardInterrupt."""
    STOP.clear()
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def handler(signum, frame):
        STOP.set()
        if not DEFER.is_set():
            raise KeyboardInterrupt("stop requested (Ctrl-C)")

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        STOP.clear()


@contextmanager
def sigint_deferred():
    """Inside (and inside :func:`stop_on_sigint`): SIGINT sets STOP without raising, so what runs
    here is not torn; read STOP afterwards."""
    DEFER.set()
    try:
        yield
    finally:
        DEFER.clear()


def check_stop() -> None:
    """Raise KeyboardInterrupt if SIGINT arrived inside :func:`stop_on_sigint`."""
    if STOP.is_set():
        raise KeyboardInterrupt("stop requested (Ctrl-C)")
