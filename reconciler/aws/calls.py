"""`--record-calls FILE`: every AWS call the tool makes, as the IAM action and resource ARN it needs.

Recorded by the tool itself through botocore's `before-parameter-build` event (the API parameters as the
code passed them), one JSON object per line: `{"action": "personalize:CreateCampaign", "resource":
"arn:aws:personalize:us-east-1:123456789012:campaign/prod-top", "context": {...}}`. Implicit permissions are
recorded too: a Personalize call that hands over a `roleArn` also needs `iam:PassRole` on that role.
`personalize-gitops iam-policy --check FILE` evaluates the records against the generated policy.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "PERSONALIZE_GITOPS_RECORD_CALLS"

#: Personalize create operations whose new resource's ARN carries the name (`<type>/<name>`).
_CREATED = {
    "CreateDatasetGroup": "dataset-group",
    "CreateSchema": "schema",
    "CreateDatasetImportJob": "dataset-import-job",
    "CreateSolution": "solution",
    "CreateCampaign": "campaign",
    "CreateFilter": "filter",
    "CreateEventTracker": "event-tracker",
    "CreateRecommender": "recommender",
    "CreateMetricAttribution": "metric-attribution",
}
#: S3 operation -> IAM action (the others are `s3:<Operation>`).
_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "ListBuckets": "s3:ListAllMyBuckets",
}
#: Calls no IAM policy has to allow.
UNAUTHORIZED_ACTIONS = frozenset({"sts:GetCallerIdentity"})


def records(
    service: str, operation: str, params: dict[str, Any], *, partition: str, region: str, account: str
) -> list[dict[str, Any]]:
    """The (action, resource, context) records of one API call."""

    def record(action: str, resource: str, **context: str) -> dict[str, Any]:
        return {"action": action, "resource": resource, "context": context}

    if service == "personalize":
        base = f"arn:{partition}:personalize:{region}:{account}"
        found = [
            record(f"personalize:{operation}", str(v))
            for k, v in sorted(params.items())
            if k.endswith("Arn") and str(v).startswith(f"arn:{partition}:personalize:")
        ]
        if operation in _CREATED and "name" in params:
            found = [record(f"personalize:{operation}", f"{base}:{_CREATED[operation]}/{params['name']}")]
        elif operation == "CreateDataset":
            group = str(params.get("datasetGroupArn", "")).rsplit("/", 1)[-1]
            found = [
                record(f"personalize:{operation}", f"{base}:dataset/{group}/{params.get('datasetType')}")
            ]
        if not found:
            found = [record(f"personalize:{operation}", "*")]
        roles = [str(params["roleArn"])] if params.get("roleArn") else []
        roles += [str(v["roleArn"]) for v in params.values() if isinstance(v, dict) and v.get("roleArn")]
        for role in roles:
            found.append(record("iam:PassRole", role, **{"iam:PassedToService": "personalize.amazonaws.com"}))
        return found
    if service == "s3":
        action = _S3_ACTIONS.get(operation, f"s3:{operation}")
        bucket = params.get("Bucket")
        if not bucket:
            return [record(action, "*")]
        if "Key" in params:
            return [record(action, f"arn:{partition}:s3:::{bucket}/{params['Key']}")]
        context = {"s3:prefix": str(params["Prefix"])} if "Prefix" in params else {}
        if "MaxKeys" in params:
            context["s3:max-keys"] = str(params["MaxKeys"])
        return [record(action, f"arn:{partition}:s3:::{bucket}", **context)]
    if service == "ssm":
        names = [params["Name"]] if "Name" in params else list(params.get("Names") or [])
        if "Path" in params:
            names.append(params["Path"])
        base = f"arn:{partition}:ssm:{region}:{account}:parameter/"
        return [record(f"ssm:{operation}", base + str(n).lstrip("/")) for n in names] or [
            record(f"ssm:{operation}", "*")
        ]
    if service == "iam":
        if "RoleName" in params:
            return [record(f"iam:{operation}", f"arn:{partition}:iam::{account}:role/{params['RoleName']}")]
        return [record(f"iam:{operation}", "*")]
    if service == "kms":
        return [record(f"kms:{operation}", str(params.get("KeyId", "*")))]
    return [record(f"{service}:{operation}", "*")]


class Recorder:
    """Appends the records of every call to `path` (JSON lines; thread-safe)."""

    def __init__(self, path: Path, account: Callable[[], str], partition: str = "aws") -> None:
        self.path = path
        self.account = account
        self.partition = partition
        self._lock = threading.Lock()

    def hook(self, client: Any) -> Callable[..., None]:
        service = str(client.meta.service_model.service_name)
        region = str(client.meta.region_name or "")

        def before_parameter_build(params: dict[str, Any], model: Any, **_: Any) -> None:
            account = "" if service in ("sts", "s3") else self.account()
            found = records(
                service, str(model.name), params, partition=self.partition, region=region, account=account
            )
            lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in found)
            with self._lock, open(self.path, "a", encoding="utf-8") as handle:
                handle.write(lines)

        return before_parameter_build

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build", self.hook(client))
        return client


def check_record_file() -> None:
    """`--record-calls FILE` must be writable before any call is made (each call appends to it): else one
    error naming the option, not a failure of the first API call."""
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        from reconciler.errors import TargetError

        raise TargetError(
            f"--record-calls {path}: cannot write to it ({exc.strerror or exc}); nothing was called",
            hint="pass a file in an existing, writable directory",
        ) from None


def recorder_from_env(account: Callable[[], str]) -> Recorder | None:
    path = os.environ.get(ENV)
    return Recorder(Path(path), account) if path else None


def load(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                found.append(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not a recorded call ({exc})") from exc
    return found
