"""Uploading a `dataImport.localFile` (issue 11, finding 9): a 100 MB file is hashed (SHA-256, streamed) while
it is copied to a private temporary file (`s3data.snapshot`, as apply does), and the copy is uploaded with the
transfer manager (multipart, SHA-256 checksums) without ever being held in memory.

The fake S3 (moto's server) runs in its own process, so the measured process holds only the reconciler's
side: its peak resident memory during hash + upload, minus the peak before, is what the upload costs.

Run: `.venv/bin/python -m benchmarks.bench_upload`
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, chosen_row, info_row

REPO = Path(__file__).resolve().parents[1]
FILE_MB = 100
#: no number in the issue ("never hold a file twice in memory"): the upload may add at most a quarter of the
#: file to the peak memory (parts in flight), i.e. the file is never held even once
MAX_FRACTION = 0.25

_SERVER = (
    "from moto.server import ThreadedMotoServer; import sys, time; ThreadedMotoServer(port=int(sys.argv[1]), \
verbose=False).start(); time.sleep(3600)"
)

_PROBE = """
import json, os, resource, sys, time
from pathlib import Path
import boto3
from reconciler import s3data
from benchmarks.procmem import peak_rss_kb as peak_kb
path, url = Path(sys.argv[1]), sys.argv[2]
s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
s3.create_bucket(Bucket="bench-upload")
s3.put_object(Bucket="bench-upload", Key="warm-up", Body=b"x")

before = peak_kb()
start = time.perf_counter()
copy, sha256 = s3data.snapshot(path)  # what apply uploads: a private copy made while hashing (one read)
hashed = peak_kb()
etag = s3data.upload_file(s3, copy, "bench-upload", "data.csv", sha256)
copy.unlink()
wall = time.perf_counter() - start
peak = peak_kb()
print(json.dumps({"before_mb": before / 1024, "hash_mb": (hashed - before) / 1024,
                  "upload_mb": (peak - before) / 1024, "etag": etag, "wall": wall}))
"""

add_notes(
    "upload: benchmarks/bench_upload.py writes a file of random bytes, then in a fresh process hashes it "
    "while copying it to a private temporary file (reconciler.s3data.snapshot, as apply does) and uploads "
    "the copy (s3data.upload_file: boto3 transfer manager, 16 MiB parts, 4 at once, SHA-256 checksums) to "
    "moto's S3 server running in another process; the figure is "
    "that process's peak RSS during hash + upload minus its peak before."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(size_mb: int = FILE_MB) -> dict[str, float | str]:
    port = _free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "interactions.csv"
            with path.open("wb") as handle:
                for _ in range(size_mb):
                    handle.write(os.urandom(1024 * 1024))
            done = subprocess.run(
                [sys.executable, "-c", _PROBE, str(path), f"http://127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
                env=env,
            )
        result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
        result["file_mb"] = float(size_mb)
        return result
    finally:
        server.kill()
        server.wait()


def figures(result: dict[str, float | str]) -> list[Figure]:
    size = float(result["file_mb"])
    added = float(result["upload_mb"])
    fraction = added / size
    parts = str(result["etag"]).rpartition("-")[2] if "-" in str(result["etag"]) else "1"
    return [
        chosen_row(
            "upload",
            f"{size:.0f} MB localFile: peak memory added by hash + upload",
            f"{added:.1f} MB ({fraction:.2f}x the file)",
            f"<= {MAX_FRACTION:.2f}x the file",
            fraction <= MAX_FRACTION,
            "never held in memory, not even once",
            tried="" if fraction <= MAX_FRACTION else "smaller parts / fewer parts in flight",
        ),
        info_row(
            "upload",
            f"{size:.0f} MB localFile: hash + upload wall (moto server, loopback)",
            f"{float(result['wall']):.1f} s, {parts} parts, hash added {float(result['hash_mb']):.1f} MB",
        ),
    ]


@section("upload", order=60)
def upload_section(args: argparse.Namespace) -> list[Figure]:
    return figures(measure(20 if getattr(args, "quick", False) else FILE_MB))


def main() -> None:
    result = measure()
    for figure in figures(result):
        print(f"{figure.status:5} {figure.area}: {figure.name}: {figure.value} (target {figure.target})")


if __name__ == "__main__":
    main()
