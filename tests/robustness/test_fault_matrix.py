"""Fault matrix: the seed apply under throttling (30 %), 5xx (5 %) and connection resets (2 %) on every
Personalize call, injected by the emulator's control with fixed seeds. Each case must converge (the plan
afterwards is empty, everything ACTIVE) with no duplicate resource, no second training or import, and no lost
data. 5 seeds in `make test`, 50 more in `make soak`.

Faults stay on for the whole apply, including its reads and waits. botocore's standard retry mode (8 attempts,
the target's configuration) absorbs most of them; when one call exhausts its attempts the apply stops with an
error, and the case reruns apply (faults still on) with new clients, as a scheduled CI run would (a new
process, so botocore's retry quota starts full again), up to 3 times in all. Reruns are counted and printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import audit_line, seed_world, tally

THROTTLING = 0.30
SERVER_ERRORS = 0.05
RESETS = 0.02
MAX_ATTEMPTS = 3
FAST_SEEDS = list(range(5))
SOAK_SEEDS = list(range(5, 55))
SUITE = "fault matrix (throttling 30 %, 5xx 5 %, resets 2 %)"


def run_case(seed: int, tmp: Path) -> None:
    counts = tally(SUITE)
    counts.cases += 1
    with seed_world(tmp) as world:
        control = world.emulator.control
        control.inject_fault("*", "ThrottlingException", rate=THROTTLING, seed=seed * 3)
        control.inject_fault("*", "InternalFailure", rate=SERVER_ERRORS, seed=seed * 3 + 1)
        control.inject_fault("*", "ConnectionReset", rate=RESETS, seed=seed * 3 + 2)
        outcomes = world.apply_until_exit_0(MAX_ATTEMPTS, counts, fresh_between=True)
        injected = sum(rule.fired for rule in control.faults)
        control.clear_faults()
        counts.bump("faults injected", injected)
        counts.bump("botocore retries", world.retry_sleep.retries)
        counts.bump("reruns needed", len(outcomes) - 1)
        ok, left, report = world.judge(outcomes, counts, f"seed {seed}")
        assert injected > 0, "the fault rules never fired: the matrix tests nothing"
        assert ok, f"seed {seed}: attempts {outcomes}; plan left {left}; {audit_line(report)}"


@pytest.mark.parametrize("seed", FAST_SEEDS)
def test_seed_apply_converges_under_faults(seed: int, tmp_path: Path) -> None:
    run_case(seed, tmp_path)


@pytest.mark.soak
@pytest.mark.parametrize("seed", SOAK_SEEDS)
def test_seed_apply_converges_under_faults_soak(seed: int, tmp_path: Path) -> None:
    run_case(seed, tmp_path)
