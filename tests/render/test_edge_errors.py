"""AWS SDK errors that reach the command line's edge are translated (issue 14): what happened, what to do,
no traceback and no raw regular expression."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ParamValidationError

from reconciler import cli
from reconciler.edge import is_aws_error, translate

PATTERN = "^arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$"


def client_error(code: str, message: str, operation: str = "CreateDatasetImportJob") -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"ServiceId": "Personalize"}}
    return ClientError(response, operation)  # type: ignore[arg-type]


def test_a_regex_in_a_service_message_is_replaced_by_words() -> None:
    exc = client_error(
        "InvalidInputException",
        f"1 validation error detected: Value '${{role}}' at 'roleArn' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {PATTERN}",
    )
    message, hint = translate(exc, "Dataset/interactions")
    assert message.startswith(
        "Personalize CreateDatasetImportJob failed (Dataset/interactions): InvalidInput"
    )
    assert "does not have the expected form" in message and "[a-z" not in message
    assert "personalize-gitops validate" in hint


def test_access_denied_names_the_call_and_the_policy_command() -> None:
    message, hint = translate(client_error("AccessDeniedException", "not authorized", "ListCampaigns"))
    assert "ListCampaigns failed: AccessDeniedException" in message
    assert "may not call ListCampaigns" in hint and "iam-policy" in hint


def test_a_malformed_region_is_named_with_where_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`--region 'us east 1'` (or AWS_REGION): before, "AWS SDK error ... run again; if it persists, open an
    issue"."""
    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    manifests = str(Path(__file__).resolve().parents[2] / "manifests")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_PERSONALIZE"):
        monkeypatch.delenv(name, raising=False)
    # real AWS: botocore refuses the region name when the client is made, before any request
    result = CliRunner().invoke(cli.app, ["plan", manifests, "--region", "us east 1"])
    assert result.exit_code == 1, result.output
    assert "Error: the AWS region name is not valid (planning " in result.output
    assert "hint: use a region name such as us-east-1 in --region" in result.output
    assert "open an issue" not in result.output
    # --local checks its region against botocore's partitions first (tests/aws/test_target.py)
    local = CliRunner().invoke(cli.app, ["plan", manifests, "--local", "--region", "us east 1"])
    assert local.exit_code == 1 and "region 'us east 1' is not an AWS region" in local.output


def test_sdk_errors_without_a_response() -> None:
    assert translate(NoCredentialsError())[0].startswith("no AWS credentials were found")
    message, hint = translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert message.startswith("could not connect to the AWS endpoint") and "--endpoint-url" in hint
    message, _ = translate(ParamValidationError(report="Invalid length for parameter name, value: 0"))
    assert message.startswith("a request was refused before it was sent: ")
    assert is_aws_error(NoCredentialsError()) and not is_aws_error(ValueError("x"))


def test_main_prints_the_translation_instead_of_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.commands import validate_cmd

    def boom(*_: object, **__: object) -> None:
        raise client_error("ThrottlingException", "Rate exceeded", "DescribeSolution")

    monkeypatch.setattr(validate_cmd, "validate", boom)
    monkeypatch.setattr(sys, "argv", ["personalize-gitops", "validate", "manifests"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Personalize DescribeSolution failed: ThrottlingException: Rate exceeded")
    assert "Traceback" not in err and "hint: AWS throttled the calls" in err


def test_main_lets_other_exceptions_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.commands import validate_cmd

    def bug(*_: object, **__: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(validate_cmd, "validate", bug)
    monkeypatch.setattr(sys, "argv", ["personalize-gitops", "validate", "manifests"])
    with pytest.raises(ValueError, match="a bug"):
        cli.main()


def test_plan_names_the_manifests_it_was_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from reconciler.commands import plan_cmd

    def boom(**_: object) -> int:
        raise client_error("ExpiredTokenException", "The security token included in the request is expired")

    monkeypatch.setattr(plan_cmd, "run_plan", boom)
    result = CliRunner().invoke(cli.app, ["plan", "manifests"])
    assert result.exit_code == 1
    assert "Error: Personalize CreateDatasetImportJob failed (planning manifests): ExpiredTokenException" in (
        result.output
    )
    assert "log in again" in result.output and "Traceback" not in result.output
