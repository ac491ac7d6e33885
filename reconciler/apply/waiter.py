"""Polling waits for Personalize's asynchronous operations.

Personalize has no botocore waiters, so apply polls Describe* itself. The schedule is built around when the
operation is expected to finish: its typical duration (`typical_duration`, per kind, training mode or job)
counted from when the operation started (`since`: the resource's own creation time when the caller knows
it, so a training that was already running when apply began is not waited for from zero):

* the first read happens immediately (many describes already return the final status);
* before the expected completion, reads are sparse: each pause is 1.5x the time already taken (an early
  finish or a failure is still seen, at most 1.5x as late as it took), and the last pause lands exactly
  at the start of the window `(1 - window) x typical`;
* around the expected completion reads are dense: every `step x typical` (at least `min_step` seconds),
  so a completion on time is noticed within ~1 % of the duration;
* past the window (an overrun), the pause grows with the overrun (20 % of it), up to `typical / 4`;
* every pause is shortened by a seeded random jitter of up to 10 % so parallel waits do not poll in step.

The clock is injected (`now()` / `sleep()`): tests use a virtual clock and wait no wall time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds (virtual or real)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


#: Status reported by a read function when the resource does not exist (deletes wait for it).
GONE = "<gone>"


def normalize_status(status: str | None) -> str:
    """Statuses are documented as `CREATE IN_PROGRESS` and as `CREATE_IN_PROGRESS`: compare one form."""
    if status is None:
        return GONE
    return status if status == GONE else status.replace("_", " ").replace("IN PROGRESS", "IN_PROGRESS")


@dataclass(frozen=True, slots=True)
class WaitResult:
    status: str
    """The final (ready) status, normalized."""
    started: float
    finished: float
    """Clock time of the read that saw the final status."""
    polls: int
    """Read calls spent (including the first, immediate one)."""

    @property
    def elapsed(self) -> float:
        return self.finished - self.started


class WaitFailed(Exception):
    """The resource reached a failed status (for example CREATE FAILED)."""

    def __init__(self, status: str, result: WaitResult) -> None:
        super().__init__(f"reached {status}")
        self.status = status
        self.result = result


class WaitTimeout(Exception):
    """The deadline passed while the resource was still in a transitional status."""

    def __init__(self, last_status: str, result: WaitResult) -> None:
        super().__init__(f"still {last_status} when the deadline passed")
        self.last_status = last_status
        self.result = result


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to read next during one wait (see the module docstring). Times are seconds since the operation
    started."""

    typical: float
    window: float = 0.03
    step: float = 0.01
    min_step: float = 4.0
    growth: float = 1.5
    """Before the window, pause = growth x the time already taken (1.5: the elapsed time grows 2.5x)."""
    overrun: float = 0.2
    jitter: float = 0.1

    @classmethod
    def for_typical(cls, typical_duration: float) -> Schedule:
        return cls(typical=max(float(typical_duration), 1.0))

    @property
    def fine(self) -> float:
        """The pause around the expected completion."""
        return max(self.step * self.typical, self.min_step)

    @property
    def cap(self) -> float:
        return max(self.typical / 4.0, self.fine)

    def pause(self, elapsed: float, jitter: float = 0.0) -> float:
        """The pause after a read at `elapsed` seconds since the operation started; `jitter` in [0, 1)
        shortens it by up to `self.jitter` (a pause that lands on the window's start is not shortened)."""
        window_start = (1.0 - self.window) * self.typical
        shorten = 1.0 - self.jitter * jitter
        if elapsed < window_start - self.fine / 2:
            return min(max(self.growth * elapsed, self.fine) * shorten, window_start - elapsed)
        if elapsed <= (1.0 + self.window) * self.typical:
            return self.fine * shorten
        return min(self.fine + self.overrun * (elapsed - self.typical), self.cap) * shorten

    def interval(self, elapsed: float, rng: random.Random) -> float:
        return self.pause(elapsed, rng.random())


def wait_for(
    read_fn: Callable[[], str | None],
    ready: Collection[str],
    failed: Collection[str],
    clock: Clock,
    timeout: float | None,
    typical_duration: float,
    *,
    deadline: float | None = None,
    seed: int | None = 0,
    on_status: Callable[[str], None] | None = None,
    since: Callable[[], float | None] | None = None,
) -> WaitResult:
    """Poll `read_fn` until it returns a status in `ready`; return how it went.

    `read_fn` returns the current status, or None when the resource does not exist (reported as `GONE`:
    put `GONE` in `ready` to wait for a delete). Statuses are compared after `normalize_status`.
    Raises `WaitFailed` on a status in `failed`, `WaitTimeout` when `timeout` seconds (or the absolute
    `deadline`, whichever comes first) pass first. `on_status` is called on every status change. `since`,
    called after each read, returns the clock time the operation started (for example the creation time
    the describe showed) or None (then the wait's own start counts).
    """
    ready_set = {normalize_status(s) for s in ready}
    failed_set = {normalize_status(s) for s in failed}
    schedule = Schedule.for_typical(typical_duration)
    rng = random.Random(seed)
    started = clock.now()
    end = deadline
    if timeout is not None:
        end = started + timeout if end is None else min(end, started + timeout)
    polls = 0
    last: str | None = None
    while True:
        status = normalize_status(read_fn())
        polls += 1
        now = clock.now()
        if status != last and on_status is not None:
            on_status(status)
        last = status
        result = WaitResult(status=status, started=started, finished=now, polls=polls)
        if status in ready_set:
            return result
        if status in failed_set:
            raise WaitFailed(status, result)
        began = since() if since is not None else None
        origin = started if began is None else min(float(began), started)
        pause = schedule.interval(now - origin, rng)
        if end is not None:
            if now >= end:
                raise WaitTimeout(status, result)
            pause = min(pause, end - now)
        clock.sleep(pause)
