"""Golden files for the text, markdown and JSON renderings. `pytest --update-golden` rewrites them and prints
a unified diff of every file it changed at the end of the run (review it before committing)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from reconciler.plan import planfile
from reconciler.render import render_json, render_markdown, render_text
from tests.render.cases import CASES

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
RENDERERS = {"txt": render_text, "md": render_markdown, "json": render_json}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("ext", sorted(RENDERERS))
def test_golden(case, ext, request):
    rendered = RENDERERS[ext](CASES[case]())
    path = GOLDEN / f"plan_{case}.{ext}"
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if request.config.getoption("--update-golden"):
        if not hasattr(request.config, "_golden_rewrites"):
            request.config._golden_rewrites = []
        if rendered != expected:
            request.config._golden_rewrites.append(golden_diff(path, expected, rendered))
            path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run `pytest --update-golden -k golden` and review the diff"
    if rendered != expected:
        diff = golden_diff(path, expected, rendered)
        pytest.fail(f"rendering differs from {path.name} (pytest --update-golden rewrites it):\n{diff}")


def golden_diff(path: Path, expected: str, rendered: str) -> str:
    relative = path.relative_to(GOLDEN.parent.parent)
    return "".join(
        difflib.unified_diff(
            expected.splitlines(True), rendered.splitlines(True), f"a/{relative}", f"b/{relative} (rendered)"
        )
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_file_round_trip(case, tmp_path):
    original = CASES[case]()
    path = tmp_path / "plan.json"
    planfile.save(original, str(path))
    assert planfile.load(str(path)) == original
    assert json.loads(path.read_text())["format_version"] == "3.1"
