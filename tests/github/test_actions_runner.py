"""The test runner's expression semantics match GitHub's (so the workflow run tests mean something)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.github.actions_runner import ExpressionError, condition, evaluate, substitute

CTX = {
    "github": {
        "event_name": "pull_request",
        "repository": "acme/recs",
        "event": {"pull_request": {"number": 7}},
    },
    "matrix": {"stack": "prod", "plan_role": ""},
    "vars": {"PLAN_ROLE_ARN": "arn:aws:iam::1:role/x"},
    "needs": {
        "a": {"result": "success", "outputs": {"count": "0"}},
        "b": {"result": "skipped", "outputs": {}},
    },
    "steps": {"plan": {"outputs": {"exitcode": "2"}}},
    "inputs": {"continue-apply": True},
    "env": {},
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("github.event.pull_request.number", 7),
        ("matrix.plan_role || vars.PLAN_ROLE_ARN", "arn:aws:iam::1:role/x"),
        ("matrix.stack || vars.PLAN_ROLE_ARN", "prod"),
        ("steps.plan.outputs.exitcode != '0' && steps.plan.outputs.exitcode != '2'", False),
        ("steps.plan.outputs.exitcode == 2", True),  # loose equality: number vs string
        ("needs.a.outputs.count != '0'", False),
        ("join(needs.*.result, ' ')", "success skipped"),
        ("github.event_name == 'workflow_dispatch' && inputs.continue-apply", False),
        ("github.event_name == 'PULL_REQUEST'", True),  # strings compare case-insensitively
        ('fromJSON(\'{"include":[{"stack":"a"}]}\').include[0].stack', "a"),
        ("contains(join(needs.*.result, ' '), 'skipped')", True),
        ("!(1 == 1)", False),
        ("steps.missing.outputs.x", None),
    ],
)
def test_expressions(expr: str, expected: object) -> None:
    assert evaluate(expr, CTX) == expected


def test_substitution_keeps_values_for_whole_expressions_and_text_otherwise() -> None:
    assert substitute("${{ fromJSON('[1]') }}", CTX) == [1]
    assert (
        substitute("plan-${{ matrix.stack }}-${{ github.event.pull_request.number }}", CTX) == "plan-prod-7"
    )
    assert substitute("${{ steps.missing.outputs.x }}", CTX) is None


def test_conditions_default_to_success() -> None:
    assert condition(None, CTX, "success") and not condition(None, CTX, "failure")
    assert not condition("steps.plan.outputs.exitcode == '2'", CTX, "failure")  # implicit success() &&
    assert condition("always()", CTX, "failure")
    assert condition("${{ always() && needs.a.result == 'success' }}", CTX, "failure")


def test_unknown_functions_and_contexts_fail_loudly() -> None:
    with pytest.raises(ExpressionError):
        evaluate("hashFiles('x')", CTX)
    with pytest.raises(ExpressionError):
        evaluate("secretz.TOKEN", CTX)


def _workflows(tmp_path: Path, callee_concurrency: str) -> tuple[Path, Path]:
    caller = tmp_path / "caller.yml"
    callee = tmp_path / "callee.yml"
    caller.write_text(
        "name: c\non: push\npermissions: {}\nconcurrency:\n  group: shared\njobs:\n  call:\n"
        "    uses: o/r/.github/workflows/callee.yml@" + "a" * 40 + "\n    permissions: {contents: read}\n"
    )
    callee.write_text(
        "name: d\non:\n  workflow_call: {}\npermissions: {}\njobs:\n  work:\n    runs-on: ubuntu-latest\n"
        f"    permissions: {{contents: read}}\n{callee_concurrency}    steps:\n      - run: echo hi\n"
    )
    return caller, callee


def test_a_callee_holding_its_callers_concurrency_group_is_a_deadlock(tmp_path: Path) -> None:
    from tests.github.actions_runner import ActionsRunner, WorkflowInvalid

    for concurrency, fails in (("    concurrency:\n      group: shared\n", True), ("", False)):
        caller, callee = _workflows(tmp_path, concurrency)
        runner = ActionsRunner(
            caller,
            tmp_path,
            event_name="push",
            github={"repository": "o/r", "sha": "b" * 40},
            fakes={},
            path_prefix=[],
            reusable=lambda uses, path=callee: path,
        )
        if fails:
            with pytest.raises(WorkflowInvalid, match="deadlock"):
                runner.run()
        else:
            run = runner.run()
            assert run.jobs["call/work"].result == "success"
            assert run.concurrency == [("workflow", "shared")]
