"""Whatever is in the files, validate reports problems and never raises."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.manifest import validate

FRAGMENTS = st.sampled_from(
    [
        "apiVersion: personalize-gitops/v1alpha1\n",
        "kind: Campaign\n",
        "kind: Stack\n",
        "kind: [1, 2]\n",
        "metadata: {name: c}\n",
        "metadata: [x]\n",
        "spec: {solution: s}\n",
        "spec: text\n",
        "spec: {datasetGroup: g, filterExpression: 'EXCLUDE ItemID WHERE'}\n",
        "lifecycle: 3\n",
        "---\n",
        "? [complex, key]\n: v\n",
        "!!python/object:os.system {}\n",
        "key: !!binary aGVsbG8=\n",
        "a: &x [*x]\n",
        "<<: 5\n",
        "  bad indent: 1\n",
        "\t\n",
        "x: '${undefined}'\n",
        "- list item\n",
        "1: 2\n",
        "null\n",
    ]
)


@given(st.lists(FRAGMENTS, max_size=8), st.text(max_size=40))
@settings(max_examples=150, deadline=None)
def test_validate_never_raises(fragments: list[str], noise: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a.yaml").write_text("".join(fragments), encoding="utf-8")
        (Path(tmp) / "b.yaml").write_text(noise, encoding="utf-8")
        report = validate(tmp)
        assert isinstance(report.errors, list)
        if report.errors:
            assert report.state is None
