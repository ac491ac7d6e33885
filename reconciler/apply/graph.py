"""Run a dependency graph of steps with as much parallelism as the dependencies allow.

Each node starts as soon as every node it depends on is DONE (never before, never later than a scheduling
round trip); `graphlib.TopologicalSorter` (prepare / get_ready / done) finds cycles and the ready set. When a
dependency ends badly the node does not run:

* dependency FAILED or SKIPPED  -> node SKIPPED (`cause` names the failed step);
* dependency RUNNING (apply stopped waiting: --timeout or --no-wait) -> node PENDING (the next apply
  continues it).

Independent branches keep going after a failure.

Deletes and creates are both nodes; the executor builds the edges. The reverse-dependency order of deletes
(campaign before solution before dataset group, Terraform's `B_d -> A_d -> A -> B`) is just edges here.

Virtual time: with a virtual clock (`sleep` returns at once and advances time), parallel waits must not add up
(three trainings of 45 minutes take 45 virtual minutes, not 135). `CoordinatedClock` makes sleeping workers
wait for each other: virtual time only moves when every running step is asleep, and then only to the
earliest wake-up. Real clocks are used as they are.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from graphlib import CycleError, TopologicalSorter
from typing import Any

from reconciler.apply.waiter import Clock


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not run because something it needs failed."""
    RUNNING = "running"
    """Work started and still running when apply stopped waiting."""
    PENDING = "pending"
    """Not started because something it needs is still running (timeout / --no-wait)."""


class StepFailed(Exception):
    """A step failed for a reason to show the user (failureReason, refused change...)."""

    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class StillRunning(Exception):
    """The step's work is in progress and apply stops waiting for it (timeout or --no-wait)."""

    def __init__(self, status: str, elapsed: float = 0.0) -> None:
        super().__init__(status)
        self.status = status
        self.elapsed = elapsed


@dataclass
class Node:
    key: str
    run: Callable[[], Any]
    deps: set[str] = field(default_factory=set)
    label: str = ""


@dataclass
class NodeResult:
    outcome: Outcome
    message: str = ""
    status: str = ""
    cause: str | None = None
    """For SKIPPED/PENDING: the key of the failed / still-running step responsible."""
    value: Any = None
    started: float | None = None
    finished: float | None = None
    traceback: str | None = None
    """Set for unexpected exceptions (bugs): shown only when debugging."""


class GraphError(ValueError):
    """The graph is malformed (unknown dependency or a cycle): a bug in the executor or the plan."""


def is_virtual_clock(clock: Clock) -> bool:
    """True for clocks whose sleep returns at once (the emulator's VirtualClock or an explicit marker)."""
    marker = getattr(clock, "is_virtual", None)
    if marker is not None:
        return bool(marker)
    return type(clock).__name__ == "VirtualClock"


class CoordinatedClock:
    """A virtual clock shared by parallel workers: time advances only when every active worker sleeps."""

    is_virtual = True

    def __init__(self, base: Clock) -> None:
        self.base = base
        self._cv = threading.Condition()
        self._active = 0
        self._sleepers: list[tuple[float, int]] = []
        self._seq = itertools.count()
        self.interrupted = False

    def now(self) -> float:
        return self.base.now()

    def add_workers(self, count: int) -> None:
        with self._cv:
            self._active += count

    def worker_done(self) -> None:
        with self._cv:
            self._active -= 1
            self._maybe_advance()

    def sleep(self, seconds: float) -> None:
        with self._cv:
            wake = self.base.now() + max(seconds, 0.0)
            entry = (wake, next(self._seq))
            heapq.heappush(self._sleepers, entry)
            try:
                self._maybe_advance()
                while self.base.now() < wake and not self.interrupted:
                    self._cv.wait()
            finally:
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)

    def interrupt(self) -> None:
        """Wake every sleeper now (apply was interrupted); later sleeps return at once."""
        with self._cv:
            self.interrupted = True
            self._cv.notify_all()

    def _maybe_advance(self) -> None:
        # Called with the condition held. Everyone still running is asleep: jump to the earliest wake-up.
        if self._sleepers and len(self._sleepers) >= self._active:
            gap = self._sleepers[0][0] - self.base.now()
            if gap > 0:
                self.base.sleep(gap)
            self._cv.notify_all()


class GraphRunner:
    """Runs nodes on a thread pool as their dependencies complete; `graphlib.TopologicalSorter` schedules.

    A node is "done" for the sorter once it has a result, whatever the outcome, so its dependents become
    ready; a ready node whose dependencies did not all end DONE gets SKIPPED / PENDING instead of running
    (and is done at once, which settles its own dependents the same way)."""

    def __init__(self, nodes: Iterable[Node], *, max_workers: int | None = None, clock: Clock | None = None):
        self.nodes = {n.key: n for n in nodes}
        for node in self.nodes.values():
            unknown = node.deps - self.nodes.keys()
            if unknown:
                raise GraphError(f"step {node.key} depends on unknown steps {sorted(unknown)}")
        self._sorter: TopologicalSorter[str] = TopologicalSorter()
        for key in sorted(self.nodes):
            self._sorter.add(key, *sorted(self.nodes[key].deps))
        try:
            self._sorter.prepare()
        except CycleError as exc:
            raise GraphError("dependency cycle: " + " -> ".join(reversed(exc.args[1]))) from exc
        self.clock = clock
        self.coordinated = clock if isinstance(clock, CoordinatedClock) else None
        # With virtual time every runnable node needs its own thread, or sleeping workers would starve the
        # queue (time could not advance while queued work waits). Real time can share a bounded pool.
        default = len(self.nodes) + 1 if self.coordinated else min(32, len(self.nodes) + 1)
        self.max_workers = max_workers or default
        self.results: dict[str, NodeResult] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.on_result: Callable[[str, NodeResult], None] | None = None
        self.on_interrupt: Callable[[], None] | None = None

    def run(self) -> dict[str, NodeResult]:
        if not self.nodes:
            return {}
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="apply")
        try:
            with self._lock:
                self._advance([])
            try:
                self._done.wait()
            except KeyboardInterrupt:
                # Ctrl-C: ask running steps to stop waiting (they end RUNNING), let them finish, re-raise.
                if self.on_interrupt is not None:
                    self.on_interrupt()
                self._done.wait(timeout=60)
                raise
        finally:
            self._pool.shutdown(wait=True)
        return self.results

    def _now(self) -> float | None:
        return self.clock.now() if self.clock is not None else None

    def _submit(self, keys: list[str]) -> None:
        # Called with self._lock held. Register the workers before the current one finishes, so virtual time
        # cannot jump while runnable work is about to start.
        if self.coordinated is not None and keys:
            self.coordinated.add_workers(len(keys))
        for key in keys:
            self._pool.submit(self._work, key)

    def _work(self, key: str) -> None:
        started = self._now()
        result = self._call(self.nodes[key])
        result.started, result.finished = started, self._now()
        try:
            self._finish(key, result)
        finally:
            if self.coordinated is not None:
                self.coordinated.worker_done()

    @staticmethod
    def _call(node: Node) -> NodeResult:
        try:
            return NodeResult(Outcome.DONE, value=node.run())
        except StepFailed as exc:
            return NodeResult(Outcome.FAILED, message=exc.message, status=exc.status)
        except StillRunning as exc:
            return NodeResult(Outcome.RUNNING, status=exc.status)
        except Exception as exc:
            if hasattr(exc, "exit_code"):  # a ReconcilerError: its message says what and where
                return NodeResult(Outcome.FAILED, message=str(getattr(exc, "message", exc)))
            # a bug or an unexpected library error: short message, traceback kept for --debug output
            return NodeResult(
                Outcome.FAILED,
                message=f"unexpected error {type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)).rstrip(),
            )

    def _finish(self, key: str, result: NodeResult) -> None:
        with self._lock:
            self.results[key] = result
            self._sorter.done(key)
            all_done = self._advance([(key, result)])
        if all_done:
            self._done.set()

    def _advance(self, finished: list[tuple[str, NodeResult]]) -> bool:
        """Called with self._lock held: settle what can no longer run, start what can; True when all ended."""
        ready: list[str] = []
        batch = sorted(self._sorter.get_ready())
        while batch:
            for key in batch:
                blocked = self._blocked(key)
                if blocked is None:
                    ready.append(key)
                    continue
                self.results[key] = blocked
                finished.append((key, blocked))
                self._sorter.done(key)
            batch = sorted(self._sorter.get_ready())
        if self.on_result is not None:
            for k, r in finished:
                self.on_result(k, r)
        self._submit(ready)
        return len(self.results) == len(self.nodes)

    def _blocked(self, key: str) -> NodeResult | None:
        """None when every dependency is DONE; else the SKIPPED (a dependency failed or was skipped) or
        PENDING (one still runs) result, naming the step responsible."""
        deps = self.nodes[key].deps
        if all(self.results[d].outcome is Outcome.DONE for d in deps):
            return None
        broken = (Outcome.FAILED, Outcome.SKIPPED)
        bad = sorted(
            (d for d in deps if self.results[d].outcome is not Outcome.DONE),
            key=lambda d: 0 if self.results[d].outcome in broken else 1,
        )
        first = self.results[bad[0]]
        cause = first.cause if first.outcome in (Outcome.SKIPPED, Outcome.PENDING) else bad[0]
        return NodeResult(Outcome.SKIPPED if first.outcome in broken else Outcome.PENDING, cause=cause)
