"""Reading GitHub Actions workflow files for the tests: the `personalize-gitops` command lines they run."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "examples" / "github" / "workflows"
OWN = ROOT / ".github" / "workflows"


def load_workflow(path: Path) -> dict[str, Any]:
    # PyYAML (YAML 1.1) reads the key `on` as True; GitHub reads it as "on"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow_files() -> list[Path]:
    return sorted(TEMPLATES.glob("*.yml")) + sorted(OWN.glob("*.yml"))


@dataclass(frozen=True)
class Invocation:
    workflow: str
    job: str
    step: str
    line: str
    argv: list[str]


def _logical_lines(script: str) -> list[str]:
    """Script lines with backslash continuations joined."""
    lines: list[str] = []
    current = ""
    for raw in script.splitlines():
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    if current:
        lines.append(current)
    return lines


_COMMAND = re.compile(r"(?:^|[;&|(]\s*|\$\()\s*(personalize-gitops\s[^|;&)>]*)")


def invocations(path: Path) -> list[Invocation]:
    """Every `personalize-gitops ...` command in the `run:` scripts, cut at pipes and redirections."""
    data = load_workflow(path)
    found: list[Invocation] = []
    for job_id, job in (data.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            script = step.get("run")
            if not script:
                continue
            name = step.get("name") or step.get("id") or f"step {index + 1}"
            for line in _logical_lines(script):
                stripped = line.strip()
                if stripped.startswith("#"):
                    continue
                for match in _COMMAND.finditer(stripped):
                    text = match.group(1).strip()
                    found.append(Invocation(path.name, job_id, name, text, shlex.split(text)))
    return found
