"""What an apply did: per-step outcomes, counts, failures with what they blocked, what is still running."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.apply.graph import Outcome
from reconciler.apply.progress import fmt_duration, status_words


class Phase:
    """Step phases (the verb in step labels). One change becomes one or two steps."""

    CREATE = "create"
    REPLACE_CREATE = "create replacement"
    UPDATE = "update"
    ADOPT = "adopt"
    IMPORT = "import"
    TRAIN = "train"
    PROMOTE = "promote"
    DELETE = "delete"
    REPLACE_DELETE = "delete replaced"
    WAIT = "wait for"
    """Work an earlier apply left running (a training, an import, an update)."""


#: Phase -> counter in the summary line.
COUNTERS = {
    Phase.CREATE: "created",
    Phase.REPLACE_CREATE: "replaced",
    Phase.UPDATE: "updated",
    Phase.ADOPT: "adopted",
    Phase.IMPORT: "imported",
    Phase.TRAIN: "trained",
    Phase.PROMOTE: "promoted",
    Phase.DELETE: "deleted",
}

SUMMARY_ORDER = ("created", "updated", "trained", "promoted", "deleted")
EXTRA_ORDER = ("imported", "adopted", "replaced")


@dataclass
class StepRecord:
    key: str
    label: str
    address: str
    phase: str
    outcome: Outcome
    message: str = ""
    status: str = ""
    cause: str | None = None
    started: float | None = None
    finished: float | None = None
    did_work: bool = True
    """False when the step found everything already done (a rerun after a crash)."""
    held_back: bool = False


@dataclass
class ApplyReport:
    stack: str
    steps: list[StepRecord] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    """One entry per promotion the gate refused, with both versions' metrics."""
    started: float = 0.0
    finished: float = 0.0
    mutating_calls: int = 0
    describe_calls: int = 0
    outputs_file: str | None = None
    notes: list[str] = field(default_factory=list)

    def by_outcome(self, outcome: Outcome) -> list[StepRecord]:
        return [s for s in self.steps if s.outcome is outcome]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((*SUMMARY_ORDER, *EXTRA_ORDER), 0)
        for step in self.by_outcome(Outcome.DONE):
            counter = COUNTERS.get(step.phase)
            if counter and not step.held_back:
                counts[counter] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """1 when something failed, 3 when work is still running (rerun to continue), else 0."""
        if self.by_outcome(Outcome.FAILED) or self.by_outcome(Outcome.SKIPPED):
            return 1
        if self.by_outcome(Outcome.RUNNING) or self.by_outcome(Outcome.PENDING):
            return 3
        return 0

    def summary_line(self) -> str:
        counts = self.counts
        main = ", ".join(f"{counts[k]} {k}" for k in SUMMARY_ORDER)
        extra = ", ".join(f"{counts[k]} {k}" for k in EXTRA_ORDER if counts[k])
        tail = f" ({extra})" if extra else ""
        code = self.exit_code
        if code == 0:
            head = "Apply complete"
        elif code == 3:
            head = "Apply stopped waiting, work still running"
        else:
            head = "Apply failed"
        return f"{head}: {main}{tail}."

    def details(self) -> list[str]:
        """Failures (with failureReason and what they blocked), held-back promotions, work still running."""
        lines: list[str] = []
        labels = {s.key: s.label for s in self.steps}
        for failed in self.by_outcome(Outcome.FAILED):
            lines.append(f"FAILED {failed.label}: {failed.message}")
            blocked = [s.label for s in self.by_outcome(Outcome.SKIPPED) if s.cause == failed.key]
            if blocked:
                lines.append("  skipped because of it: " + ", ".join(blocked))
        for held in self.held_back:
            lines.append(f"held back: {held}")
        running = self.by_outcome(Outcome.RUNNING)
        if running:
            lines.append("still running (rerun apply to continue):")
            for step in running:
                spent = fmt_duration((step.finished or 0) - (step.started or 0))
                # the progress lines' words: an update's CREATE PENDING is "update pending"
                status = status_words(step.label, step.status) if step.status else ""
                lines.append(f"  {step.label}: {status or 'in progress'} after {spent}")
        for step in self.by_outcome(Outcome.PENDING):
            lines.append(
                f"  not started yet: {step.label} (waits for {labels.get(step.cause or '', step.cause)})"
            )
        lines.extend(self.notes)
        return lines

    @property
    def makespan(self) -> float:
        return self.finished - self.started
