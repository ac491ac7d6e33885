"""Files and directories of a manifests tree that cannot be read are errors, never silently skipped: a
resource missing from the desired state is planned for deletion when prune is on (a moved shared file
behind a symbolic link destroyed three serving campaigns in the hostile-input audit)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.manifest import validate
from reconciler.model.address import Kind

HEADER = "apiVersion: personalize-gitops/v1alpha1\n"
GROUP = HEADER + "kind: DatasetGroup\nmetadata: {name: shop}\n"
OTHER = HEADER + "kind: DatasetGroup\nmetadata: {name: other}\n"


def tree(tmp_path: Path) -> Path:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "group.yaml").write_text(GROUP, encoding="utf-8")
    return manifests


def test_a_broken_symbolic_link_is_an_error(tmp_path: Path) -> None:
    manifests = tree(tmp_path)
    (manifests / "other.yaml").symlink_to(tmp_path / "moved" / "other.yaml")
    report = validate(manifests)
    assert report.state is None
    assert len(report.errors) == 1, report.errors
    assert "other.yaml: cannot read file: No such file or directory (a symbolic link to" in report.errors[0]


def test_a_symbolically_linked_directory_is_read_once(tmp_path: Path) -> None:
    manifests = tree(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "other.yaml").write_text(OTHER, encoding="utf-8")
    (manifests / "shared").symlink_to(shared)
    (shared / "back").symlink_to(manifests)  # a loop: walked once
    report = validate(manifests)
    assert report.errors == []
    assert report.state is not None
    assert sorted(r.address.name for r in report.state.of_kind(Kind.DATASET_GROUP)) == ["other", "shop"]


def test_an_unreadable_directory_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = tree(tmp_path)
    (manifests / "team").mkdir()
    (manifests / "team" / "other.yaml").write_text(OTHER, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:  # what chmod 000 does for another user
        if Path(path).name == "team":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = validate(manifests)
    assert report.state is None
    assert any("team: cannot read directory: Permission denied" in e for e in report.errors), report.errors
