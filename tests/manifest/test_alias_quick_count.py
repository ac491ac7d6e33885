"""The quick alias/depth count (`yamlmarks._plainly_bounded`) may only say "bounded" when the exact check
(`oversized_node`) finds nothing: it lets ordinary documents skip the exact check (issue 15: load CPU)."""

from __future__ import annotations

import random

import yaml

from reconciler.manifest.yamlmarks import _plainly_bounded, oversized_node


def _document(rng: random.Random) -> str:
    """A random YAML document of nested lists and maps that reuses earlier anchors."""
    anchors: list[str] = []
    lines: list[str] = []
    for i in range(rng.randint(1, 8)):
        if anchors and rng.random() < 0.6:
            refs = ", ".join(f"*{rng.choice(anchors)}" for _ in range(rng.randint(1, 4)))
            lines.append(f"k{i}: &a{i} [{refs}, {{x: [*{rng.choice(anchors)}]}}]")
        else:
            depth = rng.randint(0, 4)
            lines.append(f"k{i}: &a{i} " + "[" * depth + "v" + "]" * depth)
        anchors.append(f"a{i}")
    return "\n".join(lines) + "\n"


def test_the_quick_count_never_passes_a_document_the_exact_check_rejects() -> None:
    rng = random.Random(15)
    verdicts = {True: 0, False: 0}
    for _ in range(3000):
        root = yaml.compose(_document(rng), Loader=yaml.SafeLoader)
        limit = rng.choice([5, 20, 60, 200])
        quick = _plainly_bounded(root, limit)
        verdicts[quick] += 1
        if quick:
            assert oversized_node(root, limit) is None
    assert verdicts[True] > 100 and verdicts[False] > 100  # both answers were exercised
