"""The package version and its changelog section, read without importing or installing the package.

    python tests/packaging/release_version.py            # prints the version (reconciler/__init__.py)
    python tests/packaging/release_version.py --notes V  # prints the CHANGELOG.md section of version V

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


def main(argv: list[str]) -> int:
    if argv[:1] == ["--notes"] and len(argv) == 2:
        print(changelog_section(argv[1]))
    elif not argv:
        print(package_version())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
