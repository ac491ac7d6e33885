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


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


#: Longest function allowed in reconciler/apply/ (issue 11: the executor is generic and short).
MAX_FUNCTION_LINES = 60


def test_no_function_over_60_lines_in_apply():
    long = [
        f"{path.relative_to(ROOT.parent)}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
        for path in modules("apply")
        for fn in _functions(path)
        if fn.end_lineno is not None and fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "split these functions:\n" + "\n".join(long)


#: Apply modules that may name a concrete kind, and why. Everything else in reconciler/apply/ reads what
#: differs per kind from the kind's handler (resources/: typical durations, delete rank, child jobs, ...).
KIND_FLOW_MODULES = {
    "data.py": "imports go into datasets and trainings make solution versions: the data flow itself",
    "promote.py": "promotion moves a campaign to a solution version: the promotion flow itself",
    "outputs.py": "the outputs file's documented format has one section per kind, with per-kind members",
}


def test_generic_apply_core_names_no_concrete_kind():
    named = [
        f"{path.relative_to(ROOT.parent)}:{node.lineno} Kind.{node.attr}"
        for path in modules("apply")
        if path.name not in KIND_FLOW_MODULES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Kind"
        and node.attr.isupper()
    ]
    assert not named, "read these rules from the handler instead:\n" + "\n".join(named)
    for name in KIND_FLOW_MODULES:
        assert (ROOT / "apply" / name).exists(), f"KIND_FLOW_MODULES names a missing module {name}"


#: The plan modules that may know concrete kinds, through their specs and kind modules: the data-lifecycle
#: flows, entered through the handler's `data_flow` ("import"/"train": data.py, "promote": promote.py with the
#: promotion gate in gate.py). Every other plan module is generic: kind rules are handler members.
PLAN_FLOW_MODULES = {"data.py", "promote.py", "gate.py"}


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT.parent) else path.name


def long_functions(paths: list[Path], limit: int) -> list[str]:
    return [
        f"{shown(path)}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
        for path in paths
        for fn in _functions(path)
        if fn.end_lineno is not None and fn.end_lineno - fn.lineno + 1 > limit
    ]


def kind_members_named(path: Path) -> list[str]:
    """`Kind.<MEMBER>` references in a module (a branch or a table on one concrete kind)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{shown(path)}:{node.lineno} Kind.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Kind"
    ]


def test_no_function_in_plan_is_longer_than_60_lines():
    assert long_functions(modules("plan"), MAX_FUNCTION_LINES) == []


def test_the_planner_names_no_concrete_kind():
    named = [hit for path in modules("plan") for hit in kind_members_named(path)]
    assert named == [], (
        "a kind rule belongs to the kind's handler (resources/<kind>.py, '# -- plan rules --')"
    )


def test_the_generic_plan_modules_import_no_kind_specifics():
    generic = {"reconciler.resources.base", "reconciler.resources.registry"}
    for path in modules("plan"):
        if path.name in PLAN_FLOW_MODULES:
            continue
        kind_specific = {
            name
            for name in imports_of(path)
            if name == "reconciler.model.spec"
            or (name.startswith("reconciler.resources.") and name not in generic)
        }
        assert not kind_specific, f"{shown(path)} imports {sorted(kind_specific)}"


def test_the_plan_checkers_see_long_functions_and_kind_members(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n" + "    x = Kind.SOLUTION\n" * 60, encoding="utf-8")
    assert long_functions([sample], MAX_FUNCTION_LINES) == ["sample.py:1 f (61 lines)"]
    assert len(kind_members_named(sample)) == 60
