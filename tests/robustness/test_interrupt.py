"""Ctrl-C during `plan` stops it at once, even while its reads wait on an endpoint that does not answer.

Before, the reader's thread pool waited, on the way out, for every read in flight and every read queued:
on a slow endpoint up to botocore's read_timeout (60 s) times its retries, with no output; Ctrl-C looked
ignored (the hostile-input audit saw the process still there 45 s later)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .support import REPO


class Silent(BaseHTTPRequestHandler):
    """Answers GET with 404 (not a personalize-gitops emulator) and never answers a POST (an API call)."""

    posted = threading.Event()
    release = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # http.server's names
        self.send_error(404)

    def do_POST(self) -> None:
        Silent.posted.set()
        Silent.release.wait(120)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    Silent.posted.clear()
    Silent.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        Silent.release.set()
        server.shutdown()
        server.server_close()


def test_ctrl_c_stops_a_plan_waiting_on_a_silent_endpoint(tmp_path: Path, silent_endpoint: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = [sys.executable, "-m", "reconciler", "plan", str(REPO / "manifests")]
    command += ["--endpoint-url", silent_endpoint]
    proc = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert Silent.posted.wait(60), "plan never called the endpoint"
        time.sleep(0.5)  # every reader thread is now waiting on an answer
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        took = time.monotonic() - interrupted
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Interrupted: no plan was made" in err and "Traceback" not in err, err
    assert took < 10, f"plan took {took:.1f} s to stop after Ctrl-C"
