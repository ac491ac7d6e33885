"""Issue 11: the Create* request is part of the plan. The kind's handler builds it at plan time (names,
fields, tags); a saved plan carries it; apply sends exactly what the plan recorded, resolving only the
placeholders of ARNs the plan could not know (`plan/requests.py`). Against the emulator through real boto3
clients, the calls recorded by a botocore event hook on the client apply uses."""

from __future__ import annotations

import json
from typing import Any

from botocore import xform_name

from reconciler.apply.run import ACCOUNT_CHANGED_EXIT
from reconciler.model.address import Address, Kind
from reconciler.plan import planfile
from reconciler.plan.types import Action, CreatePayload
from reconciler.resources.registry import handler as handler_for

FILTER = Address(Kind.FILTER, "purchased")
TAMPERED = 'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("Viewed")'


def record_creates(world) -> dict[tuple[str, str], dict[str, Any]]:
    """(operation, name) -> the params of every Create* call the client sends (as botocore gets them)."""
    sent: dict[tuple[str, str], dict[str, Any]] = {}

    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name.startswith("Create") and "name" in params:
            sent[(xform_name(model.name), params["name"])] = json.loads(json.dumps(params))

    world.personalize.meta.events.register("provide-client-params.personalize.*", hook)
    return sent


def is_placeholder(value: Any) -> bool:
    """`{"ref": "Kind/name"[, "suffix": ...]}` or `{"version": "Solution/name"}` (docs/ARCHITECTURE.md)."""
    return isinstance(value, dict) and ("ref" in value or "version" in value)


def saved(world, plan) -> Any:
    """The plan as `plan --out` writes it and `apply PLANFILE` reads it."""
    return planfile.loads(planfile.dumps(plan))


def test_a_saved_plan_carries_the_create_requests_and_apply_sends_exactly_them(mini) -> None:
    reviewed = saved(mini, mini.plan())
    creates = {c.address: c for c in reviewed.changes if c.action is Action.CREATE}
    assert set(creates) >= {
        Address(Kind.DATASET_GROUP, "shop"),
        Address(Kind.DATASET, "interactions"),
        Address(Kind.CAMPAIGN, "sims"),
        FILTER,
    }
    for change in creates.values():
        assert isinstance(change.payload, CreatePayload)
        assert change.payload.request["name"] == change.physical_name
    dataset = creates[Address(Kind.DATASET, "interactions")].payload.request
    assert dataset["datasetGroupArn"] == {"ref": "DatasetGroup/shop"}  # created by this plan: a placeholder
    assert dataset["datasetType"] == "INTERACTIONS"
    assert {"tagKey": "personalize-gitops:stack", "tagValue": "mini"} in dataset["tags"]
    campaign = creates[Address(Kind.CAMPAIGN, "sims")].payload.request
    assert campaign["solutionVersionArn"] == {"version": "Solution/sims"}  # the version this apply trains

    sent = record_creates(mini)
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 0, result.summary().details()
    live = mini.live()
    versions = live.resources[Address(Kind.SOLUTION, "sims")].versions
    for address, change in creates.items():
        request = change.payload.request
        call = sent[(handler_for(address.kind).ops.create, request["name"])]
        assert set(call) == set(request), address
        for key, planned in request.items():
            if not is_placeholder(planned):
                assert call[key] == planned, (address, key)  # exactly as planned, tags included
            elif "ref" in planned:
                target = Address.parse(planned["ref"])
                assert call[key] == live.resources[target].arn + planned.get("suffix", ""), (address, key)
            else:
                assert call[key] == versions[0].arn, (address, key)
    assert not mini.plan().has_changes


def test_a_tampered_saved_plan_sends_what_it_says_and_has_another_digest(mini) -> None:
    """There is no signature on a plan file: `plan_digest` is the identity of the reviewed plan (CI keeps it
    next to the approval), and apply executes the plan it is given. An edited request is sent as edited."""
    reviewed = mini.plan()
    data = planfile.plan_to_dict(reviewed)
    entry = next(c for c in data["resource_changes"] if c["address"] == str(FILTER))
    entry["details"]["request"]["filterExpression"] = TAMPERED
    tampered = planfile.loads(json.dumps(data))
    assert planfile.plan_digest(tampered) != planfile.plan_digest(reviewed)

    sent = record_creates(mini)
    result = mini.apply(saved_plan=tampered)
    name = entry["details"]["request"]["name"]
    assert sent[("create_filter", name)]["filterExpression"] == TAMPERED
    arn = mini.personalize.list_filters()["Filters"][0]["filterArn"]
    assert mini.personalize.describe_filter(filterArn=arn)["filter"]["filterExpression"] == TAMPERED
    # the plan apply makes afterwards differs from the manifests there: reported, exit 5, never applied
    assert result.exit_code == ACCOUNT_CHANGED_EXIT, result.summary().details()
    assert any(str(FILTER) in line and "replace" in line for line in result.summary().details())
