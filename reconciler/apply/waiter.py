"""Polling waits for Personalize's asynchronous operations.

Personalize has no botocore waiters, so apply polls Describe* itself. The schedule is derived from how long
the wait is expected to take (`typical_duration`), so that completion is noticed promptly without hammering
the API:

* the first read happens immediately (many describes already return the final status);
* then the interval is about 10 % of the time already waited (so the delay between the resource becoming
  ready and apply noticing it stays within ~10 % of the wait: exponential backoff in disguise, since the
  elapsed time grows geometrically), never below a floor of `typical/100` (1 s .. 30 s) and never above a
  cap of `typical/4` (5 s .. 10 min);
* every interval is shortened by a random jitter of up to 25 % (seeded, so tests are reproducible), so
  parallel waits do not poll in lock step and the 10 % bound still holds.

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
class Backoff:
    """The polling schedule for one wait (see the module docstring)."""

    floor: float
    cap: float
    fraction: float = 0.1
    jitter: float = 0.25

    @classmethod
    def for_typical(cls, typical_duration: float) -> Backoff:
        typical = max(float(typical_duration), 1.0)
        return cls(floor=min(max(typical / 100.0, 1.0), 30.0), cap=min(max(typical / 4.0, 5.0), 600.0))

    def interval(self, waited: float, rng: random.Random) -> float:
        base = min(max(self.fraction * waited, self.floor), self.cap)
        return base * (1.0 - self.jitter * rng.random())


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
) -> WaitResult:
    """Poll `read_fn` until it returns a status in `ready`; return how it went.

    `read_fn` returns the current status, or None when the resource does not exist (reported as `GONE`:
    put `GONE` in `ready` to wait for a delete). Statuses are compared after `normalize_status`.
    Raises `WaitFailed` on a status in `failed`, `WaitTimeout` when `timeout` seconds (or the absolute
    `deadline`, whichever comes first) pass first. `on_status` is called on every status change.
    """
    ready_set = {normalize_status(s) for s in ready}
    failed_set = {normalize_status(s) for s in failed}
    backoff = Backoff.for_typical(typical_duration)
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
        pause = backoff.interval(now - started, rng)
        if end is not None:
            if now >= end:
                raise WaitTimeout(status, result)
            pause = min(pause, end - now)
        clock.sleep(pause)
