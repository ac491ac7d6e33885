"""`apply --local` saves the emulated account whenever it changed, reads included: a read that applies a
scheduled transition (a training or an import finishing on that read) moves the emulator's `revision`, and the
state file then holds it, so a kill before the next mutating call loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.aws.target import open_target
from reconciler.commands.apply_cmd import persist_local_state_after_changes
from reconciler.emulator import PersonalizeEmulator, VirtualClock


def saved_group_status(state: Path) -> str:
    """The dataset group's status as the state file on disk holds it (not its scheduled events)."""
    data = json.loads(state.read_text(encoding="utf-8"))
    groups = data["personalize"]["regions"][0]["state"]["resources"]["dataset_group"]
    (record,) = groups.values()
    return str(record["status"])


def test_the_emulator_revision_moves_on_writes_and_on_transitions_a_read_applies() -> None:
    clock = VirtualClock()
    emulator = PersonalizeEmulator(clock=clock)
    start = emulator.revision
    emulator.handle("ListDatasetGroups", {}, "us-east-1")
    assert emulator.revision == start  # a read with nothing due changes nothing
    emulator.handle("CreateDatasetGroup", {"name": "seen"}, "us-east-1")
    created = emulator.revision
    assert created > start
    clock.advance(3600)
    emulator.handle("ListDatasetGroups", {}, "us-east-1")  # applies CREATE PENDING -> ACTIVE
    assert emulator.revision > created


def test_a_read_that_sees_a_transition_is_saved_before_the_next_write(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    target = open_target(local=True, endpoint_url=None, region="us-east-1", state_path=state)
    try:
        persist_local_state_after_changes(target)
        arn = target.personalize.create_dataset_group(name="seen")["datasetGroupArn"]
        assert saved_group_status(state) == "CREATE PENDING"
        target.clock.advance(3600)
        live = target.personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"]
        assert live == "ACTIVE"
        assert saved_group_status(state) == "ACTIVE"  # saved on the read, no later write needed
    finally:
        target.close()
