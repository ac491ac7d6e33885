"""`stacks`: the job matrix of a repository, and only the stacks a change touches."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of this repository's manifests and sample data, as a user's repository would hold them."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def _stacks(*args: str, changed: list[str] | None = None) -> list[dict[str, str]]:
    argv = ["stacks", *args]
    if changed is not None:
        Path("changed.txt").write_text("\n".join(changed) + "\n")
        argv += ["--changed-files", "changed.txt"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["include"]


def test_sample_layout_has_dev_in_the_directory_and_prod_as_stack_file(repo: Path) -> None:
    entries = _stacks()
    assert [(e["stack"], e["file"]) for e in entries] == [
        ("retail-dev", ""),
        ("retail-prod", "manifests/prod.stack.yaml"),
    ]
    assert entries[1]["apply_role"] == "arn:aws:iam::123456789012:role/personalize-gitops-apply-retail-prod"
    assert entries[1]["region"] == "us-east-1"


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (["README.md", ".github/workflows/ci.yml"], []),
        (["manifests/prod.stack.yaml"], ["retail-prod"]),
        (["manifests/stack.yaml"], ["retail-dev"]),
        (["manifests/retail/campaigns.yaml"], ["retail-dev", "retail-prod"]),
        (["manifests/retail/old-filter.yaml"], ["retail-dev", "retail-prod"]),  # a deleted file counts too
        (["data/sample/items.csv"], ["retail-dev", "retail-prod"]),  # uploaded by apply (localFile)
        (["data/other.csv"], []),
    ],
)
def test_only_touched_stacks(repo: Path, changed: list[str], expected: list[str]) -> None:
    assert [e["stack"] for e in _stacks(changed=changed)] == expected


def test_github_output_lines(repo: Path) -> None:
    Path("changed.txt").write_text("docs/x.md\n")
    result = runner.invoke(app, ["stacks", "--changed-files", "changed.txt", "--github-output"])
    assert result.stdout.splitlines() == ['matrix={"include":[]}', "count=0"]


def test_stacks_directory_layout(repo: Path) -> None:
    Path("stacks").mkdir()
    text = (repo / "manifests/prod.stack.yaml").read_text().replace("- retail/", "- ../manifests/retail/")
    Path("stacks/eu.yaml").write_text(text.replace("name: retail-prod", "name: retail-eu"))
    entries = _stacks()
    assert [(e["stack"], e["file"]) for e in entries] == [
        ("retail-dev", ""),
        ("retail-eu", "stacks/eu.yaml"),
        ("retail-prod", "manifests/prod.stack.yaml"),
    ]
    assert [e["stack"] for e in _stacks(changed=["stacks/eu.yaml"])] == ["retail-eu"]


def test_duplicate_stack_names_are_an_error(repo: Path) -> None:
    Path("stacks").mkdir()
    shutil.copy(repo / "manifests/prod.stack.yaml", "stacks/again.yaml")
    result = runner.invoke(app, ["stacks"])
    assert result.exit_code == 1
    assert "retail-prod" in result.stderr and "metadata.name" in result.stderr


def test_directory_without_stack_document_is_the_default_stack(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "dg.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: DatasetGroup\nmetadata: {name: shop}\nspec: {}\n"
    )
    result = runner.invoke(app, ["stacks", str(tmp_path / "m"), "--stacks-dir", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["include"]
    assert (entry["stack"], entry["file"], entry["plan_role"]) == ("default", "", "")


def test_missing_everything_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["stacks", str(tmp_path / "nope"), "--stacks-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no stack found" in result.stderr


def test_only_keeps_named_stacks_and_empty_keeps_none(repo: Path) -> None:
    assert [e["stack"] for e in _stacks("--only", "retail-prod")] == ["retail-prod"]
    assert _stacks("--only", "") == []
    result = runner.invoke(app, ["stacks", "--only", "", "--only", "gone"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"include": []}
    assert "gone" in result.stderr


@pytest.mark.parametrize("name", ["retail prod", "x\ncount=9", "-dev", "a" * 40, "dev_1"])
def test_stack_names_are_validated_before_they_reach_github_output(repo: Path, name: str) -> None:
    prod = repo / "manifests" / "prod.stack.yaml"
    prod.write_text(prod.read_text().replace("name: retail-prod", f"name: {json.dumps(name)}"))
    result = runner.invoke(app, ["stacks", "--github-output"])
    assert result.exit_code == 1
    assert "not a valid stack name" in result.stderr and "matrix=" not in result.stdout
    checked = runner.invoke(app, ["validate", "manifests", "--stack", "manifests/prod.stack.yaml"])
    assert checked.exit_code == 1
    assert "prod.stack.yaml:" in checked.output and "not a valid stack name" in checked.output


def test_valid_stack_names_pass(repo: Path) -> None:
    prod = repo / "manifests" / "prod.stack.yaml"
    prod.write_text(prod.read_text().replace("name: retail-prod", "name: " + "a" * 39))
    assert [e["stack"] for e in _stacks()] == ["a" * 39, "retail-dev"]
