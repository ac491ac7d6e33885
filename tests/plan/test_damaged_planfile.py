"""A damaged saved plan (hand-edited, truncated, another tool's JSON) is refused by `apply PLANFILE` with one
message naming the file, never a traceback, and before anything reads the manifests or opens a target."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler.cli import app

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "plan_mixed.json"


def edit(change: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    change(data)
    return json.dumps(data)


def set_in(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


DAMAGED = {
    "change not an object": edit(set_in(("resource_changes", 0, "change"), 1.5)),
    "dependency not a string": edit(set_in(("resource_changes", 3, "depends_on"), [None])),
    "change a string": edit(set_in(("resource_changes", 1), "oops")),
    "options a string": edit(set_in(("options",), "x")),
    "nested too deep": '{"resource_changes": ' + "[" * 100_000,
}


@pytest.mark.parametrize("text", list(DAMAGED.values()), ids=list(DAMAGED))
def test_apply_refuses_a_damaged_plan_file_without_a_traceback(text: str, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    planfile.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["apply", str(planfile), "--local", "--auto-approve"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert f"Error: {planfile}: " in result.output
    assert "create it again with `plan --out`" in result.output


def test_apply_refuses_a_plan_file_that_is_not_utf8(tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    planfile.write_bytes(b'{"resource_changes": ["\xff"]}')
    result = CliRunner().invoke(app, ["apply", str(planfile), "--local", "--auto-approve"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and f"Error: {planfile}: not a personalize-gitops plan" in result.output
