"""Reading live state for `plan`: API calls and wall time at 50 ms injected latency per Personalize call.

For stacks of 50, 200 and 500 resources (10 per dataset group: group, schema, dataset with an import,
three solutions, two campaigns, a filter, an event tracker) built in the emulator to match the manifests, a
no-op plan is read three ways and the table prints:

* API calls made vs the minimum (`reconciler.live.reader.minimal_calls`: one list per kind and parent, one
  describe and one tag read per resource, the version list per solution);
* wall time of the parallel reader (16 threads) vs the ideal `calls / 16 x latency`;
* wall time of the sequential reader (`concurrency=1`), i.e. what a naive reader costs.

Run: `.venv/bin/python -m benchmarks.bench_plan` (about two minutes, mostly the sequential runs;
`--sizes 50,200` or `--no-sequential` to shorten). S3 HeadObject calls are answered by moto without injected
latency.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client
from reconciler.live.reader import CallCounter, minimal_calls, read_live
from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import (
    CampaignSpec,
    DatasetGroupSpec,
    DatasetSpec,
    EventTrackerSpec,
    FilterSpec,
    Lifecycle,
    SchemaSpec,
    SolutionSpec,
    StackSpec,
)
from reconciler.model.state import TAG_SOURCE_ETAG, DesiredResource, DesiredState, LiveState, Stack
from reconciler.plan.context import build_context
from reconciler.plan.planner import plan
from reconciler.resources.base import tag_list
from reconciler.resources.registry import REGISTRY

REGION = "us-east-1"
LATENCY = 0.05
CONCURRENCY = 16
BUCKET = "bench-data"
AVRO = {
    "name": "Interactions",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
    ],
}
CSV = b"USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n" + b"".join(
    f"u{i % 40},i{i % 97},click,{1700000000 + i}\n".encode() for i in range(1200)
)
ORDER = (
    Kind.DATASET_GROUP,
    Kind.SCHEMA,
    Kind.DATASET,
    Kind.SOLUTION,
    Kind.FILTER,
    Kind.EVENT_TRACKER,
    Kind.CAMPAIGN,
)


def _resource(kind: Kind, name: str, spec: Any) -> tuple[Address, DesiredResource]:
    address = Address(kind, name)
    return address, DesiredResource(
        address=address,
        spec=spec,
        physical_name=f"bench-{name}",
        tags={"project": "bench"},
        lifecycle=Lifecycle(),
        source=SourceLocation("bench.yaml"),
    )


def desired_stack(resources: int) -> DesiredState:
    items: dict[Address, DesiredResource] = {}
    for g in range(resources // 10):
        group = f"g{g:03d}"
        location = f"s3://{BUCKET}/{group}/interactions.csv"
        specs: list[tuple[Kind, str, Any]] = [
            (Kind.DATASET_GROUP, group, DatasetGroupSpec()),
            (Kind.SCHEMA, f"{group}-interactions", SchemaSpec.model_validate({"avro": AVRO})),
            (
                Kind.DATASET,
                f"{group}-interactions",
                DatasetSpec.model_validate(
                    {
                        "datasetGroup": group,
                        "datasetType": "INTERACTIONS",
                        "schema": f"{group}-interactions",
                        "dataImport": {"dataLocation": location},
                    }
                ),
            ),
            (Kind.FILTER, f"{group}-no-clicks", FilterSpec(datasetGroup=group, filterExpression=_FILTER)),
            (Kind.EVENT_TRACKER, f"{group}-tracker", EventTrackerSpec(datasetGroup=group)),
        ]
        for s in range(3):
            specs.append(
                (Kind.SOLUTION, f"{group}-s{s}", SolutionSpec(datasetGroup=group, recipeArn="aws-sims"))
            )
        for s in range(2):
            specs.append((Kind.CAMPAIGN, f"{group}-s{s}", CampaignSpec(solution=f"{group}-s{s}")))
        for kind, name, spec in specs:
            address, res = _resource(kind, name, spec)
            items[address] = res
    stack = Stack("bench", StackSpec(namePrefix="bench-", region=REGION), SourceLocation("bench.yaml"))
    return DesiredState(stack=stack, resources=items, digest="bench")


_FILTER = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'


def build(client: Any, s3: Any, desired: DesiredState) -> None:
    """Create every resource with the handlers' own requests (instant durations), import, train, deploy."""
    arns: dict[Address, str] = {}
    versions: dict[str, str] = {}
    empty = LiveState(resources={}, region=REGION, account_id="123456789012")
    base = build_context(desired, empty)

    def context() -> Any:
        from dataclasses import replace

        merged = {**base.arns, **arns}
        return replace(
            base, arns=merged, addresses={v: k for k, v in merged.items()}, solution_versions=versions
        )

    for kind in ORDER:
        handler = REGISTRY[kind]
        for res in desired.of_kind(kind):
            response = getattr(client, handler.ops.create)(**handler.create_request(res, context()))
            arns[res.address] = response.get(handler.ops.arn_key) or context().arns[res.address]
            if kind is Kind.DATASET:
                assert isinstance(res.spec, DatasetSpec) and res.spec.dataImport
                key = res.spec.dataImport.dataLocation.split("/", 3)[3]
                etag = s3.put_object(Bucket=BUCKET, Key=key, Body=CSV)["ETag"].strip('"')
                client.create_dataset_import_job(
                    jobName=f"{res.physical_name}-1",
                    datasetArn=arns[res.address],
                    dataSource={"dataLocation": res.spec.dataImport.dataLocation},
                    roleArn="arn:aws:iam::123456789012:role/bench",
                    tags=tag_list({TAG_SOURCE_ETAG: etag}),
                )
            if kind is Kind.SOLUTION:
                version = client.create_solution_version(solutionArn=arns[res.address])["solutionVersionArn"]
                versions[res.address.name] = version


@dataclass
class Row:
    resources: int
    calls: int
    minimal: int
    parallel: float
    sequential: float | None
    noop: bool

    @property
    def ideal(self) -> float:
        return self.calls / CONCURRENCY * LATENCY


def measure(resources: int, sequential: bool) -> Row:
    desired = desired_stack(resources)
    quotas = {
        "dataset_groups_per_region": 10_000,
        "pending_dataset_import_jobs_per_region": 10_000,
        "pending_solution_versions_per_region": 10_000,
        "min_interactions_for_training": 0,
        "min_users_with_two_interactions": 0,
    }
    with mock_aws():
        emulator = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant(), quotas=quotas)
        personalize = emulated_client(emulator, REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        build(personalize, s3, desired)

        @dataclass
        class Clients:
            personalize: Any
            s3: Any

        clients = Clients(personalize, s3)
        emulator.control.set_latency("*", LATENCY)
        counter = CallCounter(personalize, s3)
        start = time.perf_counter()
        live = read_live(clients, desired, concurrency=CONCURRENCY, now=0.0)
        parallel = time.perf_counter() - start
        calls = counter.total
        noop = not plan(desired, live).has_changes
        seq: float | None = None
        if sequential:
            start = time.perf_counter()
            read_live(clients, desired, concurrency=1, now=0.0)
            seq = time.perf_counter() - start
    return Row(resources, calls, minimal_calls(desired), parallel, seq, noop)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500", help="comma-separated resource counts")
    parser.add_argument("--no-sequential", action="store_true", help="skip the sequential reader")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"live reader, {LATENCY * 1000:.0f} ms per Personalize call, {CONCURRENCY} threads")
    header = (
        f"{'resources':>9} {'calls':>6} {'minimal':>7} {'ratio':>6} {'wall':>7} {'ideal':>7} {'vs ideal':>8} "
        f"{'sequential':>10} {'speed-up':>8} {'no-op':>5}"
    )
    print(header)
    for size in sizes:
        row = measure(size, sequential=not args.no_sequential)
        seq = f"{row.sequential:9.2f}s" if row.sequential is not None else f"{'-':>10}"
        speedup = f"{row.sequential / row.parallel:7.1f}x" if row.sequential is not None else f"{'-':>8}"
        print(
            f"{row.resources:>9} {row.calls:>6} {row.minimal:>7} {row.calls / row.minimal:>5.2f}x "
            f"{row.parallel:>6.2f}s {row.ideal:>6.2f}s {row.parallel / row.ideal:>7.2f}x {seq} {speedup} "
            f"{'yes' if row.noop else 'NO':>5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
