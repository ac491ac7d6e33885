"""The live reader and the planner against the emulator (real boto3 clients, virtual time)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from reconciler.errors import ApiError
from reconciler.live.reader import CallCounter, minimal_calls, read_live
from reconciler.manifest import load
from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec
from reconciler.model.state import TAG_NAME, TAG_STACK, DesiredState
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Action, Reason
from reconciler.render import render_markdown
from reconciler.resources.base import tag_list
from tests.live.build import build, upload_data
from tests.plan.builders import INTERACTIONS_AVRO, desired_state

NOTEBOOK_AVRO = {
    **INTERACTIONS_AVRO,
    "type": "record",
    "fields": [*INTERACTIONS_AVRO["fields"], {"name": "EVENT_TYPE", "type": "string"}],
}

SAMPLES = "manifests"


@dataclass
class Clients:
    personalize: Any
    s3: Any
    region: str

    def account_id(self) -> str:
        return str(boto3.client("sts", region_name=self.region).get_caller_identity()["Account"])


def clients(env: Any) -> Clients:
    return Clients(env.personalize, env.s3, env.region)


@pytest.fixture
def samples() -> DesiredState:
    return load(SAMPLES)


def test_samples_on_empty_account_plan_creates_trainings_and_imports(emulator_env, samples):
    live = read_live(clients(emulator_env), samples, now=emulator_env.clock.now())
    assert live.resources == {}
    assert live.account_id == emulator_env.account
    p = plan(samples, live, PlanOptions(target="test emulator"))
    assert p.count(Action.CREATE) == len(samples.resources)
    assert p.count(Action.RETRAIN) == len(samples.of_kind(Kind.SOLUTION))
    imports = [
        r for r in samples.of_kind(Kind.DATASET) if isinstance(r.spec, DatasetSpec) and r.spec.dataImport
    ]
    assert p.count(Action.IMPORT) == len(imports) > 0
    assert all(c.action in (Action.CREATE, Action.RETRAIN, Action.IMPORT) for c in p.changes)
    assert p.applyable


def test_built_account_is_a_no_op_within_the_call_budget(emulator_env, samples):
    upload_data(emulator_env, samples)
    build(emulator_env, samples)
    counter = CallCounter(emulator_env.personalize, emulator_env.s3)
    live = read_live(clients(emulator_env), samples, now=emulator_env.clock.now())
    p = plan(samples, live, PlanOptions(target="test emulator"))
    assert not p.has_changes, [
        (str(c.address), c.action.value, c.field_changes) for c in p.changes if c.action.value != "no-op"
    ]
    minimal = minimal_calls(samples)
    assert minimal <= counter.total <= 1.1 * minimal, (counter.total, minimal, counter.calls)
    assert all(lv.managed for lv in live.resources.values())
    assert len(live.resources) == len(samples.resources)
    solutions = [live.resources[r.address] for r in samples.of_kind(Kind.SOLUTION)]
    assert all(s.versions and s.versions[0].status == "ACTIVE" for s in solutions)


def test_sequential_reader_reads_the_same(emulator_env, samples):
    upload_data(emulator_env, samples)
    build(emulator_env, samples)
    parallel = read_live(clients(emulator_env), samples, now=1.0)
    sequential = read_live(clients(emulator_env), samples, concurrency=1, now=1.0)
    assert parallel == sequential


def test_drift_made_outside_git_is_planned_back(emulator_env, samples):
    upload_data(emulator_env, samples)
    build(emulator_env, samples)
    campaign = samples.of_kind(Kind.CAMPAIGN)[0]
    live = read_live(clients(emulator_env), samples, now=emulator_env.clock.now())
    emulator_env.personalize.update_campaign(
        campaignArn=live.resources[campaign.address].arn, minProvisionedTPS=3
    )
    emulator_env.clock.advance(3 * 3600)
    p = plan(samples, read_live(clients(emulator_env), samples, now=emulator_env.clock.now()))
    update = [c for c in p.changes if c.address == campaign.address and c.action is Action.UPDATE]
    assert update and update[0].reasons == (Reason.DRIFT,)
    assert [(f.path, f.before, f.after, f.drift) for f in update[0].field_changes] == [
        ("minProvisionedTPS", 3, 1, True)
    ]


def test_unmanaged_name_match_is_adopted_and_strangers_are_ignored(emulator_env):
    specs = {
        Address(Kind.DATASET_GROUP, "retail"): {},
        Address(Kind.FILTER, "mine"): {
            "datasetGroup": "retail",
            "filterExpression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("a")',
        },
    }
    desired = desired_state(specs)
    p0 = plan(desired, read_live(clients(emulator_env), desired, now=0.0))
    assert p0.count(Action.CREATE) == 2
    api = emulator_env.personalize
    group = api.create_dataset_group(name="shop-retail")["datasetGroupArn"]  # made by a notebook: no tags
    emulator_env.clock.advance(3600)
    schema = api.create_schema(name="nb-interactions", schema=json.dumps(NOTEBOOK_AVRO))["schemaArn"]
    api.create_dataset(
        name="nb-interactions", schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS"
    )
    emulator_env.clock.advance(3600)
    api.create_filter(
        name="shop-mine",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("a")',
    )
    api.create_filter(
        name="someone-else",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("b")',
    )
    api.create_filter(
        name="shop-gone",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("c")',
        tags=tag_list({TAG_STACK: "shop", TAG_NAME: "gone"}),
    )
    emulator_env.clock.advance(3600)
    live = read_live(clients(emulator_env), desired, now=emulator_env.clock.now())
    assert sorted(str(a) for a in live.resources) == ["DatasetGroup/retail", "Filter/gone", "Filter/mine"]
    p = plan(desired, live)
    assert {str(c.address): c.action for c in p.changes} == {
        "DatasetGroup/retail": Action.ADOPT,
        "Filter/mine": Action.ADOPT,
        "Filter/gone": Action.NOOP,  # managed orphan, prune disabled
    }
    pruned = plan(desired, live, PlanOptions(prune=True))
    assert [c.action for c in pruned.changes if str(c.address) == "Filter/gone"] == [Action.DELETE]


def test_access_denied_becomes_an_api_error_with_a_hint(emulator_env, samples):
    emulator_env.emulator.control.inject_fault("ListDatasetGroups", code="AccessDeniedException")
    with pytest.raises(ApiError) as caught:
        read_live(clients(emulator_env), samples, now=0.0)
    assert "access denied" in caught.value.message and "personalize:List" in (caught.value.hint or "")


def test_thousand_resource_plan_renders_under_the_comment_limit(emulator_env):
    specs: dict[Address, dict[str, Any]] = {}
    avro = {
        "name": "Interactions",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
    }
    for g in range(100):
        group = f"group-{g:03d}"
        specs[Address(Kind.DATASET_GROUP, group)] = {}
        specs[Address(Kind.SCHEMA, f"{group}-interactions")] = {"avro": copy.deepcopy(avro)}
        specs[Address(Kind.DATASET, f"{group}-interactions")] = {
            "datasetGroup": group,
            "datasetType": "INTERACTIONS",
            "schema": f"{group}-interactions",
            "dataImport": {"dataLocation": f"s3://bucket/{group}/interactions.csv"},
        }
        for s in range(3):
            name = f"{group}-solution-{s}"
            specs[Address(Kind.SOLUTION, name)] = {"datasetGroup": group, "recipeArn": "aws-sims"}
            if s < 2:
                specs[Address(Kind.CAMPAIGN, name)] = {"solution": name, "minProvisionedTPS": 1 + s}
        for f in range(2):
            specs[Address(Kind.FILTER, f"{group}-filter-{f}")] = {
                "datasetGroup": group,
                "filterExpression": f'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("e{f}")',
            }
    assert len(specs) == 1000
    desired = desired_state(specs)
    live = read_live(clients(emulator_env), desired, now=emulator_env.clock.now())
    p = plan(desired, live, PlanOptions(target="test emulator"))
    assert p.count(Action.CREATE) == 1000
    text = render_markdown(p)
    assert len(text) < 65_536
    summary = (
        "Plan: 1000 to create, 0 to update, 0 to replace, 0 to delete, 300 to retrain, 0 to promote, "
        "100 to import."
    )
    assert f"**{summary}**" in text.splitlines()[3]
    assert text.startswith("<!-- personalize-gitops:plan:shop -->")
    assert "omitted here to stay under GitHub's" in text


def test_half_done_create_before_destroy_is_finished(emulator_env, samples):
    """Apply created the new solution of a create-before-destroy replacement and stopped: the next plan
    trains it, moves the campaign over and only then deletes the old solution."""
    upload_data(emulator_env, samples)
    build(emulator_env, samples)
    solution = next(
        r
        for r in samples.of_kind(Kind.SOLUTION)
        if any(c.spec.solution == r.address.name for c in samples.of_kind(Kind.CAMPAIGN))
    )
    campaign = next(c for c in samples.of_kind(Kind.CAMPAIGN) if c.spec.solution == solution.address.name)
    live = read_live(clients(emulator_env), samples, now=emulator_env.clock.now())
    old = live.resources[solution.address]
    request = {
        "name": solution.physical_name + "-abc123",
        "datasetGroupArn": old.fields["datasetGroupArn"],
        "recipeArn": old.fields["recipeArn"],
        "performAutoTraining": False,
        "tags": tag_list({TAG_STACK: samples.stack.name, TAG_NAME: solution.address.name}),
    }
    emulator_env.personalize.create_solution(**request)
    emulator_env.clock.advance(3600)
    live = read_live(clients(emulator_env), samples, now=emulator_env.clock.now())
    alias = Address(Kind.SOLUTION, f"{solution.address.name}@{old.name}")
    assert live.resources[solution.address].name == solution.physical_name + "-abc123"
    assert live.resources[alias].arn == old.arn
    p = plan(samples, live)
    actions = [(str(c.address), c.action) for c in p.changes if c.action is not Action.NOOP]
    assert (str(solution.address), Action.RETRAIN) in actions
    assert (str(campaign.address), Action.UPDATE) in actions
    assert actions[-1] == (str(alias), Action.DELETE)
    delete = p.changes[-1]
    assert delete.reasons == (Reason.REPLACEMENT,) and campaign.address in delete.depends_on


def test_edited_local_data_file_is_planned_for_import(emulator_env, tmp_path):
    import shutil

    shutil.copytree(SAMPLES, tmp_path / "manifests")
    shutil.copytree("data", tmp_path / "data")
    desired = load(tmp_path / "manifests")
    upload_data(emulator_env, desired)
    build(emulator_env, desired)
    assert not plan(
        desired, read_live(clients(emulator_env), desired, now=emulator_env.clock.now())
    ).has_changes
    dataset = next(
        r for r in desired.of_kind(Kind.DATASET) if r.spec.dataImport and r.spec.dataImport.localFile
    )
    path = tmp_path / "manifests" / dataset.spec.dataImport.localFile
    path.write_bytes(path.read_bytes() + path.read_bytes().splitlines(keepends=True)[-1])
    p = plan(desired, read_live(clients(emulator_env), desired, now=emulator_env.clock.now()))
    imports = [c for c in p.changes if c.action is Action.IMPORT]
    assert [c.address for c in imports] == [dataset.address]
    assert imports[0].reasons == (Reason.SOURCE_CHANGED,)


def test_an_s3_client_that_cannot_be_made_is_a_clean_error(emulator_env, samples):
    """The data-location reads ask for the S3 client once (one worker makes it, then queues the reads); when
    making it fails the error says what was read and what to do, as a failed read would (no traceback)."""
    from botocore.exceptions import NoRegionError

    from reconciler.errors import TargetError

    class NoS3:
        personalize = emulator_env.personalize

        @property
        def s3(self) -> Any:
            raise NoRegionError()

        def account_id(self) -> str:
            return clients(emulator_env).account_id()

    broken = NoS3()
    with pytest.raises(TargetError) as caught:
        read_live(broken, samples, now=emulator_env.clock.now())
    rendered = caught.value.render()
    assert "no AWS region while trying to read s3://" in rendered
    assert "--region" in rendered
