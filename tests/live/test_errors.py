"""botocore errors -> user-facing errors with a hint (no AWS needed)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from reconciler.errors import ApiError, TargetError
from reconciler.live.reader import plain, translate


def client_error(code: str, message: str = "nope") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ListDatasetGroups")


@pytest.mark.parametrize(
    "exc,kind,words",
    [
        (NoCredentialsError(), TargetError, ["no AWS credentials", "--local"]),
        (NoRegionError(), TargetError, ["no AWS region", "--region"]),
        (
            EndpointConnectionError(endpoint_url="http://localhost:1"),
            TargetError,
            ["cannot reach", "--endpoint-url"],
        ),
        (client_error("UnrecognizedClientException"), TargetError, ["rejected the credentials"]),
        (client_error("ExpiredTokenException"), TargetError, ["rejected the credentials"]),
        (client_error("AccessDeniedException"), ApiError, ["access denied", "personalize:List"]),
        (client_error("ThrottlingException"), ApiError, ["throttled", "concurrency"]),
        (client_error("InvalidInputException", "bad arn"), ApiError, ["InvalidInputException", "bad arn"]),
    ],
)
def test_translate(exc, kind, words):
    error = translate(exc, "list dataset groups")
    assert isinstance(error, kind)
    rendered = error.render()
    assert "list dataset groups" in rendered
    for word in words:
        assert word in rendered


def test_plain_turns_datetimes_into_epoch_seconds():
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    data = plain({"a": moment, "b": [moment], "ResponseMetadata": {"x": 1}})
    assert data == {"a": moment.timestamp(), "b": [moment.timestamp()]}
