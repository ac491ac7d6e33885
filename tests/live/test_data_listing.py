"""Data locations read per bucket (issue 15): one ListObjectsV2 of their common prefix for a bucket's keys,
a bounded number of pages before the keys not reached are read one by one, per key when that listing is
denied. Against moto's S3 through a real boto3 client."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from reconciler.live.reader import CallCounter
from reconciler.s3data import LISTED_PAGES_PER_BUCKET, normalize_etag, object_etags, shared_prefix

BUCKET = "lake"


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3: Any, *keys: str) -> dict[str, str]:
    return {
        key: normalize_etag(s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())["ETag"]) for key in keys
    }


def test_one_listing_reads_every_key_of_a_bucket_and_says_which_are_missing(s3: Any) -> None:
    etags = put(s3, "ds/a/interactions.csv", "ds/b/interactions.csv", "ds/b/items.csv", "other/x.csv")
    counter = CallCounter(s3)
    wanted = ["ds/b/interactions.csv", "ds/a/interactions.csv", "ds/c/interactions.csv"]
    settled, unread = object_etags(s3, BUCKET, wanted)
    assert counter.calls == {"ListObjectsV2": 1}
    assert unread == []
    assert settled == {
        "ds/a/interactions.csv": etags["ds/a/interactions.csv"],
        "ds/b/interactions.csv": etags["ds/b/interactions.csv"],
        "ds/c/interactions.csv": None,  # listed past it: missing
    }


def test_a_big_bucket_costs_a_bounded_number_of_pages_then_key_by_key(s3: Any) -> None:
    """Keys far apart in a folder full of other objects: the listing stops after its page budget and hands
    back the keys it did not reach; it never walks the whole folder."""
    wanted = ["lake/a/data.csv", "lake/b/data.csv", "lake/z/data.csv"]
    put(s3, *wanted, *(f"lake/m/{i:03d}.csv" for i in range(40)))
    counter = CallCounter(s3)
    settled, unread = object_etags(s3, BUCKET, wanted, page_size=2)
    budget = min(LISTED_PAGES_PER_BUCKET, len(wanted) // 2)
    assert counter.calls == {"ListObjectsV2": budget}
    assert set(settled) == {"lake/a/data.csv", "lake/b/data.csv"} and None not in settled.values()
    assert unread == ["lake/z/data.csv"]


def test_a_listing_stops_once_it_is_past_the_last_key(s3: Any) -> None:
    wanted = [f"in/{i}.csv" for i in range(4)]
    put(s3, *wanted, *(f"in/{i}.tail" for i in range(4, 9)), *(f"later/{i}" for i in range(30)))
    counter = CallCounter(s3)
    settled, unread = object_etags(s3, BUCKET, wanted, page_size=2)
    assert counter.calls == {"ListObjectsV2": 2}  # starts at in/0.csv: 2 pages hold the 4 keys
    assert unread == [] and None not in settled.values()


def test_the_shared_prefix_is_what_the_keys_share_and_never_the_whole_bucket() -> None:
    assert shared_prefix(["ds/b/x.csv", "ds/a/x.csv", "ds/a/y.csv"]) == "ds/"
    assert shared_prefix(["g0/i.csv", "g1/i.csv"]) == "g"
    assert shared_prefix(["data/i.csv", "data/i.csv"]) is None  # one key: read it on its own
    assert shared_prefix(["interactions.csv", "users.csv"]) is None  # nothing shared: never list the bucket
