"""The stack lock (issue 11, finding 8): a lease with a fencing token in SSM, through real boto3 clients on
moto, with an injected (virtual) clock driving expiry."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from reconciler.apply.lock import DEFAULT_LEASE, StackLock, default_owner, epoch_parameter, lock_path
from reconciler.emulator import VirtualClock
from reconciler.errors import LockHeldError

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def ssm(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


def _stored(ssm, stack: str) -> dict[str, dict]:
    page = ssm.get_parameters_by_path(Path=lock_path(stack))
    return {p["Name"]: json.loads(p["Value"]) for p in page["Parameters"]}


def test_lock_is_exclusive_names_holder_and_lease_age_and_is_released(ssm, clock) -> None:
    first = StackLock(ssm, "retail", clock=clock, owner="alice@ci pid 1")
    with first:
        clock.advance(30)
        second = StackLock(ssm, "retail", clock=clock, owner="bob@laptop pid 2")
        before = _stored(ssm, "retail")
        with pytest.raises(LockHeldError) as info:
            second.acquire()
        assert info.value.exit_code == 4
        message = info.value.message
        assert "alice@ci pid 1" in message and "taken 2026-01-01T00:00:00Z" in message
        assert "lease renewed 30 s ago" in message and "expires in 90 s" in message
        assert "--break-lock" in (info.value.hint or "")
        assert _stored(ssm, "retail") == before  # the refused attempt wrote nothing
        with StackLock(ssm, "other", clock=clock):  # another stack is independent
            pass
    assert first.holder() is None
    assert _stored(ssm, "retail")[epoch_parameter("retail", 1)]["state"] == "released"


def test_released_on_exception(ssm, clock) -> None:
    lock = StackLock(ssm, "retail", clock=clock)
    with pytest.raises(RuntimeError), lock:
        raise RuntimeError("boom")
    assert lock.holder() is None and not lock.held


def test_fencing_token_grows_on_every_acquisition_and_old_epochs_are_cleaned_up(ssm, clock) -> None:
    tokens = []
    for _ in range(4):
        lock = StackLock(ssm, "retail", clock=clock)
        with lock:
            tokens.append(lock.epoch)
    broken_by = StackLock(ssm, "retail", clock=clock)
    StackLock(ssm, "retail", clock=clock, owner="dead").acquire()
    assert broken_by.break_lock() is not None
    with broken_by:
        tokens.append(broken_by.epoch)
    assert tokens == [1, 2, 3, 4, 7]  # epoch 5 was the dead holder's, 6 the break
    assert sorted(_stored(ssm, "retail")) == [epoch_parameter("retail", 6), epoch_parameter("retail", 7)]


def test_two_takers_racing_for_an_expired_lock_exactly_one_wins(ssm, clock) -> None:
    StackLock(ssm, "retail", clock=clock, owner="killed CI job").acquire()  # never renewed, never released
    clock.advance(DEFAULT_LEASE + 1)
    # Both takers read the expired lease before either writes: the read of each waits for the other's.
    both_read = threading.Barrier(2, timeout=20)
    outcome: dict[str, object] = {}

    def take(name: str) -> None:
        client = boto3.client("ssm", region_name="eu-west-1")
        first_read = {"done": False}

        def wait_for_other(**_: object) -> None:
            if not first_read["done"]:
                first_read["done"] = True
                both_read.wait()

        client.meta.events.register("after-call.ssm.GetParametersByPath", wait_for_other)
        lock = StackLock(client, "retail", clock=clock, owner=name)
        try:
            lock.acquire()
            outcome[name] = lock
        except LockHeldError as exc:
            outcome[name] = exc

    threads = [threading.Thread(target=take, args=(name,)) for name in ("taker A", "taker B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [v for v in outcome.values() if isinstance(v, StackLock)]
    losers = [v for v in outcome.values() if isinstance(v, LockHeldError)]
    assert len(winners) == 1 and len(losers) == 1, outcome
    winner = winners[0]
    assert winner.epoch == 2 and winner.took_over is not None and winner.took_over.owner == "killed CI job"
    assert winner.owner in losers[0].message
    assert StackLock(ssm, "retail", clock=clock).holder().owner == winner.owner


def test_release_by_a_non_holder_is_refused(ssm, clock) -> None:
    holder = StackLock(ssm, "retail", clock=clock, owner="holder")
    holder.acquire()
    stranger = StackLock(ssm, "retail", clock=clock, owner="stranger")
    assert stranger.release() is False
    assert stranger.renew() is False
    assert StackLock(ssm, "retail", clock=clock).holder().owner == "holder"
    # a holder whose lease expired and was taken over can neither release nor renew the new holder's lease
    clock.advance(DEFAULT_LEASE + 1)
    successor = StackLock(ssm, "retail", clock=clock, owner="successor")
    successor.acquire()
    told: list[str] = []
    holder.on_lost = lambda newer: told.append(newer.owner)  # run_apply stops the executor from here
    assert holder.renew() is False and holder.lost is not None and holder.lost.owner == "successor"
    assert told == ["successor"] and not holder.held
    assert holder.release() is False
    current = StackLock(ssm, "retail", clock=clock).holder()
    assert current is not None and current.owner == "successor" and current.epoch == 2


def test_renewal_keeps_the_lock_and_a_killed_holders_lock_expires(ssm, clock) -> None:
    holder = StackLock(ssm, "retail", clock=clock, owner="alive")
    holder.acquire()
    other = StackLock(ssm, "retail", clock=clock, owner="other")
    for _ in range(5):  # 5 x 100 s: far beyond one lease, renewed in between
        clock.advance(100)
        assert holder.renew()
        with pytest.raises(LockHeldError):
            other.acquire()
    # the holder is killed: nobody renews; before expiry it is still held, after it the next apply takes over
    clock.advance(DEFAULT_LEASE - 1)
    with pytest.raises(LockHeldError, match="expires in 1 s"):
        other.acquire()
    clock.advance(2)
    other.acquire()
    assert other.took_over is not None and other.took_over.owner == "alive"
    assert "expired 1 s ago" in other.took_over.describe(clock.now())


def test_heartbeat_renews_while_the_block_runs(ssm, clock) -> None:
    lock = StackLock(ssm, "retail", clock=clock, owner="beating", heartbeat_poll=0.01)
    with lock:
        first = _stored(ssm, "retail")[epoch_parameter("retail", 1)]["expires"]
        clock.advance(DEFAULT_LEASE / 2)
        deadline = time.monotonic() + 10
        while lock.renewed_at == START and time.monotonic() < deadline:
            time.sleep(0.01)
        stored = _stored(ssm, "retail")[epoch_parameter("retail", 1)]
        assert stored["expires"] == first + DEFAULT_LEASE / 2
        clock.advance(DEFAULT_LEASE - 1)  # past the first expiry, within the renewed one
        with pytest.raises(LockHeldError):
            StackLock(ssm, "retail", clock=clock).acquire()
    assert _stored(ssm, "retail")[epoch_parameter("retail", 1)]["state"] == "released"


def test_break_lock_shows_holder_and_lease_age_and_fences_the_old_holder(ssm, clock) -> None:
    stuck = StackLock(ssm, "retail", clock=clock, owner="stuck@runner pid 9")
    stuck.acquire()
    clock.advance(45)
    mine = StackLock(ssm, "retail", clock=clock)
    broken = mine.break_lock()
    assert broken is not None
    assert broken.describe(clock.now()).startswith(
        "stuck@runner pid 9 (lock epoch 1, taken 2026-01-01T00:00:00Z"
    )
    assert "lease renewed 45 s ago" in broken.describe(clock.now())
    with mine:
        assert mine.holder().epoch == 3
        assert stuck.renew() is False  # the old holder learns it lost the lock
    assert mine.break_lock() is None  # nothing held: nothing to break


def test_owner_mentions_ci_run(monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "12345")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/recs")
    owner = default_owner()
    assert "pid" in owner and "run 12345 of acme/recs" in owner


def test_heartbeat_survives_a_network_error_and_renews_at_the_next_tick(ssm, clock) -> None:
    """botocore gives up on a connection with EndpointConnectionError (not a ClientError): the heartbeat must
    try again at its next tick, not stop renewing while the apply goes on (another apply could take the
    lock once the lease ran out, with this one unaware)."""
    from botocore.exceptions import EndpointConnectionError

    failures = {"left": 1}

    def flaky(**_: object) -> None:
        if threading.current_thread().name.startswith("lock-heartbeat") and failures["left"]:
            failures["left"] -= 1
            raise EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com")

    ssm.meta.events.register("before-call.ssm.GetParametersByPath", flaky)
    lock = StackLock(ssm, "retail", clock=clock, owner="beating", heartbeat_poll=0.01)
    with lock:
        clock.advance(DEFAULT_LEASE / 2)
        deadline = time.monotonic() + 10
        while lock.renewed_at == START and time.monotonic() < deadline:
            time.sleep(0.01)
        assert failures["left"] == 0, "the heartbeat never read the lock"
        assert lock.renewed_at == START + DEFAULT_LEASE / 2, "the heartbeat stopped after the network error"
