"""The tag character rule: names.py's quick check (no `regex` import on the start-up path) against the
service model's own TagKey/TagValue pattern, and the requests rule no longer skipping `\\p{...}` patterns."""

from __future__ import annotations

import pytest

from reconciler.manifest.rules.names import _bad_tag_character
from reconciler.manifest.rules.requests import _matches, _service_model

SAMPLE = [chr(c) for c in range(32, 0x250)] + ["\u00a0", "\u2003", "\u0660", "\u4e2d", "\u200b", "\U0001f600"]


@pytest.mark.parametrize("shape", ["TagKey", "TagValue"])
def test_the_quick_tag_check_agrees_with_the_service_models_pattern(shape: str) -> None:
    pattern = _service_model().shape_for(shape).metadata["pattern"]
    disagree = [c for c in SAMPLE if (_bad_tag_character(c) is None) != _matches(pattern, c)]
    assert disagree == []


def test_a_unicode_class_pattern_is_checked_not_skipped() -> None:
    pattern = _service_model().shape_for("TagValue").metadata["pattern"]
    assert _matches(pattern, "R and D: 1/2")
    assert not _matches(pattern, "R&D")  # `re` cannot compile \\p{L}: it used to pass unchecked
