"""Table-driven tests of the pure planner: one row per (kind, situation)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from reconciler.model.address import Address, Kind
from reconciler.model.state import (
    TAG_NAME,
    TAG_SOURCE_ETAG,
    TAG_SOURCE_SHA256,
    TAG_STACK,
    TAG_TRIGGER,
    LiveState,
)
from reconciler.plan.planner import PlanOptions, gate_check, plan, replacement_name
from reconciler.plan.types import Action, Plan, Reason, ReplaceOrder
from reconciler.resources.base import TAG_SPEC_DIGEST
from tests.plan.builders import (
    BASE_SPECS,
    NOW,
    applied_live,
    desired_state,
    import_job,
    make_stack,
    version,
    with_fields,
    with_resource,
    without,
)

DG = Address(Kind.DATASET_GROUP, "retail")
S_INTER = Address(Kind.SCHEMA, "interactions")
S_ITEMS = Address(Kind.SCHEMA, "items")
D_INTER = Address(Kind.DATASET, "interactions")
D_ITEMS = Address(Kind.DATASET, "items")
SOL = Address(Kind.SOLUTION, "personalize")
CAMP = Address(Kind.CAMPAIGN, "home")
FILT = Address(Kind.FILTER, "no-bought")
TRK = Address(Kind.EVENT_TRACKER, "clicks")
REC = Address(Kind.RECOMMENDER, "for-you")
MA = Address(Kind.METRIC_ATTRIBUTION, "revenue")
ALL = [DG, S_INTER, S_ITEMS, D_INTER, D_ITEMS, SOL, CAMP, FILT, TRK, REC, MA]


def mutate(
    specs: dict[Address, dict[str, Any]], address: Address, path: str, value: Any
) -> dict[Address, dict[str, Any]]:
    out = copy.deepcopy(specs)
    node = out[address]
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def actions(p: Plan, address: Address) -> list[Action]:
    return [c.action for c in p.changes if c.address == address]


def change(p: Plan, address: Address, action: Action):
    found = [c for c in p.changes if c.address == address and c.action is action]
    assert found, f"no {action} for {address}: {[(str(c.address), c.action.value) for c in p.changes]}"
    return found[0]


def busy(p: Plan) -> list[tuple[str, str]]:
    return [(str(c.address), c.action.value) for c in p.changes if c.action is not Action.NOOP]


@pytest.fixture
def base():
    desired = desired_state(BASE_SPECS)
    return desired, applied_live(desired)


# --- absent -> create ---------------------------------------------------------------------------------------

CREATE_ROWS = [
    (DG, [Action.CREATE]),
    (S_INTER, [Action.CREATE]),
    (D_INTER, [Action.CREATE, Action.IMPORT]),
    (D_ITEMS, [Action.CREATE]),
    (SOL, [Action.CREATE, Action.RETRAIN]),
    (CAMP, [Action.CREATE]),
    (FILT, [Action.CREATE]),
    (TRK, [Action.CREATE]),
    (REC, [Action.CREATE]),
    (MA, [Action.CREATE]),
]


@pytest.mark.parametrize("address,expected", CREATE_ROWS, ids=[str(r[0]) for r in CREATE_ROWS])
def test_absent_is_created(base, address, expected):
    desired, live = base
    p = plan(desired, without(live, address))
    assert actions(p, address) == expected
    assert change(p, address, Action.CREATE).reasons == (Reason.NEW,)
    if address == SOL:
        assert change(p, SOL, Action.RETRAIN).reasons[0] is Reason.FIRST_VERSION
        assert change(p, SOL, Action.RETRAIN).details["trainingMode"] == "FULL"
    if address == D_INTER:
        assert change(p, D_INTER, Action.IMPORT).reasons == (Reason.FIRST_IMPORT,)


def test_empty_account_plans_everything_in_dependency_order():
    desired = desired_state(BASE_SPECS)
    p = plan(desired, LiveState(resources={}))
    order = [str(c.address) for c in p.changes]
    assert (
        order.index("DatasetGroup/retail")
        < order.index("Dataset/interactions")
        < order.index("Solution/personalize")
    )
    assert order.index("Solution/personalize") < order.index("Campaign/home")
    assert p.count(Action.CREATE) == len(ALL)
    assert p.count(Action.RETRAIN) == 1 and p.count(Action.IMPORT) == 1
    camp = change(p, CAMP, Action.CREATE)
    assert camp.depends_on == (SOL,)
    assert camp.monthly_cost_usd == pytest.approx(146.0)
    retrain = change(p, SOL, Action.RETRAIN)
    assert D_INTER in retrain.depends_on  # trains after the data is imported


def test_equal_is_noop(base):
    desired, live = base
    p = plan(desired, live)
    assert busy(p) == []
    assert not p.has_changes and p.applyable
    assert len(p.changes) == len(ALL)
    assert set(p.live_fingerprints) == {str(a) for a in ALL}


def test_plan_is_deterministic(base):
    _desired, live = base
    desired2 = desired_state(mutate(BASE_SPECS, CAMP, "minProvisionedTPS", 3))
    assert plan(desired2, live) == plan(desired2, live)


# --- updatable field -> update ------------------------------------------------------------------------------

UPDATE_ROWS = [
    (CAMP, "minProvisionedTPS", 2, "minProvisionedTPS"),
    (
        CAMP,
        "campaignConfig.itemExplorationConfig",
        {"explorationWeight": 0.5},
        "campaignConfig.itemExplorationConfig.explorationWeight",
    ),
    (
        CAMP,
        "campaignConfig.enableMetadataWithRecommendations",
        True,
        "campaignConfig.enableMetadataWithRecommendations",
    ),
    (SOL, "performAutoTraining", True, "performAutoTraining"),
    (
        SOL,
        "solutionConfig.eventsConfig",
        {"eventParametersList": [{"eventType": "click", "weight": 0.3}]},
        "solutionConfig.eventsConfig.eventParametersList",
    ),
    (
        REC,
        "recommenderConfig.minRecommendationRequestsPerSecond",
        5,
        "recommenderConfig.minRecommendationRequestsPerSecond",
    ),
    (REC, "running", False, "running"),
    (
        MA,
        "metricsOutputConfig.s3DataDestination",
        {"path": "s3://bucket/metrics/"},
        "metricsOutputConfig.s3DataDestination.path",
    ),
    (
        MA,
        "metrics",
        [{"eventType": "click", "metricName": "CLICKS", "expression": "SAMPLECOUNT()"}],
        "metrics",
    ),
]


@pytest.mark.parametrize("address,path,value,field", UPDATE_ROWS, ids=[f"{r[0]}:{r[1]}" for r in UPDATE_ROWS])
def test_updatable_field_is_updated(base, address, path, value, field):
    _desired, live = base
    p = plan(desired_state(mutate(BASE_SPECS, address, path, value)), live)
    assert actions(p, address) == [Action.UPDATE], busy(p)
    update = change(p, address, Action.UPDATE)
    assert field in [f.path for f in update.field_changes]
    assert not any(f.forces_replacement for f in update.field_changes)
    assert update.reasons == (Reason.FIELD_CHANGED,)
    assert [a for a, _ in busy(p)] == [str(address)]


@pytest.mark.parametrize("address", [DG, D_INTER, SOL, CAMP, FILT, TRK, REC])
def test_tags_are_updated_in_place(base, address):
    _desired, live = base
    changed = desired_state(BASE_SPECS, **{str(address): {"tags": {"team": "recs"}}})
    p = plan(changed, live)
    update = change(p, address, Action.UPDATE)
    assert [(f.path, f.before, f.after) for f in update.field_changes] == [("tags.team", "search", "recs")]


def test_campaign_tps_update_notes_cost(base):
    _desired, live = base
    p = plan(desired_state(mutate(BASE_SPECS, CAMP, "minProvisionedTPS", 3)), live)
    update = change(p, CAMP, Action.UPDATE)
    assert update.monthly_cost_usd == pytest.approx(438.0)
    assert any("$146.00 -> $438.00" in n for n in update.notes)


# --- immutable field -> replace -----------------------------------------------------------------------------

REPLACE_ROWS = [
    (SOL, "recipeArn", "aws-sims", "recipeArn"),
    (
        SOL,
        "solutionConfig.algorithmHyperParameters",
        {"hidden_dimension": 128},
        "solutionConfig.algorithmHyperParameters.hidden_dimension",
    ),
    (SOL, "eventType", "purchase", "eventType"),
    (SOL, "performHPO", True, "performHPO"),
    (FILT, "filterExpression", 'INCLUDE ItemID WHERE Items.CATEGORY IN ("shoes")', "filterExpression"),
    (REC, "recipeArn", "aws-ecomm-popular-items-by-views", "recipeArn"),
    (DG, "domain", "VIDEO_ON_DEMAND", "domain"),
    (D_ITEMS, "datasetType", "USERS", "datasetType"),
    (
        S_INTER,
        "avro.fields",
        [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"}],
        "schema.fields",
    ),
]


@pytest.mark.parametrize(
    "address,path,value,field", REPLACE_ROWS, ids=[f"{r[0]}:{r[1]}" for r in REPLACE_ROWS]
)
def test_immutable_field_forces_replacement(base, address, path, value, field):
    _desired, live = base
    p = plan(desired_state(mutate(BASE_SPECS, address, path, value)), live, PlanOptions(allow_data_loss=True))
    replace = change(p, address, Action.REPLACE)
    forcing = [f.path for f in replace.field_changes if f.forces_replacement]
    assert field in forcing
    assert Reason.IMMUTABLE_FIELD_CHANGED in replace.reasons
    assert any(field in n for n in replace.notes)


@pytest.mark.parametrize(
    "address,other",
    [(TRK, "datasetGroup"), (MA, "datasetGroup"), (FILT, "datasetGroup")],
)
def test_moving_to_another_dataset_group_replaces(base, address, other):
    _desired, live = base
    specs = {**BASE_SPECS, Address(Kind.DATASET_GROUP, "other"): {"domain": "ECOMMERCE"}}
    p = plan(desired_state(mutate(specs, address, other, "other")), live)
    replace = change(p, address, Action.REPLACE)
    assert [f.path for f in replace.field_changes if f.forces_replacement] == ["datasetGroup"]
    assert (
        replace.depends_on == (Address(Kind.DATASET_GROUP, "other"),)
        or Address(Kind.DATASET_GROUP, "other") in replace.depends_on
    )


def test_solution_serving_a_campaign_is_replaced_create_before_destroy(base):
    _desired, live = base
    p = plan(desired_state(mutate(BASE_SPECS, SOL, "recipeArn", "aws-user-personalization-v2")), live)
    replace = change(p, SOL, Action.REPLACE)
    assert replace.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY
    assert replace.actions_list == ["create", "delete"]
    assert replace.new_physical_name and replace.new_physical_name.startswith("shop-personalize-")
    assert replace.new_physical_name != replace.physical_name
    assert replace.details["deleteOldAfter"] == ["Campaign/home"]
    assert not replace.destructive and replace.allowed
    retrain = change(p, SOL, Action.RETRAIN)
    assert retrain.reasons == (Reason.FIRST_VERSION, Reason.REPLACEMENT)
    promote = change(p, CAMP, Action.PROMOTE)
    assert promote.reasons == (Reason.REPLACEMENT,) and promote.depends_on == (SOL,)
    order = [(str(c.address), c.action) for c in p.changes]
    assert order.index(("Solution/personalize", Action.REPLACE)) < order.index(
        ("Solution/personalize", Action.RETRAIN)
    )
    assert order.index(("Solution/personalize", Action.RETRAIN)) < order.index(
        ("Campaign/home", Action.PROMOTE)
    )
    assert actions(p, CAMP) == [Action.PROMOTE]  # the campaign itself is not replaced


def test_solution_without_campaign_is_replaced_destroy_before_create(base):
    _desired, live = base
    specs = {a: s for a, s in BASE_SPECS.items() if a != CAMP}
    p = plan(desired_state(mutate(specs, SOL, "recipeArn", "aws-sims")), without(live, CAMP))
    replace = change(p, SOL, Action.REPLACE)
    assert replace.replace_order is ReplaceOrder.DESTROY_BEFORE_CREATE
    assert replace.actions_list == ["delete", "create"] and replace.new_physical_name is None


def test_replacement_name_rule():
    assert replacement_name("shop-personalize", "abcdef0123") == "shop-personalize-abcdef"
    long = "x" * 63
    assert len(replacement_name(long, "abcdef0123")) == 63
    assert replacement_name("a", "abcdef", current="a-abcdef") != "a-abcdef"


def test_dataset_group_replacement_is_destructive_and_refused(base):
    _desired, live = base
    p = plan(desired_state(mutate(BASE_SPECS, DG, "domain", "VIDEO_ON_DEMAND")), live)
    replace = change(p, DG, Action.REPLACE)
    assert replace.destructive and not replace.allowed
    assert not p.applyable and any("allowDataLoss" in e for e in p.errors)
    # children lose their parent: replaced too (dependency)
    for child in (D_INTER, D_ITEMS, FILT, SOL, CAMP):
        assert Reason.DEPENDENCY_REPLACED in change(p, child, Action.REPLACE).reasons
        # the group is destroyed first, so nothing under it can be created before it is gone
        assert change(p, child, Action.REPLACE).replace_order is ReplaceOrder.DESTROY_BEFORE_CREATE
    allowed = plan(
        desired_state(mutate(BASE_SPECS, DG, "domain", "VIDEO_ON_DEMAND")),
        live,
        PlanOptions(allow_data_loss=True),
    )
    assert change(allowed, DG, Action.REPLACE).allowed
    assert not [e for e in allowed.errors if "allowDataLoss" in e]


def test_additive_items_schema_is_new_schema_plus_dataset_update(base):
    _desired, live = base
    fields = [
        *BASE_SPECS[S_ITEMS]["avro"]["fields"],
        {"name": "PRICE", "type": ["null", "float"], "default": None},
    ]
    p = plan(desired_state(mutate(BASE_SPECS, S_ITEMS, "avro.fields", fields)), live)
    schema = change(p, S_ITEMS, Action.REPLACE)
    assert schema.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY and schema.new_physical_name
    update = change(p, D_ITEMS, Action.UPDATE)
    assert [f.path for f in update.field_changes] == ["schema"]
    assert not update.field_changes[0].forces_replacement and not update.destructive
    assert actions(p, D_ITEMS) == [Action.UPDATE] and p.applyable


def test_non_additive_items_schema_replaces_the_dataset(base):
    _desired, live = base
    fields = [{"name": "ITEM_ID", "type": "string"}, {"name": "CATEGORY", "type": "int"}]
    p = plan(desired_state(mutate(BASE_SPECS, S_ITEMS, "avro.fields", fields)), live)
    replace = change(p, D_ITEMS, Action.REPLACE)
    assert replace.destructive and not replace.allowed
    assert Reason.DEPENDENCY_REPLACED in replace.reasons


def test_interactions_schema_change_replaces_the_dataset_even_if_additive(base):
    _desired, live = base
    fields = [*BASE_SPECS[S_INTER]["avro"]["fields"], {"name": "EVENT_TYPE", "type": ["null", "string"]}]
    p = plan(
        desired_state(mutate(BASE_SPECS, S_INTER, "avro.fields", fields)),
        live,
        PlanOptions(allow_data_loss=True),
    )
    assert actions(p, D_INTER)[0] is Action.REPLACE
    assert change(p, D_INTER, Action.IMPORT).reasons == (Reason.FIRST_IMPORT,)


def test_deletion_protection_refuses_replacement(base):
    _desired, live = base
    specs = mutate(BASE_SPECS, FILT, "filterExpression", 'INCLUDE ItemID WHERE Items.CATEGORY IN ("a")')
    p = plan(desired_state(specs, **{str(FILT): {"lifecycle": {"deletionProtection": True}}}), live)
    assert not change(p, FILT, Action.REPLACE).allowed
    assert any("deletionProtection" in e for e in p.errors)


# --- live only -> delete only with prune --------------------------------------------------------------------


def _orphan_live(base_live: LiveState, address: Address, *, managed: bool = True) -> LiveState:
    source = base_live.resources[FILT if address.kind is Kind.FILTER else D_ITEMS]
    orphan = dataclasses.replace(
        source,
        address=address,
        arn=source.arn + "-old",
        name="shop-" + address.name,
        managed=managed,
        tags={TAG_STACK: "shop", TAG_NAME: address.name} if managed else {},
    )
    return dataclasses.replace(base_live, resources={**base_live.resources, address: orphan})


def test_orphan_kept_without_prune(base):
    desired, live = base
    old = Address(Kind.FILTER, "old")
    p = plan(desired, _orphan_live(live, old))
    kept = [c for c in p.changes if c.address == old]
    assert [c.action for c in kept] == [Action.NOOP]
    assert Reason.PRUNE_DISABLED in kept[0].reasons


def test_orphan_deleted_with_prune(base):
    desired, live = base
    old = Address(Kind.FILTER, "old")
    p = plan(desired, _orphan_live(live, old), PlanOptions(prune=True))
    delete = change(p, old, Action.DELETE)
    assert delete.reasons == (Reason.NOT_IN_MANIFESTS,) and delete.allowed
    # issue 11 finding 10: the stack serves (ACTIVE campaigns): deleting a filter in use is destructive
    assert delete.destructive
    assert p.changes[-1].action is Action.DELETE
    stack_prune = desired_state(BASE_SPECS, stack=make_stack(enabled=True))
    assert change(plan(stack_prune, _orphan_live(live, old)), old, Action.DELETE)


def test_unmanaged_live_resource_is_never_deleted(base):
    desired, live = base
    old = Address(Kind.FILTER, "someone-elses")
    p = plan(desired, _orphan_live(live, old, managed=False), PlanOptions(prune=True))
    assert actions(p, old) == []


def test_orphan_dataset_needs_data_loss_permission(base):
    desired, live = base
    old = Address(Kind.DATASET, "old")
    p = plan(desired, _orphan_live(live, old), PlanOptions(prune=True))
    delete = change(p, old, Action.DELETE)
    assert delete.destructive and not delete.allowed and not p.applyable


def test_deleting_every_managed_resource_needs_allow_empty(base):
    _desired, live = base
    empty = desired_state({})
    p = plan(empty, live, PlanOptions(prune=True, allow_data_loss=True))
    assert any("allowEmpty" in e for e in p.errors) and not p.applyable
    ok = plan(empty, live, PlanOptions(prune=True, allow_data_loss=True, allow_empty=True))
    assert ok.applyable and ok.count(Action.DELETE) == len(ALL)
    order = [str(c.address) for c in ok.changes]
    assert (
        order.index("Campaign/home")
        < order.index("Solution/personalize")
        < order.index("DatasetGroup/retail")
    )
    assert order.index("Dataset/items") < order.index("Schema/items")
    solution_delete = change(ok, SOL, Action.DELETE)
    assert CAMP in solution_delete.depends_on


# --- in flight -> never planned twice -----------------------------------------------------------------------


@pytest.mark.parametrize("address", [DG, D_ITEMS, SOL, CAMP, FILT, REC])
def test_creating_resource_is_shown_not_recreated(base, address):
    desired, live = base
    p = plan(desired, with_resource(live, address, status="CREATE IN_PROGRESS"))
    assert actions(p, address)[0] is Action.NOOP
    assert change(p, address, Action.NOOP).in_progress == "CREATE IN_PROGRESS"


def test_campaign_update_in_progress_is_not_updated_again(base):
    _desired, live = base
    running = with_fields(
        live, CAMP, latestCampaignUpdate={"status": "CREATE_IN_PROGRESS", "minProvisionedTPS": 2}
    )
    p = plan(desired_state(mutate(BASE_SPECS, CAMP, "minProvisionedTPS", 2)), running)
    assert actions(p, CAMP) == [Action.NOOP]
    assert change(p, CAMP, Action.NOOP).in_progress == "update CREATE IN_PROGRESS"


def test_training_in_progress_is_not_trained_again(base):
    desired, live = base
    sol = live.resources[SOL]
    training = with_resource(
        live, SOL, versions=(version(sol.arn, 2, status="CREATE IN_PROGRESS", created=NOW), *sol.versions)
    )
    p = plan(desired, training, PlanOptions(retrain=frozenset({"personalize"})))
    assert actions(p, SOL) == [Action.NOOP]
    assert "training" in (change(p, SOL, Action.NOOP).in_progress or "")


def test_import_in_progress_is_not_imported_again(base):
    desired, live = base
    ds = live.resources[D_INTER]
    running = with_resource(
        live, D_INTER, imports=(import_job(ds, 2, status="CREATE PENDING", finished=NOW), *ds.imports)
    )
    p = plan(desired, dataclasses.replace(running, s3_etags={"s3://bucket/interactions.csv": '"etag-2"'}))
    assert actions(p, D_INTER) == [Action.NOOP]


def test_deleting_resource_is_recreated_after_it_is_gone(base):
    desired, live = base
    p = plan(desired, with_resource(live, FILT, status="DELETE IN_PROGRESS"))
    create = change(p, FILT, Action.CREATE)
    assert create.in_progress == "DELETE IN_PROGRESS"


def test_failed_create_is_replaced(base):
    desired, live = base
    p = plan(desired, with_resource(live, FILT, status="CREATE FAILED"))
    replace = change(p, FILT, Action.REPLACE)
    assert replace.reasons == (Reason.FAILED,)


# --- drift and ignoreChanges --------------------------------------------------------------------------------


def test_live_change_with_unchanged_manifest_is_drift(base):
    desired, live = base
    p = plan(desired, with_fields(live, CAMP, minProvisionedTPS=7))
    update = change(p, CAMP, Action.UPDATE)
    assert update.reasons == (Reason.DRIFT,)
    assert [(f.path, f.before, f.after, f.drift) for f in update.field_changes] == [
        ("minProvisionedTPS", 7, 1, True)
    ]


def test_manifest_change_is_not_drift(base):
    _desired, live = base
    p = plan(
        desired_state(mutate(BASE_SPECS, CAMP, "minProvisionedTPS", 4)),
        with_fields(live, CAMP, minProvisionedTPS=7),
    )
    update = change(p, CAMP, Action.UPDATE)
    assert update.reasons == (Reason.FIELD_CHANGED,) and not update.field_changes[0].drift


def test_ignore_changes_silences_a_field(base):
    _desired, live = base
    ignoring = desired_state(
        BASE_SPECS, **{str(CAMP): {"lifecycle": {"ignoreChanges": ["minProvisionedTPS"]}}}
    )
    p = plan(ignoring, with_fields(live, CAMP, minProvisionedTPS=7))
    assert actions(p, CAMP) == [Action.NOOP]


def test_drift_on_immutable_field_replaces(base):
    desired, live = base
    p = plan(desired, with_fields(live, FILT, filterExpression='EXCLUDE ItemID WHERE Items.X IN ("y")'))
    replace = change(p, FILT, Action.REPLACE)
    assert Reason.DRIFT in replace.reasons


# --- adopt --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [DG, D_INTER, SOL, CAMP, FILT, TRK, REC])
def test_unmanaged_name_match_is_adopted(base, address):
    desired, live = base
    unmanaged = with_resource(live, address, managed=False, tags={"owner": "notebook"})
    p = plan(desired, unmanaged)
    assert actions(p, address) == [Action.ADOPT]
    adopt = change(p, address, Action.ADOPT)
    assert adopt.reasons == (Reason.UNMANAGED_NAME_MATCH,)
    assert {f.path for f in adopt.field_changes} >= {f"tags.{TAG_STACK}", f"tags.{TAG_NAME}"}


def test_adopt_shows_differences_but_does_not_change_them(base):
    desired, live = base
    unmanaged = with_resource(with_fields(live, CAMP, minProvisionedTPS=9), CAMP, managed=False, tags={})
    p = plan(desired, unmanaged)
    assert actions(p, CAMP) == [Action.ADOPT]
    assert any("minProvisionedTPS" in n for n in change(p, CAMP, Action.ADOPT).notes)


def test_resource_of_another_stack_is_refused(base):
    desired, live = base
    theirs = with_resource(live, FILT, managed=False, tags={TAG_STACK: "other", TAG_NAME: "no-bought"})
    p = plan(desired, theirs)
    assert not p.applyable and any("owned by stack 'other'" in e for e in p.errors)


# --- retrain ------------------------------------------------------------------------------------------------


def test_requested_retrain(base):
    desired, live = base
    p = plan(desired, live, PlanOptions(retrain=frozenset({"personalize"})))
    retrain = change(p, SOL, Action.RETRAIN)
    assert retrain.reasons == (Reason.REQUESTED,)
    promote = change(p, CAMP, Action.PROMOTE)
    assert promote.details["solutionVersionArn"] is None and promote.details["gated"]


def test_trigger_change_retrains(base):
    _desired, live = base
    p = plan(desired_state(mutate(BASE_SPECS, SOL, "training", {"trigger": "2026-11"})), live)
    assert change(p, SOL, Action.RETRAIN).reasons == (Reason.TRIGGER_CHANGED,)
    sol = live.resources[SOL]
    tagged = with_resource(
        live, SOL, versions=(dataclasses.replace(sol.versions[0], tags={TAG_TRIGGER: "2026-11"}),)
    )
    assert actions(
        plan(desired_state(mutate(BASE_SPECS, SOL, "training", {"trigger": "2026-11"})), tagged), SOL
    ) == [Action.NOOP]


def test_data_imported_after_newest_version_retrains(base):
    desired, live = base
    sol = live.resources[SOL]
    old_version = dataclasses.replace(sol.versions[0], created=NOW - 10 * 86400)
    p = plan(desired, with_resource(live, SOL, versions=(old_version,)))
    assert Reason.DATA_CHANGED in change(p, SOL, Action.RETRAIN).reasons
    off = desired_state(mutate(BASE_SPECS, SOL, "training", {"retrainOnDataChange": False}))
    assert actions(plan(off, with_resource(live, SOL, versions=(old_version,))), SOL) == [Action.NOOP]


def test_max_age_retrains_with_update_mode(base):
    _desired, live = base
    sol = live.resources[SOL]
    old_version = dataclasses.replace(
        sol.versions[0], created=NOW - 40 * 86400, last_updated=NOW - 40 * 86400
    )
    ds = live.resources[D_INTER]
    old_import = dataclasses.replace(ds.imports[0], last_updated=NOW - 50 * 86400)
    aged = with_resource(with_resource(live, SOL, versions=(old_version,)), D_INTER, imports=(old_import,))
    specs = mutate(BASE_SPECS, SOL, "training", {"maxAge": "30d", "mode": "UPDATE"})
    retrain = change(plan(desired_state(specs), aged), SOL, Action.RETRAIN)
    assert retrain.reasons == (Reason.MAX_AGE,) and retrain.details["trainingMode"] == "UPDATE"


def test_no_active_version_trains_first_version_full(base):
    _desired, live = base
    sol = live.resources[SOL]
    failed = with_resource(live, SOL, versions=(version(sol.arn, 1, status="CREATE FAILED"),))
    retrain = change(
        plan(desired_state(mutate(BASE_SPECS, SOL, "training", {"mode": "UPDATE"})), failed),
        SOL,
        Action.RETRAIN,
    )
    assert (
        retrain.reasons == (Reason.FIRST_VERSION, Reason.FAILED) and retrain.details["trainingMode"] == "FULL"
    )


# --- import -------------------------------------------------------------------------------------------------


def test_source_object_changed_reimports(base):
    desired, live = base
    p = plan(desired, dataclasses.replace(live, s3_etags={"s3://bucket/interactions.csv": '"etag-2"'}))
    imp = change(p, D_INTER, Action.IMPORT)
    assert imp.reasons == (Reason.SOURCE_CHANGED,) and imp.details["etag"] == '"etag-2"'
    assert Reason.DATA_CHANGED in change(p, SOL, Action.RETRAIN).reasons


def test_import_trigger_change_reimports(base):
    _desired, live = base
    specs = mutate(BASE_SPECS, D_INTER, "dataImport.trigger", "again")
    assert change(plan(desired_state(specs), live), D_INTER, Action.IMPORT).reasons == (
        Reason.TRIGGER_CHANGED,
    )


def test_failed_import_is_retried(base):
    desired, live = base
    ds = live.resources[D_INTER]
    failed = with_resource(live, D_INTER, imports=(import_job(ds, 1, status="CREATE FAILED", tags={}),))
    assert change(plan(desired, failed), D_INTER, Action.IMPORT).reasons == (
        Reason.FIRST_IMPORT,
        Reason.FAILED,
    )


def test_import_not_made_by_the_tool_is_not_repeated(base):
    desired, live = base
    ds = live.resources[D_INTER]
    foreign = with_resource(live, D_INTER, imports=(import_job(ds, 1, tags={}),))
    p = plan(desired, foreign)
    assert actions(p, D_INTER) == [Action.NOOP]
    assert any("not made by personalize-gitops" in n for n in change(p, D_INTER, Action.NOOP).notes)
    # the same job carrying the tool's source-ETag tag is the tool's own import: no such note
    ours = with_resource(live, D_INTER, imports=(import_job(ds, 1, tags={TAG_SOURCE_ETAG: "etag-1"}),))
    notes = [n for c in plan(desired, ours).changes if c.address == D_INTER for n in c.notes]
    assert actions(plan(desired, ours), D_INTER) == [Action.NOOP]
    assert not any("not made by personalize-gitops" in n for n in notes)


# --- promote ------------------------------------------------------------------------------------------------


def _with_new_version(live: LiveState, precision: float) -> LiveState:
    sol = live.resources[SOL]
    newer = version(sol.arn, 2, created=NOW - 3600, metrics={"precision_at_25": precision})
    return with_resource(live, SOL, versions=(newer, *sol.versions))


def test_newer_version_passing_the_gate_is_promoted(base):
    desired, live = base
    p = plan(desired, _with_new_version(live, 0.095))
    promote = change(p, CAMP, Action.PROMOTE)
    assert promote.reasons == (Reason.NEW_VERSION,)
    assert promote.details["solutionVersionArn"].endswith("/00000002")
    assert promote.details["from"].endswith("/00000001")


@pytest.mark.parametrize("precision,why", [(0.08, "worse than the serving"), (0.04, "is below the minimum")])
def test_worse_version_is_held_back(base, precision, why):
    desired, live = base
    p = plan(desired, _with_new_version(live, precision))
    assert actions(p, CAMP) == [Action.NOOP]
    held = change(p, CAMP, Action.NOOP)
    assert held.reasons == (Reason.HELD_BACK,)
    assert any(why in n for n in held.notes)
    assert any("new version" in n for n in held.notes) and any("serving version" in n for n in held.notes)


def test_sync_with_latest_is_not_promoted(base):
    _desired, live = base
    specs = mutate(BASE_SPECS, CAMP, "campaignConfig", {"syncWithLatestSolutionVersion": True})
    synced = with_fields(live, CAMP, campaignConfig={"syncWithLatestSolutionVersion": True})
    p = plan(desired_state(specs), _with_new_version(synced, 0.2))
    assert Action.PROMOTE not in actions(p, CAMP)


# --- pinned campaigns (spec.solutionVersion) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "pin,newest_precision,expected,detail_end",
    [
        # pinned to the serving version: a newer, better version is NOT promoted
        ("00000001", 0.2, [Action.NOOP], None),
        # pinned to the newer version: moved there even if the gate would hold it back (the manifests say so)
        ("00000002", 0.01, [Action.PROMOTE], "/00000002"),
    ],
    ids=["pinned-to-serving", "pinned-to-newer-ungated"],
)
def test_pinned_campaign(base, pin, newest_precision, expected, detail_end):
    _desired, live = base
    specs = mutate(BASE_SPECS, CAMP, "solutionVersion", pin)
    p = plan(desired_state(specs), _with_new_version(live, newest_precision))
    assert actions(p, CAMP) == expected
    assert not p.errors
    if detail_end:
        promote = change(p, CAMP, Action.PROMOTE)
        assert promote.reasons == (Reason.REQUESTED,)
        assert promote.details["solutionVersionArn"].endswith(detail_end)
        assert promote.details["gated"] is False and promote.details["pinned"] is True


def test_pinned_campaign_is_not_promoted_after_a_retrain(base):
    _desired, live = base
    specs = mutate(BASE_SPECS, CAMP, "solutionVersion", "00000001")
    p = plan(desired_state(specs), live, PlanOptions(retrain=frozenset({SOL.name})))
    assert Action.RETRAIN in actions(p, SOL)
    assert Action.PROMOTE not in actions(p, CAMP)


def test_pin_to_an_unknown_version_is_a_plan_error(base):
    _desired, live = base
    specs = mutate(BASE_SPECS, CAMP, "solutionVersion", "deadbeef")
    p = plan(desired_state(specs), live)
    assert not p.applyable
    assert any("'deadbeef' does not exist" in e for e in p.errors)


def test_gate_check_table():
    from reconciler.model.spec import PromotionGate

    gate = PromotionGate(minimums={"coverage": 0.5}, maxRegression={"precision_at_25": 0.1})
    assert gate_check(None, {}, {}) == (True, [])
    assert gate_check(gate, {"coverage": 0.6, "precision_at_25": 0.1}, {"precision_at_25": 0.105})[0]
    assert not gate_check(gate, {"coverage": 0.4, "precision_at_25": 0.1}, {})[0]
    assert not gate_check(gate, {"precision_at_25": 0.1}, {})[0]  # missing minimum metric
    assert not gate_check(gate, {"coverage": 0.6, "precision_at_25": 0.05}, {"precision_at_25": 0.1})[0]


# --- superseded halves of a replacement ---


def test_old_half_of_replacement_is_deleted_when_no_longer_serving(base):
    desired, live = base
    sol = live.resources[SOL]
    old_address = Address(Kind.SOLUTION, "personalize@shop-personalize-old")
    old = dataclasses.replace(sol, arn=sol.arn + "-old", name="shop-personalize-old", address=old_address)
    both = dataclasses.replace(live, resources={**live.resources, old_address: old})
    delete = change(plan(desired, both), old_address, Action.DELETE)
    assert delete.reasons == (Reason.REPLACEMENT,)
    serving = with_fields(both, CAMP, solutionVersionArn=old.arn + "/00000001")
    moved = plan(desired, serving)
    update = change(moved, CAMP, Action.UPDATE)
    assert [(f.path, f.after) for f in update.field_changes] == [("solution", "personalize")]
    assert change(moved, old_address, Action.DELETE).depends_on == (CAMP,)
    busy_campaign = with_fields(serving, CAMP, latestCampaignUpdate={"status": "CREATE IN_PROGRESS"})
    kept = plan(desired, busy_campaign)
    assert actions(kept, old_address) == [Action.NOOP]
    # the update that moves the campaign records the spec digest apply writes to TAG_SPEC_DIGEST
    assert update.details.get("specDigest") and TAG_SPEC_DIGEST.startswith("personalize-gitops:")


def test_changed_local_file_reimports_before_upload(base):
    _desired, live = base
    specs = mutate(BASE_SPECS, D_INTER, "dataImport.localFile", "data/interactions.csv")
    ds = live.resources[D_INTER]
    recorded = {TAG_SOURCE_ETAG: "etag-1", TAG_SOURCE_SHA256: "sha256:aaa"}
    live = with_resource(live, D_INTER, imports=(import_job(ds, 1, tags=recorded),))
    etags = {"s3://bucket/interactions.csv": "etag-1", "local:s3://bucket/interactions.csv": "sha256:bbb"}
    p = plan(desired_state(specs), dataclasses.replace(live, s3_etags=etags))
    imp = change(p, D_INTER, Action.IMPORT)
    assert imp.reasons == (Reason.SOURCE_CHANGED,) and imp.details["etag"] == "sha256:bbb"
    assert any("uploads it" in n for n in imp.notes)
    same = {"s3://bucket/interactions.csv": "etag-1", "local:s3://bucket/interactions.csv": "sha256:aaa"}
    assert actions(plan(desired_state(specs), dataclasses.replace(live, s3_etags=same)), D_INTER) == [
        Action.NOOP
    ]


def test_local_file_fingerprint_never_compares_an_etag_with_a_hash_of_the_file(base):
    """Finding 9: a multipart or SSE-KMS object's ETag is not the MD5 of its data; the plan compares the
    file's SHA-256 with the SHA-256 recorded at import, and the object's ETag with the one recorded then."""
    _desired, live = base
    specs = mutate(BASE_SPECS, D_INTER, "dataImport.localFile", "data/interactions.csv")
    ds = live.resources[D_INTER]
    recorded = {TAG_SOURCE_ETAG: "0b1c2d3e-2", TAG_SOURCE_SHA256: "sha256:aaa"}
    live = with_resource(live, D_INTER, imports=(import_job(ds, 1, tags=recorded),))
    etags = {
        "s3://bucket/interactions.csv": "0b1c2d3e-2",  # multipart ETag
        "local:s3://bucket/interactions.csv": "sha256:aaa",
        "local-md5:s3://bucket/interactions.csv": "d41d8cd98f00b204e9800998ecf8427e",
    }
    assert actions(plan(desired_state(specs), dataclasses.replace(live, s3_etags=etags)), D_INTER) == [
        Action.NOOP
    ]
    # someone replaced the object in S3: its ETag changed since the import
    moved = {**etags, "s3://bucket/interactions.csv": "9f9f9f9f-3"}
    p = plan(desired_state(specs), dataclasses.replace(live, s3_etags=moved))
    assert change(p, D_INTER, Action.IMPORT).reasons == (Reason.SOURCE_CHANGED,)
    # an import made by an earlier version recorded the file's MD5 as source-etag: still recognised
    legacy = with_resource(
        live,
        D_INTER,
        imports=(import_job(ds, 1, tags={TAG_SOURCE_ETAG: "d41d8cd98f00b204e9800998ecf8427e"}),),
    )
    assert actions(plan(desired_state(specs), dataclasses.replace(legacy, s3_etags=etags)), D_INTER) == [
        Action.NOOP
    ]


def test_orphan_already_deleting_is_not_deleted_twice(base):
    desired, live = base
    old = Address(Kind.FILTER, "old")
    deleting = with_resource(_orphan_live(live, old), old, status="DELETE PENDING")
    p = plan(desired, deleting, PlanOptions(prune=True))
    assert actions(p, old) == [Action.NOOP]
    assert change(p, old, Action.NOOP).in_progress == "DELETE PENDING"


def test_children_wait_for_a_parent_still_being_created(base):
    desired, live = base
    creating = with_resource(without(live, FILT), DG, status="CREATE IN_PROGRESS")
    p = plan(desired, creating)
    assert DG in change(p, FILT, Action.CREATE).depends_on


# --- the create requests (the plan contract: what apply sends) -------------------------------------------


def test_create_requests_name_what_the_plan_read_and_hold_placeholders_for_what_it_creates(base):
    _desired, live = base
    second = Address(Kind.CAMPAIGN, "second")
    specs = mutate(BASE_SPECS, SOL, "recipeArn", "aws-user-personalization-v2")
    specs[second] = {"solution": "personalize", "minProvisionedTPS": 2}
    p = plan(desired_state(specs), live)
    replace = change(p, SOL, Action.REPLACE)
    request = replace.payload.request
    assert request["name"] == replace.new_physical_name  # the replacement's name, decided at plan time
    assert request["datasetGroupArn"] == live.resources[DG].arn  # read by the plan: the ARN itself
    assert {"tagKey": TAG_SPEC_DIGEST, "tagValue": replace.payload.spec_digest} in request["tags"]
    created = change(p, second, Action.CREATE).payload.request
    assert created["name"] == "shop-second" and created["minProvisionedTPS"] == 2
    # its solution is replaced and trained by this apply: the version is known only then
    assert created["solutionVersionArn"] == {"version": "Solution/personalize"}
    assert "solutionArn" not in created
