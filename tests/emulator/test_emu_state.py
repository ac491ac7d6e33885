"""Snapshot/restore, reset, clocks and profiles."""

from __future__ import annotations

import json

import pytest

from reconciler.emulator import DurationProfile, PersonalizeEmulator, ScaledClock, VirtualClock

R = "eu-central-1"


def test_snapshot_round_trip_keeps_resources_tags_and_pending_transitions() -> None:
    clock = VirtualClock()
    emu = PersonalizeEmulator(clock=clock)
    arn = emu.handle("CreateDatasetGroup", {"name": "g", "tags": [{"tagKey": "k", "tagValue": "v"}]}, R, "1")[
        "datasetGroupArn"
    ]
    data = json.loads(json.dumps(emu.snapshot()))
    later = VirtualClock(start=0)  # behind the snapshot: restore moves it forward
    copy = PersonalizeEmulator(clock=later)
    copy.restore(data)
    assert later.now() == clock.now()
    assert copy.handle("DescribeDatasetGroup", {"datasetGroupArn": arn}, R, "1") == emu.handle(
        "DescribeDatasetGroup", {"datasetGroupArn": arn}, R, "1"
    )
    later.advance(3600)
    assert (
        copy.handle("DescribeDatasetGroup", {"datasetGroupArn": arn}, R, "1")["datasetGroup"]["status"]
        == "ACTIVE"
    )
    assert copy.handle("ListTagsForResource", {"resourceArn": arn}, R, "1")["tags"] == [
        {"tagKey": "k", "tagValue": "v"}
    ]
    with pytest.raises(ValueError):
        copy.restore({"version": 99})


def test_reset_forgets_everything_but_control() -> None:
    emu = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant())
    emu.control.set_quota("dataset_groups_per_region", 1)
    emu.handle("CreateDatasetGroup", {"name": "g"}, R, "1")
    emu.reset()
    assert emu.handle("ListDatasetGroups", {}, R, "1") == {"datasetGroups": []}
    assert emu.calls[-1].operation == "ListDatasetGroups" and len(emu.calls) == 1
    assert emu.quotas["dataset_groups_per_region"] == 1


def test_scaled_clock_keeps_host_time_and_only_advance_moves_it_ahead() -> None:
    wall = [1000.0]
    slept: list[float] = []
    clock = ScaledClock(600, wall=lambda: wall[0], sleeper=slept.append)
    assert clock.now() == 1000.0
    wall[0] += 4.5  # 4.5 wall seconds are 4.5 seconds of timestamps, whatever the scale
    assert clock.now() == 1004.5
    clock.sleep(60)  # durations are what the scale shortens
    assert slept == [0.1]
    clock.advance(100)
    clock.ensure_not_before(0)
    assert clock.now() == 1104.5 and clock.offset == 100
    assert ScaledClock(600, start=50.0, wall=lambda: wall[0]).now() == 50.0
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_virtual_clock_and_profiles() -> None:
    clock = VirtualClock(start=10)
    clock.sleep(5)
    clock.advance(5)
    assert clock.now() == 20
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert DurationProfile.instant().create_seconds("solution_version", "FULL") == 0
    profile = DurationProfile().with_overrides(solution_version__FULL=10)
    assert profile.create_seconds("solution_version", "FULL") == 10
    assert DurationProfile().create_seconds("solution_version", "FULL") == 45 * 60
    assert DurationProfile().create_seconds("campaign") == 25 * 60
    assert json.loads(json.dumps(profile.to_dict()))["create"]["solution_version.FULL"] == 10


def test_accounts_and_regions_are_isolated() -> None:
    emu = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant())
    emu.handle("CreateDatasetGroup", {"name": "g"}, R, "111111111111")
    emu.handle("CreateDatasetGroup", {"name": "g"}, R, "222222222222")
    emu.handle("CreateDatasetGroup", {"name": "g"}, "us-east-1", "111111111111")
    assert len(emu.handle("ListDatasetGroups", {}, R, "111111111111")["datasetGroups"]) == 1
