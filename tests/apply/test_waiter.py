from __future__ import annotations

import pytest

from reconciler.apply.waiter import GONE, Schedule, WaitFailed, WaitTimeout, normalize_status, wait_for


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


@pytest.mark.parametrize("typical", [70.0, 610.0, 1510.0, 2710.0])
@pytest.mark.parametrize("factor", [0.97, 1.0, 1.03])
def test_completion_at_the_expected_time_is_noticed_within_one_percent(typical: float, factor: float) -> None:
    """Polling is dense around the expected completion: noticed within max(1 % of it, 4 s)."""
    clock = FakeClock()
    ready_after = typical * factor
    read, reads = resource(clock, ready_after)
    result = wait_for(read, {"ACTIVE"}, {"CREATE FAILED"}, clock, None, typical)
    delay = result.elapsed - ready_after
    assert result.status == "ACTIVE"
    assert 0 <= delay <= Schedule.for_typical(typical).fine + 1e-6, (delay, ready_after)
    # sparse before: about a dozen reads for the whole wait (the fixed 10 %-of-elapsed schedule took ~40)
    assert result.polls == len(reads) <= 16, reads


@pytest.mark.parametrize("typical", [60.0, 600.0, 2700.0])
@pytest.mark.parametrize("factor", [0.05, 0.5, 1.7, 3.0])
def test_early_or_late_completion_is_still_noticed(typical: float, factor: float) -> None:
    clock = FakeClock()
    ready_after = typical * factor
    read, reads = resource(clock, ready_after)
    result = wait_for(read, {"ACTIVE"}, {"CREATE FAILED"}, clock, None, typical)
    delay = result.elapsed - ready_after
    schedule = Schedule.for_typical(typical)
    if factor < 1:  # early: at most 1.5x as late as it took (or one fine step)
        bound = max(1.5 * ready_after, schedule.fine)
    else:  # overrun: the pause grows with the overrun, up to typical / 4
        bound = min(schedule.fine + 0.2 * (ready_after + schedule.cap - typical), schedule.cap)
    assert 0 <= delay <= bound + 1e-6, (delay, ready_after, bound)
    assert result.polls == len(reads) <= 40


def test_reads_cluster_around_the_expected_completion() -> None:
    clock = FakeClock()
    read, reads = resource(clock, 2700.0)
    wait_for(read, {"ACTIVE"}, (), clock, None, 2700.0, seed=None)
    offsets = [t - 1000.0 for t in reads]
    assert len([t for t in offsets if t < 2700 * 0.5]) <= 8
    assert len([t for t in offsets if 2700 * 0.96 <= t <= 2700 * 1.02]) >= 3


def test_an_operation_already_running_is_timed_from_its_own_start() -> None:
    """A training that started 2,650 s before apply began is expected to finish in ~50 s, not in 2,700."""
    clock = FakeClock()
    began = clock.t - 2650.0
    read, _ = resource(clock, 60.0)
    result = wait_for(read, {"ACTIVE"}, (), clock, None, 2700.0, since=lambda: began)
    assert result.elapsed - 60.0 <= Schedule.for_typical(2700.0).fine + 1e-6
    # without `since` the same wait would only look again after 1.5x the time it has been waiting
    clock2 = FakeClock()
    read2, _ = resource(clock2, 60.0)
    late = wait_for(read2, {"ACTIVE"}, (), clock2, None, 2700.0)
    assert late.elapsed - 60.0 > result.elapsed - 60.0


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
    # before the window a pause is at most up to the window's start; after it, at most the cap
    assert all(s <= 0.97 * 900 for s in run(3))
    unjittered = Schedule(typical=900, jitter=0.0)
    assert all(Schedule.for_typical(900).pause(e, 0.9) <= unjittered.pause(e) for e in (0, 50, 880, 1200))
