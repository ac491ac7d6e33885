"""Layering rules from docs/ARCHITECTURE.md, checked on the source (ast), not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "reconciler"

#: The planner and renderers are pure: no AWS SDK, no clock, no I/O.
PURE_FORBIDDEN = {
    "boto3",
    "botocore",
    "time",
    "io",
    "os",
    "pathlib",
    "socket",
    "subprocess",
    "shutil",
    "datetime",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["plan", "render"])
def test_planner_and_renderers_are_pure(package):
    assert modules(package), f"reconciler/{package} has no modules"
    for path in modules(package):
        bad = {name for name in imports_of(path) if name.split(".")[0] in PURE_FORBIDDEN}
        assert not bad, f"{path.relative_to(ROOT.parent)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "package,forbidden",
    [
        (
            "plan",
            {
                "reconciler.live",
                "reconciler.apply",
                "reconciler.aws",
                "reconciler.render",
                "reconciler.commands",
            },
        ),
        ("render", {"reconciler.live", "reconciler.apply", "reconciler.aws", "reconciler.resources"}),
        (
            "resources",
            {"boto3", "botocore", "reconciler.live", "reconciler.apply", "reconciler.aws", "reconciler.plan"},
        ),
        ("live", {"reconciler.plan", "reconciler.apply", "reconciler.render"}),
    ],
)
def test_layering(package, forbidden):
    for path in modules(package):
        bad = {n for n in imports_of(path) if any(n == f or n.startswith(f + ".") for f in forbidden)}
        assert not bad, f"{path.relative_to(ROOT.parent)} imports {sorted(bad)}"


def test_emulator_imports_nothing_from_reconciler():
    root = ROOT / "emulator"
    for path in modules("emulator"):
        depth = len(path.relative_to(root).parts) - 1  # sub-packages below reconciler/emulator
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level > depth + 1:
                    names.append(
                        "." * node.level + (node.module or "")
                    )  # relative import leaving the emulator
                elif node.level == 0 and node.module:
                    names.append(node.module)
            elif isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            for name in names:
                inside = name.startswith("reconciler.emulator") or not name.startswith(("reconciler", "."))
                assert inside, f"{path.relative_to(ROOT.parent)} imports {name}"


def test_the_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import boto3\nfrom time import sleep\nfrom . import sibling\n", encoding="utf-8")
    assert imports_of(sample) == {"boto3", "time"}
