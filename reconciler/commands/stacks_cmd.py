"""`stacks`: list a repository's stacks as a GitHub Actions job matrix, or only those a change touches.

Layouts:

* one stack: a `kind: Stack` document inside the manifests directory (or none: the default stack);
* several stacks (dev/prod, several accounts or regions): one stack file per stack under `stacks/`
  (`stacks/prod.yaml`), whose `spec.resources` name the manifest files or directories it uses (default: the
  manifests directory).

A stack is touched by a change when the change adds, edits or deletes its stack file or any file below the
paths its resources come from (data files next to the manifests included).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError

from reconciler.commands.iam_cmd import user_errors
from reconciler.errors import ReconcilerError
from reconciler.model.address import Kind
from reconciler.model.spec import DatasetSpec, StackSpec

DEFAULT_STACK_NAME = "default"


@dataclass(frozen=True, slots=True)
class StackEntry:
    name: str
    file: str
    """The stack file to pass as `--stack` ("" when the directory has no Stack document: default stack)."""
    roots: tuple[str, ...]
    """Files and directories whose changes touch this stack (relative, forward slashes)."""
    region: str
    account: str
    excludes: tuple[str, ...] = ()
    """Files below the roots that belong to other stacks (their stack files)."""

    def matrix_entry(self, partition: str = "aws") -> dict[str, str]:
        roles = {"plan_role": "", "apply_role": ""}
        if self.account:
            for role in ("plan", "apply"):
                roles[f"{role}_role"] = (
                    f"arn:{partition}:iam::{self.account}:role/personalize-gitops-{role}-{self.name}"
                )
        return {
            "stack": self.name,
            "file": self.file,
            "region": self.region,
            "account": self.account,
            **roles,
        }


def _rel(path: Path) -> str:
    text = os.path.relpath(path)
    return Path(text).as_posix()


def _stack_document(path: Path) -> tuple[str, StackSpec] | None:
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ReconcilerError(
            f"{_rel(path)}: cannot read: {exc}", hint=f"run `personalize-gitops validate` on {_rel(path)}"
        ) from exc
    for doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == "Stack":
            metadata = doc.get("metadata") or {}
            name = str(metadata.get("name") or DEFAULT_STACK_NAME) if isinstance(metadata, dict) else ""
            try:
                spec = StackSpec.model_validate(doc.get("spec") or {})
            except ValidationError as exc:
                raise ReconcilerError(
                    f"{_rel(path)}: Stack/{name}: invalid settings ({exc.error_count()} problems)",
                    hint=f"run `personalize-gitops validate --stack {_rel(path)}` for the details",
                ) from exc
            return name, spec
    return None


def _manifest_files(directory: Path, *, include_stack_files: bool = False) -> list[Path]:
    """YAML files below `directory` as the loader scans them (hidden directories and *.stack.yaml skipped)."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
        and (include_stack_files or not p.name.endswith((".stack.yaml", ".stack.yml")))
    )


def _alternative_stack_files(manifests: Path, stacks_dir: Path) -> list[Path]:
    files = sorted(stacks_dir.glob("*.y*ml")) if stacks_dir.is_dir() else []
    if manifests.is_dir():
        files += [
            p
            for p in _manifest_files(manifests, include_stack_files=True)
            if p.name.endswith((".stack.yaml", ".stack.yml"))
        ]
    return files


def discover(manifests: Path, stacks_dir: Path) -> list[StackEntry]:
    """Every stack of the repository, sorted by name.

    * `stacks/*.yaml` and `<manifests>/**/*.stack.yaml`: one stack each, passed with `--stack`; its resources
      come from `spec.resources` (relative to the stack file) or else from the manifests directory;
    * the `kind: Stack` document inside the manifests directory (no `--stack` needed), or the unnamed default
      stack when the directory has none and there is no other stack.
    """
    entries: list[StackEntry] = []
    alternatives = _alternative_stack_files(manifests, stacks_dir)
    for path in alternatives:
        found = _stack_document(path)
        if found is None:
            continue
        name, spec = found
        roots = [_rel(path)]
        if spec.resources:
            roots += [_rel(path.parent / entry) for entry in spec.resources]
        else:
            roots.append(_rel(manifests))
        entries.append(StackEntry(name, _rel(path), tuple(roots), spec.region or "", spec.accountId or ""))
    excludes = tuple(_rel(p) for p in alternatives)
    if manifests.exists():
        own: StackEntry | None = None
        for path in _manifest_files(manifests) if manifests.is_dir() else [manifests]:
            found = _stack_document(path)
            if found is not None:
                name, spec = found
                own = StackEntry(
                    name, "", (_rel(manifests),), spec.region or "", spec.accountId or "", excludes
                )
                break
        if own is None and not entries:
            own = StackEntry(DEFAULT_STACK_NAME, "", (_rel(manifests),), "", "", excludes)
        if own is not None:
            entries.append(own)
    if not entries:
        raise ReconcilerError(
            f"no stack found: neither {_rel(stacks_dir)}/*.yaml nor {_rel(manifests)}/ exists",
            hint="run from the repository root, or pass the manifests directory",
        )
    from reconciler.manifest.rules.names import STACK_NAME

    for entry in entries:
        if not STACK_NAME.fullmatch(entry.name):  # it is written to $GITHUB_OUTPUT and names environments
            raise ReconcilerError(
                f"{entry.file or _rel(manifests)}: stack name {entry.name!r} is not a valid stack name",
                hint="use letters, digits and inner hyphens, at most 39 characters (see `validate`)",
            )
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ReconcilerError(
            f"several stack files name the stack {', '.join(duplicates)}",
            hint="give every stack its own metadata.name",
        )
    return sorted((_with_data_files(e, manifests) for e in entries), key=lambda e: e.name)


def _with_data_files(entry: StackEntry, manifests: Path) -> StackEntry:
    """Add the `dataImport.localFile`s (data files apply uploads) to the paths that touch the stack."""
    from reconciler.errors import ManifestError
    from reconciler.manifest import load

    try:
        desired = load(manifests, stack_file=Path(entry.file) if entry.file else None)
    except ManifestError:
        return entry  # the plan job reports the problems; the stack stays selected by its manifest paths
    extra: list[str] = []
    for res in desired.of_kind(Kind.DATASET):
        spec = res.spec
        if isinstance(spec, DatasetSpec) and spec.dataImport is not None and spec.dataImport.localFile:
            extra.append(_rel(Path(desired.base_dir) / spec.dataImport.localFile))  # loader-normalised
    roots = tuple(dict.fromkeys((*entry.roots, *sorted(extra))))
    return StackEntry(entry.name, entry.file, roots, entry.region, entry.account, entry.excludes)


def touched(entry: StackEntry, changed: list[str]) -> bool:
    for path in changed:
        normal = Path(path).as_posix().removeprefix("./")
        if normal in entry.excludes:
            continue
        for root in entry.roots:
            if root in (".", "") or normal == root or normal.startswith(root.rstrip("/") + "/"):
                return True
    return False


def matrix(entries: list[StackEntry], partition: str = "aws") -> dict[str, Any]:
    return {"include": [e.matrix_entry(partition) for e in entries]}


def stacks_command(
    directory: Path = typer.Argument(Path("manifests"), help="Manifest directory."),
    stacks_dir: Path = typer.Option(Path("stacks"), "--stacks-dir", help="Directory of stack files."),
    changed_files: Path | None = typer.Option(
        None,
        "--changed-files",
        help="File listing changed paths, one per line (git diff --name-only); only stacks they touch.",
    ),
    only: list[str] | None = typer.Option(
        None, "--only", help="Keep only this stack (repeatable); with an empty value, keep none."
    ),
    github_output: bool = typer.Option(
        False, "--github-output", help="Print `matrix=...` and `count=N` lines for $GITHUB_OUTPUT."
    ),
    partition: str = typer.Option("aws", "--partition", help="AWS partition of the derived role ARNs."),
) -> None:
    """List the stacks as a GitHub Actions matrix (JSON), with the role ARNs `ci-setup` names."""
    with user_errors():
        _stacks(directory, stacks_dir, changed_files, only, github_output, partition)


def _stacks(
    directory: Path,
    stacks_dir: Path,
    changed_files: Path | None,
    only: list[str] | None,
    github_output: bool,
    partition: str,
) -> None:
    entries = discover(directory, stacks_dir)
    if changed_files is not None:
        try:
            changed = [line.strip() for line in changed_files.read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise ReconcilerError(f"--changed-files {changed_files}: {exc.strerror}") from exc
        entries = [e for e in entries if touched(e, [c for c in changed if c])]
    if only is not None:
        wanted = {name for name in only if name}
        unknown = sorted(wanted - {e.name for e in entries})
        if unknown:
            known = ", ".join(e.name for e in entries) or "none"
            print(
                f"note: --only names no selected stack: {', '.join(unknown)} (selected: {known})",
                file=sys.stderr,
            )
        entries = [e for e in entries if e.name in wanted]
    document = json.dumps(matrix(entries, partition), separators=(",", ":"), sort_keys=True)
    if github_output:
        print(f"matrix={document}")
        print(f"count={len(entries)}")
    else:
        print(document)
