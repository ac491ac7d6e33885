"""Issue 15: a dataset's import record (`model.state.import_record`, bookkeeping written by apply) is no tag
drift: plans neither report it nor remove it."""

from __future__ import annotations

import dataclasses

from reconciler.model.address import Address, Kind
from reconciler.model.state import LAST_IMPORT_TAGS, TAG_SOURCE_SHA256, TAG_TRIGGER, import_record
from reconciler.plan.context import build_context
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Action, UpdatePayload
from reconciler.resources.base import tag_requests
from tests.plan.builders import BASE_SPECS, applied_live, desired_state

D_INTER = Address(Kind.DATASET, "interactions")


def _recorded(desired):
    live = applied_live(desired)
    dataset = live.resources[D_INTER]
    job = dataset.imports[0]
    fingerprints = {**job.tags, TAG_TRIGGER: "", TAG_SOURCE_SHA256: "sha256:" + "0" * 64}
    tags = {**dataset.tags, **import_record(job.name, fingerprints)}
    assert set(tags) >= LAST_IMPORT_TAGS
    resources = {**live.resources, D_INTER: dataclasses.replace(dataset, tags=tags)}
    return dataclasses.replace(live, resources=resources)


def test_the_import_record_is_no_tag_drift():
    desired = desired_state(BASE_SPECS)
    p = plan(desired, _recorded(desired), PlanOptions(target="test"))
    assert not p.has_changes, [(str(c.address), c.action, c.field_changes) for c in p.changes]


def test_a_tag_update_of_the_dataset_keeps_the_import_record():
    desired = desired_state(BASE_SPECS, **{str(D_INTER): {"tags": {"team": "recs"}}})
    live = _recorded(desired_state(BASE_SPECS))
    p = plan(desired, live, PlanOptions(target="test"))
    [update] = [c for c in p.changes if c.address == D_INTER]
    assert update.action is Action.UPDATE
    assert [f.path for f in update.field_changes] == ["tags.team"]
    assert isinstance(update.payload, UpdatePayload) and update.payload.tags_unset == ()
    calls = tag_requests(
        desired.resources[D_INTER], live.resources[D_INTER], build_context(desired, live), None
    )
    assert [op for op, _ in calls] == ["tag_resource"]
