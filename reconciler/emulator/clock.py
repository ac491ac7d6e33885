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
    """Virtual time running ``scale`` times faster than wall time (demo: 45 minutes of training in seconds).

    ``sleep(s)`` sleeps ``s / scale`` real seconds. ``advance(s)`` jumps virtual time forward instantly."""

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
        self._wall0 = wall()
        self._virtual0 = self._wall0 if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._virtual0 + (self._wall() - self._wall0) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._sleeper(seconds / self.scale)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._virtual0 += seconds

    def ensure_not_before(self, instant: float) -> None:
        behind = instant - self.now()
        if behind > 0:
            self.advance(behind)
