"""The last line of defence at the command line's edge: an AWS SDK error that no layer turned into a
`ReconcilerError` is shown as what happened, where, and what to do - never as a traceback or a raw botocore
message with a page-long regular expression.

Imports nothing from botocore (the CLI's startup stays lean): exceptions are recognised by their class names
and their `response` / `operation_name` attributes.
"""

from __future__ import annotations

import re
from typing import Any

_REGEX = re.compile(
    r"(Member must satisfy regular expression pattern|must match( the)? pattern|"
    r"failed to satisfy constraint: Member must satisfy regular expression pattern):?\s*\S+"
)

_DENIED = (
    "the credentials in use may not call {op}: run `personalize-gitops iam-policy` for the policy plan and "
    "apply need, or use the right AWS profile/role"
)
_EXPIRED = "the session credentials expired; log in again (aws sso login) or rerun the CI job"
_REJECTED = (
    "a value built from the manifests was rejected; run `personalize-gitops validate` and check the field "
    "the message names"
)

#: ClientError codes -> what to do.
_HINTS = {
    "AccessDenied": _DENIED,
    "AccessDeniedException": _DENIED,
    "UnrecognizedClientException": "the credentials are not valid for this account or region; check "
    "AWS_PROFILE / the CI role and --region",
    "InvalidClientTokenId": "the credentials are not valid; check AWS_PROFILE / the CI role",
    "ExpiredToken": _EXPIRED,
    "ExpiredTokenException": _EXPIRED,
    "ThrottlingException": "AWS throttled the calls; run again in a minute (lower --concurrency for plan)",
    "LimitExceededException": "a Personalize quota was reached; request an increase in Service Quotas, or "
    "delete unused resources",
    "InvalidInputException": _REJECTED,
    "ValidationException": _REJECTED,
    "ResourceNotFoundException": "the resource changed in the account meanwhile; run plan again",
    "ResourceInUseException": "the resource is busy or still used by another one; run plan again once the "
    "running work has finished",
}

_BY_CLASS = {
    "NoCredentialsError": (
        "no AWS credentials were found",
        "set AWS_PROFILE or run `aws configure` (in CI: the OIDC role step), or use --local / --endpoint-url",
    ),
    "PartialCredentialsError": (
        "the AWS credentials are incomplete",
        "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a profile",
    ),
    "NoRegionError": ("no AWS region is set", "set spec.region in the Stack, AWS_REGION, or pass --region"),
    "InvalidRegionError": (
        "the AWS region name is not valid",
        "use a region name such as us-east-1 in --region, AWS_REGION / AWS_DEFAULT_REGION or the Stack's "
        "spec.region",
    ),
    "EndpointConnectionError": (
        "could not connect to the AWS endpoint",
        "check the network, --region, and --endpoint-url (is the emulator running?)",
    ),
    "ConnectTimeoutError": ("connecting to AWS timed out", "check the network and --endpoint-url; run again"),
    "ReadTimeoutError": ("AWS did not answer in time", "run again; apply and plan resume where they stopped"),
    "ProfileNotFound": (
        "the AWS profile does not exist",
        "check AWS_PROFILE / --profile against ~/.aws/config",
    ),
}


def is_aws_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("botocore", "boto3", "s3transfer")


def shorten(message: str) -> str:
    """A botocore/service message without regular expressions or repeated whitespace."""
    text = _REGEX.sub("does not have the expected form", message)
    return re.sub(r"\s+", " ", text).strip()


def translate(exc: BaseException, context: str | None = None) -> tuple[str, str]:
    """(message, hint) for an AWS SDK exception. `context` names what was being done (a manifest, a step)."""
    name = type(exc).__name__
    where = f" ({context})" if context else ""
    response: Any = getattr(exc, "response", None)
    operation = str(getattr(exc, "operation_name", "") or "")
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error") or {}
        code = str(error.get("Code") or "Unknown")
        message = shorten(str(error.get("Message") or ""))
        service = str(response.get("ResponseMetadata", {}).get("ServiceId", "") or "")
        call = " ".join(p for p in (service, operation) if p) or "an AWS call"
        hint = _HINTS.get(
            code, "run again; if it persists, check the AWS console or open an issue with this message"
        )
        return f"{call} failed{where}: {code}: {message}", hint.format(op=operation or "it")
    if name == "ParamValidationError":
        report = shorten(str(getattr(exc, "kwargs", {}).get("report", "") or exc))
        return (
            f"a request was refused before it was sent{where}: {report}",
            "run `personalize-gitops validate`; if it passes, this is a bug in personalize-gitops: "
            "please report it with the manifest",
        )
    if name in _BY_CLASS:
        message, hint = _BY_CLASS[name]
        return f"{message}{where}: {shorten(str(exc))}", hint
    return (
        f"AWS SDK error{where}: {name}: {shorten(str(exc))}",
        "run again; if it persists, open an issue with this message",
    )
