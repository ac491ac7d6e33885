"""Concurrency: two applies on one stack. The second refuses with exit code 4, names the holder, and changes
nothing; the first then finishes and converges.

* in-process: the first apply holds the stack lock (it is stopped at its confirmation, plan made) while the
  second runs against the same emulated account;
* CLI: `python -m reconciler apply --local --auto-approve` (a real subprocess) on an account whose stack lock
  is held by another apply.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.lock import StackLock
from reconciler.emulator import is_mutating
from reconciler.errors import LockHeldError

from .support import (
    REGION,
    audit,
    audit_line,
    has_traceback,
    local_snapshot,
    prepare_local_workdir,
    run_cli,
    seed_world,
    tally,
)

SUITE = "concurrency (two applies on one stack)"


def test_second_apply_refuses_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    counts = tally(SUITE)
    counts.cases += 1
    with seed_world(tmp_path) as world:
        holding = threading.Event()
        release = threading.Event()
        outcome: dict[str, Any] = {}

        def confirm(_plan: Any) -> bool:
            holding.set()
            return release.wait(timeout=60)

        def first() -> None:
            try:
                outcome["result"] = world.apply(lock_owner="first apply", confirm=confirm)
            except BaseException as exc:  # surfaced below
                outcome["error"] = exc

        thread = threading.Thread(target=first)
        thread.start()
        try:
            assert holding.wait(timeout=60), "the first apply never reached its confirmation"
            calls_before = len(world.emulator.calls)
            with pytest.raises(LockHeldError) as refused:
                world.apply(lock_owner="second apply")
            second_calls = [c.operation for c in world.emulator.calls[calls_before:]]
        finally:
            release.set()
            thread.join(timeout=120)
        assert refused.value.exit_code == 4
        assert "first apply" in refused.value.message and "Nothing was changed" in refused.value.message
        mutating = [op for op in second_calls if is_mutating(op)]
        assert mutating == [], f"the refused apply changed the account: {mutating}"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["result"].exit_code == 0
        lock = StackLock(world.target.ssm, world.desired.stack.name, clock=world.target.clock)
        assert lock.holder() is None, "the first apply did not release its lock"
        report = world.audit()
        left = [c for c in world.plan().changes if c.action.value != "no-op"]
        counts.duplicates += report.duplicates
        counts.data_lost += report.data_lost
        assert report.clean and not left, f"{audit_line(report)}; left {left}"
        counts.converged += 1
        counts.bump("second refused (exit 4)", 1)


def test_cli_apply_refuses_with_exit_4_when_the_stack_is_locked(tmp_path: Path) -> None:
    from unittest import mock

    from reconciler.aws.target import DEFAULT_LOCAL_STATE, open_target

    counts = tally(SUITE)
    counts.cases += 1
    desired = prepare_local_workdir(tmp_path)
    env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    with (
        mock.patch.dict("os.environ", env),
        open_target(
            local=True, endpoint_url=None, region=REGION, state_path=tmp_path / DEFAULT_LOCAL_STATE
        ) as target,
    ):
        # a live holder: its lease (a day of the account's time) outlasts this test
        StackLock(
            target.ssm, desired.stack.name, clock=target.clock, owner="ci run 42", lease=86400
        ).acquire()
    before = local_snapshot(tmp_path)["regions"]
    refused = run_cli(["apply", "manifests/", "--local", "--auto-approve"], tmp_path)
    text = refused.stdout + refused.stderr
    if has_traceback(text):
        counts.tracebacks += 1
    assert refused.returncode == 4, text
    assert "ci run 42" in refused.stderr and "--break-lock" in refused.stderr
    after = local_snapshot(tmp_path)["regions"]
    assert [r["state"]["resources"] for r in after] == [r["state"]["resources"] for r in before]
    result = audit(local_snapshot(tmp_path), desired, "123456789012")
    assert len(result.not_active) > 0, "the refused apply created resources"
    counts.bump("second refused (exit 4)", 1)
    counts.converged += 1  # refused and left the account exactly as it was
