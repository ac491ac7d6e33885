"""One bad field in the Stack is reported once: `validate` on a copy of the sample manifests does not bury it
under an undefined-variable error at every `${var}` of the other files (14 errors before, for a misspelled
`namePrefix`) or under the cross-document errors of the documents it could not read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "manifests"
runner = CliRunner()


def _broken_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str) -> int:
    """manifests/ copied below the cwd with the start `old` of one line of stack.yaml replaced; that line."""
    shutil.copytree(SAMPLES, tmp_path / "manifests")
    shutil.copytree(SAMPLES.parent / "data" / "sample", tmp_path / "data" / "sample")  # their localFiles
    monkeypatch.chdir(tmp_path)
    stack = tmp_path / "manifests" / "stack.yaml"
    lines = stack.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(old))
    lines[index] = new + lines[index][len(old) :]
    stack.write_text("".join(lines), encoding="utf-8")
    return index + 1


def _validate() -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", "manifests", "--quiet"])
    return result.exit_code, result.stdout, result.stderr


def test_a_misspelled_stack_field_is_the_only_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = _broken_copy(tmp_path, monkeypatch, "  namePrefix:", "  namePrefx:")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"manifests/stack.yaml:{line}:3: Stack/retail-dev: spec.namePrefx: unknown field\n"
        "  hint: did you mean 'namePrefix'?\n"
    )
    assert err == "1 error: manifests are not valid\n"


def test_a_mistyped_stack_variable_is_reported_once_with_one_line_for_its_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _broken_copy(tmp_path, monkeypatch, "    role: PersonalizeS3", "    role: [PersonalizeS3]")
    column = len("    role: ") + 1
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"manifests/stack.yaml:{line}:{column}: Stack/retail-dev: spec.variables.role: must be a string "
        "(got a list)\n"
        f"manifests/stack.yaml:{line}:{column}: Stack/retail-dev: 3 more errors follow from the Stack error "
        "above: 3 documents use ${role}, which it leaves undefined, and were not checked\n"
        "  hint: fix the Stack and validate again; the cross-document checks also wait for it\n"
    )
    assert err == "2 errors: manifests are not valid\n"


def test_stack_variables_that_cannot_be_read_are_one_line_after_every_stack_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _broken_copy(tmp_path, monkeypatch, "  variables:", "  variables: 5\n  vars:")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"manifests/stack.yaml:{line}:14: Stack/retail-dev: spec.variables: must be a mapping (got 5)\n"
        f"manifests/stack.yaml:{line + 1}:3: Stack/retail-dev: spec.vars: unknown field\n"
        "  hint: did you mean 'variables'?\n"
        f"manifests/stack.yaml:{line + 1}:3: Stack/retail-dev: 6 more errors follow from the Stack error "
        "above: 3 documents use ${bucket} and ${role}, which it leaves undefined, and were not checked\n"
        "  hint: fix the Stack and validate again; the cross-document checks also wait for it\n"
    )
    assert err == "3 errors: manifests are not valid\n"


def test_an_undefined_variable_is_still_reported_at_its_use_when_the_stack_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken_copy(tmp_path, monkeypatch, "    role: PersonalizeS3", "    rolle: PersonalizeS3")
    code, out, _ = _validate()
    assert code == 1
    assert out.count("undefined variable '${role}'") == 3
    assert "follow from the Stack error" not in out


def test_an_unquoted_account_id_is_reported_once_with_one_line_for_the_uses_of_account_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`accountId: 123456789012` unquoted is a number, refused; `${account_id}` (built from it) was then an
    'undefined variable' at each of its 3 uses, hinted 'define it under spec.variables', before the real
    error, and the Schemas those Datasets use were reported 'not used by any dataset'."""
    line = _broken_copy(tmp_path, monkeypatch, '  accountId: "123456789012"', "  accountId: 123456789012")
    column = len("  accountId: ") + 1
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"manifests/stack.yaml:{line}:{column}: Stack/retail-dev: spec.accountId: must be a string "
        "(got 123456789012)\n"
        '  hint: quote the value to make it a string, e.g. "0.7"\n'
        f"manifests/stack.yaml:{line}:{column}: Stack/retail-dev: 3 more errors follow from the Stack error "
        "above: 3 documents use ${account_id}, which it leaves undefined, and were not checked\n"
        "  hint: fix the Stack and validate again; the cross-document checks also wait for it\n"
    )
    assert err == "2 errors: manifests are not valid\n"
