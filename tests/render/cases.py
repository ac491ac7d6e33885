"""Representative plans for the renderer goldens (built with the planner from fixed desired/live states)."""

from __future__ import annotations

import dataclasses

from reconciler.model.address import Address, Kind
from reconciler.model.state import TAG_NAME, TAG_STACK, LiveState
from reconciler.model.target import TargetIdentity
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Plan
from tests.plan.builders import (
    BASE_SPECS,
    ITEMS_AVRO,
    NOW,
    applied_live,
    desired_state,
    version,
    with_fields,
    with_resource,
)
from tests.plan.test_planner import CAMP, DG, FILT, REC, S_ITEMS, SOL, mutate

TARGET = "AWS account 123456789012 (us-east-1)"
IDENTITY = TargetIdentity(account="123456789012", region="us-east-1", partition="aws")
LOCAL = TargetIdentity(
    account="123456789012",
    region="us-east-1",
    partition="aws",
    local_state="/home/dev/shop/.personalize-gitops/emulator-state.json",
)


def create_everything() -> Plan:
    return plan(
        desired_state(BASE_SPECS),
        LiveState(resources={}),
        PlanOptions(target="local emulator", target_identity=LOCAL),
    )


def no_changes() -> Plan:
    desired = desired_state(BASE_SPECS)
    return plan(desired, applied_live(desired), PlanOptions(target=TARGET, target_identity=IDENTITY))


def mixed() -> Plan:
    base = desired_state(BASE_SPECS)
    live = applied_live(base)
    specs = mutate(BASE_SPECS, CAMP, "minProvisionedTPS", 2)
    specs = mutate(specs, SOL, "solutionConfig.algorithmHyperParameters", {"hidden_dimension": 128})
    live = with_fields(
        live, FILT, filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")'
    )
    live = with_resource(live, REC, managed=False, tags={"owner": "notebook"})
    live = dataclasses.replace(live, s3_etags={"s3://bucket/interactions.csv": "etag-2"})
    orphan_address = Address(Kind.FILTER, "old-filter")
    source = live.resources[FILT]
    orphan = dataclasses.replace(
        source,
        address=orphan_address,
        arn=source.arn + "-old",
        name="shop-old-filter",
        tags={TAG_STACK: "shop", TAG_NAME: "old-filter"},
    )
    live = dataclasses.replace(live, resources={**live.resources, orphan_address: orphan})
    return plan(desired_state(specs), live, PlanOptions(target=TARGET, target_identity=IDENTITY, prune=True))


def refused() -> Plan:
    base = desired_state(BASE_SPECS)
    specs = mutate(BASE_SPECS, DG, "domain", "VIDEO_ON_DEMAND")
    return plan(
        desired_state(specs), applied_live(base), PlanOptions(target=TARGET, target_identity=IDENTITY)
    )


def held_back() -> Plan:
    desired = desired_state(BASE_SPECS)
    live = applied_live(desired)
    sol = live.resources[SOL]
    newer = version(sol.arn, 2, created=NOW - 3600, metrics={"precision_at_25": 0.07})
    live = with_resource(live, SOL, versions=(newer, *sol.versions))
    live = with_fields(
        live, Address(Kind.RECOMMENDER, "for-you"), latestRecommenderUpdate={"status": "CREATE PENDING"}
    )
    return plan(desired, live, PlanOptions(target=TARGET, target_identity=IDENTITY))


def schema_field_added() -> Plan:
    """One nullable field added to the items schema (the dataset takes the new schema in place)."""
    desired = desired_state(BASE_SPECS)
    live = applied_live(desired)
    fields = [*ITEMS_AVRO["fields"], {"name": "COLOR", "type": ["null", "string"], "categorical": True}]
    specs = mutate(BASE_SPECS, S_ITEMS, "avro", {**ITEMS_AVRO, "fields": fields})
    return plan(desired_state(specs), live, PlanOptions(target=TARGET, target_identity=IDENTITY))


def kept_orphan() -> Plan:
    """A managed filter removed from the manifests while prune is off: kept, said once."""
    desired = desired_state(BASE_SPECS)
    live = applied_live(desired)
    orphan_address = Address(Kind.FILTER, "old-filter")
    source = live.resources[FILT]
    orphan = dataclasses.replace(
        source,
        address=orphan_address,
        arn=source.arn + "-old",
        name="shop-old-filter",
        tags={TAG_STACK: "shop", TAG_NAME: "old-filter"},
    )
    live = dataclasses.replace(live, resources={**live.resources, orphan_address: orphan})
    return plan(desired, live, PlanOptions(target=TARGET, target_identity=IDENTITY))


CASES = {
    "schema_field": schema_field_added,
    "kept_orphan": kept_orphan,
    "create": create_everything,
    "no_changes": no_changes,
    "mixed": mixed,
    "refused": refused,
    "held_back": held_back,
}
