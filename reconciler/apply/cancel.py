"""Cancellation that reaches every wait of apply (issue 11, finding 7).

Every loop of the executor that pauses (a wait for a job slot, for the account's quota of pending jobs, for
dependents to go before a delete, before retrying a step) pauses through `pause()`: when apply was
interrupted (Ctrl-C, a lost lock) before or during the pause, the step stops with `StillRunning` instead of
going on to send its call. `check()` is the same test without a pause, for the moment right before a call.
"""

from __future__ import annotations

import threading

from reconciler.apply.graph import StillRunning
from reconciler.apply.waiter import Clock

INTERRUPTED = "not started: apply was interrupted"


def check(cancel: threading.Event, waiting_for: str = "") -> None:
    """Raise StillRunning when apply was interrupted."""
    if cancel.is_set():
        raise StillRunning(f"{INTERRUPTED} ({waiting_for})" if waiting_for else INTERRUPTED)


def pause(clock: Clock, cancel: threading.Event, seconds: float, waiting_for: str = "") -> None:
    """Sleep `seconds` on `clock` unless apply is (or gets) interrupted; then raise StillRunning."""
    check(cancel, waiting_for)
    clock.sleep(seconds)
    check(cancel, waiting_for)
