from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from reconciler.apply.lock import StackLock, default_owner, lock_parameter_name
from reconciler.errors import LockHeldError


@pytest.fixture
def ssm(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")


def test_lock_is_exclusive_names_holder_and_is_released(ssm) -> None:
    first = StackLock(ssm, "retail", now=1_767_225_600, owner="alice@ci pid 1")
    with first:
        value = json.loads(ssm.get_parameter(Name=lock_parameter_name("retail"))["Parameter"]["Value"])
        assert value["owner"] == "alice@ci pid 1" and value["since"] == "2026-01-01T00:00:00Z"
        second = StackLock(ssm, "retail", now=1_767_225_700, owner="bob@laptop pid 2")
        with pytest.raises(LockHeldError) as info:
            second.acquire()
        assert info.value.exit_code == 4
        assert "alice@ci pid 1" in info.value.message and "2026-01-01T00:00:00Z" in info.value.message
        assert "--break-lock" in (info.value.hint or "")
        # the failed attempt did not touch the holder's lock
        now = ssm.get_parameter(Name=lock_parameter_name("retail"))["Parameter"]["Value"]
        assert json.loads(now) == value
        # another stack is independent
        with StackLock(ssm, "other", now=0):
            pass
    assert first.holder() is None


def test_released_on_exception(ssm) -> None:
    lock = StackLock(ssm, "retail", now=0)
    with pytest.raises(RuntimeError), lock:
        raise RuntimeError("boom")
    assert lock.holder() is None


def test_break_lock_removes_a_stale_lock(ssm) -> None:
    StackLock(ssm, "retail", now=0, owner="dead@host pid 9").acquire()  # never released: the process died
    mine = StackLock(ssm, "retail", now=10)
    assert mine.break_lock()["owner"] == "dead@host pid 9"
    with mine:
        assert mine.holder()["token"] == mine.token


def test_release_does_not_delete_someone_elses_lock(ssm) -> None:
    mine = StackLock(ssm, "retail", now=0)
    mine.acquire()
    theirs = StackLock(ssm, "retail", now=5, owner="them")
    theirs.break_lock()
    theirs.acquire()
    mine.release()
    assert theirs.holder()["owner"] == "them"


def test_owner_mentions_ci_run(monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "12345")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/recs")
    owner = default_owner()
    assert "pid" in owner and "run 12345 of acme/recs" in owner


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid  # finished and reaped: no process has this pid (until the OS reuses it)


def test_lock_of_a_dead_process_on_this_host_is_taken_over(ssm) -> None:
    import socket

    dead = {"owner": "me@here pid X", "since": "then", "token": "t", "stack": "retail"}
    dead.update(host=socket.gethostname(), pid=_dead_pid())
    ssm.put_parameter(Name=lock_parameter_name("retail"), Value=json.dumps(dead), Type="String")
    mine = StackLock(ssm, "retail", now=0)
    with mine:
        assert mine.took_over_from == "me@here pid X"
        assert mine.holder()["token"] == mine.token
    assert mine.holder() is None


@pytest.mark.parametrize(
    "where", ["another host", "live process here", "no host recorded"], ids=lambda w: w.replace(" ", "-")
)
def test_lock_that_may_be_alive_is_not_taken_over(ssm, where) -> None:
    import os
    import socket

    value = {"owner": "them", "since": "then", "token": "t", "stack": "retail"}
    if where == "another host":
        value.update(host="ci-runner-17", pid=_dead_pid())
    elif where == "live process here":
        value.update(host=socket.gethostname(), pid=os.getppid())
    ssm.put_parameter(Name=lock_parameter_name("retail"), Value=json.dumps(value), Type="String")
    with pytest.raises(LockHeldError, match="them"):
        StackLock(ssm, "retail", now=0).acquire()
    assert json.loads(ssm.get_parameter(Name=lock_parameter_name("retail"))["Parameter"]["Value"]) == value
