"""The filter-expression parser: every documented example parses; malformed ones say what is wrong."""

from __future__ import annotations

import pytest

from reconciler.emulator.filters import FieldRef, FilterSyntaxError, parse_filter

VALID = [
    'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
    "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
    'EXCLUDE ItemID WHERE Items.CATEGORY IN ("shoe") AND Items.DESCRIPTION NOT IN ("boot")',
    "INCLUDE ItemID WHERE Items.PRICE <= $PRICE",
    "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE",
    "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE",
    'INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") AND Items.DESCRIPTION IN ("luxury") '
    "IF CurrentUser.AGE > 18",
    "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)",
    "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | "
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
    'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
    "INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)",
    "EXCLUDE ActionID WHERE Actions.VALUE < ($VALUE) IF CurrentUser.MEMBERSHIP = $PREMIUM",
    # ten distinct fields: the current quota (the 2023 guide's 5 is obsolete)
    " AND ".join(f'Items.F{i} IN ("1")' for i in range(10)).join(("INCLUDE ItemID WHERE ", "")),
]

INVALID = [
    ('DROP ItemID WHERE Items.A IN ("x")', "INCLUDE or EXCLUDE"),
    ('EXCLUDE Items WHERE Items.A IN ("x")', "ItemID, UserID or ActionID"),
    ('EXCLUDE ItemID Items.A IN ("x")', "expected WHERE"),
    ('EXCLUDE ItemID WHERE A IN ("x")', "Dataset.FIELD"),
    ('EXCLUDE ItemID WHERE Orders.A IN ("x")', "unknown dataset"),
    ("EXCLUDE ItemID WHERE Items.A IN (x)", "quoted strings"),
    ('EXCLUDE ItemID WHERE Items.A IN ("x"', "ends early"),
    ('EXCLUDE ItemID WHERE Items.A > "x"', "number or $PARAMETER"),
    ('EXCLUDE ItemID WHERE Items.A IN ("x") AND Interactions.EVENT_TYPE IN ("y")', "one dataset"),
    ('EXCLUDE ItemID WHERE Items.A IN ("x") IF Items.B = 1', "CurrentUser"),
    ('EXCLUDE ItemID WHERE Items.A IN ("x") extra', "unexpected"),
    ('EXCLUDE ItemID WHERE Items.A ~ ("x")', "unexpected character"),
    (
        " AND ".join(f'Items.F{i} IN ("1")' for i in range(11)).join(("INCLUDE ItemID WHERE ", "")),
        "at most 10 distinct dataset fields, found 11",
    ),
]


@pytest.mark.parametrize("expression", VALID)
def test_documented_examples_parse(expression: str) -> None:
    assert parse_filter(expression)


@pytest.mark.parametrize(("expression", "message"), INVALID, ids=[m for _, m in INVALID])
def test_malformed_expressions(expression: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(expression)
    assert message in str(info.value)


def test_references_are_reported() -> None:
    refs = parse_filter(VALID[0] + " | INCLUDE ItemID WHERE Items.PRICE < 5 IF CurrentUser.AGE > 18")
    assert refs == [
        FieldRef("INTERACTIONS", "event_type"),
        FieldRef("ITEMS", "PRICE"),
        FieldRef("USERS", "AGE"),
    ]
