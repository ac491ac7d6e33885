"""The process entry (`personalize-gitops`, `python -m reconciler`): the command's exit status and output are
kept, and the interpreter's teardown is skipped only when nothing is left running (issue 15: whole plan)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from reconciler import cli

REPO = Path(__file__).resolve().parent.parent


class Exited(Exception):
    pass


def run_entry(argv: list[str]) -> tuple[Any, list[str]]:
    """`cli.entry()` with `os._exit` and the atexit run observed instead of done."""
    order: list[str] = []

    def hard_exit(code: int) -> None:
        order.append(f"_exit({code})")
        raise Exited

    with (
        mock.patch.object(sys, "argv", ["personalize-gitops", *argv]),
        mock.patch("os._exit", hard_exit),
        mock.patch("atexit._run_exitfuncs", lambda: order.append("atexit")),
    ):
        try:
            cli.entry()
        except Exited:
            return "fast", order
        except SystemExit as exc:
            return exc.code, order
    return None, order


def test_a_finished_command_runs_atexit_then_exits_fast_with_its_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_entry(["--version"]) == ("fast", ["atexit", "_exit(0)"])
    assert "personalize-gitops" in capsys.readouterr().out
    assert run_entry(["plan", "no-such-directory", "--local"]) == ("fast", ["atexit", "_exit(1)"])


def test_a_live_thread_or_a_text_status_exits_the_ordinary_way() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert run_entry(["--version"]) == (0, [])
    finally:
        stop.set()
        worker.join()
    with pytest.raises(SystemExit) as raised:
        cli.fast_exit("a message")
    assert raised.value.code == "a message"


def test_the_process_keeps_its_output_and_status_when_piped() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0 and "personalize-gitops" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "no-such-directory", "--local"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 1 and done.stderr.startswith("Error:"), done.stderr
