"""Handlers: every request they build is valid for the real botocore service model, and the comparable
fields of a resource applied from its own create request equal the desired ones (create -> describe
round trip)."""

from __future__ import annotations

import copy

import botocore.session
import pytest
from botocore.validate import ParamValidator

from reconciler.model.address import Kind
from reconciler.plan.context import build_context
from reconciler.resources.base import ResourceHandler, norm_status, tag_requests
from reconciler.resources.registry import REGISTRY
from reconciler.resources.schema import is_additive
from tests.plan.builders import BASE_SPECS, applied_live, desired_state
from tests.plan.test_planner import CAMP, MA, REC, SOL, UPDATE_ROWS, mutate

MODEL = botocore.session.get_session().get_service_model("personalize")


def validate(operation: str, params: dict) -> None:
    name = "".join(part.capitalize() for part in operation.split("_"))
    report = ParamValidator().validate(params, MODEL.operation_model(name).input_shape)
    assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def test_registry_covers_every_kind_with_a_protocol_handler():
    assert set(REGISTRY) == set(Kind)
    for kind, handler in REGISTRY.items():
        assert isinstance(handler, ResourceHandler)
        assert handler.kind is kind
        for op in (handler.ops.create, handler.ops.describe, handler.ops.delete, handler.ops.list):
            assert "".join(p.capitalize() for p in op.split("_")) in MODEL.operation_names, op
        assert handler.__doc__ or type(handler).__module__


@pytest.mark.parametrize("kind", list(Kind))
def test_create_requests_are_valid_and_round_trip(kind):
    desired = desired_state(BASE_SPECS)
    live = applied_live(desired)
    ctx = build_context(desired, live)
    handler = REGISTRY[kind]
    for res in desired.of_kind(kind):
        request = handler.create_request(res, ctx)
        validate(handler.ops.create, request)
        assert ("tags" in request) == handler.taggable
        assert handler.desired_fields(res, ctx) == handler.live_fields(live.resources[res.address], ctx)
        validate(handler.ops.delete, handler.delete_request(live.resources[res.address].arn))
        validate(handler.ops.describe, handler.describe_request(live.resources[res.address].arn))


@pytest.mark.parametrize("address,path,value,field", UPDATE_ROWS, ids=[f"{r[0]}:{r[1]}" for r in UPDATE_ROWS])
def test_update_requests_are_valid(address, path, value, field):
    base = desired_state(BASE_SPECS)
    live = applied_live(base)
    desired = desired_state(mutate(BASE_SPECS, address, path, value))
    ctx = build_context(desired, live)
    handler = REGISTRY[address.kind]
    res = desired.resources[address]
    request = handler.update_request(res, live.resources[address], ctx)
    extra = handler.extra_requests(res, live.resources[address], ctx)
    assert request is not None or extra, f"{address}: no update request for {field}"
    if request is not None:
        assert handler.ops.update
        validate(handler.ops.update, request)
    for operation, params in extra:
        validate(operation, params)
    assert handler.update_request(base.resources[address], live.resources[address], ctx) is None


def test_specific_update_payloads():
    base = desired_state(BASE_SPECS)
    live = applied_live(base)
    tps = desired_state(mutate(BASE_SPECS, CAMP, "minProvisionedTPS", 4))
    ctx = build_context(tps, live)
    handler = REGISTRY[Kind.CAMPAIGN]
    assert handler.update_request(tps.resources[CAMP], live.resources[CAMP], ctx) == {
        "campaignArn": live.resources[CAMP].arn,
        "minProvisionedTPS": 4,
    }
    auto = desired_state(mutate(BASE_SPECS, SOL, "performAutoTraining", True))
    request = REGISTRY[Kind.SOLUTION].update_request(auto.resources[SOL], live.resources[SOL], ctx)
    assert request == {"solutionArn": live.resources[SOL].arn, "performAutoTraining": True}
    stop = desired_state(mutate(BASE_SPECS, REC, "running", False))
    assert REGISTRY[Kind.RECOMMENDER].extra_requests(stop.resources[REC], live.resources[REC], ctx) == [
        ("stop_recommender", {"recommenderArn": live.resources[REC].arn})
    ]
    metrics = [{"eventType": "click", "metricName": "CLICKS", "expression": "SAMPLECOUNT()"}]
    ma = desired_state(mutate(BASE_SPECS, MA, "metrics", metrics))
    request = REGISTRY[Kind.METRIC_ATTRIBUTION].update_request(ma.resources[MA], live.resources[MA], ctx)
    assert request["addMetrics"] == metrics and request["removeMetrics"] == ["REVENUE"]


def test_solution_create_always_sends_auto_training():
    desired = desired_state(BASE_SPECS)
    ctx = build_context(desired, applied_live(desired))
    request = REGISTRY[Kind.SOLUTION].create_request(desired.resources[SOL], ctx)
    assert request["performAutoTraining"] is False
    assert request["solutionConfig"]["algorithmHyperParameters"] == {"hidden_dimension": "64"}


def test_tag_requests_add_and_remove():
    desired = desired_state(BASE_SPECS, **{str(CAMP): {"tags": {"team": "recs"}}})
    live = applied_live(desired_state(BASE_SPECS, **{str(CAMP): {"tags": {"old": "x"}}}))
    ctx = build_context(desired, live)
    calls = tag_requests(desired.resources[CAMP], live.resources[CAMP], ctx, digest="abc")
    assert [op for op, _ in calls] == ["tag_resource", "untag_resource"]
    for operation, params in calls:
        validate(operation, params)
    assert calls[1][1]["tagKeys"] == ["old"]


@pytest.mark.parametrize(
    "status,expected",
    [
        ("CREATE_PENDING", "CREATE PENDING"),
        ("CREATE IN_PROGRESS", "CREATE IN_PROGRESS"),
        ("create_in_progress", "CREATE IN_PROGRESS"),
        ("ACTIVE", "ACTIVE"),
        (None, ""),
    ],
)
def test_status_normalisation(status, expected):
    assert norm_status(status) == expected


def test_additive_schema_rule():
    old = {"fields": [{"name": "ITEM_ID", "type": "string"}]}
    added = copy.deepcopy(old)
    added["fields"].append({"name": "PRICE", "type": ["null", "float"]})
    assert is_additive(old, added)
    required = copy.deepcopy(old)
    required["fields"].append({"name": "PRICE", "type": "float"})
    assert not is_additive(old, required)
    retyped = {"fields": [{"name": "ITEM_ID", "type": "int"}]}
    assert not is_additive(old, retyped)
    assert not is_additive(old, {"fields": []})
