"""Issue 11, finding 1: only the reviewed plan runs. Work that follows a wait is a conditional step of the
plan itself; whatever a read after the wait finds that the plan did not contain is reported (exit 5), never
applied. Against the emulator through real boto3 clients, in virtual time."""

from __future__ import annotations

from dataclasses import replace

from reconciler.apply.run import ACCOUNT_CHANGED_EXIT
from reconciler.model.address import Address, Kind
from reconciler.plan.types import Action

CAMPAIGN = Address(Kind.CAMPAIGN, "sims")
FILTER = Address(Kind.FILTER, "purchased")


def campaign(world) -> dict:
    arn = world.personalize.list_campaigns()["campaigns"][0]["campaignArn"]
    return world.personalize.describe_campaign(campaignArn=arn)["campaign"]


def start_training_left_running(world) -> str:
    """First apply, then `apply --retrain sims --no-wait`: the training is left running (exit 3)."""
    assert world.apply().exit_code == 0
    left = world.apply(plan_options={"retrain": frozenset({"sims"})}, options={"no_wait": True})
    assert left.exit_code == 3, left.summary().details()
    running = [
        v for v in world.personalize.list_solution_versions()["solutionVersions"] if v["status"] != "ACTIVE"
    ]
    assert len(running) == 1
    return str(running[0]["solutionVersionArn"])


def test_plan_contains_the_promotion_that_follows_a_running_training(mini) -> None:
    version = start_training_left_running(mini)
    reviewed = mini.plan()
    promote = [c for c in reviewed.changes if c.action is Action.PROMOTE]
    assert [c.address for c in promote] == [CAMPAIGN]
    assert promote[0].details["solutionVersionArn"] == version
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 0, result.summary().details()
    assert campaign(mini)["solutionVersionArn"] == version
    assert not mini.plan().has_changes


def test_a_promotion_the_plan_does_not_contain_does_not_happen(mini) -> None:
    version = start_training_left_running(mini)
    serving = campaign(mini)["solutionVersionArn"]
    # the reviewed plan waits for the training but does not promote (as plans made before conditional steps)
    full = mini.plan()
    reviewed = replace(full, changes=tuple(c for c in full.changes if c.action is not Action.PROMOTE))
    assert any(c.in_progress for c in reviewed.changes)
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == ACCOUNT_CHANGED_EXIT, result.summary().details()
    assert campaign(mini)["solutionVersionArn"] == serving  # not promoted
    assert result.summary().counts["promoted"] == 0
    details = "\n".join(result.summary().details())
    assert "the account changed: plan again" in details and f"promote {CAMPAIGN}" in details
    listed = mini.personalize.list_solution_versions()["solutionVersions"]
    assert any(v["solutionVersionArn"] == version and v["status"] == "ACTIVE" for v in listed)


def test_a_filter_deleted_outside_git_while_apply_waits_is_not_recreated(mini) -> None:
    start_training_left_running(mini)
    reviewed = mini.plan()
    reads = {"n": 0}
    real_read = mini.live

    def read_then_delete_filter():
        live = real_read()
        reads["n"] += 1
        if reads["n"] == 1:  # after apply's own read: someone deletes the filter in the console
            arn = mini.personalize.list_filters()["Filters"][0]["filterArn"]
            mini.personalize.delete_filter(filterArn=arn)
        return live

    mini.live = read_then_delete_filter
    result = mini.apply(saved_plan=reviewed)
    mini.live = real_read
    assert result.exit_code == ACCOUNT_CHANGED_EXIT, result.summary().details()
    assert mini.personalize.list_filters()["Filters"] == []  # NOT recreated
    details = "\n".join(result.summary().details())
    assert f"create {FILTER}" in details and "plan again" in details
    assert result.summary().counts["created"] == 0


def test_plan_contains_the_training_that_follows_a_running_import(mini) -> None:
    # metrics come from the data: pin equal ones so the gate passes (the gate has its own tests)
    mini.emulator.control.set_default_metrics({"normalized_discounted_cumulative_gain_at_25": 0.25})
    assert mini.apply().exit_code == 0
    csv = mini.root / "data" / "interactions.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([*lines, *lines[1:200]]) + "\n")
    left = mini.apply(options={"no_wait": True})
    assert left.exit_code == 3, left.summary().details()
    reviewed = mini.plan()
    planned = {(c.action, c.address.name) for c in reviewed.changes if c.action is not Action.NOOP}
    assert (Action.RETRAIN, "sims") in planned and (Action.PROMOTE, "sims") in planned
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 0, result.summary().details()
    counts = result.summary().counts
    assert (counts["imported"], counts["trained"], counts["promoted"]) == (0, 1, 1)
    assert not mini.plan().has_changes


def _delete_filter_after_first_read(world):
    reads = {"n": 0}
    real_read = world.live

    def read_then_delete_filter():
        live = real_read()
        reads["n"] += 1
        if reads["n"] == 1:
            arn = world.personalize.list_filters()["Filters"][0]["filterArn"]
            world.personalize.delete_filter(filterArn=arn)
        return live

    world.live = read_then_delete_filter
    return real_read


def test_interactive_apply_shows_a_new_plan_and_asks_again_when_the_account_changed(mini) -> None:
    from reconciler.commands.apply_cmd import reask_while_changed

    start_training_left_running(mini)
    _delete_filter_after_first_read(mini)
    asked, shown = [], []
    first = mini.apply(confirm=lambda p: True)
    assert first.exit_code == ACCOUNT_CHANGED_EXIT

    def again():
        return mini.apply(on_plan=shown.append, confirm=lambda p: True)

    result = reask_while_changed(first, again, lambda r: asked.append(r) or True)
    assert asked == [first] and len(shown) == 1
    planned = {(c.action, c.address) for c in shown[0].changes}
    assert (Action.CREATE, FILTER) in planned  # the new plan was shown before it ran
    assert result.exit_code == 0, result.summary().details()
    assert len(mini.personalize.list_filters()["Filters"]) == 1


def test_answering_no_keeps_exit_5_and_changes_nothing(mini) -> None:
    from reconciler.commands.apply_cmd import reask_while_changed

    start_training_left_running(mini)
    _delete_filter_after_first_read(mini)
    first = mini.apply(confirm=lambda p: True)
    calls = []
    result = reask_while_changed(first, lambda: calls.append(1), lambda r: False)
    assert result is first and calls == [] and result.exit_code == ACCOUNT_CHANGED_EXIT
    assert mini.personalize.list_filters()["Filters"] == []
