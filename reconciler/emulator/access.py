"""What Amazon Personalize checks before it reads your S3 data: the role it assumes, and the bucket policy.

The service needs both (developer guide, "Giving Amazon Personalize access to Amazon S3 resources"):

* the IAM role (``roleArn``) must exist and trust the service principal ``personalize.amazonaws.com``
  (``sts:AssumeRole``);
* the bucket policy must allow that service principal ``s3:GetObject`` on the objects (and
  ``s3:ListBucket`` on the bucket when a folder is imported), as the workshop's data-layer notebook sets up.

Both are read through boto3 (moto behind ``emulator serve`` and ``--local``), never through moto internals.
A problem is returned as the job's ``failureReason``: the documented "Insufficient privileges for accessing
data in Amazon S3." text, followed by what exactly is missing and how to fix it.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any
from urllib.parse import unquote

SERVICE_PRINCIPAL = "personalize.amazonaws.com"
INSUFFICIENT = "Insufficient privileges for accessing data in Amazon S3."


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _document(raw: Any) -> dict[str, Any]:
    """A policy document from boto3 (IAM gives dicts, or URL-encoded JSON text; S3 gives JSON text)."""
    if isinstance(raw, dict):
        return raw
    text = str(raw or "")
    for candidate in (text, unquote(text)):
        try:
            doc = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return {}


def _names_service(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _as_list(principal.get("AWS")):
        return True
    return SERVICE_PRINCIPAL in _as_list(principal.get("Service"))


def _matches(patterns: Any, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _as_list(patterns))


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::123456789012:role/path/name`` -> ``name``."""
    return role_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def role_problem(iam: Any, role_arn: str) -> str | None:
    """Why Personalize could not assume ``role_arn`` (None: it can)."""
    name = role_name(role_arn)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except Exception as exc:  # botocore ClientError (NoSuchEntity) and connection problems alike
        if _error_code(exc) in ("NoSuchEntity", "NoSuchEntityException"):
            return f"The IAM role {role_arn} does not exist; create it (trusted by {SERVICE_PRINCIPAL})."
        return f"The IAM role {role_arn} could not be read ({_error_code(exc) or type(exc).__name__})."
    trust = _document(role.get("AssumeRolePolicyDocument"))
    for statement in _as_list(trust.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if _names_service(statement.get("Principal")) and _matches(statement.get("Action"), "sts:AssumeRole"):
            return None
    return (
        f"The IAM role {role_arn} does not trust {SERVICE_PRINCIPAL}: add a trust policy statement "
        f'{{"Effect": "Allow", "Principal": {{"Service": "{SERVICE_PRINCIPAL}"}}, '
        '"Action": "sts:AssumeRole"}.'
    )


def _allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or not _names_service(statement.get("Principal")):
            continue
        if not _matches(statement.get("Action"), action) or not _matches(statement.get("Resource"), resource):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def bucket_problem(
    s3: Any, bucket: str, keys: list[str], *, list_bucket: bool, write: bool = False
) -> str | None:
    """Why the bucket policy of ``bucket`` keeps the Personalize service principal from reading ``keys``
    (and listing the bucket when ``list_bucket``; writing when ``write``). None: it may."""
    try:
        raw = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except Exception as exc:
        code = _error_code(exc)
        if code == "NoSuchBucket":
            return None  # reading the data reports the missing bucket
        if code == "NoSuchBucketPolicy":
            return (
                f"Bucket {bucket} has no bucket policy; allow {SERVICE_PRINCIPAL} s3:GetObject and "
                f"s3:ListBucket on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*."
            )
        return f"The policy of bucket {bucket} could not be read ({code or type(exc).__name__})."
    policy = _document(raw)
    needed: list[tuple[str, str]] = []
    if list_bucket:
        needed.append(("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
    needed.extend(("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}") for key in keys)
    if write:
        needed.append(("s3:PutObject", f"arn:aws:s3:::{bucket}/{keys[0] if keys else ''}"))
    missing = sorted({action for action, resource in needed if not _allowed(policy, action, resource)})
    if not missing:
        return None
    return (
        f"The policy of bucket {bucket} does not allow {SERVICE_PRINCIPAL} {', '.join(missing)}; add a "
        f"statement allowing it on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*."
    )


def read_access_problem(
    s3: Any, iam: Any, role_arn: str | None, bucket: str, keys: list[str], *, list_bucket: bool
) -> str | None:
    """The reason Personalize could not read ``keys`` of ``bucket`` with ``role_arn`` (None: it can)."""
    if role_arn:
        problem = role_problem(iam, role_arn)
        if problem:
            return problem
    return bucket_problem(s3, bucket, keys, list_bucket=list_bucket)


def import_failure(dataset_type: str, detail: str) -> str:
    """The import job's failureReason (the service's documented wording, then the detail)."""
    return (
        f"Failed to create a data import job for {dataset_type.capitalize()} dataset. {INSUFFICIENT} {detail}"
    )
