"""The invalid-manifest corpus: each case reports exactly its expected errors (file:line:col, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifest import validate
from tests.manifest.corpus_support import BASE, cases, expectations, run_case

CASES = cases()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


def test_base_is_valid() -> None:
    report = validate(BASE)
    assert report.errors == []
    assert report.warnings == []


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case(case: Path, tmp_path: Path) -> None:
    expected = expectations(case)
    assert expected.errors, f"{case.name} states no expected error"
    outcome = run_case(case, tmp_path)
    assert outcome.errors == expected.errors
    for warning in expected.warnings:
        assert warning in outcome.warnings
    for info in expected.infos:
        assert info in outcome.infos
    text = "\n".join(outcome.full)
    for hint in expected.hints:
        assert hint in text
