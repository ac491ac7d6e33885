from __future__ import annotations

import pytest

from reconciler.apply.waiter import GONE, Backoff, WaitFailed, WaitTimeout, normalize_status, wait_for


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.t += seconds


def resource(clock: FakeClock, ready_after: float, final: str = "ACTIVE"):
    start = clock.t
    reads: list[float] = []

    def read() -> str | None:
        reads.append(clock.t)
        if clock.t - start >= ready_after:
            return None if final == GONE else final
        return "CREATE IN_PROGRESS" if clock.t - start > 5 else "CREATE PENDING"

    return read, reads


@pytest.mark.parametrize("typical", [60.0, 900.0, 2700.0])
@pytest.mark.parametrize("factor", [0.05, 0.5, 1.0, 1.7, 3.0])
def test_completion_noticed_within_about_ten_percent(typical: float, factor: float) -> None:
    clock = FakeClock()
    ready_after = typical * factor
    read, reads = resource(clock, ready_after)
    result = wait_for(read, {"ACTIVE"}, {"CREATE FAILED"}, clock, None, typical)
    delay = result.elapsed - ready_after
    assert result.status == "ACTIVE"
    bound = max(0.1 * ready_after, Backoff.for_typical(typical).floor)
    assert 0 <= delay <= bound + 1e-6, (delay, ready_after)
    # not hammering: a wait of about the typical duration costs a few dozen reads at most
    assert result.polls == len(reads) <= 60


def test_first_read_is_immediate_and_counts() -> None:
    clock = FakeClock()
    result = wait_for(lambda: "ACTIVE", {"ACTIVE"}, (), clock, None, 2700)
    assert result.polls == 1 and result.elapsed == 0 and clock.sleeps == []


def test_failed_status_raises_with_result() -> None:
    clock = FakeClock()
    read, _ = resource(clock, 120, final="CREATE FAILED")
    with pytest.raises(WaitFailed) as info:
        wait_for(read, {"ACTIVE"}, {"CREATE FAILED"}, clock, None, 60)
    assert info.value.status == "CREATE FAILED"
    assert info.value.result.elapsed >= 120


def test_timeout_stops_at_deadline_with_last_status() -> None:
    clock = FakeClock()
    read, _ = resource(clock, 10_000)
    with pytest.raises(WaitTimeout) as info:
        wait_for(read, {"ACTIVE"}, {"CREATE FAILED"}, clock, 600, 2700)
    assert info.value.last_status == "CREATE IN_PROGRESS"
    assert clock.t == pytest.approx(1600.0)


def test_absolute_deadline_wins_over_longer_timeout() -> None:
    clock = FakeClock()
    read, _ = resource(clock, 10_000)
    with pytest.raises(WaitTimeout):
        wait_for(read, {"ACTIVE"}, (), clock, 3600, 2700, deadline=1300.0)
    assert clock.t == pytest.approx(1300.0)


def test_waits_for_gone() -> None:
    clock = FakeClock()
    read, _ = resource(clock, 90, final=GONE)
    result = wait_for(read, {GONE}, {"DELETE FAILED"}, clock, None, 60)
    assert result.status == GONE


def test_status_spellings_are_normalized_and_changes_reported() -> None:
    seen: list[str] = []
    states = iter(["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ACTIVE"])
    result = wait_for(lambda: next(states), {"ACTIVE"}, (), FakeClock(), None, 60, on_status=seen.append)
    assert seen == ["CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"]
    assert result.polls == 4
    assert normalize_status("CREATE_STOPPED") == "CREATE STOPPED"


def test_jitter_is_seeded_and_only_shortens() -> None:
    def run(seed: int) -> list[float]:
        clock = FakeClock()
        read, _ = resource(clock, 900)
        wait_for(read, {"ACTIVE"}, (), clock, None, 900, seed=seed)
        return clock.sleeps

    assert run(1) == run(1)
    assert run(1) != run(2)
    backoff = Backoff.for_typical(900)
    assert all(s <= backoff.cap for s in run(3))
