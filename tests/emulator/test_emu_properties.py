"""Property and concurrency checks: pagination never loses or repeats items; concurrent callers are safe."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock

R, A = "eu-west-1", "123456789012"
SCHEMA = '{"type":"record","name":"Users","fields":[{"name":"USER_ID","type":"string"}]}'


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=25),
    page=st.integers(min_value=1, max_value=10),
    deletes=st.lists(st.integers(min_value=0, max_value=24), max_size=5),
)
def test_pagination_returns_each_surviving_item_once(count: int, page: int, deletes: list[int]) -> None:
    emu = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant())
    names = [f"s{i:02d}" for i in range(count)]
    for name in names:
        emu.handle("CreateSchema", {"name": name, "schema": SCHEMA}, R, A)
    original = list(names)
    seen: list[str] = []
    token = None
    pending_deletes = [d for d in deletes if d < count]
    while True:
        params = {"maxResults": page, **({"nextToken": token} if token else {})}
        out = emu.handle("ListSchemas", params, R, A)
        assert len(out["schemas"]) <= page
        seen.extend(s["name"] for s in out["schemas"])
        if pending_deletes:  # delete something between pages
            victim = original[pending_deletes.pop()]
            if victim not in seen and victim in names:
                emu.handle(
                    "DeleteSchema", {"schemaArn": f"arn:aws:personalize:{R}:{A}:schema/{victim}"}, R, A
                )
                names.remove(victim)
        token = out.get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert set(names) <= set(seen)
    assert seen == sorted(seen)


def test_concurrent_callers_see_a_consistent_emulator() -> None:
    emu = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant(), strict=True)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                arn = emu.handle("CreateSchema", {"name": f"t{n}-{i}", "schema": SCHEMA}, R, A)["schemaArn"]
                emu.handle("DescribeSchema", {"schemaArn": arn}, R, A)
                emu.handle("ListSchemas", {"maxResults": 5}, R, A)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = []
    token = None
    while True:
        out = emu.handle("ListSchemas", {"maxResults": 100, **({"nextToken": token} if token else {})}, R, A)
        names += [s["name"] for s in out["schemas"]]
        if not (token := out.get("nextToken")):
            break
    assert len(names) == len(set(names)) == 200
    assert emu.call_count() == 8 * 25 * 3 + 2
