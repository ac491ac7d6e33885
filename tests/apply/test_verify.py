"""`personalize-gitops verify`: every campaign answers after apply; a `verify:` block is honoured; failures
are reported clearly (issue 13, the post-apply check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import World

from reconciler.model.address import Address, Kind
from reconciler.verify import COLD_ITEM, COLD_USER, run_verify

PERSONAL = "amazon-personalize-immersionday-product-personalization"


def test_before_apply_every_campaign_is_reported_missing(world: World) -> None:
    report = run_verify(world.target, world.desired)
    assert not report.ok and len(report.checks) == 3
    assert all(c.error == "not in the account (run apply first)" for c in report.checks)
    assert "Verify FAILED: 3 of 3" in report.render()


def test_after_apply_every_campaign_answers_by_recipe(world: World) -> None:
    assert world.apply().exit_code == 0
    report = run_verify(world.target, world.desired)
    assert report.ok, report.render()
    by_name = {c.address.name: c for c in report.checks}
    related = by_name["amazon-personalize-immersionday-related-products"]
    assert (related.operation, related.request["itemId"]) == ("GetRecommendations", COLD_ITEM)
    personal = by_name[PERSONAL]
    assert (personal.operation, personal.request["userId"], len(personal.items)) == (
        "GetRecommendations",
        COLD_USER,
        10,
    )
    ranking = by_name["amazon-personalize-immersionday-personalized-ranking"]
    assert ranking.operation == "GetPersonalizedRanking" and ranking.items
    assert set(ranking.items) <= set(related.items) | set(personal.items)  # ranked what the others returned
    assert report.render().endswith("Verify passed: all 3 answered.")


def _with_verify_block(world: World, block: str) -> None:
    path = world.manifests / "retail" / "campaigns.yaml"
    original = world.manifests / "retail" / "campaigns.yaml.orig"
    if not original.exists():
        original.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    text = original.read_text(encoding="utf-8")
    anchor = f"  solution: {PERSONAL}\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + block), encoding="utf-8")
    world.reload()


def test_a_verify_block_sets_user_filter_and_minimum(world: World) -> None:
    assert world.apply().exit_code == 0
    _with_verify_block(
        world,
        "  verify:\n"
        '    userId: "12"\n'
        "    filter: immersion-day-filter-purchased-products\n"
        "    numResults: 5\n",
    )
    report = run_verify(world.target, world.desired)
    check = next(c for c in report.checks if c.address == Address(Kind.CAMPAIGN, PERSONAL))
    assert report.ok, report.render()
    assert check.request["userId"] == "12" and check.request["filter"].endswith("purchased-products")
    assert len(check.items) == 5
    # asking for more items than the catalogue holds: fewer come back than declared, and the report says so
    _with_verify_block(world, "  verify:\n    numResults: 500\n")
    failed = run_verify(world.target, world.desired)
    assert not failed.ok
    line = next(line for line in failed.render().splitlines() if PERSONAL in line)
    assert line.strip().startswith("FAIL") and "fewer than the 500 expected" in line


def test_a_campaign_that_does_not_answer_fails_with_the_service_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.apply().exit_code == 0
    arn = world.live().resources[Address(Kind.CAMPAIGN, PERSONAL)].arn
    world.emulator.handle("DeleteCampaign", {"campaignArn": arn}, "us-east-1")
    report = run_verify(world.target, world.desired)
    line = next(line for line in report.render().splitlines() if PERSONAL in line)
    assert line.strip().startswith("FAIL") and "ResourceNotFoundException" in line


def test_verify_command_exit_codes(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reconciler.commands import verify_cmd

    monkeypatch.setattr(verify_cmd, "open_cli_target", lambda **_: _Unclosed(world.target))
    assert (
        verify_cmd.run_verify_command(
            path=world.manifests, stack=None, endpoint_url=None, local=True, region=None
        )
        == 1
    )
    assert world.apply().exit_code == 0
    assert (
        verify_cmd.run_verify_command(
            path=world.manifests, stack=None, endpoint_url=None, local=True, region=None
        )
        == 0
    )


class _Unclosed:
    """The test's target, with close() a no-op (the world keeps using it)."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> object:
        return getattr(self._target, name)

    def close(self) -> None:
        pass


def test_apply_with_verify_runs_the_check_after_apply(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.commands import apply_cmd

    monkeypatch.setattr(apply_cmd, "open_cli_target", lambda **_: _Unclosed(world.target))
    _with_verify_block(world, "  verify:\n    numResults: 500\n")  # more than the catalogue: verify fails
    options = dict(
        path=world.manifests,
        stack=None,
        manifests=None,
        auto_approve=True,
        timeout=None,
        no_wait=False,
        retrain=[],
        allow_data_loss=False,
        prune=None,
        break_lock=False,
        endpoint_url=None,
        local=True,
        region=None,
        time_scale=None,
    )
    assert apply_cmd._apply(**options, verify=True) == 1  # applied, but a campaign answered too few items
    out = capsys.readouterr().out
    assert "Apply complete" in out and "Verify FAILED: 1 of 3" in out
    _with_verify_block(world, "  verify:\n    numResults: 5\n")
    assert apply_cmd._apply(**options, verify=True) == 0
    assert "Verify passed: all 3 answered." in capsys.readouterr().out
