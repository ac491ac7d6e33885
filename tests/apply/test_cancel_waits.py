"""Finding 7 of issue 11: an interrupt reaches every wait, the slot waits included.

With a training slot limit of 1 the seed stack's three trainings queue for one slot; once apply is interrupted
no CreateSolutionVersion (nor any other mutating call) may be sent."""

from __future__ import annotations

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.graph import Outcome
from reconciler.apply.progress import EventKind, RecordingReporter
from reconciler.model.state import LiveState

MUTATING_PREFIXES = ("Create", "Update", "Delete", "Start", "Stop", "Tag", "Untag")


def _live(world) -> LiveState:
    """The empty account as plan reads it (the data files' SHA-256 included: apply imports only those)."""
    return world.live()


def test_no_call_is_sent_after_the_interrupt_with_a_training_slot_limit_of_one(world) -> None:
    sent: list[tuple[str, bool]] = []
    interrupted = {"yes": False}

    def record(model, **_: object) -> None:
        sent.append((model.name, interrupted["yes"]))

    world.personalize.meta.events.register("before-call.personalize.*", record)

    class InterruptWhileASlotIsAwaited(RecordingReporter):
        executor: Executor | None = None

        def event(self, event) -> None:
            super().event(event)
            waits = event.kind is EventKind.NOTE and "waiting for a slot" in event.message
            if waits and self.executor and not interrupted["yes"]:
                interrupted["yes"] = True
                self.executor.interrupt()

    live = _live(world)
    reporter = InterruptWhileASlotIsAwaited()
    executor = Executor(
        world.plan(live),
        world.desired,
        live,
        personalize=world.personalize,
        clock=world.clock,
        s3=world.target.s3,
        reporter=reporter,
        options=ApplyOptions(slots={"import": 5, "train": 1}),
    )
    reporter.executor = executor
    report = executor.run()

    assert interrupted["yes"], "no step waited for the training slot: the test did not exercise the slot wait"
    after = [name for name, late in sent if late and name.startswith(MUTATING_PREFIXES)]
    assert after == [], f"mutating calls sent after the interrupt: {after}"
    assert len(world.personalize.list_solution_versions()["solutionVersions"]) == 1
    assert report.exit_code == 3
    assert report.by_outcome(Outcome.FAILED) == []
