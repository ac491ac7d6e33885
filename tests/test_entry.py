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


# --- the start-up GC pause (heap.pause / heap.resume) --------------------------------------------------


def test_the_start_up_gc_pause_ends_in_a_resuming_callback_and_after_a_command_less_run() -> None:
    """`entry` pauses the cyclic collector for the start-up imports; a command callback resumes it before
    doing anything (no command runs long without collections); `--version` (no callback) resumes it too."""
    import gc

    from reconciler import heap

    seen: list[bool] = []
    assert gc.isenabled()
    heap.pause()
    try:
        assert not gc.isenabled()
        heap.resuming(lambda: seen.append(gc.isenabled()))()
        assert seen == [True]
    finally:
        gc.enable()
    assert run_entry(["--version"]) == ("fast", ["atexit", "_exit(0)"])
    assert gc.isenabled()


def test_every_command_and_subcommand_callback_resumes_the_collector_first() -> None:
    def callbacks(command: Any) -> list[Any]:
        found = [command.callback] if command.callback is not None else []
        for sub in getattr(command, "commands", {}).values():
            found += callbacks(sub)
        return found

    for name, lazy in cli.COMMANDS.items():
        found = callbacks(lazy.load(name))
        assert found, name
        assert all(hasattr(callback, "__wrapped__") for callback in found), name


def test_a_command_process_does_its_work_with_the_collector_on() -> None:
    """A real `personalize-gitops validate` process: paused at start, on while the command works."""
    script = (
        "import gc, sys\n"
        "from reconciler import cli\n"
        "from reconciler.commands import validate_cmd\n"
        "real = validate_cmd.validate\n"
        "def observed(*args, **kwargs):\n"
        "    print('collector on while validating:', gc.isenabled())\n"
        "    return real(*args, **kwargs)\n"
        "validate_cmd.validate = observed\n"
        "print('collector on at start:', gc.isenabled())\n"
        "sys.argv = ['personalize-gitops', 'validate', sys.argv[1]]\n"
        "cli.entry()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "manifests")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "collector on at start: True" in done.stdout
    assert "collector on while validating: True" in done.stdout
