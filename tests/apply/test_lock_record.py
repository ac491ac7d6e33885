"""The stack lock's run record in its SSM parameter: the worst case the manifests allow fits a Standard
parameter (4 KB); more is refused before anything changes. `--break-lock` then Ctrl-C says the lock was
broken. `plan --retrain` while another apply runs does not call that apply interrupted."""

from __future__ import annotations

from typing import Any

import pytest
from apply_support import World
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from reconciler.apply import lock as lock_module
from reconciler.apply.lock import StackLock
from reconciler.cli import app

RETRAIN = {"retrain": frozenset({"sims"})}
#: At the default quotas a stack holds 5 dataset groups (per account) x 10 solutions (per dataset group),
#: personalize-api.md §5; solution names are up to 63 characters.
WORST_CASE_SOLUTIONS = 5 * 10
STANDARD_LIMIT = (
    4096  # botocore ssm model, PutParameter Value: "Standard parameters have a value limit of 4 KB"
)


class StandardTierSsm:
    """moto's SSM does not check the 4 KB limit of a Standard parameter; this one does, as SSM does."""

    def __init__(self, ssm: Any) -> None:
        self._ssm = ssm
        self.sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ssm, name)

    def put_parameter(self, **kwargs: Any) -> Any:
        size = len(str(kwargs["Value"]).encode())
        self.sizes.append(size)
        if size > STANDARD_LIMIT:
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Value exceeds 4096 bytes"}},
                "PutParameter",
            )
        return self._ssm.put_parameter(**kwargs)


def _names(count: int) -> list[str]:
    return [f"{i:02d}-" + "s" * 60 for i in range(count)]  # 63 characters each


def test_the_worst_case_run_record_fits_a_standard_parameter(mini: World) -> None:
    ssm = StandardTierSsm(mini.target.ssm)
    stack = mini.desired.stack.name
    long_owner = (
        "ci-runner@" + "h" * 253 + " pid 4194304 (GitHub Actions run 99999999999 of " + "o/" + "r" * 100 + ")"
    )
    names = _names(WORST_CASE_SOLUTIONS)
    killed = StackLock(ssm, stack, clock=mini.clock, owner=long_owner)
    killed.acquire()
    killed.record_run({name: f"{i:016x}" for i, name in enumerate(names)})  # then killed: never released
    breaker = StackLock(ssm, stack, clock=mini.clock, owner=long_owner)
    assert breaker.break_lock() is not None
    rerun = StackLock(ssm, stack, clock=mini.clock, owner=long_owner)
    rerun.acquire()
    rerun.renew()
    interrupted = rerun.interrupted()
    assert interrupted is not None
    assert [interrupted.training(name) for name in names] == [f"{i:016x}" for i in range(len(names))]
    rerun.release()
    assert max(ssm.sizes) <= STANDARD_LIMIT, ssm.sizes


def test_a_retrain_beyond_what_fits_is_refused_before_anything_is_written(mini: World) -> None:
    ssm = StandardTierSsm(mini.target.ssm)
    lock = StackLock(ssm, mini.desired.stack.name, clock=mini.clock)
    lock.acquire()
    lock.record_run({"sims": "0" * 16})
    written = len(ssm.sizes)
    with pytest.raises(lock_module.RunRecordTooLarge) as refused:
        lock.record_run({name: f"{i:016x}" for i, name in enumerate(_names(400))})
    message = refused.value.render()
    assert "apply --retrain asks for 400 trainings" in message and "Nothing was changed" in message, message
    assert "/personalize-gitops/locks/" in message and "retrain at most" in message, message
    assert len(ssm.sizes) == written  # nothing written, not a half-written lock
    current = lock.current()
    assert current is not None and current.interrupted(mini.clock.now()) is not None
    assert current.interrupted(mini.clock.now()).training("sims") == "0" * 16  # type: ignore[union-attr]
    assert lock.release()


def test_apply_refuses_a_retrain_that_does_not_fit_before_anything_changes(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mini.apply().exit_code == 0
    versions = mini.personalize.list_solution_versions()["solutionVersions"]
    monkeypatch.setattr(lock_module, "MAX_VALUE_BYTES", 300)  # one training does not fit
    with pytest.raises(lock_module.RunRecordTooLarge):
        mini.apply(plan_options=RETRAIN)
    assert mini.personalize.list_solution_versions()["solutionVersions"] == versions  # nothing trained
    current = StackLock(mini.target.ssm, mini.desired.stack.name, clock=mini.clock).current()
    assert current is not None and current.state == "released" and not current.retrain


class _Unclosed:
    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> object:
        return getattr(self._target, name)

    def close(self) -> None:
        pass


def test_ctrl_c_after_break_lock_says_the_lock_was_broken(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.commands import apply_cmd

    held = StackLock(mini.target.ssm, mini.desired.stack.name, clock=mini.clock, owner="alice@ci pid 7")
    held.acquire()

    def interrupt(self: StackLock) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(StackLock, "acquire", interrupt)
    monkeypatch.setattr(apply_cmd, "open_cli_target", lambda **_: _Unclosed(mini.target))
    result = CliRunner().invoke(app, ["apply", str(mini.manifests), "--auto-approve", "--break-lock"])
    assert result.exit_code == 130, result.output
    assert "nothing was changed" not in result.output, result.output
    assert "broke the stack lock of alice@ci pid 7 (lock epoch 1" in result.output, result.output
    assert "/personalize-gitops/locks/" in result.output and "0000000002" in result.output, result.output
    assert "changed nothing in Personalize" in result.output


def _run_plan(mini: World, monkeypatch: pytest.MonkeyPatch) -> int:
    from reconciler.commands import plan_cmd

    monkeypatch.setattr(plan_cmd, "open_cli_target", lambda **_: _Unclosed(mini.target))
    options: dict[str, Any] = dict(
        path=mini.manifests, stack=None, output_format="text", out=None, detailed_exitcode=False,
        endpoint_url=None, local=False, region=None, colour=False,
    )  # fmt: skip
    return int(plan_cmd.run_plan(**options, retrain=["sims"]))


def test_plan_retrain_while_another_apply_runs_does_not_call_it_interrupted(
    mini: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mini.apply().exit_code == 0
    running = StackLock(mini.target.ssm, mini.desired.stack.name, clock=mini.clock, owner="bob@ci pid 9")
    running.acquire()
    running.record_run({"sims": "feedfacecafebeef"})  # its plan runs now: lease live, not completed
    assert _run_plan(mini, monkeypatch) == 0
    captured = capsys.readouterr()
    assert "did not complete" not in captured.out, captured.out
    assert "feedfacecafebeef" not in captured.out
    assert "an apply of stack" in captured.err and "is running now: bob@ci pid 9" in captured.err, (
        captured.err
    )
    assert "training --retrain sims" in captured.err
    assert "continues its training instead of starting a second one" in captured.err

    mini.clock.advance(running.lease_seconds + 1)  # it died: its lease ran out, now it is interrupted
    assert _run_plan(mini, monkeypatch) == 0
    captured = capsys.readouterr()
    assert "Solution/sims continues the training of an apply that did not complete" in captured.out
    assert "(training key feedfacecafebeef)" in captured.out
    assert "is running now" not in captured.err


def test_a_record_of_the_first_form_with_solution_names_is_still_read() -> None:
    value = '{"owner": "a", "state": "held", "retrain": {"sims": "k1"}, "completed": false}'
    lease = lock_module.Lease.parse(3, value)
    interrupted = lease.interrupted(0.0)
    assert interrupted is not None and interrupted.training("sims") == "k1"
    assert '"trainings":{' in lease.value() and "sims" not in lease.value()
