"""Progress reporting. The executor emits `StepEvent`s to a `Reporter`; reporters only render.

* `PlainReporter` (CI, non-TTY): one line per state change, flushed immediately, e.g.
  `[+00:25:03] done     create Campaign/related (ACTIVE after 25m03s, typical ~25m)`.
* `RichReporter` (terminal): a live table, one row per step: status, elapsed vs typical duration.
* `RecordingReporter` (tests): keeps the events.

Times are the apply clock's (virtual in tests and `--local`), shown relative to the start of the apply.
Reporters are called from worker threads; each guards its own state.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any, Protocol


class EventKind(StrEnum):
    STARTED = "start"
    STATUS = "status"
    DONE = "done"
    FAILED = "FAILED"
    SKIPPED = "skipped"
    RUNNING = "running"
    """Still running when apply stopped waiting (timeout or --no-wait)."""
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class StepEvent:
    step: str
    """Step label: `create Campaign/related`, `train Solution/sims`, `delete Filter/old`."""
    kind: EventKind
    at: float
    """Clock time of the event."""
    status: str = ""
    """Resource status when known (ACTIVE, CREATE IN_PROGRESS...)."""
    elapsed: float = 0.0
    """Seconds since the step started."""
    typical: float | None = None
    """Typical duration of the step in seconds (shown next to elapsed)."""
    message: str = ""


class Reporter(Protocol):
    def event(self, event: StepEvent) -> None:
        """Called on every step state change (from worker threads)."""
        ...

    def close(self) -> None:
        """The apply finished; stop any live display."""
        ...


def fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{s:02d}s"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


def _typical(typical: float | None) -> str:
    return f"~{fmt_duration(typical)}" if typical else ""


_STATUS_WORDS = {
    "CREATE PENDING": "pending",
    "CREATE IN_PROGRESS": "in progress",
    "CREATE STOPPING": "stopping",
    "CREATE STOPPED": "stopped",
    "CREATE FAILED": "failed",
    "DELETE PENDING": "deletion pending",
    "DELETE IN_PROGRESS": "being deleted",
    "STOP PENDING": "stop pending",
    "STOP IN_PROGRESS": "stopping",
    "START PENDING": "start pending",
    "START IN_PROGRESS": "starting",
}


def status_words(step: str, status: str) -> str:
    """What a status means for the step: an update or promotion of an existing resource reports its
    `latest*Update` with CREATE statuses ("update pending", not "CREATE PENDING"); schemas have no status."""
    if not status or " Schema/" in f" {step}":
        return ""
    verb = step.split(" ", 1)[0]
    if verb in ("update", "promote", "start", "stop") and status.startswith("CREATE "):
        return f"{'update' if verb == 'promote' else verb} {_STATUS_WORDS.get(status, status.lower())}"
    return status


class RecordingReporter:
    def __init__(self) -> None:
        self.events: list[StepEvent] = []
        self._lock = threading.Lock()

    def event(self, event: StepEvent) -> None:
        with self._lock:
            self.events.append(event)

    def close(self) -> None:
        pass

    def of(self, kind: EventKind) -> list[StepEvent]:
        return [e for e in self.events if e.kind is kind]


class NullReporter:
    def event(self, event: StepEvent) -> None:
        pass

    def close(self) -> None:
        pass


class PlainReporter:
    """One line per state change."""

    def __init__(self, stream: IO[str] | None = None, *, start: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.start = start
        self._lock = threading.Lock()
        self._last_at: float | None = None
        self._finished: set[str] = set()

    def line(self, event: StepEvent) -> str:
        status = status_words(event.step, event.status)
        typical_seconds = None if " Schema/" in f" {event.step}" else event.typical
        event = StepEvent(
            event.step, event.kind, event.at, status, event.elapsed, typical_seconds, event.message
        )
        rel = event.at - (self.start if self.start is not None else event.at)
        sign = "+" if rel >= 0 else "-"
        h, rest = divmod(int(abs(rel)), 3600)
        m, s = divmod(rest, 60)
        stamp = f"[{sign}{h:02d}:{m:02d}:{s:02d}]"
        head = f"{stamp} {event.kind.value:<8} {event.step}"
        detail: list[str] = []
        if event.kind is EventKind.STATUS:
            typical = _typical(event.typical)
            detail.append(
                f"{event.status} ({fmt_duration(event.elapsed)}{' of ' + typical if typical else ''})"
            )
        elif event.kind is EventKind.DONE:
            status = f"{event.status} " if event.status else ""
            typical = f", typical {_typical(event.typical)}" if event.typical else ""
            detail.append(f"({status}after {fmt_duration(event.elapsed)}{typical})")
        elif event.kind is EventKind.RUNNING:
            detail.append(f"still {event.status or 'running'} after {fmt_duration(event.elapsed)}")
        elif event.status:
            detail.append(event.status)
        if event.message:
            detail.append(event.message if not detail else f"- {event.message}")
        return head + (": " if event.kind is EventKind.FAILED else " ") + " ".join(detail) if detail else head

    def event(self, event: StepEvent) -> None:
        with self._lock:
            if self.start is None:
                self.start = event.at
            if event.kind is EventKind.STATUS and event.step in self._finished:
                return  # a poll that lost the race with the step's end: the end was printed already
            if event.kind in (EventKind.DONE, EventKind.FAILED, EventKind.SKIPPED):
                self._finished.add(event.step)
            elif event.kind is EventKind.STARTED:
                self._finished.discard(event.step)
            # worker threads report concurrently: printed times never go backwards
            if self._last_at is not None and event.at < self._last_at:
                event = StepEvent(
                    event.step,
                    event.kind,
                    self._last_at,
                    event.status,
                    event.elapsed,
                    event.typical,
                    event.message,
                )
            self._last_at = event.at
            self.stream.write(self.line(event).rstrip() + "\n")
            self.stream.flush()

    def close(self) -> None:
        pass


class RichReporter:
    """A live table per step for terminals (rich)."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console()
        self._rows: dict[str, StepEvent] = {}
        self._started: dict[str, float] = {}
        self._notes: list[str] = []
        self._lock = threading.Lock()
        self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
        self._started_live = False  # started on the first event, so a plan and a prompt can come first

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(show_header=True, header_style="bold", expand=False)
        table.add_column("step")
        table.add_column("status")
        table.add_column("elapsed", justify="right")
        table.add_column("typical", justify="right")
        styles = {
            EventKind.DONE: "green",
            EventKind.FAILED: "bold red",
            EventKind.SKIPPED: "yellow",
            EventKind.RUNNING: "cyan",
        }
        for step, ev in self._rows.items():
            status = status_words(step, ev.status) or ev.kind.value
            if ev.kind in (EventKind.DONE, EventKind.FAILED, EventKind.SKIPPED):
                status = f"{ev.kind.value} {ev.status}".strip() if ev.kind is not EventKind.DONE else status
            if ev.message and ev.kind in (EventKind.FAILED, EventKind.SKIPPED):
                status += f": {ev.message}"
            table.add_row(
                step,
                f"[{styles[ev.kind]}]{status}[/]" if ev.kind in styles else status,
                fmt_duration(ev.elapsed),
                _typical(ev.typical),
            )
        return table

    def event(self, event: StepEvent) -> None:
        with self._lock:
            if event.kind is EventKind.NOTE:
                self.console.print(f"{event.step}: {event.message}")
                return
            previous = self._rows.get(event.step)
            finished = (EventKind.DONE, EventKind.FAILED, EventKind.SKIPPED)
            if event.kind is EventKind.STATUS and previous is not None and previous.kind in finished:
                return  # a poll that lost the race with the step's end must not overwrite it
            self._rows[event.step] = event
            if not self._started_live:
                self._live.start()
                self._started_live = True
            self._live.update(self._table(), refresh=True)

    def close(self) -> None:
        with self._lock:
            if self._started_live:
                self._live.update(self._table(), refresh=True)
                self._live.stop()


def make_reporter(stream: IO[str] | None = None, *, interactive: bool | None = None) -> Reporter:
    """Rich live view on a terminal, plain lines otherwise (CI)."""
    out = stream if stream is not None else sys.stdout
    if interactive is None:
        interactive = bool(getattr(out, "isatty", lambda: False)())
    if interactive:
        from rich.console import Console

        return RichReporter(Console(file=out))
    return PlainReporter(out)
