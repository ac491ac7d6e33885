"""Small, deterministic sample data in the seed workshop's format (Immersion Day retail, 2021 variant).

Columns and event types are the seed's (../shared/reference/seed-workshop.md §1):
* items.csv        ITEM_ID,CATEGORY,STYLE
* users.csv        USER_ID,AGE,GENDER
* interactions.csv ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT
  (funnel ProductViewed -> ProductAdded -> CartViewed -> CheckoutStarted -> OrderCompleted, about 8/5/2/1% of
  views, timestamps between 2020-06-10 and 2020-09-08 like the original generator).

Written from scratch with the standard library; the same seed always gives byte-identical files.
`python -m reconciler.sampledata OUT_DIR` writes them; the committed copy lives in data/sample/.
"""

from __future__ import annotations

import csv
import random
import sys
import uuid
from pathlib import Path

CATEGORIES: dict[str, tuple[str, ...]] = {
    "furniture": ("bed", "chair", "sofa", "table"),
    "apparel": ("jacket", "pants", "shirt", "socks"),
    "accessories": ("bag", "belt", "sunglasses", "wallet"),
    "housewares": ("bowls", "cups", "kitchen", "plates"),
    "seasonal": ("christmas", "halloween", "valentine"),
    "groceries": ("cereal", "coffee", "fruits", "snacks"),
    "homedecor": ("candles", "decorative", "frames"),
    "footwear": ("boot", "sandals", "sneaker"),
    "instruments": ("drums", "guitar", "keyboard"),
    "floral": ("arrangement", "bouquet", "plant"),
    "electronics": ("camera", "headphones", "speaker"),
    "outdoors": ("camping", "fishing", "hiking"),
    "jewelry": ("bracelet", "earrings", "necklace"),
    "beauty": ("fragrance", "makeup", "skincare"),
    "tools": ("drill", "hammer", "saw"),
    "books": ("fiction", "cooking", "travel"),
}
EVENT_TYPES = ("ProductViewed", "ProductAdded", "CartViewed", "CheckoutStarted", "OrderCompleted")
#: Probability of moving from one funnel step to the next (views -> 8% added -> 5% cart -> 2% checkout -> 1%).
FUNNEL = (0.08, 5 / 8, 2 / 5, 1 / 2)
FIRST_TIMESTAMP = 1591803782
LAST_TIMESTAMP = 1599579782
FILES = ("items", "users", "interactions")


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def generate_sample_data(
    out_dir: Path | str, seed: int = 0, *, users: int = 80, items_per_style: int = 2, views_per_user: int = 24
) -> dict[str, Path]:
    """Write items.csv, users.csv and interactions.csv into `out_dir`; returns {name: path}."""
    out = Path(out_dir)
    rng = random.Random(seed)

    items: list[tuple[str, str, str]] = []
    for category, styles in CATEGORIES.items():
        for style in styles:
            for _ in range(items_per_style):
                items.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), category, style))
    by_category: dict[str, list[tuple[str, str, str]]] = {}
    for item in items:
        by_category.setdefault(item[1], []).append(item)

    user_rows: list[list[str]] = []
    interactions: list[tuple[int, str, str, str, str]] = []
    categories = list(CATEGORIES)
    span = LAST_TIMESTAMP - FIRST_TIMESTAMP
    for number in range(1, users + 1):
        user_id = str(number)
        user_rows.append([user_id, str(rng.randint(18, 84)), "M" if number % 2 else "F"])
        persona = rng.sample(categories, 3)
        discount_lover = rng.random() < 0.3
        clock = FIRST_TIMESTAMP + rng.randint(0, span // 2)
        for _ in range(views_per_user + rng.randint(-4, 4)):
            category = persona[0] if rng.random() < 0.6 else rng.choice(persona)
            item_id = rng.choice(by_category[category])[0]
            discount = "Yes" if rng.random() < (0.5 if discount_lover else 0.2) else "No"
            clock = min(LAST_TIMESTAMP, clock + rng.randint(30, span // (views_per_user * 3)))
            interactions.append((clock, item_id, user_id, EVENT_TYPES[0], discount))
            step_time = clock
            for event_type, chance in zip(EVENT_TYPES[1:], FUNNEL, strict=True):
                if rng.random() >= chance:
                    break
                step_time = min(LAST_TIMESTAMP, step_time + rng.randint(5, 600))
                interactions.append((step_time, item_id, user_id, event_type, discount))
    interactions.sort(key=lambda row: (row[0], row[2], row[1], EVENT_TYPES.index(row[3])))

    return {
        "items": _write(out / "items.csv", ["ITEM_ID", "CATEGORY", "STYLE"], [list(i) for i in items]),
        "users": _write(out / "users.csv", ["USER_ID", "AGE", "GENDER"], user_rows),
        "interactions": _write(
            out / "interactions.csv",
            ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP", "DISCOUNT"],
            [[item, user, event, str(ts), discount] for ts, item, user, event, discount in interactions],
        ),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else Path("data/sample")
    for name, path in generate_sample_data(out_dir).items():
        rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
        print(f"{name}: {path} ({rows} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
