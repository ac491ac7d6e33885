"""Unit tests: filter grammar, marked YAML reader, cycle detection, avro helpers, sample data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reconciler.manifest.filter_grammar import FilterSyntaxError, parse_filter
from reconciler.manifest.rules.refs import find_cycle
from reconciler.manifest.yamlmarks import Mark, load_marked
from reconciler.model.address import Address, Kind
from reconciler.sampledata import EVENT_TYPES, generate_sample_data

ROOT = Path(__file__).resolve().parents[2]

DOC_EXAMPLES = [
    "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
    'EXCLUDE ItemID WHERE Items.CATEGORY IN ("shoe") AND Items.DESCRIPTION NOT IN ("boot")',
    "INCLUDE ItemID WHERE Items.PRICE <= $PRICE",
    "INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP < $DATE",
    "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE",
    "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE",
    'INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") AND Items.DESCRIPTION IN ("luxury")'
    " IF CurrentUser.AGE > 18",
    "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)",
    "EXCLUDE UserID WHERE Users.AGE < $AGE",
    "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
    ' | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")',
    'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
    "INCLUDE ActionID WHERE Actions.VALUE > 10 AND Actions.TYPE != $TYPE",
    # dg/action-recommendation-filter-examples: the placeholder in parentheses
    "INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)",
    "EXCLUDE ActionID WHERE Actions.VALUE < ($VALUE) IF CurrentUser.MEMBERSHIP = $PREMIUM",
]


@pytest.mark.parametrize("text", DOC_EXAMPLES)
def test_documented_examples_parse(text: str) -> None:
    parsed = parse_filter(text)
    assert parsed.expressions


def test_parse_structure_and_parameters() -> None:
    parsed = parse_filter(
        'INCLUDE ItemID WHERE Items.GENRE IN ($GENRE, "drama") OR Items.PRICE >= 3.5'
        " IF CurrentUser.AGE > $AGE"
        ' | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("*")'
    )
    first, second = parsed.expressions
    assert (first.action, first.target, first.connectors) == ("INCLUDE", "ItemID", ("OR",))
    assert [c.operator for c in first.conditions] == ["IN", ">="]
    assert [v.kind for v in first.conditions[0].values] == ["param", "string"]
    assert first.if_conditions[0].field.dataset == "CurrentUser"
    assert second.conditions[0].operator == "NOT IN"
    assert parsed.parameters == ("GENRE", "AGE")


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('EXCLUDE ItemID Items.X IN ("a")', 15, "expected 'WHERE'"),
        ('KEEP ItemID WHERE Items.X IN ("a")', 0, "expected 'INCLUDE' or 'EXCLUDE'"),
        ('EXCLUDE Item WHERE Items.X IN ("a")', 8, "ItemID, ActionID or UserID"),
        ('EXCLUDE ItemID WHERE Items.X IN ("a"', 36, "expected ',' or ')'"),
        ("EXCLUDE ItemID WHERE Items.X IN ('a')", 33, "double quotes"),
        ('EXCLUDE ItemID WHERE Products.X IN ("a")', 21, "unknown dataset 'Products'"),
        ("EXCLUDE ItemID WHERE Items.X IN (3)", 33, 'IN values are strings: write "3"'),
        ('EXCLUDE ItemID WHERE Items.X > "a"', 31, "comparison operators need a number"),
        (
            'EXCLUDE ItemID WHERE Items.X IN ("a") IF CurrentUser.A > 1 OR CurrentUser.B > 2',
            59,
            "joined with AND",
        ),
        ('EXCLUDE ItemID WHERE Items.X IN ("a") extra', 38, "after the end of the expression"),
        ('EXCLUDE ItemID WHERE Items.X IN ("unterminated)', 33, "unterminated string"),
        ("EXCLUDE ItemID WHERE Items.X IN ($)", 33, "parameter name"),
        ('EXCLUDE ItemID WHERE Items.X IN ("a") |', 39, "expected 'INCLUDE' or 'EXCLUDE', found end"),
    ],
)
def test_syntax_errors_have_positions(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.position == position
    assert fragment in info.value.message


def test_marked_reader_positions_and_values() -> None:
    text = "a: 1\nb:\n  c: [x, {d: 2020-01-01}]\n  e: &anchor {f: yes}\n  g: *anchor\n"
    (doc,), problems = load_marked(text, "t.yaml")
    assert problems == []
    assert doc.data == {"a": 1, "b": {"c": ["x", {"d": "2020-01-01"}], "e": {"f": True}, "g": {"f": True}}}
    assert doc.key_marks[("b", "c")] == Mark(3, 3)
    assert doc.value_marks[("b", "c", 1, "d")] == Mark(3, 14)
    assert doc.locate(("b", "c", 1, "missing")) == Mark(3, 10)


def test_marked_reader_duplicate_keys_and_merge() -> None:
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n  y: 4\n"
    (doc,), problems = load_marked(text, "t.yaml")
    assert doc.data["use"] == {"x": 1, "y": 3}
    assert [(p.mark, p.message) for p in problems] == [
        (Mark(5, 3), "duplicate key 'y' (first defined at line 4)")
    ]


def test_marked_reader_variables() -> None:
    (doc,), problems = load_marked("a: pre-${v}-post\nb: '${missing}'\nc: $${v}\n", "t.yaml", {"v": "X"})
    assert doc.data == {"a": "pre-X-post", "b": "${missing}", "c": "${v}"}
    assert [(p.mark, p.message) for p in problems] == [(Mark(2, 4), "undefined variable '${missing}'")]
    assert problems[0].path == ("b",)


def test_multiple_documents_and_empty_ones() -> None:
    docs, problems = load_marked("---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n", "t.yaml")
    assert problems == []
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}]
    assert [d.index for d in docs] == [0, 3]


def test_find_cycle() -> None:
    a, b, c = (Address(Kind.SOLUTION, n) for n in "abc")
    assert find_cycle({a: (b,), b: (c,), c: ()}) is None
    assert find_cycle({a: (b,), b: (c,), c: (a,)}) == [a, b, c, a]
    assert find_cycle({a: (a,)}) == [a, a]


def test_sample_data_is_deterministic_and_matches_the_committed_copy(tmp_path: Path) -> None:
    first = generate_sample_data(tmp_path / "one", seed=0)
    second = generate_sample_data(tmp_path / "two", seed=0)
    other = generate_sample_data(tmp_path / "three", seed=1)
    for name in ("items", "users", "interactions"):
        assert first[name].read_bytes() == second[name].read_bytes()
        assert first[name].read_bytes() == (ROOT / "data/sample" / f"{name}.csv").read_bytes(), (
            "regenerate with: python -m reconciler.sampledata data/sample"
        )
    assert first["interactions"].read_bytes() != other["interactions"].read_bytes()


def test_sample_data_shape(tmp_path: Path) -> None:
    paths = generate_sample_data(tmp_path, seed=0)
    with paths["interactions"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with paths["users"].open(encoding="utf-8") as handle:
        users = list(csv.DictReader(handle))
    with paths["items"].open(encoding="utf-8") as handle:
        items = list(csv.DictReader(handle))
    assert list(rows[0]) == ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP", "DISCOUNT"]
    assert list(users[0]) == ["USER_ID", "AGE", "GENDER"]
    assert list(items[0]) == ["ITEM_ID", "CATEGORY", "STYLE"]
    assert len(rows) >= 1500 and len(users) >= 50
    assert {r["EVENT_TYPE"] for r in rows} == set(EVENT_TYPES)
    assert {r["DISCOUNT"] for r in rows} == {"Yes", "No"}
    counts = {e: sum(r["EVENT_TYPE"] == e for r in rows) for e in EVENT_TYPES}
    assert counts["ProductViewed"] > counts["ProductAdded"] > counts["CartViewed"] > counts["OrderCompleted"]
    timestamps = [int(r["TIMESTAMP"]) for r in rows]
    assert timestamps == sorted(timestamps)
    assert timestamps[0] >= 1591803782 and timestamps[-1] <= 1599579782
    item_ids = {i["ITEM_ID"] for i in items}
    assert {r["ITEM_ID"] for r in rows} <= item_ids
    per_user: dict[str, int] = {}
    for row in rows:
        per_user[row["USER_ID"]] = per_user.get(row["USER_ID"], 0) + 1
    assert len(per_user) == len(users) and min(per_user.values()) >= 2


def test_current_item_filter_is_noted(tmp_path: Path) -> None:
    from reconciler.manifest import validate

    base = ROOT / "tests/manifest/corpus/_base/base.yaml"
    (tmp_path / "base.yaml").write_text(base.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "f.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Filter\nmetadata: {name: cheaper}\n"
        "spec: {datasetGroup: retail,\n"
        "       filterExpression: 'INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE'}\n",
        encoding="utf-8",
    )
    report = validate(tmp_path)
    assert report.errors == []
    assert any("CurrentItem filters work only with related-items recipes" in i for i in report.infos)
