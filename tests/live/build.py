"""Build an account in the emulator exactly as the manifests describe it, using the handlers' own requests
(a minimal apply for reader/plan tests; the real executor lives in reconciler.apply)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from reconciler.aws.personalize_access import grant_personalize_access, iam_client_like
from reconciler.model.address import Kind
from reconciler.model.spec import DatasetSpec
from reconciler.model.state import TAG_SOURCE_ETAG, DesiredState, LiveState
from reconciler.plan.context import build_context
from reconciler.resources.base import tag_list
from reconciler.resources.registry import REGISTRY

ORDER = [
    Kind.DATASET_GROUP,
    Kind.SCHEMA,
    Kind.DATASET,
    Kind.SOLUTION,
    Kind.FILTER,
    Kind.EVENT_TRACKER,
    Kind.RECOMMENDER,
    Kind.METRIC_ATTRIBUTION,
]
HOURS = 3600.0


def _settle(env: Any, hours: float = 3.0) -> None:
    env.clock.advance(hours * HOURS)


def upload_data(env: Any, desired: DesiredState, body: bytes = b"USER_ID,ITEM_ID,TIMESTAMP\n") -> None:
    for res in desired.of_kind(Kind.DATASET):
        if isinstance(res.spec, DatasetSpec) and res.spec.dataImport:
            bucket, _, key = res.spec.dataImport.dataLocation[len("s3://") :].partition("/")
            options = {}
            if env.region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": env.region}
            with contextlib.suppress(env.s3.exceptions.BucketAlreadyOwnedByYou):
                env.s3.create_bucket(Bucket=bucket, **options)
            local = res.spec.dataImport.localFile
            path = Path(desired.base_dir) / local if local else None
            data = path.read_bytes() if path is not None and path.exists() else body * 2000
            env.s3.put_object(Bucket=bucket, Key=key, Body=data)
            role = res.spec.dataImport.roleArn or f"arn:aws:iam::{env.account}:role/PersonalizeS3"
            grant_personalize_access(env.s3, iam_client_like(env.s3), bucket, role)


def build(env: Any, desired: DesiredState, *, train: bool = True) -> None:
    client = env.personalize
    live = LiveState(resources={}, region=env.region, account_id=env.account)
    created_arns: dict[Any, str] = {}
    for kind in ORDER:
        handler = REGISTRY[kind]
        for res in desired.of_kind(kind):
            ctx = build_context(desired, live)
            ctx = _with_arns(ctx, created_arns)
            request = handler.create_request(res, ctx)
            response = getattr(client, handler.ops.create)(**request)
            created_arns[res.address] = response.get(handler.ops.arn_key) or ctx.arns[res.address]
        _settle(env)
    for res in desired.of_kind(Kind.DATASET):
        if isinstance(res.spec, DatasetSpec) and res.spec.dataImport:
            source = res.spec.dataImport
            bucket, _, key = source.dataLocation[len("s3://") :].partition("/")
            etag = env.s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
            client.create_dataset_import_job(
                jobName=f"{res.physical_name}-import-1",
                datasetArn=created_arns[res.address],
                dataSource={"dataLocation": source.dataLocation},
                roleArn=source.roleArn or f"arn:aws:iam::{env.account}:role/PersonalizeS3",
                importMode="FULL",
                tags=tag_list({TAG_SOURCE_ETAG: etag}),
            )
    _settle(env)
    if not train:
        return
    versions: dict[str, str] = {}
    for res in desired.of_kind(Kind.SOLUTION):
        response = client.create_solution_version(solutionArn=created_arns[res.address], trainingMode="FULL")
        versions[res.address.name] = response["solutionVersionArn"]
    _settle(env, 6)
    ctx = _with_arns(build_context(desired, live), created_arns, versions)
    for res in desired.of_kind(Kind.CAMPAIGN):
        client.create_campaign(**REGISTRY[Kind.CAMPAIGN].create_request(res, ctx))
    _settle(env, 6)


def _with_arns(ctx: Any, arns: dict[Any, str], versions: dict[str, str] | None = None) -> Any:
    from dataclasses import replace

    merged = {**ctx.arns, **arns}
    return replace(
        ctx,
        arns=merged,
        addresses={v: k for k, v in merged.items()},
        solution_versions={**ctx.solution_versions, **(versions or {})},
    )
