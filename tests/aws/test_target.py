"""`open_target`: real AWS, `--endpoint-url`, `--local` (persisted across runs), and `Target.for_tests`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from reconciler.aws import DEFAULT_LOCAL_STATE, SystemClock, Target, open_target
from reconciler.aws.personalize_access import grant_personalize_access
from reconciler.aws.target import EmulatorEndpointClock
from reconciler.emulator import PersonalizeEmulator, ScaledClock, VirtualClock
from reconciler.emulator.server import EmulatorServer, MotoBridge
from reconciler.errors import TargetError

INTERACTIONS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }
)
ROLE = "arn:aws:iam::123456789012:role/PersonalizeS3"


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials, region or profile from the machine running the tests; work in an empty directory."""
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def open_local(**kwargs: object) -> Target:
    return open_target(local=True, endpoint_url=None, region="eu-west-1", **kwargs)  # type: ignore[arg-type]


def wait_active(target: Target, describe: str, key: str, **arn: str) -> dict[str, object]:
    for _ in range(200):
        resource: dict[str, object] = getattr(target.personalize, describe)(**arn)[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            return resource
        target.clock.advance(60)  # type: ignore[attr-defined]
    raise AssertionError(f"{key} never became ACTIVE")


# ------------------------------------------------------------------------------------------- --local


def test_local_target_keeps_the_whole_account_between_runs(no_aws_environment: Path) -> None:
    first = open_local()
    try:
        assert first.mode == "local"
        assert first.label == "local emulator (eu-west-1, state: .personalize-gitops/emulator-state.json)"
        assert isinstance(first.emulator, PersonalizeEmulator) and isinstance(first.clock, ScaledClock)
        assert first.account_id() == "123456789012"
        group = first.personalize.create_dataset_group(name="retail")["datasetGroupArn"]
        wait_active(first, "describe_dataset_group", "datasetGroup", datasetGroupArn=group)
        schema = first.personalize.create_schema(name="interactions", schema=INTERACTIONS_SCHEMA)["schemaArn"]
        dataset = first.personalize.create_dataset(
            name="interactions", datasetType="Interactions", datasetGroupArn=group, schemaArn=schema
        )["datasetArn"]
        wait_active(first, "describe_dataset", "dataset", datasetArn=dataset)
        # the emulator reads import data from moto's S3, the same S3 the target's s3 client writes to
        first.s3.create_bucket(
            Bucket="local-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        rows = "\n".join(f"u{i % 30},i{i % 40},{1_700_000_000 + i}" for i in range(1200))
        csv = ("USER_ID,ITEM_ID,TIMESTAMP\n" + rows + "\n").encode()
        first.s3.put_object(Bucket="local-data", Key="interactions.csv", Body=csv)
        grant_personalize_access(first.s3, first.iam, "local-data", ROLE)
        job = first.personalize.create_dataset_import_job(
            jobName="first-import",
            datasetArn=dataset,
            dataSource={"dataLocation": "s3://local-data/interactions.csv"},
            roleArn=ROLE,
        )["datasetImportJobArn"]
        done = wait_active(first, "describe_dataset_import_job", "datasetImportJob", datasetImportJobArn=job)
        assert done["status"] == "ACTIVE", done.get("failureReason")
        first.ssm.put_parameter(Name="/personalize-gitops/locks/retail", Value="free", Type="String")
        clock_before = first.clock.now()
    finally:
        first.close()
    first.close()  # idempotent
    state_file = no_aws_environment / DEFAULT_LOCAL_STATE
    assert state_file.is_file() and "dataset-group/retail" in state_file.read_text()
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None  # moto's fake credentials are gone again

    with open_local() as second:
        groups = second.personalize.list_dataset_groups()["datasetGroups"]
        assert [(g["name"], g["status"]) for g in groups] == [("retail", "ACTIVE")]
        jobs = second.personalize.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"]
        assert [(j["jobName"], j["status"]) for j in jobs] == [("first-import", "ACTIVE")]
        assert second.s3.get_object(Bucket="local-data", Key="interactions.csv")["Body"].read() == csv
        lock = second.ssm.get_parameter(Name="/personalize-gitops/locks/retail")["Parameter"]["Value"]
        assert lock == "free"
        assert second.clock.now() >= clock_before  # virtual time continues, never goes back
        # the imported rows are kept too (beside the state file), so the next training sees them
        assert second.emulator is not None
        table = second.emulator.data.interactions(group)
        assert table is not None and len(table) == 1200
    assert (no_aws_environment / DEFAULT_LOCAL_STATE).with_name("emulator-state.data").is_dir()


def test_local_state_path_and_time_scale_can_be_chosen(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "account.json"
    with open_local(state_path=path, time_scale=60.0) as target:
        assert target.state_path == path
        assert target.label == f"local emulator (eu-west-1, state: {path})"
        assert target.clock.scale == 60.0  # type: ignore[attr-defined]
    assert path.is_file()


def test_a_corrupt_local_state_file_is_a_target_error_naming_it(no_aws_environment: Path) -> None:
    state_file = no_aws_environment / DEFAULT_LOCAL_STATE
    state_file.parent.mkdir(parents=True)
    state_file.write_text("{")
    with pytest.raises(TargetError) as caught:
        open_local()
    assert ".personalize-gitops/emulator-state.json" in caught.value.message
    assert caught.value.hint is not None and "delete" in caught.value.hint
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None  # the mock was stopped on failure


def damaged_state_files() -> dict[str, bytes]:
    """Damaged emulator state files that raised a Python traceback (hostile-input audit)."""
    from reconciler.emulator.persistence import STATE_FORMAT, STATE_VERSION

    def state(**sections: object) -> bytes:
        return json.dumps({"format": STATE_FORMAT, "version": STATE_VERSION, **sections}).encode()

    region = {"account": "123456789012", "region": "us-east-1", "state": 1.5}  # "state" must be an object
    return {
        "not UTF-8": b'{"format": "\xff"}',
        "personalize a string": state(personalize="x"),
        "moto a string": state(moto="x"),
        "ssm regions a number": state(moto={"ssmRegions": 5}),
        "a region's state a number": state(personalize={"version": 1, "regions": [region]}),
    }


DAMAGED_STATES = damaged_state_files()


@pytest.mark.parametrize("content", list(DAMAGED_STATES.values()), ids=list(DAMAGED_STATES))
def test_a_damaged_local_state_file_is_a_target_error_naming_it(
    no_aws_environment: Path, content: bytes
) -> None:
    state_file = no_aws_environment / DEFAULT_LOCAL_STATE
    state_file.parent.mkdir(parents=True)
    state_file.write_bytes(content)
    with pytest.raises(TargetError) as caught:
        open_local()
    assert ".personalize-gitops/emulator-state.json" in caught.value.message
    assert caught.value.hint is not None and "delete" in caught.value.hint
    assert state_file.read_bytes() == content  # left as it was
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None


@pytest.mark.parametrize("where", ["missing-directory/calls.jsonl", "."])
def test_an_unwritable_record_calls_file_is_one_error_before_any_call(
    no_aws_environment: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Before, plan failed at its first read with "failed to list schemas: TargetError: cannot identify the
    local emulator (FileNotFoundError: ...)"."""
    from typer.testing import CliRunner

    from reconciler.aws.calls import ENV
    from reconciler.cli import app

    monkeypatch.setenv(ENV, "")  # the CLI sets it; monkeypatch removes it again
    manifests = Path(__file__).resolve().parents[2] / "manifests"
    result = CliRunner().invoke(app, ["--record-calls", where, "plan", str(manifests), "--local"])
    assert result.exit_code == 1, result.output
    assert f"Error: --record-calls {where}: cannot write to it (" in result.output
    assert "cannot identify" not in result.output
    assert not (no_aws_environment / ".personalize-gitops").exists()  # no target was opened


def test_local_refuses_a_region_name_aws_does_not_have(no_aws_environment: Path) -> None:
    """A typo (eu-wst-1) planned against an empty account and was kept in the state file, whose every later
    save then failed ("cannot save the local emulator state ...: 'eu-wst-1'", hint: check it is writable)."""
    with pytest.raises(TargetError, match="region 'eu-wst-1' is not an AWS region") as caught:
        open_target(local=True, endpoint_url=None, region="eu-wst-1")
    assert caught.value.hint is not None and "--region" in caught.value.hint
    assert not (no_aws_environment / DEFAULT_LOCAL_STATE).exists()
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None
    with open_local() as target:  # eu-west-1 and the fallback still open
        assert target.region == "eu-west-1"


# ---------------------------------------------------------------------------------- --endpoint-url


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=1.0).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_endpoint_target_uses_the_url_for_every_client_with_dummy_credentials(server: EmulatorServer) -> None:
    with open_target(local=False, endpoint_url=server.url + "/", region="ap-south-1") as target:
        assert target.mode == "endpoint" and target.emulator is None
        # the endpoint is our emulator: waits follow its clock (time scale 1 here)
        assert isinstance(target.clock, EmulatorEndpointClock) and target.clock.scale == 1.0
        assert abs(target.clock.now() - server.emulator.clock.now()) < 5.0
        assert target.label == f"emulator endpoint {server.url} (ap-south-1, time x1)"
        assert target.account_id() == "123456789012"
        arn = target.personalize.create_dataset_group(name="via-endpoint")["datasetGroupArn"]
        assert arn.startswith("arn:aws:personalize:ap-south-1:123456789012:")
        target.s3.create_bucket(
            Bucket="endpoint-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
        target.s3.put_object(Bucket="endpoint-bucket", Key="k", Body=b"v")
        target.ssm.put_parameter(Name="/p", Value="v", Type="String")
        target.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    # all of it landed in the one server
    assert server.emulator.snapshot()["regions"][0]["region"] == "ap-south-1"
    s3 = server.bridge.client("s3", "ap-south-1")
    assert s3.get_object(Bucket="endpoint-bucket", Key="k")["Body"].read() == b"v"


def test_endpoint_region_defaults_to_us_east_1(server: EmulatorServer) -> None:
    target = open_target(local=False, endpoint_url=server.url, region=None)
    assert target.region == "us-east-1" and "(us-east-1" in target.label


def test_a_scaled_emulator_endpoint_gives_a_scaled_clock() -> None:
    srv = EmulatorServer.create(port=0, time_scale=600.0).start()
    try:
        target = open_target(local=False, endpoint_url=srv.url, region="eu-west-1")
        assert isinstance(target.clock, EmulatorEndpointClock) and target.clock.scale == 600.0
        before = time.monotonic()
        target.clock.sleep(60.0)  # one virtual minute is a tenth of a second of wall time
        assert time.monotonic() - before < 1.0
        assert "time x600" in target.label
    finally:
        srv.stop()


def test_an_endpoint_that_is_not_our_emulator_keeps_the_system_clock() -> None:
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        target = open_target(local=False, endpoint_url=url, region="eu-west-1")
        assert isinstance(target.clock, SystemClock)
        assert target.label == f"endpoint {url} (eu-west-1)"
    finally:
        httpd.shutdown()


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:4566",
        "ftp://127.0.0.1:4566",
        "http://",
        # urlsplit raises ValueError for these (a traceback before): port out of range, a pasted trailing
        # space, an unclosed IPv6 bracket
        "http://127.0.0.1:99999",
        "http://127.0.0.1:4566 ",
        "http://[::1",
    ],
)
def test_a_malformed_endpoint_url_is_refused(url: str) -> None:
    with pytest.raises(TargetError, match="is not an http"):
        open_target(local=False, endpoint_url=url, region="eu-west-1")


def test_an_endpoint_where_nothing_listens_fails_fast() -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TargetError) as caught:
        open_target(local=False, endpoint_url=f"http://127.0.0.1:{port}", region="eu-west-1")
    assert caught.value.message.startswith(f"nothing answers at --endpoint-url http://127.0.0.1:{port}")
    assert f"emulator serve --port {port}" in str(caught.value.hint)


# ------------------------------------------------------------------------------------------ real AWS


def test_aws_target_label_names_account_and_region() -> None:
    with mock_aws():  # STS answered by moto; nothing leaves the machine
        target = open_target(local=False, endpoint_url=None, region="eu-west-1")
        assert target.mode == "aws" and target.endpoint_url is None
        assert isinstance(target.clock, SystemClock)
        assert target.label == "AWS account 123456789012 (eu-west-1)"
        assert target.personalize.meta.endpoint_url == "https://personalize.eu-west-1.amazonaws.com"


def test_aws_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    with mock_aws():
        assert open_target(local=False, endpoint_url=None, region=None).region == "us-west-2"


def test_clients_retry_in_standard_mode_and_pool_for_concurrent_readers() -> None:
    with mock_aws():
        target = open_target(local=False, endpoint_url=None, region="eu-west-1")
        for client in (target.personalize, target.s3, target.ssm, target.sts):
            # botocore turns retries={"max_attempts": 8} (8 retries) into 9 attempts in all
            assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
            assert client.meta.config.max_pool_connections >= 16


def test_aws_without_region_or_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TargetError) as caught:
        open_target(local=False, endpoint_url=None, region=None)
    assert caught.value.message == "no AWS region configured"
    assert caught.value.hint is not None and "--region" in caught.value.hint
    with pytest.raises(TargetError) as caught:
        open_target(local=False, endpoint_url=None, region="eu-west-1")
    assert caught.value.message == "no AWS credentials found" and "--local" in str(caught.value.hint)


def test_unknown_profile_and_contradictory_options_are_refused() -> None:
    with pytest.raises(TargetError, match="cannot use AWS profile 'nope'"):
        open_target(local=False, endpoint_url=None, region="eu-west-1", profile="nope")
    with pytest.raises(TargetError, match="--local and --endpoint-url"):
        open_target(local=True, endpoint_url="http://127.0.0.1:4566", region=None)


# ---------------------------------------------------------------------------------------- for tests


def test_for_tests_target_under_mock_aws() -> None:
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock)
        target = Target.for_tests(emulator, clock, "eu-west-1")
        assert target.label == "test emulator" and target.emulator is emulator and target.clock is clock
        arn = target.personalize.create_dataset_group(name="g")["datasetGroupArn"]
        assert arn.startswith("arn:aws:personalize:eu-west-1:123456789012:")
        target.s3.create_bucket(
            Bucket="for-tests", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        assert [b["Name"] for b in target.s3.list_buckets()["Buckets"]] == ["for-tests"]
        assert target.account_id() == "123456789012"
        assert target.personalize.meta.config.retries["total_max_attempts"] == 9  # production policy
        target.close()
        once = Target.for_tests(emulator, clock, "eu-west-1", max_attempts=1)
        emulator.control.inject_fault("ListDatasetGroups", "ThrottlingException", count=1)
        with pytest.raises(once.personalize.exceptions.ClientError, match="ThrottlingException"):
            once.personalize.list_dataset_groups()  # no retry, no backoff sleep


def test_local_save_writes_the_account_before_close(no_aws_environment: Path) -> None:
    state_file = no_aws_environment / DEFAULT_LOCAL_STATE
    with open_local() as target:
        target.personalize.create_dataset_group(name="mid-run")
        target.save()
        saved = json.loads(state_file.read_text())
        assert "dataset-group/mid-run" in json.dumps(saved["personalize"])
        assert saved["moto"]["ssm"] == {}
        target.ssm.put_parameter(Name="/mid/run", Value="1", Type="String")
        target.save()
        saved = json.loads(state_file.read_text())
        assert saved["moto"]["ssm"]["eu-west-1"] == [{"name": "/mid/run", "type": "String", "value": "1"}]
    # other modes have no state: save() is a no-op
    with mock_aws():
        open_target(local=False, endpoint_url=None, region="eu-west-1").save()


def test_sixteen_concurrent_readers_share_one_endpoint_target(server: EmulatorServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with open_target(local=False, endpoint_url=server.url, region="eu-west-1") as target:
        arns = [target.personalize.create_dataset_group(name=f"g{i}")["datasetGroupArn"] for i in range(4)]
        target.s3.create_bucket(
            Bucket="shared", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        target.s3.put_object(Bucket="shared", Key="k", Body=b"payload")

        def read(worker: int) -> tuple[str, bytes]:
            names = []
            for i in range(8):
                arn = arns[(worker + i) % len(arns)]
                names.append(
                    target.personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["name"]
                )
            body = target.s3.get_object(Bucket="shared", Key="k")["Body"].read()
            return ",".join(sorted(set(names))), body

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(read, range(16)))
    assert results == [("g0,g1,g2,g3", b"payload")] * 16


def test_a_saved_attachment_of_an_aws_managed_policy_is_restored(no_aws_environment: Path) -> None:
    """moto loads AWS managed policies only on request (it costs seconds): a saved account that attaches one
    (as the workshop's role does with AmazonS3ReadOnlyAccess) requests them."""
    managed = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    role = {"name": "123456789012-PersonalizeS3", "path": "/", "trustPolicy": "{}", "attached": [managed]}
    state_file = no_aws_environment / DEFAULT_LOCAL_STATE
    state_file.parent.mkdir(parents=True)
    state_file.write_text(
        json.dumps(
            {
                "format": "personalize-gitops/emulator-state",
                "version": 1,
                "moto": {"iam": {"policies": [], "roles": [role]}},
            }
        )
    )
    with open_local() as target:
        attached = target.iam.list_attached_role_policies(RoleName="123456789012-PersonalizeS3")
        assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [managed]


def test_a_target_makes_only_the_clients_a_command_uses(server: EmulatorServer) -> None:
    """Opening a target makes the Personalize client only; S3, SSM, STS and IAM clients come on first use,
    once (a `plan` that never writes outputs or locks never pays for an SSM client)."""
    made: list[str] = []
    with open_target(local=False, endpoint_url=server.url, region="us-east-1") as target:
        original = target.session.client

        def counting(service: str, **kwargs: object) -> object:
            made.append(service)
            return original(service, **kwargs)

        target.session.client = counting
        target.personalize.list_dataset_groups()
        assert made == []
        assert target.s3 is target.s3
        target.account_id()
        assert made == ["s3", "sts"]
