"""Account-wide vs per-parent reading (issue 15) against the emulator through real boto3 clients: two stacks
and an unmanaged dataset group in one account. The stack read is exactly what it owns; the other stack and the
unmanaged group cost one tag read per dataset group and are never read resource by resource."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.aws.personalize_access import grant_personalize_access, iam_client_like
from reconciler.live.reader import (
    ReadStrategy,
    expected_calls,
    minimal_calls,
    read_live,
    read_strategy,
    unattributed_kinds,
)
from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import Lifecycle, StackSpec
from reconciler.model.state import DesiredResource, DesiredState, Stack
from reconciler.plan.planner import plan
from tests.live.build import build
from tests.live.test_reader import clients
from tests.plan.builders import INTERACTIONS_AVRO, SPEC_MODELS

CSV = b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + b"".join(
    f"u{i % 40},i{i % 97},{1700000000 + i},click\n".encode() for i in range(1200)
)
AVRO = {
    **INTERACTIONS_AVRO,
    "fields": [*INTERACTIONS_AVRO["fields"], {"name": "EVENT_TYPE", "type": "string"}],
}


def stack_state(name: str, prefix: str, groups: int) -> DesiredState:
    """`groups` dataset groups, each with a schema, a dataset with an import, a solution, a campaign, a filter
    and an event tracker, named `<prefix><logical name>`."""
    specs: dict[Address, dict[str, Any]] = {}
    for g in range(groups):
        group = f"g{g}"
        specs[Address(Kind.DATASET_GROUP, group)] = {}
        specs[Address(Kind.SCHEMA, f"{group}-interactions")] = {"avro": copy.deepcopy(AVRO)}
        specs[Address(Kind.DATASET, f"{group}-interactions")] = {
            "datasetGroup": group,
            "datasetType": "INTERACTIONS",
            "schema": f"{group}-interactions",
            "dataImport": {"dataLocation": f"s3://{name}-data/{group}/interactions.csv"},
        }
        specs[Address(Kind.SOLUTION, f"{group}-sims")] = {"datasetGroup": group, "recipeArn": "aws-sims"}
        specs[Address(Kind.CAMPAIGN, f"{group}-sims")] = {"solution": f"{group}-sims"}
        specs[Address(Kind.FILTER, f"{group}-no-clicks")] = {
            "datasetGroup": group,
            "filterExpression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")',
        }
        specs[Address(Kind.EVENT_TRACKER, f"{group}-tracker")] = {"datasetGroup": group}
    resources = {
        address: DesiredResource(
            address=address,
            spec=SPEC_MODELS[address.kind].model_validate(spec),
            physical_name=prefix + address.name,
            tags={"team": name},
            lifecycle=Lifecycle(),
            source=SourceLocation(f"{name}.yaml", 1, 1),
        )
        for address, spec in specs.items()
    }
    stack = Stack(name, StackSpec(namePrefix=prefix, region="eu-west-1"), SourceLocation(f"{name}.yaml"))
    return DesiredState(stack=stack, resources=resources, digest=f"sha256:{name}")


def _upload(env: Any, desired: DesiredState) -> None:
    for quota in ("dataset_groups_per_region", "pending_dataset_import_jobs_per_region"):
        env.emulator.control.set_quota(quota, 100)
    bucket = f"{desired.stack.name}-data"
    env.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env.region})
    role = f"arn:aws:iam::{env.account}:role/PersonalizeS3"  # what tests/live/build.py imports with
    grant_personalize_access(env.s3, iam_client_like(env.s3), bucket, role)
    for res in desired.of_kind(Kind.DATASET):
        key = f"{res.address.name.removesuffix('-interactions')}/interactions.csv"
        env.s3.put_object(Bucket=bucket, Key=key, Body=CSV)


class Recorder:
    """Every Personalize request with its parameters (botocore `before-parameter-build`: once per call)."""

    def __init__(self, client: Any) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-parameter-build.personalize", self.record)

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        with self.lock:
            self.requests.append((model.name, dict(params)))

    def touching(self, arns: set[str]) -> list[tuple[str, dict[str, Any]]]:
        """Requests naming one of `arns` (or a solution version of one) in a parameter."""

        def names(value: Any) -> bool:
            return isinstance(value, str) and any(value == a or value.startswith(a + "/") for a in arns)

        return [(op, p) for op, p in self.requests if any(names(v) for v in p.values())]


def _arns_of(env: Any, names: set[str]) -> set[str]:
    """ARNs of everything in the emulated account named like `names` (and the datasets of those groups)."""
    out: set[str] = set()
    api = env.personalize
    groups = [g for g in api.list_dataset_groups()["datasetGroups"] if g["name"] in names]
    for group in groups:
        out.add(group["datasetGroupArn"])
        arn = group["datasetGroupArn"]
        out |= {d["datasetArn"] for d in api.list_datasets(datasetGroupArn=arn)["datasets"]}
        out |= {f["filterArn"] for f in api.list_filters(datasetGroupArn=arn)["Filters"]}
        out |= {t["eventTrackerArn"] for t in api.list_event_trackers(datasetGroupArn=arn)["eventTrackers"]}
        for solution in api.list_solutions(datasetGroupArn=arn)["solutions"]:
            out.add(solution["solutionArn"])
            out |= {
                c["campaignArn"] for c in api.list_campaigns(solutionArn=solution["solutionArn"])["campaigns"]
            }
    return out


def _unmanaged_group(env: Any, name: str) -> None:
    """A group made by hand (no ownership tags) with a dataset, a solution, a filter and an event tracker."""
    api = env.personalize
    group = api.create_dataset_group(name=name)["datasetGroupArn"]
    env.clock.advance(3600)
    schema = api.create_schema(name=f"{name}-schema", schema=json.dumps({**AVRO, "type": "record"}))[
        "schemaArn"
    ]
    api.create_dataset(
        name=f"{name}-events", schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS"
    )
    api.create_event_tracker(name=f"{name}-tracker", datasetGroupArn=group)
    env.clock.advance(3600)
    api.create_solution(
        name=f"{name}-sims", datasetGroupArn=group, recipeArn="arn:aws:personalize:::recipe/aws-sims"
    )
    api.create_filter(
        name=f"{name}-filter",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")',
    )
    env.clock.advance(3600)


@pytest.fixture
def two_stacks(emulator_env):
    ours = stack_state("shop", "shop-", 4)
    theirs = stack_state("other", "other-", 2)
    for desired in (ours, theirs):
        _upload(emulator_env, desired)
        build(emulator_env, desired)
    _unmanaged_group(emulator_env, "notebook")
    return ours, theirs


def test_two_stacks_and_an_unmanaged_group_each_read_only_what_they_own(emulator_env, two_stacks):
    ours, theirs = two_stacks
    foreign_groups = {"other-g0", "other-g1", "notebook"}
    foreign = _arns_of(emulator_env, foreign_groups)
    group_arns = {a for a in foreign if ":dataset-group/" in a}
    assert len(foreign) > 2 * len(group_arns)  # the other stack's children exist and have ARNs

    recorder = Recorder(emulator_env.personalize)
    live = read_live(clients(emulator_env), ours, now=emulator_env.clock.now())
    assert set(live.resources) == set(ours.resources)
    assert all(lv.managed for lv in live.resources.values())
    assert not plan(ours, live).has_changes

    # the other stack and the unmanaged group: one tag read per dataset group, nothing else by ARN
    touched = recorder.touching(foreign)
    assert sorted(op for op, _ in touched) == ["ListTagsForResource"] * len(group_arns)
    assert {p["resourceArn"] for _, p in touched} == group_arns

    # with other groups in the account, kinds whose summaries do not name their group are read per parent
    strategy = read_strategy(ours, groups_in_account=len(group_arns) + 4, named_like_ours=4)
    assert not strategy.account_wide & unattributed_kinds()
    assert Kind.DATASET in strategy.account_wide  # named by its ARN: one page for the account

    # and the other stack reads itself just as well, touching none of ours beyond group tags
    mine = _arns_of(emulator_env, {r.physical_name for r in ours.of_kind(Kind.DATASET_GROUP)})
    recorder.requests.clear()
    other_live = read_live(clients(emulator_env), theirs, now=emulator_env.clock.now())
    assert set(other_live.resources) == set(theirs.resources)
    assert not plan(theirs, other_live).has_changes
    assert {op for op, _ in recorder.touching(mine)} == {"ListTagsForResource"}


def test_account_wide_and_per_parent_read_the_same(emulator_env, two_stacks):
    ours, _ = two_stacks
    now = emulator_env.clock.now()
    auto = read_live(clients(emulator_env), ours, now=now)
    per_parent = read_live(clients(emulator_env), ours, now=now, strategy=ReadStrategy.per_parent())
    everything = ReadStrategy(
        account_wide=frozenset(
            {Kind.DATASET, Kind.SOLUTION, Kind.CAMPAIGN, Kind.FILTER, Kind.EVENT_TRACKER, Kind.RECOMMENDER}
        ),
        versions_account_wide=True,
    )
    forced = read_live(clients(emulator_env), ours, now=now, strategy=everything)
    assert auto == per_parent == forced


def test_a_group_named_like_ours_but_not_ours_falls_back_to_per_parent(emulator_env):
    """Every group is named like the stack's, so the reader bets on listing solutions, campaigns and event
    trackers account-wide; the tags show a look-alike group that is not ours: the bet is lost, those kinds are
    listed per parent and the look-alike's resources are never described."""
    ours = stack_state("shop", "shop-", 4)
    _upload(emulator_env, ours)
    build(emulator_env, ours)
    _unmanaged_group(emulator_env, "shop-scratch")
    strategy = read_strategy(ours, groups_in_account=5, named_like_ours=5)
    assert {Kind.SOLUTION, Kind.EVENT_TRACKER} <= strategy.account_wide
    look_alike = _arns_of(emulator_env, {"shop-scratch"})

    recorder = Recorder(emulator_env.personalize)
    live = read_live(clients(emulator_env), ours, now=emulator_env.clock.now())
    assert set(live.resources) == set(ours.resources)
    assert not plan(ours, live).has_changes
    touched = recorder.touching(look_alike)
    assert [op for op, _ in touched] == ["ListTagsForResource"]


def test_a_stack_alone_in_its_account_reads_account_wide_within_the_budget(emulator_env):
    """The whole account is the stack: every kind is listed once for the account, and a no-op plan costs at
    most 0.75x the per-parent minimum (issue 15), within 1.1x of this strategy's own minimum."""
    from reconciler.live.reader import CallCounter

    ours = stack_state("shop", "shop-", 12)
    _upload(emulator_env, ours)
    build(emulator_env, ours)
    counter = CallCounter(emulator_env.personalize, emulator_env.s3)
    live = read_live(clients(emulator_env), ours, now=emulator_env.clock.now())
    assert not plan(ours, live).has_changes
    expected = expected_calls(ours)
    assert expected <= counter.total <= 1.1 * expected, (counter.total, expected, counter.calls)
    assert counter.total <= 0.75 * minimal_calls(ours), (counter.total, minimal_calls(ours))
    assert counter.calls["ListSolutions"] == counter.calls["ListCampaigns"] == 1


class _ListOneKeyOnly:
    """An S3 client whose role may list one key at a time only (s3:ListBucket with an s3:prefix condition):
    any listing but `Prefix=<key>, MaxKeys=1` is denied."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.meta = real.meta
        self.denied = 0

    def list_objects_v2(self, **kwargs: Any) -> Any:
        if kwargs.get("MaxKeys") != 1:
            self.denied += 1
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "ListObjectsV2"
            )
        return self.real.list_objects_v2(**kwargs)


def test_data_locations_sharing_a_prefix_are_read_with_one_listing_or_key_by_key_when_denied(emulator_env):
    """Issue 15: the 12 data locations of one bucket (`g0/...` to `g11/...`) are read with one ListObjectsV2
    of the prefix they share (not 12); a role that may only list each key gets the same fingerprints from
    one read per key after the denied listing, and the plan is still a no-op."""
    from reconciler.live.reader import CallCounter

    ours = stack_state("shop", "shop-", 12)
    _upload(emulator_env, ours)
    build(emulator_env, ours)
    counter = CallCounter(emulator_env.s3)
    listed = read_live(clients(emulator_env), ours, now=emulator_env.clock.now())
    assert counter.calls == {"ListObjectsV2": 1}
    assert len(listed.s3_etags) == 12
    narrow = _ListOneKeyOnly(emulator_env.s3)
    wrapped = clients(emulator_env)
    wrapped.s3 = narrow
    keyed = read_live(wrapped, ours, now=emulator_env.clock.now())
    assert narrow.denied == 1
    assert counter.calls == {"ListObjectsV2": 1 + 12}  # the denied listing never reached the real client
    assert keyed.s3_etags == listed.s3_etags
    assert not plan(ours, keyed).has_changes
