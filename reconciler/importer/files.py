"""Write an `ImportResult` as manifest files: one file per dataset group, plus a Stack file when the output
directory has none. Nothing is written when a file would be overwritten (unless `force`)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from reconciler.errors import ReconcilerError
from reconciler.importer.mapping import ImportResult, Skipped, desired_resource
from reconciler.manifest import dump_documents
from reconciler.manifest.writer import comment_block
from reconciler.model.spec import API_VERSION, StackSpec

STACK_FILE = "stack.yaml"
_STACK_DOC = re.compile(r"^kind:\s*['\"]?Stack['\"]?\s*$", re.MULTILINE)


@dataclass
class WrittenFiles:
    files: list[Path] = field(default_factory=list)
    stack_file: Path | None = None
    """The Stack file written now (None: one existed already)."""
    existing_stack: Path | None = None


def group_file_name(group: str) -> str:
    return f"{group}.yaml"


def find_stack_file(out: Path) -> Path | None:
    """A `kind: Stack` document directly in `out` (the loader reads one per directory)."""
    if not out.is_dir():
        return None
    for path in sorted(out.glob("*.y*ml")):
        if path.name.endswith((".stack.yaml", ".stack.yml")):
            continue
        try:
            if _STACK_DOC.search(path.read_text(encoding="utf-8")):
                return path
        except (OSError, UnicodeDecodeError):
            continue
    return None


def existing_stack_settings(path: Path) -> tuple[str | None, StackSpec | None]:
    """(stack name, settings) of an existing stack file; (None, None) when it cannot be read."""
    try:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "Stack":
                name = (doc.get("metadata") or {}).get("name")
                return (str(name) if name else None), StackSpec.model_validate(doc.get("spec") or {})
    except Exception:
        return None, None
    return None, None


def wrap(notes: list[str], width: int = 106) -> str:
    """Comment lines: each note wrapped, continuation lines indented."""
    lines: list[str] = []
    for note in notes:
        lines.extend(textwrap.wrap(note, width, subsequent_indent="  ", break_on_hyphens=False) or [""])
    return "\n".join(lines)


def skipped_block(skipped: list[Skipped]) -> str:
    lines = ["", "Not imported (cannot be represented in manifests yet):"]
    for item in skipped:
        lines.extend(textwrap.wrap(f"- {item}", 106, subsequent_indent="  ", break_on_hyphens=False))
    return comment_block("\n".join(lines))


def render_group(result: ImportResult, group: str, source: str) -> str:
    items = result.of_group(group)
    comments = {str(i.address): wrap(i.comments) for i in items}
    header = (
        f"Imported by `personalize-gitops import` from {source}:\n"
        f"dataset group {group} and everything in it.\n"
        "Adopting these resources changes nothing but their ownership tags (plan shows `adopt`).\n"
        "Comments above each document say where a value was inferred rather than read."
    )
    text = (
        comment_block(header)
        + "\n"
        + dump_documents([desired_resource(i, result.prefix, group) for i in items], comments=comments)
    )
    skipped = [s for s in result.skipped if s.group == group]
    if skipped:
        text += skipped_block(skipped)
    return text


def render_stack(result: ImportResult) -> str:
    spec: dict[str, object] = {"region": result.region}
    if result.account:
        spec["accountId"] = result.account
    if result.prefix:
        spec["namePrefix"] = result.prefix
    document = {"apiVersion": API_VERSION, "kind": "Stack", "metadata": {"name": result.stack}, "spec": spec}
    head = (
        "# Stack settings written by `personalize-gitops import`.\n"
        "# accountId: apply refuses any other account.\n"
        "# namePrefix: physical name = namePrefix + manifest name.\n"
        "# prune stays off: resources removed from the manifests are kept until you turn it on.\n"
    )
    return head + yaml.safe_dump(document, sort_keys=False)


def write_manifests(result: ImportResult, out: Path, *, source: str, force: bool = False) -> WrittenFiles:
    """Write one file per imported dataset group (and a Stack file if `out` has none). Refuses (writes
    nothing) when a file exists, unless `force`."""
    written = WrittenFiles()
    planned = {out / group_file_name(g): render_group(result, g, source) for g in result.groups}
    existing = [p for p in planned if p.exists()]
    if existing and not force:
        raise ReconcilerError(
            "refusing to overwrite " + ", ".join(str(p) for p in existing) + "; nothing was written",
            hint="pass --force to overwrite, or choose another --out directory",
        )
    stack = find_stack_file(out)
    written.existing_stack = stack
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, text in planned.items():
            path.write_text(text, encoding="utf-8")
            written.files.append(path)
        if stack is None:
            path = out / STACK_FILE
            path.write_text(render_stack(result), encoding="utf-8")
            written.stack_file = path
    except OSError as exc:
        done = ", ".join(str(p) for p in written.files) or "nothing"
        raise ReconcilerError(
            f"cannot write the manifests to {out}: {exc.strerror or exc} (written so far: {done})",
            hint="choose a writable --out directory",
        ) from exc
    return written
