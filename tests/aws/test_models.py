"""The process's one botocore data loader (reconciler/aws/models.py, issue 15: start-up)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from reconciler.aws import models
from reconciler.aws.target import open_target


def test_the_shared_loader_knows_the_same_services_as_botocore() -> None:
    shared = models.data_loader().list_available_services("service-2")
    assert "personalize" in shared
    assert "s3" in shared
    assert "no-such-service" not in shared
    assert "../personalize" not in shared
    assert list(shared) == Loader().list_available_services("service-2")
    assert len(shared) == len(list(shared))
    assert shared[0] == sorted(shared)[0]


def test_validate_and_the_clients_share_one_parsed_personalize_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reconciler.manifest.rules import requests

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    model = requests._service_model()
    target = open_target(local=False, endpoint_url=None, region="eu-west-1")
    loader = target.session._session.get_component("data_loader")
    assert loader is models.data_loader()
    assert loader.load_service_model("personalize", "service-2") is model._service_description
    assert target.personalize.meta.service_model.service_name == "personalize"


def test_sessions_do_not_pile_up_search_paths_and_unknown_services_are_still_named() -> None:
    for _ in range(3):
        session = boto3.session.Session(botocore_session=models.botocore_session(), region_name="us-east-1")
    paths = models.data_loader().search_paths
    assert len(paths) == len(set(paths))
    with pytest.raises(UnknownServiceError) as raised:
        session.client("personalise")
    assert "personalize" in str(raised.value)  # botocore lists the known names: the full listing still works


def test_aws_data_path_is_searched(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(models, "_LOADER", None)
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert str(tmp_path) in models.data_loader().search_paths
    monkeypatch.setattr(models, "_LOADER", None)  # the next test gets a loader made without it


def test_a_profile_with_its_own_data_path_keeps_its_own_loader(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    config = tmp_path / "config"
    config.write_text(
        f"[profile extra]\ndata_path = {tmp_path}\nregion = eu-west-1\n"
        "aws_access_key_id = test\naws_secret_access_key = test\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    target = open_target(local=False, endpoint_url=None, region=None, profile="extra")
    loader = target.session._session.get_component("data_loader")
    assert loader is not models.data_loader()
    assert str(tmp_path) in loader.search_paths
    assert target.region == "eu-west-1"


def test_epoch_timestamps_become_utc_datetimes_without_dateutil(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Personalize (JSON) sends epoch numbers: the clients turn them into aware UTC datetimes directly (the
    same instant botocore's parser gives); text timestamps (S3, IAM) still go to botocore's parser."""
    from datetime import UTC, datetime

    from botocore.utils import parse_timestamp as botocore_parse

    monkeypatch.chdir(tmp_path)  # the --local account's state file
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with open_target(local=True, endpoint_url=None, region="eu-west-1") as target:
        arn = target.personalize.create_dataset_group(name="ts")["datasetGroupArn"]
        group = target.personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]
    created = group["creationDateTime"]
    assert created.tzinfo is UTC
    assert created.timestamp() == pytest.approx(target.clock.now(), abs=5)
    for value in (1700000000, 1700000000.25, 0):
        assert models.parse_timestamp(value) == botocore_parse(value)
        assert models.parse_timestamp(value).tzinfo is UTC
    text = "2026-12-03T10:00:00Z"
    assert models.parse_timestamp(text) == botocore_parse(text) == datetime(2026, 12, 3, 10, tzinfo=UTC)
