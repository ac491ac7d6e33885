"""The executor against the emulator on an empty account (no live reader needed: the live state is empty)."""

from __future__ import annotations

from reconciler.apply.graph import Outcome
from reconciler.apply.progress import EventKind
from reconciler.apply.report import Phase
from reconciler.model.address import Kind
from reconciler.model.state import LiveState
from reconciler.plan.types import Action

SOLUTIONS = (
    "amazon-personalize-immersionday-related-products",
    "amazon-personalize-immersionday-product-personalization",
    "amazon-personalize-immersionday-personalized-ranking",
)


def empty_live(world) -> LiveState:
    """The empty account as plan reads it (the data files' SHA-256 included: apply imports only those)."""
    return world.live()


def test_seed_stack_on_empty_account_runs_trainings_in_parallel(world) -> None:
    live = empty_live(world)
    p = world.plan(live)
    report, events = world.apply_plan(p, live)
    assert report.exit_code == 0, report.details()
    assert report.summary_line() == (
        "Apply complete: 15 created, 0 updated, 3 trained, 0 promoted, 0 deleted (3 imported)."
    )
    trains = [s for s in report.steps if s.phase == Phase.TRAIN]
    assert len(trains) == 3
    # the three trainings overlap in time (they run at once)
    latest_start = max(s.started for s in trains)
    earliest_end = min(s.finished for s in trains)
    assert latest_start < earliest_end
    # makespan close to the critical path (each duration includes the 10 s pending phase): group 70 +
    # dataset 70 + import 610 + training 2710 + campaign 1510 = 4970 s (the solutions are created meanwhile);
    # polling around each expected completion notices it within ~1 %
    assert 4970 <= report.makespan <= 4970 * 1.02
    # the emulator holds exactly one of everything, and one version per solution
    versions = world.personalize.list_solution_versions()["solutionVersions"]
    assert len(versions) == 3
    assert len(world.personalize.list_campaigns()["campaigns"]) == 3
    started = [e.step for e in events.of(EventKind.STARTED)]
    assert len(started) == len(set(started)) == len(report.steps)


def test_failed_training_reports_reason_skips_its_campaign_and_others_finish(world) -> None:
    failing = SOLUTIONS[0]
    world.emulator.control.fail_next("solution_version", f"dev-{failing}", reason="Not enough interactions.")
    live = empty_live(world)
    report, events = world.apply_plan(world.plan(live), live)
    assert report.exit_code == 1
    failed = report.by_outcome(Outcome.FAILED)
    assert [s.label for s in failed] == [f"train Solution/{failing}"]
    assert "CREATE FAILED" in failed[0].message and "Not enough interactions." in failed[0].message
    skipped = report.by_outcome(Outcome.SKIPPED)
    assert [s.label for s in skipped] == [f"create Campaign/{failing}"]
    details = "\n".join(report.details())
    assert "skipped because of it: create Campaign/" + failing in details
    # independent branches finished: two campaigns serve
    campaigns = world.personalize.list_campaigns()["campaigns"]
    assert sorted(c["name"] for c in campaigns) == sorted(f"dev-{s}" for s in SOLUTIONS[1:])
    assert report.summary_line().startswith("Apply failed: 14 created")
    assert events.of(EventKind.FAILED)


def test_timeout_leaves_work_running_and_says_so(world) -> None:
    live = empty_live(world)
    report, _ = world.apply_plan(world.plan(live), live, timeout=30 * 60)
    assert report.exit_code == 3
    running = report.by_outcome(Outcome.RUNNING)
    assert sorted(s.label for s in running) == sorted(f"train Solution/{s}" for s in SOLUTIONS)
    assert all(s.status == "CREATE IN_PROGRESS" for s in running)
    pending = report.by_outcome(Outcome.PENDING)
    assert sorted(s.label for s in pending) == sorted(f"create Campaign/{s}" for s in SOLUTIONS)
    assert report.makespan <= 30 * 60 + 1
    assert "still running (rerun apply to continue):" in report.details()
    assert report.summary_line().startswith("Apply stopped waiting, work still running:")


def test_no_wait_starts_work_and_exits(world) -> None:
    live = empty_live(world)
    report, _ = world.apply_plan(world.plan(live), live, no_wait=True)
    assert report.exit_code == 3
    # short creates were waited for, long work (imports here) was started and left running
    assert {s.phase for s in report.by_outcome(Outcome.RUNNING)} == {Phase.IMPORT}
    assert report.makespan < 600


def test_disallowed_change_is_refused_by_the_executor(world) -> None:
    from dataclasses import replace

    live = empty_live(world)
    p = world.plan(live)
    changes = tuple(
        replace(c, allowed=False, notes=("deletionProtection is set",))
        if c.address.kind is Kind.FILTER and c.action is Action.CREATE
        else c
        for c in p.changes
    )
    report, _ = world.apply_plan(replace(p, changes=changes), live)
    failed = report.by_outcome(Outcome.FAILED)
    assert [s.address for s in failed] == ["Filter/immersion-day-filter-purchased-products"]
    assert "not allowed" in failed[0].message
    assert world.personalize.list_filters()["Filters"] == []


def test_interrupt_stops_waiting_and_starts_nothing_new(world) -> None:
    from reconciler.apply.executor import ApplyOptions, Executor
    from reconciler.apply.progress import RecordingReporter

    live = empty_live(world)

    class InterruptAtFirstTraining(RecordingReporter):
        executor: Executor | None = None

        def event(self, event) -> None:
            super().event(event)
            if event.kind is EventKind.STARTED and event.step.startswith("train") and self.executor:
                self.executor.interrupt()

    reporter = InterruptAtFirstTraining()
    executor = Executor(
        world.plan(live),
        world.desired,
        live,
        personalize=world.personalize,
        clock=world.clock,
        s3=world.target.s3,
        reporter=reporter,
        options=ApplyOptions(),
    )
    reporter.executor = executor
    report = executor.run()
    assert report.exit_code == 3
    assert report.by_outcome(Outcome.FAILED) == []
    assert world.personalize.list_campaigns()["campaigns"] == []  # nothing started after the interrupt
    assert len(world.personalize.list_solution_versions()["solutionVersions"]) <= 3
