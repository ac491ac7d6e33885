"""The S3 access Amazon Personalize needs to read your data, set up like the workshop's data-layer notebook.

Two pieces, both required by the service (and checked by the local emulator):

* an IAM role trusted by ``personalize.amazonaws.com`` (the ``roleArn`` of import jobs);
* a bucket policy letting the service principal ``personalize.amazonaws.com`` get and list the objects
  (``s3:PutObject`` too, for batch job output).

Used by ``make demo``, ``emulator prepare`` and the test fixtures; in a real account your infrastructure code
owns these.
"""

from __future__ import annotations

import json
from typing import Any

SERVICE_PRINCIPAL = "personalize.amazonaws.com"

#: Trust policy of the role Personalize assumes to read the bucket (what the workshop creates by hand).
PERSONALIZE_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": SERVICE_PRINCIPAL}, "Action": "sts:AssumeRole"}
    ],
}


def bucket_policy(bucket: str) -> dict[str, Any]:
    """The workshop's bucket policy (Id and Sid ``PersonalizeS3BucketAccessPolicy``), with ``s3:PutObject``
    as its 2024 version adds for batch job output."""
    return {
        "Version": "2012-10-17",
        "Id": "PersonalizeS3BucketAccessPolicy",
        "Statement": [
            {
                "Sid": "PersonalizeS3BucketAccessPolicy",
                "Effect": "Allow",
                "Principal": {"Service": SERVICE_PRINCIPAL},
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }


def role_read_policy(buckets: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets],
            }
        ],
    }


def ensure_role(iam: Any, role_arn: str, buckets: list[str]) -> bool:
    """Create ``role_arn`` trusted by Personalize with read access to ``buckets``; False when it existed."""
    name = role_arn.rsplit("/", 1)[1]
    try:
        iam.get_role(RoleName=name)
        return False
    except iam.exceptions.NoSuchEntityException:
        pass
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(PERSONALIZE_TRUST))
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read-personalize-data",
        PolicyDocument=json.dumps(role_read_policy(buckets)),
    )
    return True


def grant_personalize_access(s3: Any, iam: Any, bucket: str, role_arn: str | None) -> None:
    """Bucket policy on ``bucket`` and (when given) the role ``role_arn``, as the workshop sets them up."""
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(bucket)))
    if role_arn:
        ensure_role(iam, role_arn, [bucket])


def grant_for_manifests(s3: Any, iam: Any, desired: Any) -> list[tuple[str, str | None]]:
    """Grant Personalize access for every dataset import of ``desired`` (a ``DesiredState``): the bucket
    policy of each data bucket, and each import role. Returns the (bucket, role ARN) pairs handled."""
    from reconciler.model.address import Kind
    from reconciler.model.spec import DatasetSpec

    pairs: list[tuple[str, str | None]] = []
    for res in desired.of_kind(Kind.DATASET):
        spec = res.spec
        if isinstance(spec, DatasetSpec) and spec.dataImport is not None:
            bucket = spec.dataImport.dataLocation.removeprefix("s3://").partition("/")[0]
            pairs.append((bucket, spec.dataImport.roleArn))
    for bucket in sorted({b for b, _ in pairs}):
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(bucket)))
    for role in sorted({r for _, r in pairs if r}):
        ensure_role(iam, role, sorted({b for b, r in pairs if r == role}))
    return pairs


def iam_client_like(s3: Any) -> Any:
    """An IAM client reaching the same place as the boto3 ``s3`` client (its endpoint when it has a custom
    one, such as ``emulator serve``; otherwise the default, which moto answers under ``mock_aws``)."""
    import boto3

    url = str(s3.meta.endpoint_url or "")
    kwargs: dict[str, Any] = {} if ".amazonaws.com" in url else {"endpoint_url": url}
    credentials = s3._request_signer._credentials  # same credentials as the S3 client
    if credentials is not None:
        kwargs.update(aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key)
    return boto3.client("iam", region_name=s3.meta.region_name, **kwargs)


def prepare_data_access(
    s3: Any, iam: Any, region: str, imports: list[tuple[str, str | None]]
) -> list[tuple[str, str, bool]]:
    """What the data imports `imports` ((bucket, import role ARN or None) each) need, set up in an emulated
    account (`make demo`, `emulator prepare`): every bucket (created unless there), its bucket policy letting
    Personalize read it (always put: the workshop's), and every role (created trusted by Personalize, reading
    all the buckets, unless there: an existing role is kept as it is). Returns (`bucket` | `policy` | `role`,
    bucket name or role ARN, whether this call made it) for each piece, in that order."""
    done: list[tuple[str, str, bool]] = []
    buckets = sorted({bucket for bucket, _ in imports})
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            if region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        done.append(("bucket", bucket, bucket not in existing))
    # Personalize reads the data through the bucket policy as well as the role (the AWS guide's "Giving
    # Amazon Personalize access to Amazon S3 resources"); plan's preflight and the emulator check both
    for bucket in buckets:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(bucket)))
        done.append(("policy", bucket, True))
    for role in sorted({role for _, role in imports if role}):
        done.append(("role", role, ensure_role(iam, role, buckets)))
    return done
