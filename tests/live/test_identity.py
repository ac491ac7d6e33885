"""Identity by ownership tags, independent of namePrefix (issue 11 finding 4), against the emulator through
real boto3 clients: the stack's resources are found by their `personalize-gitops:stack` / `:name` tags
whatever they are called, so changing the prefix never plans a silent second stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import PlanError
from reconciler.model.address import Kind
from reconciler.plan.types import Action
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.resources.registry import REGISTRY
from tests.apply.apply_support import emulated_world, write_mini


def _change_prefix(manifests: Path, old: str, new: str) -> None:
    stack = manifests / "stack.yaml"
    text = stack.read_text(encoding="utf-8")
    assert f"namePrefix: {old}" in text
    stack.write_text(text.replace(f"namePrefix: {old}", f"namePrefix: {new}"), encoding="utf-8")


def test_changed_name_prefix_with_prune_finds_the_old_stack_and_refuses(tmp_path, monkeypatch):
    manifests = write_mini(tmp_path, prune=True, data_loss=True)
    with emulated_world(manifests, monkeypatch) as world:
        assert world.apply().exit_code == 0
        deployed = world.live().resources
        tagged = {a: lv.name for a, lv in deployed.items() if REGISTRY[a.kind].taggable}
        assert {a.kind for a in tagged} >= {Kind.DATASET_GROUP, Kind.CAMPAIGN, Kind.SOLUTION}
        assert all(name.startswith("mini-") for name in tagged.values())

        _change_prefix(manifests, "mini-", "shop-")
        world.reload()
        live = world.live()
        # the old stack is seen under its old names, at its logical addresses
        assert {a: live.resources[a].name for a in tagged} == tagged
        p = world.plan()
        assert not p.applyable
        assert p.count(Action.CREATE) == 0, "a second stack was planned next to the old one"
        for address, name in tagged.items():
            (error,) = [e for e in p.errors if e.startswith(f"{address}:")]
            assert name in error and f"shop-{address.name}" in error
            assert "namePrefix back to 'mini-'" in error

        before = world.mutating_calls()
        with pytest.raises(PlanError):
            world.apply()
        assert world.mutating_calls() == before

        _change_prefix(manifests, "shop-", "mini-")  # the hint's way out: the old prefix is a no-op again
        world.reload()
        assert not world.plan().has_changes


def _without_prune_settings(manifests: Path) -> None:
    stack = manifests / "stack.yaml"
    lines = stack.read_text(encoding="utf-8").splitlines()
    stack.write_text("\n".join(line for line in lines if "prune:" not in line) + "\n", encoding="utf-8")


@pytest.mark.parametrize("prune", ["off", "unset"])
def test_changed_name_prefix_without_prune_is_refused_and_shown(tmp_path, monkeypatch, prune):
    """Prune off (`enabled: false`) or no prune settings at all (the default): the old stack is found by its
    tags, nothing is created next to it, and every rendering of the plan shows the refusal with its hint."""
    manifests = write_mini(tmp_path, prune=False)
    if prune == "unset":
        _without_prune_settings(manifests)
    with emulated_world(manifests, monkeypatch) as world:
        assert world.desired.stack.settings.prune.enabled is False
        assert world.apply().exit_code == 0
        tagged = {a: lv.name for a, lv in world.live().resources.items() if REGISTRY[a.kind].taggable}

        _change_prefix(manifests, "mini-", "shop-")
        world.reload()
        p = world.plan()
        assert not p.applyable
        assert p.count(Action.CREATE) == p.count(Action.DELETE) == p.count(Action.REPLACE) == 0, (
            "a second stack was planned next to the old one"
        )
        for address, name in tagged.items():
            (error,) = [e for e in p.errors if e.startswith(f"{address}:")]
            assert name in error and f"shop-{address.name}" in error
            assert "namePrefix back to 'mini-'" in error
        # what `plan` prints (text, the PR comment, JSON): the refusal, never "No changes"
        text = render_text(p)
        assert all(f"Error: {e}" in text for e in p.errors), text
        assert "This plan cannot be applied" in text and "No changes" not in text, text
        markdown = render_markdown(p)
        assert "Errors (the plan is refused)" in markdown and "No changes" not in markdown, markdown
        assert json.loads(render_json(p))["errors"] == list(p.errors)

        before = world.mutating_calls()
        with pytest.raises(PlanError):
            world.apply()
        assert world.mutating_calls() == before

        _change_prefix(manifests, "shop-", "mini-")
        world.reload()
        assert not world.plan().has_changes


def test_ci_roles_may_read_the_tags_of_every_dataset_group():
    """The reader reads every group's tags (identity without the prefix): the generated policies allow it."""
    from reconciler.commands import iam_cmd
    from reconciler.manifest import load

    desired = load("manifests")
    for role in ("plan", "apply"):
        statements = iam_cmd.iam_policy(desired, role)["Statement"]
        assert any(
            s["Action"] == ["personalize:ListTagsForResource"] and s["Resource"].endswith(":dataset-group/*")
            for s in statements
        ), role


def test_denied_group_tags_say_which_permission_identity_needs(emulator_env):
    from reconciler.errors import ApiError
    from reconciler.live.reader import read_live
    from reconciler.model.address import Address
    from tests.live.test_reader import clients
    from tests.plan.builders import desired_state

    desired = desired_state({Address(Kind.DATASET_GROUP, "retail"): {}})
    emulator_env.personalize.create_dataset_group(name="someone-elses")
    emulator_env.emulator.control.inject_fault("ListTagsForResource", code="AccessDeniedException", count=1)
    with pytest.raises(ApiError) as caught:
        read_live(clients(emulator_env), desired, now=0.0)
    assert "someone-elses" in caught.value.message
    assert "ListTagsForResource on every dataset group" in (caught.value.hint or "")
