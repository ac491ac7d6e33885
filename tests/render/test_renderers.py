"""Renderer behaviour beyond the goldens: size budget, colours, summary wording."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.model.address import Address, Kind
from reconciler.plan.types import Action, Change, FieldChange, Harm, Plan, Reason, ReplaceOrder
from reconciler.render import render_json, render_markdown, render_text
from reconciler.render.common import summary_line
from tests.render.cases import mixed, no_changes


def big_plan(n: int, destructive: int = 3) -> Plan:
    changes = []
    for i in range(n):
        changes.append(
            Change(
                Address(Kind.FILTER, f"filter-{i:05d}"),
                Action.UPDATE,
                reasons=(Reason.FIELD_CHANGED,),
                physical_name=f"p-filter-{i:05d}",
                field_changes=(FieldChange("tags.owner", "a" * 40, "b" * 40),),
                notes=("x" * 80,),
            )
        )
    for i in range(destructive):
        changes.append(
            Change(
                Address(Kind.DATASET, f"data-{i}"),
                Action.REPLACE,
                reasons=(Reason.IMMUTABLE_FIELD_CHANGED,),
                physical_name=f"p-data-{i}",
                field_changes=(FieldChange("datasetType", "ITEMS", "USERS", forces_replacement=True),),
                harms=(Harm.DATA_LOSS,),
                replace_order=ReplaceOrder.DESTROY_BEFORE_CREATE,
            )
        )
    return Plan(changes=tuple(changes), stack="big", target="test", manifests_digest="d")


@pytest.mark.parametrize("n", [10, 500, 3000])
def test_markdown_stays_under_the_limit_with_summary_and_destructive_intact(n):
    p = big_plan(n)
    text = render_markdown(p)
    assert len(text) < 65_536
    assert f"**{summary_line(p)}**" in text.splitlines()[3]
    for i in range(3):
        assert f"**Dataset/data-{i}**" in text  # destructive list never dropped
    if n >= 500:
        assert "omitted here to stay under GitHub's" in text
        assert "filter-00000" in text and f"filter-{n - 1:05d}" in text  # head and tail kept
    else:
        assert "omitted" not in text


def test_markdown_custom_limit_is_respected():
    text = render_markdown(big_plan(200), limit=10_000)
    assert len(text) <= 10_000
    assert "Dataset/data-2" in text


def test_text_colours_only_when_asked():
    p = mixed()
    assert "\x1b[" not in render_text(p)
    coloured = render_text(p, colour=True)
    assert "\x1b[31m-/+\x1b[0m" in coloured or "\x1b[31m-/+ " in coloured
    assert coloured.replace("\x1b[0m", "").count("\x1b[") > 3


def test_summary_lines():
    assert summary_line(no_changes()) == "No changes. Your Personalize resources match the manifests."
    assert summary_line(big_plan(2, destructive=1)) == (
        "Plan: 0 to create, 2 to update, 1 to replace, 0 to delete, 0 to retrain, 0 to promote."
    )
    refused = dataclasses.replace(big_plan(0, 1), errors=("no",))
    refused = dataclasses.replace(
        refused, changes=tuple(dataclasses.replace(c, allowed=False) for c in refused.changes)
    )
    assert "cannot be applied" in render_text(refused)


def test_a_refused_plan_of_no_ops_shows_its_errors_not_no_changes():
    """e.g. a changed namePrefix: every resource is a no-op, the plan is refused (issue 11 finding 4)."""
    refused = dataclasses.replace(no_changes(), errors=("DatasetGroup/shop: set namePrefix back",))
    assert summary_line(refused) == "The plan is refused (1 error): nothing is applied until fixed."
    text = render_text(refused)
    assert "Error: DatasetGroup/shop: set namePrefix back" in text and "cannot be applied" in text
    assert "No changes" not in text and "No changes" not in render_markdown(refused)


def test_json_has_terraform_like_action_arrays():
    import json

    data = json.loads(render_json(mixed()))
    by_action = {c["address"] + ":" + c["action"]: c for c in data["resource_changes"]}
    assert by_action["Solution/personalize:replace"]["change"]["actions"] == ["create", "delete"]
    assert by_action["Filter/no-bought:replace"]["change"]["actions"] == ["delete", "create"]
    assert by_action["Filter/old-filter:delete"]["change"]["actions"] == ["delete"]
    assert data["summary"]["replace"] == 2 and data["applyable"] is True
    assert data["resource_drift"][0]["address"] == "Filter/no-bought"
