"""Problems found in manifests, formatted like a compiler's diagnostics.

    manifests/retail.yaml:42:7: Campaign/related-products: spec.minProvisionedTPS: must be >= 1 (got 0)
      hint: ...

Warnings and infos carry their severity after the location (`file:line:col: warning: ...`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.manifest.yamlmarks import Mark, MarkedDocument, Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


def format_path(path: Path) -> str:
    """`("spec", "avro", "fields", 2, "type")` -> `spec.avro.fields[2].type`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "" or not str(part).replace("_", "a").replace("-", "a").isalnum():
            text += f"[{str(part)!r}]"
        else:
            text += ("." if text else "") + str(part)
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    severity: Severity
    file: str
    line: int
    column: int
    subject: str | None
    """`Kind/name` of the resource, when known."""
    path: str | None
    """Dotted field path inside the document (`spec.minProvisionedTPS`)."""
    message: str
    hint: str | None = None
    rank: int = 0
    """Orders problems at the same position (a note about the errors there comes after them)."""

    def format(self) -> str:
        where = self.file
        if self.line > 0:
            where += f":{self.line}:{self.column}" if self.column > 0 else f":{self.line}"
        parts = [where]
        if self.severity is not Severity.ERROR:
            parts.append(self.severity.value)
        if self.subject:
            parts.append(self.subject)
        if self.path:
            parts.append(self.path)
        text = ": ".join(parts) + ": " + self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.file, self.line, self.column, self.rank, self.message)


@dataclass
class Reporter:
    """Collects every problem of one run."""

    problems: list[Problem] = field(default_factory=list)

    def add(
        self,
        severity: Severity,
        file: str,
        mark: Mark | None,
        message: str,
        *,
        subject: str | None = None,
        path: Path | str | None = None,
        hint: str | None = None,
        rank: int = 0,
    ) -> None:
        text_path = format_path(path) if isinstance(path, tuple) else path
        line, column = (mark.line, mark.column) if mark is not None else (0, 0)
        self.problems.append(
            Problem(severity, file, line, column, subject, text_path or None, message, hint, rank)
        )

    def at(
        self,
        severity: Severity,
        doc: MarkedDocument,
        path: Path,
        message: str,
        *,
        subject: str | None = None,
        hint: str | None = None,
        prefer_key: bool = True,
    ) -> None:
        """A problem about `path` of `doc`, located at that path (or the nearest enclosing node)."""
        self.add(
            severity,
            doc.file,
            doc.locate(path, prefer_key=prefer_key),
            message,
            subject=subject,
            path=path,
            hint=hint,
        )

    def of(self, severity: Severity) -> list[Problem]:
        seen: set[str] = set()
        out: list[Problem] = []
        for problem in sorted(self.problems, key=lambda p: p.sort_key):
            if problem.severity is severity:
                text = problem.format()
                if text not in seen:
                    seen.add(text)
                    out.append(problem)
        return out

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)
