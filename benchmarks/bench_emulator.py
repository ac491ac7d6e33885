"""How many Describe* calls per second the in-process emulator answers through a real boto3 client.

Run: ``.venv/bin/python -m benchmarks.bench_emulator [--calls N]``. Later benchmarks use this to check that
the emulator is not their bottleneck."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any, NamedTuple

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client

REGION = "us-east-1"


def _prepare(groups: int = 5) -> tuple[PersonalizeEmulator, list[str]]:
    emulator = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant())
    arns = [
        emulator.handle("CreateDatasetGroup", {"name": f"bench-{i}"}, REGION, emulator.account)[
            "datasetGroupArn"
        ]
        for i in range(groups)
    ]
    return emulator, arns


def _describe_loop(client: Any, arns: list[str], calls: int) -> None:
    for i in range(calls):
        client.describe_dataset_group(datasetGroupArn=arns[i % len(arns)])


def single_thread(calls: int) -> float:
    emulator, arns = _prepare()
    client = emulated_client(emulator, REGION)
    _describe_loop(client, arns, 20)  # warm up (model loading, first-call caches)
    start = time.perf_counter()
    _describe_loop(client, arns, calls)
    return calls / (time.perf_counter() - start)


def threaded(calls: int, threads: int = 8) -> float:
    emulator, arns = _prepare()
    clients = [emulated_client(emulator, REGION) for _ in range(threads)]
    for client in clients:
        _describe_loop(client, arns, 5)
    per_thread = max(1, calls // threads)
    workers = [threading.Thread(target=_describe_loop, args=(c, arns, per_thread)) for c in clients]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - start)


class HttpThroughput(NamedTuple):
    calls_per_s: float
    calls: int  # timed calls
    total_calls: int  # including the warm-up calls
    connections: int  # TCP connections the server accepted for all of them


def over_http(calls: int, threads: int = 1) -> HttpThroughput:
    """The same describes through ``emulator serve`` over loopback HTTP (one boto3 client per thread)."""
    import boto3
    from botocore.config import Config

    from reconciler.emulator.server import EmulatorServer

    emulator, arns = _prepare()
    server = EmulatorServer(emulator, emulator.clock).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="emulator", aws_secret_access_key="emulator", region_name=REGION
        )
        clients = [
            session.client("personalize", endpoint_url=server.url, config=Config(max_pool_connections=4))
            for _ in range(threads)
        ]
        for client in clients:
            _describe_loop(client, arns, 5)
        per_thread = max(1, calls // threads)
        workers = [threading.Thread(target=_describe_loop, args=(c, arns, per_thread)) for c in clients]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - start
        total = per_thread * threads
        return HttpThroughput(total / elapsed, total, total + 5 * threads, server.connections_accepted)
    finally:
        server.stop()


def parallel_latency(clients: int = 16, latency: float = 0.2) -> float:
    """Wall seconds for `clients` concurrent describes over HTTP, each held `latency` s by injected latency:
    about one latency when the server answers in parallel, `clients` latencies when it serialises."""
    import boto3

    from reconciler.emulator.server import EmulatorServer

    emulator, arns = _prepare()
    server = EmulatorServer(emulator, emulator.clock).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="emulator", aws_secret_access_key="emulator", region_name=REGION
        )
        callers = [session.client("personalize", endpoint_url=server.url) for _ in range(clients)]
        for client in callers:
            _describe_loop(client, arns, 1)  # connect and warm up outside the measurement
        emulator.control.set_latency("DescribeDatasetGroup", latency)
        barrier = threading.Barrier(clients + 1)

        def call(client: Any) -> None:
            barrier.wait()
            _describe_loop(client, arns, 1)

        workers = [threading.Thread(target=call, args=(c,)) for c in callers]
        for worker in workers:
            worker.start()
        barrier.wait()
        start = time.perf_counter()
        for worker in workers:
            worker.join()
        return time.perf_counter() - start
    finally:
        server.stop()


def core_only(calls: int) -> float:
    emulator, arns = _prepare()
    start = time.perf_counter()
    for i in range(calls):
        emulator.handle(
            "DescribeDatasetGroup", {"datasetGroupArn": arns[i % len(arns)]}, REGION, emulator.account
        )
    return calls / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000, help="describe calls per measurement")
    args = parser.parse_args(argv)
    print(f"emulator describe_dataset_group, {args.calls} calls per measurement")
    print(f"  boto3 client, 1 thread : {single_thread(args.calls):8.0f} calls/s")
    print(f"  boto3 clients, 8 threads: {threaded(args.calls):8.0f} calls/s (total)")
    print(f"  core handle() only      : {core_only(args.calls * 5):8.0f} calls/s")
    for threads in (1, 8):
        http = over_http(args.calls, threads)
        print(
            f"  HTTP (emulator serve), {threads} thread(s): {http.calls_per_s:8.0f} calls/s, "
            f"{http.connections} connections for {http.total_calls} calls"
        )


if __name__ == "__main__":
    main()
