"""The importer's place in the layering (docs/ARCHITECTURE.md): it reads through a boto3 client it is given
and writes through the manifest writer; it never plans, applies or opens targets itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.importer import write_manifests
from reconciler.importer.mapping import ImportResult

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler" / "importer"
ALLOWED = (
    "reconciler.model",
    "reconciler.resources",
    "reconciler.live",
    "reconciler.manifest",
    "reconciler.errors",
)


def test_importer_imports_only_lower_layers() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reconciler"):
                module = node.module
                assert module.startswith((*ALLOWED, "reconciler.importer")), f"{path.name} imports {module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in {"boto3", "botocore"}, f"{path.name}: {alias.name}"


def test_unwritable_out_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = ImportResult(stack="s", prefix="", region="us-east-1", account=None, groups=[])
    with pytest.raises(ReconcilerError, match="cannot write the manifests to") as info:
        write_manifests(result, blocker / "out", source="test")
    assert info.value.hint == "choose a writable --out directory"
