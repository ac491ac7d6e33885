"""The structured target of a plan (`model.target.TargetIdentity`): how apply compares it, how a plan file
records it, and what each kind of target says it is. The display label is never compared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.emulator.server import EmulatorServer, MotoBridge
from reconciler.errors import PlanError
from reconciler.model.target import TargetIdentity
from reconciler.plan import planfile
from reconciler.plan.types import Plan, PlanOptions


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=600.0).start()
    try:
        yield srv
    finally:
        srv.stop()


IDENTITY = TargetIdentity(account="123456789012", region="us-east-1", partition="aws")


@pytest.mark.parametrize(
    ("now", "named"),
    [
        (IDENTITY, None),
        (replace(IDENTITY, region="eu-west-1"), "it was made for region us-east-1, not eu-west-1"),
        (replace(IDENTITY, account="210987654321"), "it was made for account 123456789012, not 210987654321"),
        (
            replace(IDENTITY, endpoint="http://h:1"),
            "it was made for endpoint AWS's own endpoints, not http://h:1",
        ),
        (
            replace(IDENTITY, service_endpoints={"s3": "http://s3:1"}),
            "it was made for s3 endpoint AWS's own endpoints, not http://s3:1",
        ),
        (
            replace(IDENTITY, account="1", region="cn-north-1", partition="aws-cn"),
            "it was made for partition aws, not aws-cn, and for account 123456789012, not 1, and for region "
            "us-east-1, not cn-north-1",
        ),
    ],
)
def test_targets_are_compared_field_by_field(now: TargetIdentity, named: str | None) -> None:
    from reconciler.apply.run import target_problems

    # labels that read alike (or not at all) change nothing: only the structure is compared
    saved = Plan(changes=(), stack="s", target="AWS account 1 (x, profile y)", manifests_digest="d")
    fresh = replace(saved, target="")
    problems = target_problems(replace(saved, target_identity=IDENTITY), replace(fresh, target_identity=now))
    assert problems == ([] if named is None else [f"{named} (planned against {saved.target}; now )"])


@pytest.mark.parametrize(
    ("identity", "error"),
    [
        ({"account": 123, "region": "us-east-1", "partition": "aws"}, "target_identity.account is 123"),
        ({"account": "1", "partition": "aws"}, "target_identity.region is None"),
        ({"account": "1", "region": "", "partition": "aws"}, "target_identity.region is empty"),
        ({"account": "1", "region": "r", "partition": "aws", "endpoint": 5}, "target_identity.endpoint is 5"),
        ("AWS account 1 (us-east-1)", "target_identity is a str, not an object"),
        (
            {"account": "1", "region": "r", "partition": "aws", "service_endpoints": {"s3": 5}},
            "target_identity.service_endpoints is {'s3': 5}, not an object of service names",
        ),
    ],
)
def test_a_damaged_target_identity_is_refused_naming_it(identity: object, error: str) -> None:
    options = PlanOptions(target="t", target_identity=IDENTITY)
    plan = Plan(
        changes=(), stack="s", target="t", manifests_digest="d", options=options, target_identity=IDENTITY
    )
    data = planfile.plan_to_dict(plan)
    assert planfile.plan_from_dict(data) == plan  # the round trip keeps it
    data["target_identity"] = identity
    with pytest.raises(PlanError, match="damaged") as raised:
        planfile.loads(json.dumps(data), source="p.json")
    assert error in raised.value.message and raised.value.message.startswith("p.json: ")


def test_the_identity_of_each_kind_of_target(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.aws.target import open_target, partition_of

    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_PERSONALIZE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with open_target(local=False, endpoint_url=server.url, region="eu-west-1") as target:
        assert target.identity() == TargetIdentity(
            account="123456789012", region="eu-west-1", partition="aws", endpoint=server.url.rstrip("/")
        )
    with open_target(local=False, endpoint_url=None, region="us-east-1") as aws:
        assert aws.identity(account="111122223333").endpoint is None  # AWS's own endpoint
    # an endpoint set by the environment is an endpoint too, though no option named it
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with open_target(local=False, endpoint_url=None, region="us-east-1") as redirected:
        assert redirected.identity(account="111122223333").endpoint == "http://127.0.0.1:9"
    assert (partition_of("cn-north-1"), partition_of("us-gov-west-1"), partition_of("eu-west-1")) == (
        "aws-cn",
        "aws-us-gov",
        "aws",
    )
