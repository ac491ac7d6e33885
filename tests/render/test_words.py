"""The words and pictures users read (issue 14): status words, list diffs, what is kept, cost notes, the
markdown's destructive section, Mermaid order graph and promotion-gate table, progress lines."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
from pathlib import Path

import pytest

from reconciler.apply.progress import EventKind, PlainReporter, StepEvent, status_words
from reconciler.commands.plan_cmd import target_args
from reconciler.model.address import Address, Kind
from reconciler.plan import planfile
from reconciler.plan.types import Action, Change, Harm, Plan
from reconciler.render import render_markdown, render_text
from reconciler.render.common import in_progress_text
from reconciler.render.markdown import mermaid_graph
from reconciler.render.text import confirm_question
from tests.render.cases import (
    create_everything,
    held_back,
    kept_orphan,
    mixed,
    no_changes,
    refused,
    schema_field_added,
)


def test_running_updates_are_not_shown_as_creates() -> None:
    address = create_everything().changes[0].address
    update = Change(address, Action.NOOP, in_progress="update CREATE PENDING")
    assert in_progress_text(update) == "update pending"
    creating = Change(address, Action.NOOP, in_progress="CREATE IN_PROGRESS")
    assert in_progress_text(creating) == "being created (in progress)"
    text = render_text(held_back())
    assert "CREATE PENDING" not in text and "in progress: update pending" in text


def test_progress_words_for_updates_promotions_and_schemas() -> None:
    assert status_words("update Campaign/home", "CREATE IN_PROGRESS") == "update in progress"
    assert status_words("promote Campaign/home", "CREATE PENDING") == "update pending"
    assert status_words("create Campaign/home", "CREATE PENDING") == "CREATE PENDING"
    assert status_words("create Schema/items", "ACTIVE") == ""
    out = io.StringIO()
    reporter = PlainReporter(out, start=0.0)
    reporter.event(StepEvent("create Schema/items", EventKind.STATUS, 12.0, "ACTIVE", elapsed=12, typical=1))
    reporter.event(StepEvent("promote Campaign/home", EventKind.STATUS, 20.0, "CREATE PENDING", elapsed=5))
    line_schema, line_promote = out.getvalue().splitlines()
    assert "ACTIVE" not in line_schema and "~1s" not in line_schema
    assert line_promote.endswith("promote Campaign/home update pending (5s)")


def test_the_apply_summary_names_a_running_update_as_an_update() -> None:
    """`apply --timeout` / `--no-wait`: the summary's "still running" lines use the progress lines' words (a
    campaign update reports its latestCampaignUpdate with CREATE statuses), never "CREATE PENDING"."""
    from reconciler.apply.graph import Outcome
    from reconciler.apply.report import ApplyReport, StepRecord

    def running(label: str, status: str) -> StepRecord:
        verb, address = label.split(" ", 1)
        return StepRecord(
            label, label, address, verb, Outcome.RUNNING, status=status, started=0.0, finished=90.0
        )

    report = ApplyReport(
        "shop",
        steps=[
            running("update Campaign/home", "CREATE PENDING"),
            running("promote Campaign/related", "CREATE IN_PROGRESS"),
            running("create Campaign/new", "CREATE PENDING"),
        ],
    )
    lines = report.details()
    assert "  update Campaign/home: update pending after 1m30s" in lines
    assert "  promote Campaign/related: update in progress after 1m30s" in lines
    assert "  create Campaign/new: CREATE PENDING after 1m30s" in lines


def test_progress_lines_are_printed_in_time_order() -> None:
    out = io.StringIO()
    reporter = PlainReporter(out, start=0.0)
    reporter.event(StepEvent("train Solution/s", EventKind.DONE, 100.0, "ACTIVE", elapsed=90))
    reporter.event(StepEvent("train Solution/s", EventKind.STATUS, 95.0, "CREATE IN_PROGRESS", elapsed=85))
    reporter.event(StepEvent("create Campaign/c", EventKind.STARTED, 99.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines  # the poll that lost the race with `done` is not printed after it
    stamps = [re.match(r"\[\+(\d\d:\d\d:\d\d)\]", line).group(1) for line in lines]  # type: ignore[union-attr]
    assert stamps == sorted(stamps)


def test_one_added_schema_field_shows_that_field_only() -> None:
    text = render_text(schema_field_added())
    (line,) = [line for line in text.splitlines() if "schema.fields" in line and "COLOR" in line]
    assert line.strip().startswith('+ schema.fields[+]: {"categorical": true, "name": "COLOR"')
    assert "ITEM_ID" not in text  # the unchanged fields are not repeated
    markdown = render_markdown(schema_field_added())
    assert ":warning:" not in markdown  # a schema replacement loses no data


def test_destructive_section_lists_only_destructive_or_refused_changes() -> None:
    markdown = render_markdown(mixed())
    # replacements of a filter and a solution, a filter delete: no data lost, but a filter in use
    # stops serving (issue 11 finding 10): the filter changes are listed, the solution replacement is not
    destructive = markdown.split(":warning:", 1)[1].split("###", 1)[0]
    assert "Filter/" in destructive and "Solution/" not in destructive
    refused = create_everything()
    assert ":warning:" not in render_markdown(refused)


def test_prune_off_says_what_is_kept_and_why_once() -> None:
    text = render_text(kept_orphan())
    assert text.count("prune") == 2  # the reason once, and where to change it
    assert "Filter/old-filter is not in the manifests and is kept" in text
    markdown = render_markdown(kept_orphan())
    assert markdown.count("prune") == 2 and "**Filter/old-filter**: not in the manifests; kept" in markdown
    assert "No changes. Your Personalize resources match the manifests." not in text
    assert text.rstrip().endswith(
        "1 resource no longer in the manifests is kept because prune is off "
        "(set prune.enabled: true in the Stack to delete it)."
    )
    assert (
        render_text(no_changes())
        .rstrip()
        .endswith("No changes. Your Personalize resources match the manifests.")
    )


def test_recommender_cost_note_has_no_na_estimate() -> None:
    text = render_text(create_everything())
    assert "n/a" not in text
    assert "at least 1 request/s (the default minRecommendationRequestsPerSecond)" in text


def test_hints_repeat_the_target_options() -> None:
    assert target_args(local=True, endpoint_url=None, region=None) == " --local"
    assert (
        target_args(local=False, endpoint_url="http://127.0.0.1:4566", region="eu-west-1")
        == " --endpoint-url http://127.0.0.1:4566 --region eu-west-1"
    )


def test_markdown_shows_the_order_as_a_mermaid_graph_when_steps_depend() -> None:
    markdown = render_markdown(mixed())
    assert "### Order of the changes" in markdown and "```mermaid\nflowchart LR\n" in markdown
    graph = mermaid_graph(mixed())
    assert '["< Dataset/interactions"]' in graph and "-->" in graph
    assert mermaid_graph(held_back()) == ""  # nothing to order
    assert "mermaid" not in render_markdown(held_back())


def test_mermaid_graph_drops_arrows_implied_by_others() -> None:
    graph = mermaid_graph(create_everything())
    edges = {tuple(line.strip().split(" --> ")) for line in graph.splitlines() if "-->" in line}
    nodes = dict(re.findall(r'(n\d+)\["([^"]+)"\]', graph))
    group = next(n for n, label in nodes.items() if label == "+ DatasetGroup/retail")
    tracker = next(n for n, label in nodes.items() if label == "+ EventTracker/clicks")
    assert (group, tracker) not in edges  # implied: group -> dataset -> import -> tracker


def test_held_back_promotion_shows_both_versions_metrics_and_the_gate() -> None:
    markdown = render_markdown(held_back())
    assert "| metric | serving `00000001` | candidate `00000002` | gate | |" in markdown
    assert "| precision_at_25 | 0.1000 | 0.0700 | >= 0.05; at most 10% worse | :x: |" in markdown


def test_default_outputs_file_is_not_written_inside_the_manifests_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.apply.outputs import outputs_path
    from tests.plan.builders import BASE_SPECS, desired_state

    manifests = tmp_path / "repo" / "manifests"
    manifests.mkdir(parents=True)
    desired = dataclasses.replace(desired_state(BASE_SPECS), base_dir=str(manifests))
    monkeypatch.chdir(tmp_path / "repo")
    assert outputs_path(desired) == (tmp_path / "repo" / "personalize-outputs.shop.json").resolve()
    monkeypatch.chdir(manifests)  # run from inside the manifests directory: next to them, as before
    assert outputs_path(desired) == manifests / "personalize-outputs.shop.json"


def test_rich_table_keeps_a_finished_step_finished() -> None:
    from rich.console import Console

    from reconciler.apply.progress import RichReporter

    reporter = RichReporter(Console(file=io.StringIO(), force_terminal=True, width=120))
    reporter.event(StepEvent("train Solution/s", EventKind.DONE, 100.0, "ACTIVE", elapsed=90))
    reporter.event(StepEvent("train Solution/s", EventKind.STATUS, 95.0, "CREATE IN_PROGRESS", elapsed=85))
    reporter.close()
    assert reporter._rows["train Solution/s"].kind is EventKind.DONE


def test_the_text_plan_lists_every_destructive_change_first_without_reordering_the_plan() -> None:
    """Issue 11: deletes come last in apply order; the text plan names every destructive change first."""
    plan = mixed()
    text = render_text(plan)
    head, full = text.split("personalize-gitops will perform the following actions:", 1)
    block = head.split("Destructive changes (2); apply runs them in the order of the full plan below:\n", 1)[
        1
    ]
    assert block.split("\n\n", 1)[0].splitlines() == [
        "  -/+ Filter/no-bought  (shop-no-bought) replaced: serving stops (clients call it by ARN)",
        "    - Filter/old-filter  (shop-old-filter) destroyed: serving stops (clients call it by ARN)",
    ]
    assert [c.address for c in plan.changes if c.action is Action.DELETE] == [
        Address(Kind.FILTER, "old-filter")
    ]
    assert plan.changes[-1].action is Action.DELETE  # the plan (= apply) order is unchanged: deletes last
    assert full.index("- Filter/old-filter") > full.index("~ Campaign/home")
    assert "Destructive changes" not in render_text(create_everything())
    refused_text = render_text(refused())
    assert (
        "  -/+ DatasetGroup/retail  (shop-retail) replaced - REFUSED: imported data is lost" in refused_text
    )


def test_why_a_change_is_destructive_comes_from_the_change_not_the_kind() -> None:
    """The renderer used to word it from the kind (Dataset/DatasetGroup: data, else serving)."""
    change = Change(Address(Kind.FILTER, "f"), Action.DELETE, physical_name="p-f", harms=(Harm.DATA_LOSS,))
    plan = Plan(changes=(change,), stack="s", target="t", manifests_digest="d")
    text = render_text(plan)
    assert "    - Filter/f  (p-f) destroyed: imported data is lost" in text
    assert "      destructive: imported data is lost" in text
    both = dataclasses.replace(change, harms=(Harm.DATA_LOSS, Harm.STOPS_TRAFFIC))
    assert "destructive: imported data is lost; serving stops (clients call it by ARN)" in render_text(
        dataclasses.replace(plan, changes=(both,))
    )


def test_interactive_apply_asks_about_the_destructive_changes_it_listed_first() -> None:
    assert confirm_question(create_everything()) == "Apply these changes?"
    assert confirm_question(mixed()) == "Apply these changes, including the 2 destructive ones listed first?"


def test_a_saved_plan_without_harms_keeps_its_destructive_flag() -> None:
    """Format 2.0 plans (no `harms`) are refused since format 3.0 (they carry no create requests); a saved
    plan whose changes lack `harms` still keeps and shows its destructive flag."""
    data = planfile.plan_to_dict(mixed())
    for change in data["resource_changes"]:
        del change["harms"], change["harm_texts"]
    loaded = planfile.plan_from_dict(data)
    flagged = [c for c in loaded.changes if c.destructive]
    assert [c.harms for c in flagged] == [(Harm.UNRECORDED,), (Harm.UNRECORDED,)]
    assert "Destructive changes (2)" in render_text(loaded)


@pytest.mark.parametrize("stack_file", [None, "prod.stack.yaml"])
def test_the_sample_stacks_write_their_outputs_next_to_manifests_not_inside(
    stack_file: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`apply manifests/` from the repository root with the sample stacks: the outputs file (ARNs and the
    event tracker's trackingId) lands in the working directory, not as an untracked file inside manifests/
    (the samples had set `outputs.file` to the default name, which is relative to the manifests)."""
    from reconciler.apply.outputs import outputs_path
    from reconciler.manifest import load

    repo = tmp_path / "repo"
    shutil.copytree(Path(__file__).resolve().parents[2] / "manifests", repo / "manifests")
    monkeypatch.chdir(repo)
    desired = load(Path("manifests"), stack_file=Path("manifests", stack_file) if stack_file else None)
    assert outputs_path(desired).parent.resolve() == repo.resolve()
