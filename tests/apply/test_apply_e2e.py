"""apply end to end on the emulator: plan -> apply -> plan again shows nothing to do."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reconciler.apply.lock import DEFAULT_LEASE, StackLock
from reconciler.apply.progress import EventKind, RecordingReporter
from reconciler.errors import LockHeldError, StalePlanError, TargetError

CAMPAIGNS = (
    "amazon-personalize-immersionday-related-products",
    "amazon-personalize-immersionday-product-personalization",
    "amazon-personalize-immersionday-personalized-ranking",
)


def converged(world) -> None:
    p = world.plan()
    pending = [f"{c.action} {c.address} {c.reasons}" for c in p.changes if c.action != "no-op"]
    assert not p.has_changes, pending


def test_sample_manifests_on_empty_account_then_no_changes_and_zero_mutations(world) -> None:
    result = world.apply()
    assert result.exit_code == 0, result.summary().details()
    assert result.summary().summary_line() == (
        "Apply complete: 15 created, 0 updated, 3 trained, 0 promoted, 0 deleted (3 imported)."
    )
    converged(world)
    before = world.mutating_calls()
    again = world.apply()
    assert again.exit_code == 0 and again.report is None  # nothing to do
    assert world.mutating_calls() == before
    outputs = json.loads((world.manifests / "personalize-outputs.retail-dev.json").read_text())
    assert sorted(outputs["campaigns"]) == sorted(CAMPAIGNS)
    assert all(c["arn"].startswith("arn:aws:personalize:") for c in outputs["campaigns"].values())
    assert outputs["eventTrackers"]["retaildemostore-event-tracker"]["trackingId"]
    assert "immersion-day-filter-purchased-products" in outputs["filters"]
    assert all(s["solutionVersionArn"] for s in outputs["solutions"].values())


def test_timeout_exits_3_then_rerun_continues_without_second_training(world) -> None:
    first = world.apply(options={"timeout": 30 * 60})
    assert first.exit_code == 3
    assert "still running (rerun apply to continue):" in first.summary().details()
    second = world.apply()
    assert second.exit_code == 0, second.summary().details()
    versions = world.personalize.list_solution_versions()["solutionVersions"]
    assert len(versions) == 3  # the trainings started by the first apply were continued, not repeated
    assert len(world.personalize.list_campaigns()["campaigns"]) == 3
    converged(world)


def test_second_concurrent_apply_exits_4_and_changes_nothing(world) -> None:
    outcome: dict[str, object] = {}

    class SecondApplyOnFirstStep(RecordingReporter):
        def event(self, event) -> None:
            super().event(event)
            if event.kind is EventKind.STARTED and "second" not in outcome:
                outcome["second"] = None
                calls = len(world.emulator.calls)
                try:
                    world.apply(lock_owner="bob@laptop pid 2")
                except LockHeldError as exc:
                    outcome["second"] = exc
                outcome["calls"] = len(world.emulator.calls) - calls

    result = world.apply(reporter=SecondApplyOnFirstStep(), lock_owner="alice@ci pid 1")
    assert result.exit_code == 0
    error = outcome["second"]
    assert isinstance(error, LockHeldError) and error.exit_code == 4
    assert "alice@ci pid 1" in error.message
    # the lock is released at the end: a later apply gets it
    assert world.apply().exit_code == 0


def test_lock_of_a_killed_apply_is_taken_over_after_its_lease_expires(world) -> None:
    # a CI job killed mid-apply: its lease is never renewed nor released
    StackLock(
        world.target.ssm, world.desired.stack.name, clock=world.clock, owner="dead@runner pid 7"
    ).acquire()
    world.clock.advance(DEFAULT_LEASE / 2)
    with pytest.raises(LockHeldError, match="dead@runner pid 7") as refused:
        world.apply()
    assert "lease renewed 60 s ago" in refused.value.message and refused.value.exit_code == 4
    assert world.mutating_calls() == 0
    world.clock.advance(DEFAULT_LEASE / 2 + 1)
    result = world.apply()
    assert result.exit_code == 0
    assert result.broke_lock_of is not None and result.broke_lock_of.startswith("dead@runner pid 7")
    assert "expired 1 s ago" in result.broke_lock_of and "taken over" in result.broke_lock_of


def test_apply_whose_lease_was_taken_over_stops_and_says_so(world) -> None:
    """Fencing in practice: an apply that could not renew its lease (here: 121 s of account time went by in
    one step) and was taken over stops once its heartbeat finds the newer epoch; nothing starts after that."""
    import threading
    import time

    sent_after: list[str] = []
    seen = {"taken": False}
    noticed = threading.Event()

    def heartbeat_read(parsed: object = None, **_: object) -> None:
        # the heartbeat's read that finds the intruder's epoch (judged by what it read, not by when: a tick
        # can land between the intruder's write and the line below that records it)
        if threading.current_thread().name.startswith("lock-heartbeat") and "intruder" in json.dumps(
            parsed, default=str
        ):
            noticed.set()

    def record(model, **_: object) -> None:
        if noticed.is_set() and model.name.startswith(("Create", "Update", "Delete", "Start", "Stop", "Tag")):
            sent_after.append(model.name)

    world.target.ssm.meta.events.register("after-call.ssm.GetParametersByPath", heartbeat_read)
    world.personalize.meta.events.register("before-call.personalize.*", record)

    class TakeOverAtFirstTraining(RecordingReporter):
        def event(self, event) -> None:
            super().event(event)
            if event.kind is EventKind.STARTED and event.step.startswith("train") and not seen["taken"]:
                for _ in range(5):
                    world.clock.advance(DEFAULT_LEASE + 1)
                    try:
                        StackLock(
                            world.target.ssm, world.desired.stack.name, clock=world.clock, owner="intruder"
                        ).acquire()
                        break
                    except LockHeldError:  # a heartbeat tick renewed the lease in between: expire it again
                        continue
                seen["taken"] = True
                assert noticed.wait(timeout=10), "the heartbeat never looked at the lock again"
                time.sleep(0.1)

    result = world.apply(reporter=TakeOverAtFirstTraining(), lock_owner="slow apply")
    assert seen["taken"] and noticed.is_set()
    assert result.lock_lost and result.exit_code == 1
    assert "taken over during this apply by intruder" in "\n".join(result.report.notes)
    assert sent_after == [], f"calls sent after the apply knew it lost the lock: {sent_after}"
    # the stopped apply did not release the lock: the newest epoch is still the intruder's, held (whether its
    # lease has run out meanwhile depends on how far the other steps' waits moved the account's clock)
    newest = StackLock(world.target.ssm, world.desired.stack.name, clock=world.clock).current()
    assert newest is not None and (newest.owner, newest.state) == ("intruder", "held")


def test_break_lock_shows_the_holder_and_its_lease_age(world) -> None:
    StackLock(
        world.target.ssm, world.desired.stack.name, clock=world.clock, owner="stuck@runner pid 8"
    ).acquire()
    world.clock.advance(20)
    result = world.apply(break_lock=True)
    assert result.broke_lock_of is not None and result.broke_lock_of.startswith("stuck@runner pid 8")
    assert "lease renewed 20 s ago" in result.broke_lock_of
    assert result.exit_code == 0


def test_account_guard(world) -> None:
    settings = world.desired.stack.settings.model_copy(update={"accountId": "999999999999"})
    world.desired = replace(world.desired, stack=replace(world.desired.stack, settings=settings))
    with pytest.raises(TargetError, match="999999999999"):
        world.apply()
    assert world.mutating_calls() == 0


def test_stale_saved_plan_is_refused(world) -> None:
    assert world.apply().exit_code == 0
    saved = world.plan(retrain=frozenset({CAMPAIGNS[0]}))
    # someone changes a live resource after the plan was saved
    campaign = world.personalize.list_campaigns()["campaigns"][0]["campaignArn"]
    world.personalize.update_campaign(campaignArn=campaign, minProvisionedTPS=3)
    mutations = world.mutating_calls()
    with pytest.raises(StalePlanError, match="live resources changed"):
        world.apply(saved_plan=saved, plan_options={"retrain": frozenset({CAMPAIGNS[0]})})
    assert world.mutating_calls() == mutations
    # and a plan made from other manifests is refused too
    other = replace(saved, manifests_digest="0" * 64)
    with pytest.raises(StalePlanError, match="manifests changed"):
        world.apply(saved_plan=other)


def test_saved_plan_that_is_current_is_applied(world) -> None:
    saved = world.plan()
    result = world.apply(saved_plan=saved)
    assert result.exit_code == 0
    converged(world)
