"""GetRecommendations latency through a real boto3 ``personalize-runtime`` client (issue 13 target).

A user-personalization campaign is trained on generated data (``--quick``: smaller), then the same client
calls are timed in-process (the botocore before-send hook) and over HTTP (``emulator serve``, keep-alive):
p50 of ``CALLS`` GetRecommendations requests (numResults 25, one user each), after a warm-up.

    python -m benchmarks.bench_runtime [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, issue_row

REGION = "us-east-1"
BUCKET = "bench-runtime"
ROLE = "arn:aws:iam::123456789012:role/bench-runtime"
TARGET_IN_PROCESS_MS = 5.0
TARGET_HTTP_MS = 10.0


def _csv(users: int, items: int, per_user: int) -> bytes:
    rng = random.Random(13)
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"]
    for u in range(users):
        for k in range(per_user):
            lines.append(f"u{u},i{rng.randrange(items)},{1_700_000_000 + u * 100 + k},click")
    return ("\n".join(lines) + "\n").encode()


def _build(
    handle: Callable[..., dict[str, Any]], settle: Callable[[], None], s3: Any, iam: Any, size: int
) -> str:
    """A trained user-personalization campaign; returns its ARN."""
    from reconciler.aws.personalize_access import grant_personalize_access

    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="interactions.csv", Body=_csv(size, size * 2, 20))
    grant_personalize_access(s3, iam, BUCKET, ROLE)
    schema = json.dumps(
        {
            "type": "record",
            "name": "Interactions",
            "namespace": "com.amazonaws.personalize.schema",
            "fields": [
                {"name": "USER_ID", "type": "string"},
                {"name": "ITEM_ID", "type": "string"},
                {"name": "TIMESTAMP", "type": "long"},
                {"name": "EVENT_TYPE", "type": "string"},
            ],
            "version": "1.0",
        }
    )
    group = handle("CreateDatasetGroup", name="bench")["datasetGroupArn"]
    settle()
    schema_arn = handle("CreateSchema", name="bench", schema=schema)["schemaArn"]
    dataset = handle(
        "CreateDataset", name="bench", datasetGroupArn=group, schemaArn=schema_arn, datasetType="Interactions"
    )["datasetArn"]
    settle()
    handle(
        "CreateDatasetImportJob",
        jobName="bench",
        datasetArn=dataset,
        dataSource={"dataLocation": f"s3://{BUCKET}/interactions.csv"},
        roleArn=ROLE,
    )
    settle()
    solution = handle(
        "CreateSolution",
        name="bench",
        datasetGroupArn=group,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        performAutoTraining=False,
    )["solutionArn"]
    settle()
    version = handle("CreateSolutionVersion", solutionArn=solution)["solutionVersionArn"]
    settle()
    campaign = handle("CreateCampaign", name="bench", solutionVersionArn=version)["campaignArn"]
    settle()
    return str(campaign)


def _p50_ms(runtime: Any, campaign: str, users: int, calls: int) -> float:
    for u in range(20):  # warm-up: connection, model caches
        runtime.get_recommendations(campaignArn=campaign, userId=f"u{u}")
    timings = []
    for k in range(calls):
        start = time.perf_counter()
        answer = runtime.get_recommendations(campaignArn=campaign, userId=f"u{k % users}")
        timings.append((time.perf_counter() - start) * 1000)
        assert len(answer["itemList"]) == 25
    return statistics.median(timings)


def measure_in_process(size: int, calls: int) -> float:
    import boto3
    from moto import mock_aws

    from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client

    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, profile=DurationProfile.instant())
        campaign = _build(
            lambda op, **p: emulator.handle(op, p, REGION),
            lambda: clock.advance(1),
            boto3.client("s3", region_name=REGION),
            boto3.client("iam", region_name=REGION),
            size,
        )
        runtime = emulated_client(emulator, REGION, service="personalize-runtime")
        return _p50_ms(runtime, campaign, size, calls)


def measure_http(size: int, calls: int) -> float:
    import boto3
    from botocore.config import Config

    from reconciler.emulator.server import EmulatorServer, MotoBridge

    MotoBridge().reset()
    with EmulatorServer.create(port=0, time_scale=1.0) as server:
        emulator = server.emulator
        campaign = _build(
            lambda op, **p: emulator.handle(op, p, REGION),
            lambda: server.clock.advance(6 * 3600),
            server.bridge.client("s3", REGION),
            server.bridge.client("iam", REGION),
            size,
        )
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        runtime = session.client(
            "personalize-runtime", endpoint_url=server.url, config=Config(retries={"total_max_attempts": 1})
        )
        return _p50_ms(runtime, campaign, size, calls)


@section("runtime", order=45)
def runtime_rows(args: argparse.Namespace) -> list[Figure]:
    quick = bool(getattr(args, "quick", False))
    size, calls = (200, 100) if quick else (1000, 500)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    add_notes(
        "runtime: GetRecommendations (numResults 25) of a user-personalization campaign trained on "
        f"{size} users x {size * 2} items x 20 events, through a real boto3 personalize-runtime client; "
        f"p50 of {calls} calls after 20 warm-up calls, in-process (before-send hook) and over HTTP "
        "(emulator serve, keep-alive)."
    )
    in_process = measure_in_process(size, calls)
    http = measure_http(size, calls)
    return [
        issue_row(
            "runtime",
            "GetRecommendations p50, in-process (boto3 client)",
            f"{in_process:.2f} ms",
            f"<= {TARGET_IN_PROCESS_MS:g} ms",
            in_process <= TARGET_IN_PROCESS_MS,
            "issue 13",
            tried="tables read lazily, real-time history without rebuilding the table",
        ),
        issue_row(
            "runtime",
            "GetRecommendations p50, over HTTP (boto3 client, emulator serve)",
            f"{http:.2f} ms",
            f"<= {TARGET_HTTP_MS:g} ms",
            http <= TARGET_HTTP_MS,
            "issue 13",
            tried="keep-alive connection (perf's server), same request path as in-process",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for row in runtime_rows(parser.parse_args()):
        print(row)
