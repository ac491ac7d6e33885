"""Issue 11, finding 3: a typed plan contract. Every change carries a typed payload that apply executes (it
never re-derives intent from fresh live state), every change on a resource the plan read records its
fingerprint, and apply stops a step whose resource changed since the plan. Saved plans carry the payloads;
plan files of format 1 are refused. Against the emulator through real boto3 clients."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from apply_support import write_mini

from reconciler.errors import PlanError
from reconciler.model.address import Address, Kind
from reconciler.plan import planfile
from reconciler.plan.types import (
    Action,
    CreatePayload,
    PromotePayload,
    TrainPayload,
    UpdatePayload,
)

CAMPAIGN = Address(Kind.CAMPAIGN, "sims")


def campaign(world) -> dict:
    arn = world.personalize.list_campaigns()["campaigns"][0]["campaignArn"]
    return world.personalize.describe_campaign(campaignArn=arn)["campaign"]


def test_every_change_carries_a_typed_payload_and_saved_plans_keep_them(mini) -> None:
    created = mini.plan()
    kinds = {c.action: type(c.payload) for c in created.changes if c.action is not Action.NOOP}
    assert kinds[Action.CREATE] is CreatePayload and kinds[Action.RETRAIN] is TrainPayload
    assert mini.apply().exit_code == 0
    write_mini(mini.root, tps=3)
    mini.reload()
    updated = mini.plan(retrain=frozenset({"sims"}))
    update = next(c for c in updated.changes if c.action is Action.UPDATE)
    assert update.payload == UpdatePayload(
        spec_digest=update.payload.spec_digest, paths=("minProvisionedTPS",), tags_set={}, tags_unset=()
    )
    assert update.read_fingerprint
    promote = next(c for c in updated.changes if c.action is Action.PROMOTE)
    assert isinstance(promote.payload, PromotePayload) and promote.payload.gated
    assert planfile.loads(planfile.dumps(updated)) == updated  # payloads survive the saved plan


def test_apply_sends_the_planned_update_not_a_fresh_diff(mini) -> None:
    assert mini.apply().exit_code == 0
    write_mini(mini.root, tps=2)
    mini.reload()
    live = mini.live()
    reviewed = mini.plan(live)
    update = next(c for c in reviewed.changes if c.action is Action.UPDATE)
    # a plan whose update payload does not contain minProvisionedTPS: apply must not send it
    trimmed = replace(update, payload=replace(update.payload, paths=()))
    edited = replace(reviewed, changes=tuple(trimmed if c is update else c for c in reviewed.changes))
    report, _ = mini.apply_plan(edited, live)
    assert report.exit_code == 0, report.details()
    assert campaign(mini)["minProvisionedTPS"] == 1
    assert "UpdateCampaign" not in [c.operation for c in mini.emulator.calls]


def test_a_resource_changed_while_apply_waits_stops_its_step(mini) -> None:
    assert mini.apply().exit_code == 0
    left = mini.apply(plan_options={"retrain": frozenset({"sims"})}, options={"no_wait": True})
    assert left.exit_code == 3
    reviewed = mini.plan()
    assert any(c.action is Action.PROMOTE for c in reviewed.changes)
    serving = campaign(mini)["solutionVersionArn"]
    real_read, reads = mini.live, {"n": 0}

    def read_then_change_campaign():
        live = real_read()
        reads["n"] += 1
        if reads["n"] == 1:  # someone changes the campaign in the console while apply waits for the training
            arn = campaign(mini)["campaignArn"]
            mini.personalize.update_campaign(campaignArn=arn, minProvisionedTPS=5)
            mini.clock.advance(3600)
        return live

    mini.live = read_then_change_campaign
    result = mini.apply(saved_plan=reviewed)
    mini.live = real_read
    assert result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert f"{CAMPAIGN}: changed since the plan: plan again" in details
    assert campaign(mini)["solutionVersionArn"] == serving  # the step did nothing


@pytest.mark.parametrize("old", ["1.0", "2.0"])
def test_plan_files_of_format_1_and_2_are_refused_with_a_clear_message(mini, tmp_path, old) -> None:
    data = planfile.plan_to_dict(mini.plan())
    data["format_version"] = old
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanError) as error:
        planfile.load(str(path))
    assert f"unsupported plan format_version '{old}'" in error.value.message
    assert "carry no typed payloads" in error.value.message and "no create requests" in error.value.message
    assert "plan --out" in (error.value.hint or "")
