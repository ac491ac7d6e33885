"""Personalize allows 50 tags per resource, and the tool writes its own next to the user's: ownership, the
spec digest, and on the jobs it starts (imports, trainings, which carry the user's tags too) their records.
Validation must leave exactly that room: the most user tags it accepts must apply, against the emulator
(which enforces the limit) through real boto3 clients."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from reconciler.manifest import validate
from reconciler.model.address import Address, Kind
from reconciler.model.state import TAG_NAME
from reconciler.resources.base import TAG_KIND
from reconciler.resources.registry import REGISTRY
from tests.apply.apply_support import copy_samples, emulated_world

TOOL = "personalize-gitops:"
#: Create* operations -> the kind whose manifest they serve (jobs count for their dataset or solution).
OPERATION_KIND = {
    "CreateDatasetGroup": Kind.DATASET_GROUP,
    "CreateDataset": Kind.DATASET,
    "CreateDatasetImportJob": Kind.DATASET,
    "CreateSolution": Kind.SOLUTION,
    "CreateSolutionVersion": Kind.SOLUTION,
    "CreateCampaign": Kind.CAMPAIGN,
    "CreateEventTracker": Kind.EVENT_TRACKER,
    "CreateRecommender": Kind.RECOMMENDER,
}


def _with_default_tags(manifests: Path, count: int) -> None:
    stack = manifests / "stack.yaml"
    tags = "".join(f"    t{i:02d}: v\n" for i in range(count))
    text = re.sub(r"  defaultTags:\n(    .*\n)+", "  defaultTags:\n" + tags, stack.read_text())
    stack.write_text(text)


def _most_accepted(manifests: Path) -> int:
    """The most stack-wide defaultTags validation accepts for this stack."""
    for count in range(50, 0, -1):
        _with_default_tags(manifests, count)
        if not any("tags (with the stack's defaultTags)" in e for e in validate(manifests).errors):
            return count
    raise AssertionError("no tag count validates")


def test_the_most_tags_validation_accepts_are_applied(tmp_path, monkeypatch) -> None:
    manifests = copy_samples(tmp_path)
    most = _most_accepted(manifests)
    assert most < 48  # the samples import local files: an import job carries 5 tool tags next to them
    requests: list[tuple[str, dict[str, str]]] = []
    lock = threading.Lock()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in OPERATION_KIND or model.name == "TagResource":
            tags = {str(t["tagKey"]): str(t["tagValue"]) for t in params.get("tags") or []}
            with lock:
                requests.append((model.name, tags))

    with emulated_world(manifests, monkeypatch) as world:
        world.personalize.meta.events.register("before-parameter-build.personalize", record)
        result = world.apply()
        assert result.exit_code == 0, result
        assert not world.plan().has_changes
        desired = world.desired

    assert {op for op, _ in requests} >= {"CreateDatasetImportJob", "CreateSolutionVersion", "CreateDataset"}
    tightest = 0
    for operation, tags in requests:
        if operation == "TagResource" or TAG_NAME not in tags:
            continue
        kind = Kind(tags[TAG_KIND]) if TAG_KIND in tags else OPERATION_KIND[operation]
        res = desired.resources[Address(kind, tags[TAG_NAME])]
        own = sum(1 for key in tags if key.startswith(TOOL))
        assert own <= REGISTRY[kind].tool_tags(res.spec, res.lifecycle), (operation, tags)
        tightest = max(tightest, len(tags))
    assert tightest == 50  # the bound is exact for the tightest request (an import of a local file)
