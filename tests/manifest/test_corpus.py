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


#: Every validation rule of issue 3, with a fragment of the message that proves a corpus case exercises it.
RULE_FRAGMENTS = {
    "YAML syntax": "YAML syntax error",
    "duplicate keys": "duplicate key '",
    "undefined variable": "undefined variable",
    "missing apiVersion/kind/name": "required field is missing",
    "wrong apiVersion": "unsupported apiVersion",
    "unknown kind": "unknown kind",
    "unknown field": "unknown field",
    "types": "must be an integer",
    "ranges": "must be >= 1",
    "duplicate (kind, name)": "duplicate Solution/sims",
    "reference exists": "is not defined in the manifests",
    "name length after prefix": "the limit is 63",
    "name pattern": "must match the pattern ^[a-zA-Z0-9]",
    "reserved tags": "reserved 'aws:' prefix",
    "Avro required fields": "schemas need a TIMESTAMP field",
    "Avro allowed types": "unsupported type 'map'",
    "categorical only on strings": "categorical is only allowed on string fields",
    "textual only on strings/items": "textual fields are only allowed in ITEMS schemas",
    "reserved fields": "is a reserved field",
    "metadata field needed": "need at least one metadata field",
    "one dataset per type": "already has an INTERACTIONS dataset",
    "dataset type matches schema": "does not fit datasetType",
    "schema domain": "has domain none but dataset group",
    "filter grammar": "syntax error at character",
    "filter fields exist": "no such field in the ITEMS schema",
    "filter dataset present": "has no ITEMS dataset (used by",
    "filter one dataset per expression": "must use one dataset",
    "filter comparison on numbers": "need a numeric field",
    "filter star": '"*" is only allowed',
    "filter IF CurrentUser": "IF conditions must use CurrentUser",
    "filter placeholders": "placeholders $",
    "filter fields per filter": "a filter may use at most 5",
    "filter fields per group": "at most 10 are allowed per dataset group",
    "recipe exists": "unknown recipe",
    "recipe fits datasets": "needs ITEMS data",
    "hyperparameter range": "must be between 0 and 1 (got 1.7)",
    "hyperparameter known": "unknown algorithm hyperparameter",
    "unknown recipe's hyperparameter is a warning": "documented list may be incomplete",
    "trainingMode UPDATE": "trainingMode UPDATE is not supported",
    "quota (hard)": "has 6 recommenders; the quota is 5",
    "quota (adjustable)": "has 6 active campaigns; the quota is 5",
    "recommender domain group": "recommenders need a domain dataset group",
    "recommender domain recipe": "recommenders need a domain use case",
    "promotion gate metric": "unknown metric",
    "botocore parameter validation": "CreateSolution would be rejected",
    "one event tracker": "already has an EventTracker",
}


def test_every_rule_is_exercised_by_the_corpus() -> None:
    text = "\n".join(
        line
        for case in CASES
        for line in case.read_text(encoding="utf-8").splitlines()
        if line.startswith("# expect")
    )
    missing = [rule for rule, fragment in RULE_FRAGMENTS.items() if fragment not in text]
    assert missing == []
