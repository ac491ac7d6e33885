"""Hostile or wrong input (issue 14): alias bombs, deep nesting, control characters, non-UTF-8 files and
variables inside variables."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
import yaml

from reconciler.manifest import validate
from reconciler.manifest.yamlmarks import (
    MAX_EXPANDED_NODES,
    compose_documents,
    decode_position,
    expand_variables,
    oversized_node,
)
from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec

HEADER = "apiVersion: personalize-gitops/v1alpha1\n"
GROUP = HEADER + "kind: DatasetGroup\nmetadata: {name: shop}\n"


def bomb(levels: int = 9) -> str:
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return HEADER + "kind: Schema\nmetadata: {name: lol}\nspec:\n" + "\n".join(lines) + "\n"


def firsts(messages: list[str]) -> list[str]:
    return [m.splitlines()[0] for m in messages]


def test_alias_bomb_is_rejected_at_its_line_without_expanding(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(bomb(), encoding="utf-8")
    tracemalloc.start()
    report = validate(tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the 9-level bomb expands to ~48 million values; nothing close to that is ever allocated
    assert peak < 50 * 1024 * 1024
    assert len(report.errors) == 1
    error = report.errors[0]
    assert "bomb.yaml:10:7: YAML aliases expand this value to more than 100,000 values" in error


def test_oversized_node_is_linear_in_the_composed_document() -> None:
    docs, problems = compose_documents(bomb(levels=6), "x.yaml")  # 9^6 ~ 531,441 values: rejected
    assert docs == [] and len(problems) == 1
    docs, problems = compose_documents(bomb(levels=5), "x.yaml")  # 9^5 = 59,049 values: accepted
    assert len(docs) == 1 and problems == []
    assert oversized_node(docs[0].node, limit=MAX_EXPANDED_NODES) is None
    found = oversized_node(docs[0].node, limit=10_000)
    assert found is not None and found[0].start_mark.line + 1 == 9  # l4, the first value over 10,000


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 150 + "]" * 150 + "\n", encoding="utf-8")
    (tmp_path / "deeper.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    report = validate(tmp_path)
    assert any("deep.yaml:1:" in e and "nested more than 100 levels" in e for e in report.errors)
    assert any(e.startswith("deeper.yaml:1:") or "deeper.yaml:1:" in e for e in report.errors)


def test_control_character_is_reported_with_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(GROUP + "# caf\u00e9\nx: a\x07b\n", encoding="utf-8")
    report = validate(tmp_path)
    assert any("c.yaml:5:5: YAML cannot contain the character U+0007" in e for e in firsts(report.errors)), (
        report.errors
    )


def test_decode_position_counts_characters() -> None:
    data = "é\nab\xe9".encode("latin-1")  # line 2, the third character
    assert decode_position(b"a\n\xc3\xa9x\xff", 5) == (2, 3)
    assert decode_position(data, 0) == (1, 1)


def test_non_utf8_file_causes_no_knock_on_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-group.yaml").write_bytes((GROUP + "# Caf\xe9 latin-1 comment\n").encode("latin-1"))
    (tmp_path / "b-solution.yaml").write_text(
        HEADER + "kind: Solution\nmetadata: {name: s}\nspec: {datasetGroup: shop, recipeArn: aws-sims}\n",
        encoding="utf-8",
    )
    report = validate(Path("."))
    assert firsts(report.errors) == [
        "a-group.yaml:4:6: not UTF-8: byte 0xe9 cannot be decoded (invalid continuation byte)"
    ]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_bytes(b"\xef\xbb\xbf" + GROUP.encode())
    assert validate(tmp_path).errors == []


STACK = HEADER + (
    "kind: Stack\nmetadata: {name: st}\nspec:\n  accountId: '123456789012'\n  variables:\n"
    "    location: s3://${bucket}/${path}\n    bucket: data-${env}\n    env: prod\n    path: $${raw}/x\n"
)


def test_variables_inside_variables_are_expanded(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK, encoding="utf-8")
    (tmp_path / "g.yaml").write_text(
        GROUP
        + "---\n"
        + HEADER
        + "kind: Schema\nmetadata: {name: i}\nspec:\n  avro:\n    name: I\n    fields:\n"
        "      - {name: USER_ID, type: string}\n      - {name: ITEM_ID, type: string}\n"
        "      - {name: TIMESTAMP, type: long}\n---\n"
        + HEADER
        + "kind: Dataset\nmetadata: {name: i}\nspec:\n  datasetGroup: shop\n  datasetType: INTERACTIONS\n"
        "  schema: i\n  dataImport:\n    dataLocation: ${location}\n"
        "    roleArn: arn:aws:iam::${account_id}:role/r\n",
        encoding="utf-8",
    )
    report = validate(tmp_path)
    assert report.errors == []
    assert report.state is not None
    spec = report.state.resources[Address(Kind.DATASET, "i")].spec
    assert isinstance(spec, DatasetSpec) and spec.dataImport is not None
    assert spec.dataImport.dataLocation == "s3://data-prod/${raw}/x"


def test_expand_variables_reports_cycles_and_undefined_names() -> None:
    values, problems = expand_variables({"a": "${b}", "b": "${c}-${a}", "c": "ok", "d": "${zz}", "e": "${d}"})
    assert values == {"c": "ok"}
    assert problems["a"][0] == "variables refer to each other in a cycle: a -> b -> a"
    assert problems["b"][0] == "variables refer to each other in a cycle: a -> b -> a"
    assert problems["d"][0].startswith("undefined variable '${zz}'")
    assert problems["e"][0] == "uses variable 'd', which cannot be expanded"


def test_use_of_a_broken_variable_is_not_reported_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stack = HEADER + "kind: Stack\nmetadata: {name: st}\nspec:\n  variables:\n    name: ${missing}\n"
    (tmp_path / "stack.yaml").write_text(stack, encoding="utf-8")
    (tmp_path / "g.yaml").write_text(
        HEADER + "kind: DatasetGroup\nmetadata:\n  name: ${name}\n", encoding="utf-8"
    )
    report = validate(Path("."))
    assert firsts(report.errors) == [
        "stack.yaml:6:11: Stack/st: spec.variables.name: "
        "undefined variable '${missing}' (defined: name, stack)",
        # the use is one mark after the variable's error, not an error of its own
        "stack.yaml:6:11: Stack/st: 1 more error follows from the Stack error above: 1 document uses "
        "${name}, which it leaves undefined, and was not checked",
    ]


def test_composed_bomb_node_is_shared_not_copied() -> None:
    """The composer keeps one node per anchor, so composing a bomb is cheap; only building would expand it."""
    node = yaml.compose(bomb(levels=3), Loader=yaml.SafeLoader)
    assert node is not None
    spec = node.value[3][1]
    l1, l2 = spec.value[1][1], spec.value[2][1]
    assert all(child is l1 for child in l2.value)


VOD = HEADER + (
    "kind: DatasetGroup\nmetadata: {name: vod}\nspec: {domain: VIDEO_ON_DEMAND}\n---\n"
    + HEADER
    + "kind: Schema\nmetadata: {name: vod-interactions}\nspec:\n  domain: VIDEO_ON_DEMAND\n  avro:\n"
    "    name: Interactions\n    fields:\n      - {name: USER_ID, type: string}\n"
    "      - {name: ITEM_ID, type: string}\n      - {name: TIMESTAMP, type: long}\n"
    "      - {name: EVENT_TYPE, type: string}\n---\n"
    + HEADER
    + "kind: Dataset\nmetadata: {name: vod-interactions}\nspec:\n  datasetGroup: vod\n"
    "  datasetType: INTERACTIONS\n  schema: vod-interactions\n  dataImport:\n"
    "    dataLocation: s3://b/i.csv\n    localFile: data.csv\n---\n"
    + HEADER
    + "kind: Recommender\nmetadata: {name: picks}\nspec: {datasetGroup: vod, recipeArn: aws-vod-top-picks}\n"
)


def test_local_data_is_checked_for_the_event_types_and_records_a_use_case_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "vod.yaml").write_text(VOD, encoding="utf-8")
    rows = [f"u{i},i{i},{1700000000 + i},{'watch' if i % 2 else 'Click'}" for i in range(1500)]
    (tmp_path / "m" / "data.csv").write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + "\n".join(rows) + "\n"
    )
    report = validate(Path("m"))
    assert report.errors == []
    (warning,) = [w for w in report.warnings if "events, but the local interactions data" in w]
    assert warning.splitlines()[0].endswith(
        "Recommender/picks: spec.recipeArn: aws-vod-top-picks trains on 'Watch' events, "
        "but the local interactions data m/data.csv has none"
    )
    assert "the data has 'watch': event types are case-sensitive" in warning
    (tmp_path / "m" / "data.csv").write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu,i,1,Watch\nu,i,2,Click\n"
    )
    report = validate(Path("m"))
    assert [w.splitlines()[0].split(": ", 1)[1] for w in report.warnings if "records" in w] == [
        "warning: Dataset/vod-interactions: spec.dataImport.localFile: "
        "m/data.csv holds 2 interaction records; an import job needs at least 1000"
    ]
    assert not any("events, but the local interactions data" in w for w in report.warnings)
