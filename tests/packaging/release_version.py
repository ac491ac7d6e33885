"""The package version and its changelog section, read without importing or installing the package.

    python tests/packaging/release_version.py            # prints the version (reconciler/__init__.py)
    python tests/packaging/release_version.py --notes V  # prints the CHANGELOG.md section of version V
    python tests/packaging/release_version.py --check-tag vX.Y.Z  # may this commit be released as that tag?

Used by the release workflow (tag check, release notes) and by the tests that keep README, CHANGELOG and the
workflow in step. Exit 1 with a message when the version or the section is missing.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def package_version(root: Path = REPO) -> str:
    tree = ast.parse((root / "reconciler" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    raise SystemExit("reconciler/__init__.py has no __version__ = '...' string")


def changelog_section(version: str, root: Path = REPO) -> str:
    """The body of `## [version] - date` in CHANGELOG.md (Keep a Changelog)."""
    text = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(rf"^## \[{re.escape(version)}\][^\n]*\n(.*?)(?=^## \[|\Z)", text, re.M | re.S)
    if match is None:
        raise SystemExit(f"CHANGELOG.md has no section '## [{version}]': add one before tagging v{version}")
    return match.group(1).strip()


def unreleased_entries(root: Path = REPO) -> list[str]:
    """The top-level list items under `## [Unreleased]` in CHANGELOG.md: changes no release holds yet."""
    text = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## \[|\Z)", text, re.M | re.S)
    if match is None:
        return []
    return [line for line in match.group(1).splitlines() if line.startswith(("- ", "* "))]


def check_tag(tag: str, root: Path = REPO) -> str:
    """Refuse (SystemExit) a tag this commit cannot be released as: another version than
    reconciler/__init__.py's, no CHANGELOG.md section for it, or changes still listed under [Unreleased]
    (they would ship as this version without being in its notes)."""
    version = package_version(root)
    if tag != f"v{version}":
        raise SystemExit(f"tag {tag} does not match the package version {version} (reconciler/__init__.py)")
    changelog_section(version, root)
    pending = unreleased_entries(root)
    if pending:
        raise SystemExit(
            f"CHANGELOG.md lists {len(pending)} change(s) under [Unreleased] at this commit; released as "
            f"{tag} they would ship without being in its notes. Cut a release first (move them under a new "
            "version's heading and set __version__, docs/releases.md), or tag the commit that was released."
        )
    return f"{tag}: package version {version}, CHANGELOG.md section present, nothing under [Unreleased]"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--notes"] and len(argv) == 2:
        print(changelog_section(argv[1]))
    elif argv[:1] == ["--check-tag"] and len(argv) == 2:
        print(check_tag(argv[1]))
    elif not argv:
        print(package_version())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
