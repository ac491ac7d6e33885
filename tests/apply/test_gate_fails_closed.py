"""The promotion gate fails closed (issue 11 finding 10), against the emulator through real boto3 clients:
when GetSolutionMetrics fails or answers no metrics for the serving or the new version of a gated campaign,
plan and apply hold the promotion back and say why, the campaign keeps serving its version and no
UpdateCampaign is sent. (The mini stack's campaign is gated by `maxRegression` on NDCG@25.)"""

from __future__ import annotations

import pytest
from test_actions import campaign, first_apply

from reconciler.errors import ApiError
from reconciler.model.address import Address, Kind
from reconciler.plan.types import Action, Reason

CAMPAIGN = Address(Kind.CAMPAIGN, "sims")
RETRAIN = {"retrain": frozenset({"sims"})}


def update_campaign_calls(world) -> int:
    return world.emulator.call_count(prefix="UpdateCampaign")


def trained_outside(world) -> str:
    """After the first apply, a version trained by hand (not by apply): plan decides about promoting it."""
    first_apply(world)
    solution = world.personalize.list_solutions()["solutions"][0]["solutionArn"]
    arn = world.personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    for _ in range(100):
        world.clock.advance(600)
        version = world.personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]
        if version["status"] == "ACTIVE":
            return str(arn)
    raise AssertionError(f"{arn} did not finish training")


def campaign_change(p):
    (change,) = [c for c in p.changes if c.address == CAMPAIGN]
    return change


def test_apply_holds_back_when_the_serving_version_has_no_metrics(mini) -> None:
    first_apply(mini)
    serving = campaign(mini)["solutionVersionArn"]
    mini.emulator.control.set_metrics(serving, {})
    before = update_campaign_calls(mini)
    result = mini.apply(plan_options=RETRAIN)
    assert result.exit_code == 0, result.summary().details()
    report = result.summary()
    assert (report.counts["trained"], report.counts["promoted"]) == (1, 0)
    (held,) = report.held_back
    assert "held back" in held and "the serving version's metrics cannot be read" in held, held
    assert update_campaign_calls(mini) == before
    assert campaign(mini)["solutionVersionArn"] == serving
    # the next plan holds the new version back too, with the same reason
    change = campaign_change(mini.plan())
    assert (change.action, change.reasons) == (Action.NOOP, (Reason.HELD_BACK,))
    assert any("serving version's metrics cannot be read" in note for note in change.notes), change.notes


@pytest.mark.parametrize("empty", ["new", "serving"])
def test_plan_holds_back_a_version_when_a_side_has_no_metrics(mini, empty) -> None:
    new = trained_outside(mini)
    serving = campaign(mini)["solutionVersionArn"]
    mini.emulator.control.set_metrics(new if empty == "new" else serving, {})
    change = campaign_change(mini.plan())
    assert (change.action, change.reasons) == (Action.NOOP, (Reason.HELD_BACK,))
    why = (
        "normalized_discounted_cumulative_gain_at_25 missing from the candidate's metrics"
        if empty == "new"
        else "the serving version's metrics cannot be read"
    )
    assert any(why in note for note in change.notes), change.notes
    before = update_campaign_calls(mini)
    result = mini.apply()
    assert result.exit_code == 0 and result.plan.count(Action.PROMOTE) == 0
    assert update_campaign_calls(mini) == before
    assert campaign(mini)["solutionVersionArn"] == serving


@pytest.mark.parametrize(
    ("code", "count", "says"),
    [
        ("AccessDeniedException", 1, "Injected AccessDeniedException"),
        # botocore's retry mode in tests makes 9 attempts: all of them fail
        ("InternalFailure", 9, "We encountered an internal error"),
    ],
)
def test_apply_holds_back_when_get_solution_metrics_fails(mini, code, count, says) -> None:
    """GetSolutionMetrics fails while apply checks the gate on the version it just trained: held back (the
    report says which read failed and why), not promoted and not a failed step; the next apply promotes.
    (Before: the promote step failed with the botocore error, exit 1, no "held back" in the report.)"""
    first_apply(mini)
    serving = campaign(mini)["solutionVersionArn"]
    mini.emulator.control.inject_fault("GetSolutionMetrics", code, count=count)
    before = update_campaign_calls(mini)
    result = mini.apply(plan_options=RETRAIN)
    report = result.summary()
    # the check plan after the apply reads the metrics again (the fault is spent): it wants the promotion
    # this apply held back, so apply exits 5 ("plan again", nothing unreviewed is done)
    assert result.exit_code == 5, report.details()
    assert result.unplanned == ["promote Campaign/sims (a newer solution version is available)"]
    assert (report.counts["trained"], report.counts["promoted"]) == (1, 0)
    (held,) = report.held_back
    short = serving.rsplit("/", 1)[-1]
    assert f"keeps serving {short}" in held and "held back" in held, held
    assert f"the metrics of {short} cannot be read" in held and says in held, held
    assert update_campaign_calls(mini) == before
    assert campaign(mini)["solutionVersionArn"] == serving
    # metrics readable again: the next apply promotes the held-back version (it passes the gate)
    result = mini.apply()
    assert result.exit_code == 0 and result.summary().counts["promoted"] == 1, result.summary().details()
    assert campaign(mini)["solutionVersionArn"] != serving


def test_plan_is_refused_when_get_solution_metrics_is_denied(mini) -> None:
    """plan reads the metrics a promotion needs; when that read is denied the whole plan stops with the call
    that failed (fail closed: nothing is applied), rather than promoting on metrics it could not see."""
    new = trained_outside(mini)
    serving = campaign(mini)["solutionVersionArn"]
    mini.emulator.control.inject_fault("GetSolutionMetrics", "AccessDeniedException")
    with pytest.raises(ApiError) as caught:
        mini.plan()
    assert "get the metrics of" in caught.value.message and "AccessDenied" in caught.value.render()
    assert any(arn in caught.value.message for arn in (new, serving))
    before = mini.mutating_calls()
    with pytest.raises(ApiError):
        mini.apply()
    assert mini.mutating_calls() == before
    assert campaign(mini)["solutionVersionArn"] == serving
