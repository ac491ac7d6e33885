"""The lookups the planner uses per resource are indexed, and the indexes follow the data they index."""

from __future__ import annotations

import dataclasses

from reconciler.model.address import Address, Kind
from reconciler.model.state import LiveState
from reconciler.plan.planner import plan
from reconciler.plan.types import Action
from tests.plan.builders import BASE_SPECS, desired_state


def test_of_kind_is_sorted_per_kind_and_follows_a_replaced_state() -> None:
    desired = desired_state(BASE_SPECS)
    datasets = desired.of_kind(Kind.DATASET)
    assert [r.address for r in datasets] == sorted(a for a in BASE_SPECS if a.kind is Kind.DATASET)
    datasets.clear()  # callers get their own list: the index is not changed through it
    assert len(desired.of_kind(Kind.DATASET)) == 2
    assert desired.of_kind(Kind.RECOMMENDER)[0].address == Address(Kind.RECOMMENDER, "for-you")

    fewer = {a: s for a, s in BASE_SPECS.items() if a != Address(Kind.DATASET, "items")}
    replaced = dataclasses.replace(desired, resources=desired_state(fewer).resources)
    assert [r.address.name for r in replaced.of_kind(Kind.DATASET)] == ["interactions"]
    assert len(desired.of_kind(Kind.DATASET)) == 2


def test_many_groups_plan_each_group_on_its_own_datasets() -> None:
    """With the dataset index, a solution still waits for the datasets of its own group only."""
    specs = {}
    for g in range(3):
        specs[Address(Kind.DATASET_GROUP, f"g{g}")] = {}
        specs[Address(Kind.SCHEMA, f"g{g}-i")] = BASE_SPECS[Address(Kind.SCHEMA, "interactions")]
        specs[Address(Kind.DATASET, f"g{g}-i")] = {
            "datasetGroup": f"g{g}",
            "datasetType": "INTERACTIONS",
            "schema": f"g{g}-i",
        }
        specs[Address(Kind.SOLUTION, f"g{g}-s")] = {"datasetGroup": f"g{g}", "recipeArn": "aws-sims"}
    result = plan(desired_state(specs), LiveState(resources={}, account_id="123456789012", now=0.0))
    for change in result.changes:
        if change.address.kind is Kind.SOLUTION and change.action is Action.CREATE:
            group = change.address.name.split("-")[0]
            datasets = [a for a in change.depends_on if a.kind is Kind.DATASET]
            assert datasets and all(a.name.startswith(group + "-") for a in datasets), change


def test_manifest_digest_is_the_sha256_of_the_canonical_json_of_stack_and_resources() -> None:
    """digest_of hashes one resource at a time; the value stays the hash of the whole canonical text."""
    import hashlib
    import json
    from pathlib import Path

    from reconciler.manifest import load
    from reconciler.manifest.loader import digest_of

    desired = load(Path(__file__).resolve().parents[2] / "manifests")
    resources = sorted(desired.resources.values(), key=lambda r: r.address)
    payload = {
        "stack": {
            "name": desired.stack.name,
            "settings": desired.stack.settings.model_dump(mode="json", by_alias=True),
        },
        "resources": [
            {
                "address": str(r.address),
                "physicalName": r.physical_name,
                "spec": r.spec.model_dump(mode="json", by_alias=True),
                "tags": dict(sorted(r.tags.items())),
                "lifecycle": r.lifecycle.model_dump(mode="json"),
                "dependsOn": [str(a) for a in r.depends_on],
            }
            for r in resources
        ],
    }
    whole = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    assert desired.digest == digest_of(desired.stack, resources) == hashlib.sha256(whole).hexdigest()
