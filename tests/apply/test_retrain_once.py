"""`--retrain NAME` costs one training per request, also across an apply that did not complete: the stack
lock's run record names the trainings `--retrain` asked for and whether the apply ran its whole plan; the
next apply (and `plan --retrain`) continues an unfinished one's training instead of starting another, and a
`--retrain` after a completed apply trains again. The kill -9 case runs through the CLI in test_crash.py."""

from __future__ import annotations

from typing import Any

import pytest
from apply_support import World

from reconciler.apply.data import TAG_TRAINING_KEY
from reconciler.apply.lock import StackLock
from reconciler.plan.types import Action, Plan, TrainPayload

RETRAIN = {"retrain": frozenset({"sims"})}


def _versions(world: World) -> list[dict[str, Any]]:
    return world.personalize.list_solution_versions()["solutionVersions"]


def _training(plan: Plan) -> TrainPayload:
    (change,) = [c for c in plan.changes if c.action is Action.RETRAIN]
    assert isinstance(change.payload, TrainPayload)
    return change.payload


def _key(world: World, version_arn: str) -> str:
    tags = world.personalize.list_tags_for_resource(resourceArn=version_arn)["tags"]
    return next(t["tagValue"] for t in tags if t["tagKey"] == TAG_TRAINING_KEY)


def _newest(world: World) -> str:
    return str(max(_versions(world), key=lambda v: v["creationDateTime"])["solutionVersionArn"])


def test_a_failed_retrain_apply_is_continued_by_the_same_command_then_a_new_request_trains(
    mini: World,
) -> None:
    assert mini.apply().exit_code == 0
    mini.emulator.control.inject_fault("UpdateCampaign", "AccessDeniedException", count=1)
    failed = mini.apply(plan_options=RETRAIN)  # trained, then the promotion failed: not completed
    assert failed.exit_code == 1, failed.summary().details()
    assert len(_versions(mini)) == 2
    trained = _newest(mini)

    again = mini.apply(plan_options=RETRAIN)
    assert again.exit_code == 0, again.summary().details()
    assert len(_versions(mini)) == 2  # before: 3, a second (billed) training for the same request
    assert _training(again.plan).continues == _key(mini, trained)
    campaign = mini.personalize.list_campaigns()["campaigns"][0]["campaignArn"]
    serving = mini.personalize.describe_campaign(campaignArn=campaign)["campaign"]["solutionVersionArn"]
    assert serving == trained

    later = mini.apply(plan_options=RETRAIN)  # after a completed apply: a deliberate new request
    assert later.exit_code == 0, later.summary().details()
    assert _training(later.plan).continues is None
    assert len(_versions(mini)) == 3


def test_plan_retrain_shows_the_continued_training(
    mini: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.commands import plan_cmd

    assert mini.apply().exit_code == 0
    mini.emulator.control.inject_fault("UpdateCampaign", "AccessDeniedException", count=1)
    assert mini.apply(plan_options=RETRAIN).exit_code == 1

    class Unclosed:
        def __getattr__(self, name: str) -> Any:
            return getattr(mini.target, name)

        def close(self) -> None:
            pass

    monkeypatch.setattr(plan_cmd, "open_cli_target", lambda **_: Unclosed())
    options: dict[str, Any] = dict(
        path=mini.manifests, stack=None, output_format="text", out=None, detailed_exitcode=False,
        endpoint_url=None, local=False, region=None, colour=False,
    )  # fmt: skip
    assert plan_cmd.run_plan(**options, retrain=["sims"]) == 0
    out = capsys.readouterr().out
    assert "Solution/sims continues the training of an apply that did not complete" in out, out
    assert f"(training key {_key(mini, _newest(mini))})" in out
    assert plan_cmd.run_plan(**options, retrain=[]) == 0
    assert "did not complete" not in capsys.readouterr().out


def test_the_run_record_survives_a_kill_and_a_break_lock_and_ends_with_a_completed_apply(mini: World) -> None:
    stack = mini.desired.stack.name

    def lock() -> StackLock:
        return StackLock(mini.target.ssm, stack, clock=mini.clock)

    killed = lock()
    killed.acquire()
    killed.record_run({"sims": "k1"})  # then kill -9: never released
    breaker = lock()
    assert breaker.break_lock() is not None
    rerun = lock()
    rerun.acquire()
    interrupted = rerun.interrupted()
    assert interrupted is not None and interrupted.training("sims") == "k1"
    assert interrupted.by.startswith("broken by")  # the break-lock epoch carried the killed one's record
    rerun.release()  # Ctrl-C / cancelled: still not completed, the record stays
    completing = lock()
    completing.acquire()
    assert completing.interrupted() is not None
    completing.complete()
    completing.release()
    fresh = lock()
    fresh.acquire()
    assert fresh.interrupted() is None
    fresh.release()


def test_the_continued_training_header_does_not_promise_no_new_version_when_it_never_started(
    mini: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The killed apply recorded its `--retrain sims` request (before its plan ran) and died before the
    training started: the rerun trains a new, billed version. The change's header must not say "no new
    version unless it failed"."""
    from reconciler.commands import plan_cmd

    assert mini.apply().exit_code == 0
    killed = StackLock(mini.target.ssm, mini.desired.stack.name, clock=mini.clock)
    killed.acquire()
    killed.record_run({"sims": "never-started"})  # then kill -9 before the training step
    assert StackLock(mini.target.ssm, mini.desired.stack.name, clock=mini.clock).break_lock() is not None

    class Unclosed:
        def __getattr__(self, name: str) -> Any:
            return getattr(mini.target, name)

        def close(self) -> None:
            pass

    monkeypatch.setattr(plan_cmd, "open_cli_target", lambda **_: Unclosed())
    options: dict[str, Any] = dict(
        path=mini.manifests, stack=None, output_format="text", out=None, detailed_exitcode=False,
        endpoint_url=None, local=False, region=None, colour=False,
    )  # fmt: skip
    assert plan_cmd.run_plan(**options, retrain=["sims"]) == 0
    out = capsys.readouterr().out
    assert "Solution/sims continues the training of an apply that did not complete" in out, out
    assert "no new version unless it failed" not in out
    assert "a new version only if that one failed or never started" in out
    before = len(_versions(mini))
    assert mini.apply(plan_options=RETRAIN).exit_code == 0
    assert len(_versions(mini)) == before + 1  # it never started: this apply trains it
