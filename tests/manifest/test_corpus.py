"""The invalid-manifest corpus: each case reports exactly its expected errors (file:line:col, field)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.manifest import validate
from tests.manifest.corpus_support import BASE, case_text, cases, expectations, run_case

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
    "filter fields per filter": "a filter may use at most 10",
    "filter fields per group": "at most 20 are allowed per dataset group",
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
    # issue 14: hostile or wrong input
    "YAML alias expansion bomb": "alias expansion bomb",
    "variables inside variables": "variables refer to each other in a cycle",
    "undefined variable inside a variable": "spec.variables.role: undefined variable",
    "non-UTF-8 file": "not UTF-8: byte 0xe9",
    "event value threshold needs EVENT_VALUE": "has no EVENT_VALUE field",
    "event type settings need EVENT_TYPE": "has no EVENT_TYPE field",
    "domain schema required fields": "ECOMMERCE ITEMS schemas need a PRICE field",
    "domain use case datasets": "trains on INTERACTIONS and ITEMS data",
    "domain use case event types": "trains on Watch and Click events",
    "all problems of a schema in one run": "unsupported type 'map'",
    "context fields only for recipes that use them": "does not train on interaction metadata (context)",
}

LOCATION = re.compile(r"^(case|base/base)\.yaml:\d+:\d+: ")
NOTE = re.compile(r"reported at (case\.yaml:\d+:\d+)\)")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_every_expected_error_has_file_line_and_column(case: Path) -> None:
    for error in expectations(case).errors:
        assert LOCATION.match(error), error


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_reported_at_notes_point_at_a_printed_problem(case: Path) -> None:
    """The note "(1 problem reported at file:L:C)" names the line and column of a problem that is printed."""
    errors = expectations(case).errors
    for error in errors:
        for where in NOTE.findall(error):
            assert any(other.startswith(where + ": ") for other in errors), (where, errors)


def test_every_rule_is_exercised_by_the_corpus() -> None:
    text = "\n".join(
        line for case in CASES for line in case_text(case).splitlines() if line.startswith("# expect")
    )
    missing = [rule for rule, fragment in RULE_FRAGMENTS.items() if fragment not in text]
    assert missing == []
