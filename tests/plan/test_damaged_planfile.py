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


def test_plan_out_that_cannot_be_written_whole_keeps_the_previous_file(tmp_path: Path) -> None:
    """A write that fails half-way (here a 16 KiB file size limit, as a full disk) leaves the previous plan
    file as it was and no partial file; before, a truncated plan replaced it."""
    import os
    import resource
    import subprocess
    import sys

    repo = GOLDEN.parents[2]
    previous = GOLDEN.read_text(encoding="utf-8")
    (tmp_path / "plan.json").write_text(previous, encoding="utf-8")

    def limit_file_size() -> None:  # Python ignores SIGXFSZ: the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "reconciler", "plan", str(repo / "manifests"), "--local"]
    done = subprocess.run(
        [*command, "--out", "plan.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )
    assert done.returncode == 1, done.stderr
    assert "Error: cannot write the plan file plan.json: File too large" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "plan.json").read_text(encoding="utf-8") == previous
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("plan.json")) == ["plan.json"]


def test_a_plan_file_that_cannot_be_read_says_what_to_do(tmp_path: Path) -> None:
    from reconciler.errors import PlanError
    from reconciler.plan import planfile

    with pytest.raises(PlanError) as info:
        planfile.load(str(tmp_path))  # a directory: read() fails with an OSError
    assert info.value.message.startswith(f"cannot read the plan file {tmp_path}: ")
    assert info.value.hint is not None and "plan --out" in info.value.hint


@pytest.mark.parametrize("content", [None, "", "  \n"], ids=["missing", "empty", "blank"])
def test_apply_of_a_missing_or_empty_json_plan_file_names_the_plan_file(
    content: str | None, tmp_path: Path
) -> None:
    """`apply plan.json` with a typo in the name (or a plan file left empty) is about the plan file; before,
    the path was read as manifests ("1 problem found in the manifests ... pass the manifests directory")."""
    planfile = tmp_path / "plan.json"
    if content is not None:
        planfile.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["apply", str(planfile), "--local", "--auto-approve"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert "manifests" not in result.output.split("hint:")[0], result.output
    if content is None:
        assert f"Error: cannot read the plan file {planfile}: No such file or directory" in result.output
    else:
        assert f"Error: {planfile}: not a personalize-gitops plan (the file is empty)" in result.output
    assert "plan --out" in result.output


@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_plan_out_to_a_path_that_cannot_be_written_fails_before_reading_the_account(
    where: str, tmp_path: Path
) -> None:
    """`plan --out` into a directory that does not exist (or onto a directory) is refused before the manifests
    are loaded and the account is read (minutes on a big account), with what to do; before, the whole plan ran
    and then failed with a bare 'No such file or directory'."""
    out = tmp_path / "nope" / "plan.json" if where == "missing directory" else tmp_path
    result = CliRunner().invoke(
        app, ["plan", str(tmp_path / "no-manifests-here"), "--local", "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert f"Error: cannot write the plan file {out}: " in result.output, result.output
    assert "no-manifests-here" not in result.output  # refused before the manifests were read
    assert "hint: " in result.output and "--out" in result.output.split("hint: ")[1]
