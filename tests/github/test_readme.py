"""The README and docs/github-setup.md document only commands and flags that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from reconciler.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "docs" / "github-setup.md"]


def _command(words: list[str]) -> tuple[Any, list[str]]:
    """The deepest (sub)command named by the leading words, and the words used."""
    command: Any = typer.main.get_command(app)
    used: list[str] = []
    for word in words:
        if not hasattr(command, "get_command"):
            break
        sub = command.get_command(None, word)
        if sub is None:
            break
        command, used = sub, [*used, word]
    return command, used


def _options(command: Any) -> set[str]:
    return {o for p in command.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}


def _mentions(text: str) -> list[str]:
    """`personalize-gitops ...` in code (blocks and inline), and the first cell of the Commands table."""
    found = re.findall(r"personalize-gitops ((?:[a-z][a-z-]*)(?: [^`\n#|]*)?)", text)
    table = text.split("## Commands", 1)[1].split("\n## ", 1)[0] if "## Commands" in text else ""
    found += re.findall(r"^\| `([a-z][a-z-]*(?: [^`]*)?)` \|", table, flags=re.MULTILINE)
    return found


def _known() -> set[str]:
    group: Any = typer.main.get_command(app)
    return set(group.list_commands(None))


# Prose such as "personalize-gitops reads the live account" is not a command mention.
_PROSE = {"reads", "is"}
CASES = [
    (doc.name, mention)
    for doc in DOCS
    for mention in _mentions(doc.read_text(encoding="utf-8"))
    if mention.split()[0] not in _PROSE
]


def test_the_docs_mention_commands() -> None:
    assert len(CASES) > 20


@pytest.mark.parametrize(("doc", "mention"), CASES)
def test_documented_commands_and_flags_exist(doc: str, mention: str) -> None:
    words = re.sub(r"\\\||[\[\]()]", " ", mention).split()
    command, used = _command([w for w in words if not w.startswith("-")][:2])
    assert used, f"{doc}: `personalize-gitops {mention}`: no such command"
    known = _options(command)
    for flag in (w.split("=")[0] for w in words if w.startswith("--")):
        assert flag in known, f"{doc}: `personalize-gitops {mention}`: {' '.join(used)} has no {flag}"


def test_the_commands_table_is_one_table_naming_every_command() -> None:
    """The README's Commands section is one table (a paragraph had split it: the rows after it rendered as
    text) with a row for every top-level command."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # the section up to its first subsection (### Target options has a table of its own)
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    lines = section.strip("\n").splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("|")]
    assert rows == list(range(rows[0], rows[-1] + 1)), "a paragraph splits the Commands table"
    listed = {m.split()[0] for m in re.findall(r"^\| `([a-z][a-z-]*)[ `]", section, flags=re.MULTILINE)}
    assert _known() - listed == set(), "commands missing from the README's Commands table"


def test_the_ci_row_of_the_commands_table_names_every_ci_subcommand() -> None:
    """`ci apply-status` (the workflows' result line, documented in github-setup.md) was missing from it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # the section up to its first subsection (### Target options has a table of its own)
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    row = re.search(r"^\| `ci ([a-z|\\-]+)` \|", section, flags=re.MULTILINE)
    assert row, "no `ci ...` row in the README's Commands table"
    listed = set(row.group(1).replace("\\", "").split("|"))
    ci, used = _command(["ci"])
    assert used == ["ci"]
    assert set(ci.list_commands(None)) - listed == set(), "ci subcommands missing from the Commands table"


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_aws_cli_lines_against_the_emulator_run_as_shown(doc: Path) -> None:
    """The AWS CLI refuses to call even the emulator without credentials and a region ("You must specify a
    region", then "Unable to locate credentials"): a block that points `aws` at the emulator sets them first
    (any values; the region of the sample stack, where `plan --endpoint-url` creates its resources)."""
    for block in _sh_blocks(doc.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if re.match(r"\s*aws --endpoint-url http://127\.0\.0\.1", line):
                before = block.split(line, 1)[0]
                needed = ("AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_DEFAULT_REGION=us-east-1")
                for variable in needed:
                    assert variable in before, f"{doc.name}: `{line.strip()}` runs without {variable}"
