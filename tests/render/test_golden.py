"""Golden files for the text, markdown and JSON renderings. `pytest --update-golden` rewrites them."""

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
    if request.config.getoption("--update-golden"):
        path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run `pytest --update-golden -k golden` and review the diff"
    expected = path.read_text(encoding="utf-8")
    if rendered != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), rendered.splitlines(True), str(path), "rendered")
        )
        pytest.fail(f"rendering differs from {path.name} (pytest --update-golden rewrites it):\n{diff}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_file_round_trip(case, tmp_path):
    original = CASES[case]()
    path = tmp_path / "plan.json"
    planfile.save(original, str(path))
    assert planfile.load(str(path)) == original
    assert json.loads(path.read_text())["format_version"] == "1.0"
