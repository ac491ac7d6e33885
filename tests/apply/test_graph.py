from __future__ import annotations

import threading

import pytest

from reconciler.apply.graph import (
    CoordinatedClock,
    GraphError,
    GraphRunner,
    Node,
    Outcome,
    StepFailed,
    StillRunning,
    is_virtual_clock,
)
from reconciler.apply.waiter import wait_for


class VirtualClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


def test_runs_in_dependency_order_with_parallel_branches() -> None:
    order: list[str] = []
    lock = threading.Lock()
    inside = {"now": 0, "max": 0}
    barrier = threading.Barrier(3, timeout=5)

    def step(name: str, parallel: bool = False):
        def run() -> str:
            with lock:
                order.append(name)
                inside["now"] += 1
                inside["max"] = max(inside["max"], inside["now"])
            if parallel:
                barrier.wait()  # all three trainings are running at the same time, or this times out
            with lock:
                inside["now"] -= 1
            return name

        return run

    nodes = [
        Node("dsg", step("dsg")),
        Node("ds", step("ds"), {"dsg"}),
        Node("import", step("import"), {"ds"}),
        *[Node(f"train{i}", step(f"train{i}", parallel=True), {"import"}) for i in range(3)],
        Node("campaign", step("campaign"), {"train0", "train1", "train2"}),
    ]
    results = GraphRunner(nodes).run()
    assert all(r.outcome is Outcome.DONE for r in results.values())
    assert order[:3] == ["dsg", "ds", "import"] and order[-1] == "campaign"
    assert inside["max"] == 3
    assert results["campaign"].value == "campaign"


def test_failure_skips_dependents_but_independent_branches_finish() -> None:
    ran: list[str] = []

    def ok(name: str):
        return lambda: ran.append(name)

    def fail() -> None:
        raise StepFailed("CREATE FAILED: Insufficient data", status="CREATE FAILED")

    nodes = [
        Node("a", ok("a")),
        Node("train-bad", fail, {"a"}),
        Node("campaign-bad", ok("campaign-bad"), {"train-bad"}),
        Node("output-bad", ok("output-bad"), {"campaign-bad"}),
        Node("train-good", ok("train-good"), {"a"}),
        Node("campaign-good", ok("campaign-good"), {"train-good"}),
        Node("both", ok("both"), {"campaign-good", "campaign-bad"}),
    ]
    results = GraphRunner(nodes).run()
    assert results["train-bad"].outcome is Outcome.FAILED
    assert "Insufficient data" in results["train-bad"].message
    for key in ("campaign-bad", "output-bad", "both"):
        assert results[key].outcome is Outcome.SKIPPED
        assert results[key].cause == "train-bad"
    assert sorted(ran) == ["a", "campaign-good", "train-good"]


def test_still_running_leaves_dependents_pending() -> None:
    def running() -> None:
        raise StillRunning("CREATE IN_PROGRESS")

    nodes = [Node("train", running), Node("campaign", lambda: None, {"train"}), Node("other", lambda: 1)]
    results = GraphRunner(nodes).run()
    assert results["train"].outcome is Outcome.RUNNING and results["train"].status == "CREATE IN_PROGRESS"
    assert results["campaign"].outcome is Outcome.PENDING and results["campaign"].cause == "train"
    assert results["other"].outcome is Outcome.DONE


def test_unexpected_exception_is_a_failure_not_a_hang() -> None:
    def boom() -> None:
        raise KeyError("x")

    results = GraphRunner([Node("a", boom), Node("b", lambda: None, {"a"})]).run()
    assert results["a"].outcome is Outcome.FAILED and "KeyError" in results["a"].message
    assert "Traceback" not in results["a"].message and "Traceback" in (results["a"].traceback or "")
    assert results["b"].outcome is Outcome.SKIPPED


def test_cycles_and_unknown_deps_are_rejected() -> None:
    with pytest.raises(GraphError, match="cycle"):
        GraphRunner([Node("a", lambda: None, {"b"}), Node("b", lambda: None, {"a"})])
    with pytest.raises(GraphError, match="unknown"):
        GraphRunner([Node("a", lambda: None, {"zzz"})])


def test_parallel_waits_share_virtual_time() -> None:
    """Three 45-minute trainings in parallel take 45 virtual minutes, then a 25-minute campaign."""
    base = VirtualClock()
    clock = CoordinatedClock(base)
    assert is_virtual_clock(clock)

    def training(duration: float, start_box: dict[str, float]):
        def run() -> float:
            start = clock.now()
            start_box["t"] = start
            result = wait_for(
                lambda: "ACTIVE" if clock.now() - start >= duration else "CREATE IN_PROGRESS",
                {"ACTIVE"},
                (),
                clock,
                None,
                duration,  # each wait knows its typical duration (polling centres on it)
            )
            return result.finished

        return run

    boxes: list[dict[str, float]] = [{} for _ in range(4)]
    nodes = [
        Node("t0", training(2700, boxes[0])),
        Node("t1", training(2700, boxes[1])),
        Node("t2", training(900, boxes[2])),
        Node("campaign", training(1500, boxes[3]), {"t0", "t1", "t2"}),
    ]
    results = GraphRunner(nodes, clock=clock).run()
    assert all(r.outcome is Outcome.DONE for r in results.values())
    makespan = results["campaign"].value
    critical = 2700 + 1500
    assert critical <= makespan <= critical * 1.1 + 60, makespan
    assert boxes[3]["t"] <= 2700 * 1.1 + 30
