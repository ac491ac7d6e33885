"""Issue 11, findings 5, 6 and 10: deletes in order, blockers read at plan time, safety flags. Against the
emulator through real boto3 clients, in virtual time."""

from __future__ import annotations

import pytest
from apply_support import write_domain, write_mini

from reconciler.errors import PlanError
from reconciler.model.address import Address, Kind
from reconciler.model.spec import PromotionGate
from reconciler.plan.gate import evaluate_gate
from reconciler.plan.types import Action, Harm, Plan, Reason
from reconciler.render import render_text

NDCG = "normalized_discounted_cumulative_gain_at_25"


def rename_solution(world, new: str) -> None:
    path = world.root / "mini" / "resources.yaml"
    text = path.read_text()
    text = text.replace(
        "kind: Solution\nmetadata: {name: sims}", f"kind: Solution\nmetadata: {{name: {new}}}"
    )
    text = text.replace("  solution: sims\n", f"  solution: {new}\n")
    path.write_text(text)
    world.reload()


def test_renaming_a_solution_with_prune_repoints_then_deletes_in_one_apply(mini) -> None:
    mini.emulator.control.set_default_metrics({NDCG: 0.25})
    write_mini(mini.root, prune=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    rename_solution(mini, "sims2")
    planned = mini.plan()
    delete = next(c for c in planned.changes if c.action is Action.DELETE)
    assert delete.address == Address(Kind.SOLUTION, "sims")
    assert Address(Kind.CAMPAIGN, "sims") in delete.depends_on  # waits for the campaign to move
    result = mini.apply()
    assert result.exit_code == 0, result.summary().details()
    solutions = mini.personalize.list_solutions()["solutions"]
    assert [s["name"] for s in solutions] == ["mini-sims2"]
    campaign = mini.personalize.list_campaigns()["campaigns"][0]
    serving = mini.personalize.describe_campaign(campaignArn=campaign["campaignArn"])["campaign"]
    assert serving["solutionVersionArn"].startswith(solutions[0]["solutionArn"] + "/")
    assert not mini.plan().has_changes


def test_an_unmanaged_event_tracker_blocks_the_group_delete_at_plan_time(mini) -> None:
    write_mini(mini.root, prune=True, data_loss=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    group = mini.personalize.list_dataset_groups()["datasetGroups"][0]["datasetGroupArn"]
    mini.personalize.create_event_tracker(name="someone-elses-tracker", datasetGroupArn=group)
    # the stack now declares another group only: everything of `shop` is to be pruned
    (mini.root / "mini" / "resources.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: DatasetGroup\nmetadata: {name: other}\nspec: {}\n"
    )
    mini.reload()
    planned = mini.plan(allow_empty=True)
    blocked = [e for e in planned.errors if e.startswith("DatasetGroup/shop: cannot be deleted")]
    assert blocked and "EventTracker someone-elses-tracker" in blocked[0] and "then plan again" in blocked[0]
    calls = mini.mutating_calls()
    with pytest.raises(PlanError):
        mini.apply(plan_options={"allow_empty": True})
    assert mini.mutating_calls() == calls  # refused before any call: no hour of retries


def test_serving_kinds_are_destructive(mini) -> None:
    write_mini(mini.root, prune=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    write_mini(mini.root, prune=True, filter_expression=None, with_solution=False)
    mini.reload()
    planned = mini.plan()
    deletes = {c.address.kind: c for c in planned.changes if c.action is Action.DELETE}
    assert deletes[Kind.CAMPAIGN].destructive and deletes[Kind.FILTER].destructive
    assert not deletes[Kind.SOLUTION].destructive
    assert not planned.errors  # destructive is a flag for reviewers; data loss is what needs allowDataLoss


def test_the_gate_fails_closed_when_the_serving_metrics_cannot_be_read() -> None:
    gate = PromotionGate(maxRegression={NDCG: 0.1})
    assert evaluate_gate(gate, {NDCG: 0.2}, None).passed  # first promotion: nothing served yet
    held = evaluate_gate(gate, {NDCG: 0.2}, {})
    assert not held.passed and "cannot be read" in held.failures[0]


def test_ssm_outputs_of_deleted_resources_are_removed(mini) -> None:
    write_mini(mini.root, prune=True, ssm_prefix="/shop/personalize")
    mini.reload()
    assert mini.apply().exit_code == 0

    def names() -> list[str]:
        pages = mini.target.ssm.get_paginator("get_parameters_by_path").paginate(
            Path="/shop/personalize", Recursive=True
        )
        return sorted(p["Name"] for page in pages for p in page["Parameters"])

    assert "/shop/personalize/filters/purchased/arn" in names()
    write_mini(mini.root, prune=True, ssm_prefix="/shop/personalize", filter_expression=None)
    mini.reload()
    assert mini.apply().exit_code == 0
    assert not [n for n in names() if "/filters/" in n]
    assert "/shop/personalize/campaigns/sims/arn" in names()


def test_deletion_protection_is_recorded_on_the_resource_and_outlives_its_manifest(mini) -> None:
    write_mini(mini.root, prune=True, protect_filter=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    arn = mini.personalize.list_filters()["Filters"][0]["filterArn"]
    listed = mini.personalize.list_tags_for_resource(resourceArn=arn)["tags"]
    tags = {t["tagKey"]: t["tagValue"] for t in listed}
    assert tags["personalize-gitops:deletion-protection"] == "true"
    write_mini(mini.root, prune=True, filter_expression=None)  # the manifest is removed, protection with it
    mini.reload()
    planned = mini.plan()
    assert any(e.startswith("Filter/purchased: deletionProtection is recorded on it") for e in planned.errors)
    with pytest.raises(PlanError):
        mini.apply()
    assert [f["filterArn"] for f in mini.personalize.list_filters()["Filters"]] == [arn]
    # lifting it is an explicit manifest change first: then the filter can be pruned
    write_mini(mini.root, prune=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    write_mini(mini.root, prune=True, filter_expression=None)
    mini.reload()
    assert mini.apply().exit_code == 0
    assert mini.personalize.list_filters()["Filters"] == []


STOPS = "serving stops (clients call it by ARN)"


def destructive_block(plan: Plan) -> list[str]:
    """The lines of the text plan's top block (what interactive apply shows before it asks)."""
    text = render_text(plan)
    head = text.split("Resource actions are indicated with the following symbols:", 1)[0]
    assert "Destructive changes (" in head, text
    return head.split("Destructive changes (", 1)[1].strip().splitlines()[1:]


def listed(world, kind: Kind) -> list[str]:
    if kind is Kind.RECOMMENDER:
        return [r["name"] for r in world.personalize.list_recommenders()["recommenders"]]
    return [t["name"] for t in world.personalize.list_event_trackers()["eventTrackers"]]


@pytest.mark.parametrize("kind", [Kind.RECOMMENDER, Kind.EVENT_TRACKER], ids=["recommender", "event-tracker"])
def test_deleting_a_recommender_or_event_tracker_is_destructive_listed_first_and_needs_prune(
    mini, kind
) -> None:
    """Issue 11, safety flags: a serving kind whose manifest is removed is deleted only with prune on, is
    flagged destructive, heads the text plan (deletes come last in apply order), and interactive apply shows
    that plan and deletes nothing unless the answer is yes."""
    write_domain(mini.root, prune=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    address = Address(kind, "for-you" if kind is Kind.RECOMMENDER else "clicks")
    physical = "mini-" + address.name
    assert listed(mini, kind) == [physical]
    removed = {"recommender": kind is not Kind.RECOMMENDER, "event_tracker": kind is not Kind.EVENT_TRACKER}

    write_domain(mini.root, prune=False, **removed)  # prune off: kept, whatever apply is told
    mini.reload()
    kept = next(c for c in mini.plan().changes if c.address == address)
    assert kept.action is Action.NOOP and Reason.PRUNE_DISABLED in kept.reasons and not kept.destructive
    assert mini.apply().exit_code == 0
    assert mini.emulator.call_count(prefix="Delete") == 0 and listed(mini, kind) == [physical]

    write_domain(mini.root, prune=True, **removed)
    mini.reload()
    planned = mini.plan()
    delete = next(c for c in planned.changes if c.address == address)
    assert delete.action is Action.DELETE and delete.destructive and delete.harms == (Harm.STOPS_TRAFFIC,)
    assert planned.changes[-1] == delete  # deletes come last in the plan, which is the apply order
    assert destructive_block(planned) == [f"    - {address}  ({physical}) destroyed: {STOPS}"]

    shown: list[Plan] = []
    declined = mini.apply(confirm=lambda p: False, on_plan=shown.append)
    assert declined.cancelled and destructive_block(shown[0]) == destructive_block(planned)
    assert mini.emulator.call_count(prefix="Delete") == 0 and listed(mini, kind) == [physical]
    assert mini.apply(confirm=lambda p: True).exit_code == 0
    assert listed(mini, kind) == []


def give_group_a_kms_key(world) -> None:
    """kmsKeyArn and roleArn of a dataset group are create-only: changing them replaces the group, and
    everything in it is replaced destroy-before-create, the serving campaign too."""
    path = world.root / "mini" / "resources.yaml"
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    role = "arn:aws:iam::123456789012:role/PersonalizeKms"
    text = path.read_text()
    path.write_text(
        text.replace(
            "metadata: {name: shop}\nspec: {}",
            f"metadata: {{name: shop}}\nspec: {{kmsKeyArn: '{key}', roleArn: '{role}'}}",
        )
    )
    world.reload()


def test_replacing_a_serving_campaign_is_destructive_listed_first_and_refused_without_data_loss(mini) -> None:
    """A campaign has no create-only spec field (UpdateCampaign takes them all; its name cannot change): a
    serving campaign is replaced only with its solution when their dataset group is replaced. That loses the
    group's data, so it is refused without allowDataLoss; with it, the campaign's destroy-then-create still
    heads the text plan and interactive apply changes nothing unless the answer is yes."""
    mini.emulator.control.set_default_metrics({NDCG: 0.25})
    write_mini(mini.root, prune=True)
    mini.reload()
    assert mini.apply().exit_code == 0
    campaign = mini.personalize.list_campaigns()["campaigns"][0]
    assert campaign["status"] == "ACTIVE"
    give_group_a_kms_key(mini)

    planned = mini.plan()
    replace = next(c for c in planned.changes if c.address == Address(Kind.CAMPAIGN, "sims"))
    assert replace.action is Action.REPLACE and replace.destructive and replace.harms == (Harm.STOPS_TRAFFIC,)
    assert f"  -/+ Campaign/sims  (mini-sims) replaced: {STOPS}" in destructive_block(planned)
    assert [e.split(":")[0] for e in planned.errors] == ["DatasetGroup/shop", "Dataset/interactions"]
    calls = mini.mutating_calls()
    with pytest.raises(PlanError):
        mini.apply()
    assert mini.mutating_calls() == calls

    allowed = mini.plan(allow_data_loss=True)
    assert allowed.applyable
    block = destructive_block(allowed)
    assert block[0].startswith("  -/+ DatasetGroup/shop  (mini-shop) replaced: imported data is lost")
    assert f"  -/+ Campaign/sims  (mini-sims) replaced: {STOPS}" in block
    declined = mini.apply(confirm=lambda p: False, plan_options={"allow_data_loss": True})
    assert declined.cancelled and mini.mutating_calls() == calls
    assert mini.personalize.list_campaigns()["campaigns"] == [campaign]
