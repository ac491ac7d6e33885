"""Helpers for the emulator tests: seed-workshop schemas and generated CSV data."""

from __future__ import annotations

import json
import random
from typing import Any

NS = "com.amazonaws.personalize.schema"


def avro(record: str, fields: list[tuple[str, Any]] | list[dict[str, Any]]) -> str:
    out = [f if isinstance(f, dict) else {"name": f[0], "type": f[1]} for f in fields]
    return json.dumps({"type": "record", "name": record, "namespace": NS, "fields": out, "version": "1.0"})


INTERACTIONS_SCHEMA = avro(
    "Interactions",
    [
        ("ITEM_ID", "string"),
        ("USER_ID", "string"),
        ("EVENT_TYPE", "string"),
        ("TIMESTAMP", "long"),
        {"name": "DISCOUNT", "type": "string", "categorical": True},
    ],
)
ITEMS_SCHEMA = avro(
    "Items",
    [
        ("ITEM_ID", "string"),
        {"name": "CATEGORY", "type": "string", "categorical": True},
        {"name": "STYLE", "type": "string", "categorical": True},
    ],
)
USERS_SCHEMA = avro(
    "Users",
    [("USER_ID", "string"), ("AGE", "int"), {"name": "GENDER", "type": "string", "categorical": True}],
)
EVENT_TYPES = ("ProductViewed", "ProductAdded", "CartViewed", "OrderCompleted")


def interactions_csv(users: int = 40, items: int = 60, per_user: int = 30, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = ["ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT"]
    for u in range(users):
        for i in range(per_user):
            item = rng.randrange(items)
            event = EVENT_TYPES[rng.randrange(len(EVENT_TYPES))]
            lines.append(f"i{item},u{u},{event},{1_700_000_000 + u * 1000 + i},{rng.choice(['Yes', 'No'])}")
    return ("\n".join(lines) + "\n").encode()


def items_csv(items: int = 60) -> bytes:
    lines = ["ITEM_ID,CATEGORY,STYLE"] + [f"i{i},cat{i % 5},style{i % 3}" for i in range(items)]
    return ("\n".join(lines) + "\n").encode()


def users_csv(users: int = 40) -> bytes:
    lines = ["USER_ID,AGE,GENDER"] + [f"u{u},{20 + u % 50},{'MF'[u % 2]}" for u in range(users)]
    return ("\n".join(lines) + "\n").encode()


def role_arn(account: str = "123456789012") -> str:
    return f"arn:aws:iam::{account}:role/{account}-PersonalizeS3"
