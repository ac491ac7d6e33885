"""Clocks. The emulator never sleeps and runs no threads: it reads ``clock.now()`` on each request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

#: 2026-01-01T00:00:00Z, the default start of virtual time (fixed so test runs are reproducible).
DEFAULT_EPOCH = 1_767_225_600.0


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds (virtual or real)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Virtual time that only moves when told to: ``sleep`` and ``advance`` return immediately."""

    def __init__(self, start: float = DEFAULT_EPOCH) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds

    def ensure_not_before(self, instant: float) -> None:
        """Move forward to ``instant`` if the clock is behind it (used when restoring saved state)."""
        with self._lock:
            self._now = max(self._now, instant)


class ScaledClock:
    """The host's real time, durations shortened ``scale`` times (demo: 45 minutes of training in seconds).

    ``now()`` is the wall clock (so ``creationDateTime`` agrees with the host and with S3's ``LastModified``),
    plus whatever explicit ``advance`` calls added: only ``advance`` moves the clock ahead of the host.
    The emulator divides every duration by ``scale`` (``PersonalizeEmulator.time_scale``), and
    ``sleep(s)`` sleeps ``s / scale`` real seconds, so a waiter polling every virtual minute polls often."""

    def __init__(
        self,
        scale: float,
        start: float | None = None,
        *,
        wall: Callable[[], float] = time.time,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.scale = float(scale)
        self._wall = wall
        self._sleeper = sleeper
        self._offset = 0.0 if start is None else float(start) - wall()
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._wall() + self._offset

    @property
    def offset(self) -> float:
        """Seconds the clock runs ahead of the host (the sum of explicit ``advance`` calls)."""
        with self._lock:
            return self._offset

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._sleeper(seconds / self.scale)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._offset += seconds

    def ensure_not_before(self, instant: float) -> None:
        behind = instant - self.now()
        if behind > 0:
            self.advance(behind)
