"""Lost responses: a mutating call takes effect in the account but its response never arrives (the connection
drops after the service acted), so botocore's retry sends the same request again. Apply must not end up with
two of anything: a retried create has to meet "already exists" (names) or be found again, never start a
second training or import.

* `make test`: the response of the first CreateSolutionVersion is lost (deterministic);
* `make soak`: 15 % of all mutating responses lost (and the n-th one always), 20 seeds.

The first run of this suite found second trainings (CreateSolutionVersion was sent without a name); apply
now names each version after its training key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import LostResponses, audit_line, seed_world, tally

SUITE = "lost responses (call took effect, answer lost, botocore retried)"
#: mutating calls of the seed apply (lock excluded: SSM is not Personalize)
SEED_PERSONALIZE_MUTATING = 21


def run_case(
    tmp: Path, *, operation: str, rate: float | None, count: int | None, seed: int, nth: int | None = None
) -> None:
    counts = tally(SUITE)
    counts.cases += 1
    with seed_world(tmp) as world:
        lossy = LostResponses(
            world.target.personalize,
            world.emulator,
            operation=operation,
            rate=rate,
            count=count,
            seed=seed,
            nth=nth,
        )
        try:
            outcomes = world.apply_until_exit_0(3, counts)
        finally:
            lossy.remove()
        counts.bump("responses lost", len(lossy.lost))
        ok, left, report = world.judge(outcomes, counts, f"seed {seed}, lost {lossy.lost}")
        assert lossy.lost, "no response was lost: the case tests nothing"
        assert ok, f"lost {lossy.lost}: attempts {outcomes}; plan left {left}; {audit_line(report)}"


def test_lost_create_solution_version_response_does_not_train_twice(tmp_path: Path) -> None:
    run_case(tmp_path, operation="CreateSolutionVersion", rate=None, count=1, seed=0)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(20))
def test_lost_mutating_responses_soak(seed: int, tmp_path: Path) -> None:
    nth = 1 + seed % SEED_PERSONALIZE_MUTATING  # one loss at a known position, whatever the draws
    run_case(tmp_path, operation="*", rate=0.15, count=None, seed=seed, nth=nth)
