"""Ctrl-C during `apply`: the message says what became of the stack lock (never taken, released, or still
held because releasing failed: then what to do), instead of always "The stack lock was released"."""

from __future__ import annotations

from typing import Any

import pytest
from apply_support import World
from typer.testing import CliRunner

from reconciler.apply.lock import StackLock, epoch_parameter
from reconciler.cli import app
from reconciler.errors import ApiError


class _Unclosed:
    """The test's target, with close() a no-op (the world keeps using it)."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> object:
        return getattr(self._target, name)

    def close(self) -> None:
        pass


def _interrupt(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


def _interrupt_release(self: StackLock) -> bool:
    # stop the heartbeat as release does: left running, it renews epoch 1 of 'mini' in later tests' moto SSM
    self._stop_heartbeat()
    raise KeyboardInterrupt


def _apply(mini: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    from reconciler.commands import apply_cmd

    monkeypatch.setattr(apply_cmd, "open_cli_target", lambda **_: _Unclosed(mini.target))
    return CliRunner().invoke(app, ["apply", str(mini.manifests), "--auto-approve"])


def _lock(mini: World) -> StackLock:
    return StackLock(mini.target.ssm, mini.desired.stack.name, clock=mini.clock)


def test_ctrl_c_before_the_lock_says_no_lock_was_taken(mini: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.manifest.load", _interrupt)
    result = _apply(mini, monkeypatch)
    assert result.exit_code == 130, result.output
    assert "Interrupted before the stack lock was taken: nothing was changed" in result.output
    assert "released" not in result.output
    assert _lock(mini).current() is None


def test_ctrl_c_under_the_lock_releases_it_and_says_so(mini: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.live.reader.read_live", _interrupt)
    result = _apply(mini, monkeypatch)
    assert result.exit_code == 130, result.output
    assert "Interrupted. The stack lock was released" in result.output
    current = _lock(mini).current()
    assert current is not None and current.state == "released"


def test_ctrl_c_when_the_lock_cannot_be_released_says_to_break_it(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: StackLock) -> bool:
        self._stop_heartbeat()  # as release does (see _interrupt_release)
        raise ApiError(f"Could not write the stack lock {self.path}: AccessDenied", code="AccessDenied")

    monkeypatch.setattr("reconciler.live.reader.read_live", _interrupt)
    monkeypatch.setattr(StackLock, "release", refuse)
    result = _apply(mini, monkeypatch)
    assert result.exit_code == 130, result.output  # before: exit 1, the lock error hid the interrupt
    current = _lock(mini).current()
    assert current is not None and current.state == "held"
    assert "the stack lock could not be released (Could not write the stack lock" in result.output
    assert epoch_parameter(mini.desired.stack.name, current.epoch) in result.output
    assert "--break-lock" in result.output and "The stack lock was released" not in result.output


def test_ctrl_c_while_releasing_after_the_apply_says_the_lock_was_taken_not_interrupted_taking_it(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C lands while the lock is released at the end of the apply (the release call in flight): the lock
    was taken and is still held. The message must say so, not that apply was interrupted while taking it."""
    monkeypatch.setattr(StackLock, "release", _interrupt_release)
    result = _apply(mini, monkeypatch)
    assert result.exit_code == 130, result.output
    current = _lock(mini).current()
    assert current is not None and current.state == "held"
    assert "interrupted while taking it" not in result.output
    assert "the stack lock could not be released (interrupted while releasing it)" in result.output
    assert epoch_parameter(mini.desired.stack.name, current.epoch) in result.output
    assert "--break-lock" in result.output
