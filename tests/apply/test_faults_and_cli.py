"""Injected API faults (throttling, 5xx, connection resets) at a fixed-seed rate: apply still converges.
And the command line: confirmation, errors without tracebacks, exit codes."""

from __future__ import annotations

import botocore.endpoint
import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.commands.apply_cmd import parse_duration


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore sleeps real seconds between retries; the faults are what is tested, not the wall clock
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)


@pytest.mark.parametrize(
    "code,rate,seed",
    [("ThrottlingException", 0.15, 1), ("InternalFailure", 0.1, 2), ("ConnectionReset", 0.1, 3)],
)
def test_converges_under_injected_faults(mini, no_retry_sleep, code: str, rate: float, seed: int) -> None:
    mini.emulator.control.inject_fault("*", code, rate=rate, seed=seed)
    failed_attempts: list[str] = []

    def count(response=None, caught_exception=None, **_):
        if caught_exception is not None:
            failed_attempts.append(type(caught_exception).__name__)
        elif response is not None and response[1].get("Error", {}).get("Code"):
            failed_attempts.append(response[1]["Error"]["Code"])

    mini.personalize.meta.events.register_first("needs-retry.personalize", count)
    result = mini.apply()
    assert result.exit_code == 0, result.summary().details()
    assert len(failed_attempts) >= 10, failed_attempts  # faults really happened, and were retried
    mini.emulator.control.clear_faults()
    assert not mini.plan().has_changes
    pz = mini.personalize
    assert len(pz.list_solution_versions()["solutionVersions"]) == 1
    assert len(pz.list_campaigns()["campaigns"]) == 1
    assert len(pz.list_dataset_groups()["datasetGroups"]) == 1


def test_durations() -> None:
    assert parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90") == 90
    import typer

    with pytest.raises(typer.BadParameter):
        parse_duration("soon")


def test_refuses_without_terminal_or_auto_approve(tmp_path) -> None:
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--local"], input="")
    assert result.exit_code == 1
    assert "no terminal to ask on" in result.output and "--auto-approve" in result.output
    assert "Traceback" not in result.output


def test_manifest_errors_are_messages_not_tracebacks(tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: personalize-gitops/v1alpha1\nkind: Nope\n")
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--local", "--auto-approve"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output


def test_bad_timeout_is_a_usage_error(tmp_path) -> None:
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--auto-approve", "--timeout", "soon"])
    assert result.exit_code == 2
    assert "not a duration" in result.output


def test_one_retry_policy_the_step_does_not_multiply_botocores_attempts(mini, no_retry_sleep) -> None:
    # One retry rule (apply/retry.py): botocore's standard mode, configured once in aws/target.py (9 attempts
    # in all), retries throttling; the step layer never calls again what botocore gave up on. 9 throttles in
    # a row: exactly 9 CreateSolutionVersion calls reach the emulator, the step fails saying to rerun, and
    # the rerun (level-based) trains once. (Before: the whole step ran again, 10+ calls, up to 4 x 9.)
    mini.emulator.control.inject_fault("CreateSolutionVersion", "ThrottlingException", count=9)
    rule = mini.emulator.control.faults[-1]
    attempts = mini.personalize.meta.config.retries["total_max_attempts"]
    assert attempts == 9
    before = len(mini.emulator.calls)
    result = mini.apply()
    calls = [c.operation for c in mini.emulator.calls[before:] if c.operation == "CreateSolutionVersion"]
    assert rule.fired == 9 and len(calls) == attempts, calls
    assert result.exit_code == 1
    failed = [s for s in result.summary().steps if s.outcome.value == "failed"]
    assert [s.label for s in failed] == ["train Solution/sims"]
    assert "Rate exceeded" in failed[0].message and "rerun apply" in failed[0].message, failed[0].message
    assert mini.personalize.list_solution_versions()["solutionVersions"] == []
    assert mini.apply().exit_code == 0
    assert len(mini.personalize.list_solution_versions()["solutionVersions"]) == 1


@pytest.mark.parametrize("operation", ["UpdateCampaign", "DeleteFilter", "CreateSolutionVersion"])
def test_a_lost_response_retried_by_botocore_is_not_an_error_or_a_duplicate(
    mini, no_retry_sleep, operation: str
) -> None:
    """The call took effect but its answer was lost; botocore sends it again and gets 'in use' / 'exists'."""
    from apply_support import write_mini
    from robustness.support import LostResponses

    assert mini.apply().exit_code == 0
    write_mini(mini.root, tps=2, filter_expression=None, prune=True)
    mini.reload()
    lossy = LostResponses(mini.personalize, mini.emulator, operation=operation, count=1)
    try:
        result = mini.apply(plan_options={"retrain": frozenset({"sims"})})
    finally:
        lossy.remove()
    assert lossy.lost == [operation]
    assert result.exit_code == 0, result.summary().details()
    assert len(mini.personalize.list_solution_versions()["solutionVersions"]) == 2
    assert mini.personalize.list_filters()["Filters"] == []
    assert not mini.plan().has_changes


@pytest.mark.parametrize("refusals,exit_code,calls", [(2, 0, 3), (10, 1, 5)])
def test_delete_in_use_is_the_one_step_level_retry(mini, no_retry_sleep, refusals, exit_code, calls) -> None:
    # retry.DEPENDENTS_GOING: a Delete* refused "in use" (botocore does not retry it) is called again after
    # pauses in clock time, at most 4 more times; then the step fails saying to plan again.
    from apply_support import write_mini

    assert mini.apply().exit_code == 0
    write_mini(mini.root, tps=1, filter_expression=None, prune=True)
    mini.reload()
    mini.emulator.control.inject_fault("DeleteFilter", "ResourceInUseException", count=refusals)
    before = len(mini.emulator.calls)
    result = mini.apply()
    deletes = [c for c in mini.emulator.calls[before:] if c.operation == "DeleteFilter"]
    assert result.exit_code == exit_code, result.summary().details()
    assert len(deletes) == calls
    if exit_code:
        assert "still in use after 5 attempts" in result.summary().details()[0]
        assert "plan again" in result.summary().details()[0]
    else:
        assert mini.personalize.list_filters()["Filters"] == []


def test_without_terminal_the_hint_names_the_plan_to_review_on_the_same_target(tmp_path) -> None:
    """The hint is a command to run: `personalize-gitops plan` alone planned manifests/ against AWS (no
    credentials) after `apply DIR --local`; it now repeats the directory, the plan options and the target."""
    result = CliRunner().invoke(
        app,
        ["apply", str(tmp_path), "--local", "--prune", "--retrain", "s", "--region", "eu-west-1"],
        input="",
    )
    assert result.exit_code == 1
    command = f"personalize-gitops plan {tmp_path} --retrain s --prune --local --region eu-west-1"
    assert f"review the plan (`{command}`) and rerun with --auto-approve" in " ".join(result.output.split())
    plan_file = tmp_path / "plan.json"
    plan_file.write_text("{}")
    result = CliRunner().invoke(app, ["apply", str(plan_file), "--local"], input="")
    assert result.exit_code == 1
    assert "rerun with --auto-approve: a saved plan is applied exactly as it was shown" in " ".join(
        result.output.split()
    )
