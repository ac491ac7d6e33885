"""Outputs (file and SSM), the progress reporters, and cancelling at the confirmation."""

from __future__ import annotations

import io
import json

from apply_support import write_mini
from rich.console import Console

from reconciler.apply.progress import EventKind, PlainReporter, RichReporter, StepEvent, make_reporter


def test_outputs_go_to_file_and_ssm_and_are_not_rewritten(mini) -> None:
    write_mini(mini.root, ssm_prefix="/shop/personalize")
    mini.reload()
    result = mini.apply()
    assert result.exit_code == 0
    assert result.ssm_written >= 4
    ssm = mini.target.ssm
    campaign = ssm.get_parameter(Name="/shop/personalize/campaigns/sims/arn")["Parameter"]["Value"]
    assert campaign == mini.personalize.list_campaigns()["campaigns"][0]["campaignArn"]
    name = "/shop/personalize/solutions/sims/solutionVersionArn"
    version = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    assert version.startswith(campaign.replace(":campaign/", ":solution/"))
    data = json.loads((mini.manifests / "personalize-outputs.mini.json").read_text())
    assert data["campaigns"]["sims"]["arn"] == campaign
    assert data["filters"]["purchased"]["arn"].endswith(":filter/mini-purchased")
    again = mini.apply()
    assert again.ssm_written == 0 and again.report is None


def test_an_unwritable_outputs_file_fails_apply_after_the_changes_without_a_traceback(mini) -> None:
    """A directory where the outputs file goes: the changes are made, apply exits 1 and names the path and
    the stack field; no temporary file is left; the next apply writes it. Before: IsADirectoryError."""
    blocker = mini.manifests / "personalize-outputs.mini.json"
    blocker.mkdir()
    result = mini.apply()
    assert result.report is not None and result.report.exit_code == 0  # every change was made
    assert result.exit_code == 1 and result.outputs_file is None
    assert result.outputs_error is not None
    assert f"cannot write the outputs file {blocker} (Is a directory)" in result.outputs_error
    assert "spec.outputs.file of Stack/mini" in result.outputs_error
    assert sorted(p.name for p in mini.manifests.iterdir() if "outputs" in p.name) == [blocker.name]
    blocker.rmdir()
    again = mini.apply()
    assert again.exit_code == 0 and again.outputs_error is None and again.report is None
    assert json.loads(blocker.read_text())["campaigns"]["sims"]["arn"]


def test_cancelled_at_the_prompt_changes_nothing(mini) -> None:
    asked = []
    result = mini.apply(confirm=lambda plan: asked.append(plan) or False)
    assert result.cancelled and result.exit_code == 1
    assert len(asked) == 1 and asked[0].has_changes
    assert mini.mutating_calls() == 0


def events() -> list[StepEvent]:
    return [
        StepEvent("train Solution/sims", EventKind.STARTED, at=100.0),
        StepEvent(
            "train Solution/sims",
            EventKind.STATUS,
            at=130.0,
            status="CREATE IN_PROGRESS",
            elapsed=30,
            typical=2700,
        ),
        StepEvent("train Solution/sims", EventKind.DONE, at=2900.0, status="ACTIVE", elapsed=2800),
        StepEvent("create Campaign/sims", EventKind.FAILED, at=3000.0, message="CREATE FAILED: no quota"),
    ]


def test_plain_reporter_one_line_per_state_change() -> None:
    out = io.StringIO()
    reporter = PlainReporter(out)
    for event in events():
        reporter.event(event)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[+00:00:00] start    train Solution/sims",
        "[+00:00:30] status   train Solution/sims CREATE IN_PROGRESS (30s of ~45m00s)",
        "[+00:46:40] done     train Solution/sims (ACTIVE after 46m40s)",
        "[+00:48:20] FAILED   create Campaign/sims: CREATE FAILED: no quota",
    ]


def test_rich_reporter_renders_a_table_per_step() -> None:
    out = io.StringIO()
    reporter = RichReporter(Console(file=out, force_terminal=True, width=120))
    for event in events():
        reporter.event(event)
    reporter.close()
    text = out.getvalue()
    assert "train Solution/sims" in text and "create Campaign/sims" in text and "~45m00s" in text
    assert isinstance(make_reporter(io.StringIO()), PlainReporter)  # not a terminal: plain lines
