"""Build the release artifacts and prove the wheel works on its own (`make wheel-check`, CI's wheel job).

What a user's CI installs is the wheel, not this checkout. This script:

1. builds the sdist and the wheel (`python -m build`) into DIST and runs `twine check` on both;
2. checks that every file of the `reconciler` package in the source tree is in the wheel (a data file the
   package reads but does not ship fails here, before anyone installs it);
3. installs the wheel into a new virtual environment and, from a directory outside the checkout (so the
   repository is not on `sys.path`), runs: `personalize-gitops --version`, `validate` and `plan --local`
   on the sample manifests (plan refused by its preflight: the empty local account has no bucket), `emulator
   serve` answering one boto3 call, and the demo flow.

    python tests/packaging/wheel_check.py [--dist DIR] [--skip-install] [--wheel FILE]

`--wheel FILE` checks a given wheel instead of building one (the tests use it with a wheel that lacks a file).
Exit 0 when everything passed, 1 with a message naming the failed step otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "reconciler"


class CheckFailed(Exception):
    """A step failed; the message says which and what it printed."""


def run(cmd: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    print(f"  $ {' '.join(str(c) for c in cmd)}", flush=True)
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        printed = proc.stdout[-3000:] + proc.stderr[-3000:]
        raise CheckFailed(f"`{' '.join(str(c) for c in cmd)}` exited {proc.returncode}\n{printed}")
    return proc.stdout


def build(dist: Path) -> Path:
    """sdist + wheel into `dist` with the project's own build backend; returns the wheel."""
    if dist.exists():
        shutil.rmtree(dist)
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], cwd=REPO)
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailed(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    run([sys.executable, "-m", "twine", "check", "--strict", str(wheels[0]), str(sdists[0])], cwd=REPO)
    return wheels[0]


def package_files(root: Path = REPO) -> set[str]:
    """Every file of the package in the source tree, as wheel paths (`reconciler/emulator/x.json`)."""
    found: set[str] = set()
    for path in (root / PACKAGE).rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        found.add(path.relative_to(root).as_posix())
    return found


def missing_from_wheel(wheel: Path, root: Path = REPO) -> list[str]:
    """Files of the package that the wheel does not contain (empty when it ships everything)."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith(f"{PACKAGE}/")}
    return sorted(package_files(root) - shipped)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVE_PROBE = """
import sys, boto3
client = boto3.client("personalize", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
answer = client.list_recipes()
assert answer["recipes"], "no recipes listed"
print(f"emulator serve answered ListRecipes with {len(answer['recipes'])} recipes")
"""


def smoke(wheel: Path, work: Path) -> None:
    """Install `wheel` into a new venv and run the user-facing commands from outside the checkout."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python, tool = bindir / "python", bindir / "personalize-gitops"
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], cwd=work)
    run([python, "-m", "pip", "install", "--quiet", str(wheel)], cwd=work)
    outside = work / "user"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONSAFEPATH"] = "1"  # `python -m` must not put the current directory first on sys.path
    where = run([python, "-c", "import reconciler; print(reconciler.__file__)"], cwd=outside, env=env).strip()
    if Path(where).resolve().is_relative_to(REPO):
        raise CheckFailed(f"the installed package was imported from the checkout ({where})")
    version = run([tool, "--version"], cwd=outside, env=env)
    if "personalize-gitops" not in version or "format_version" not in version:
        raise CheckFailed(f"--version printed {version!r}")
    manifests = outside / "manifests"
    shutil.copytree(REPO / "manifests", manifests)
    run([tool, "validate", "manifests"], cwd=outside, env=env)
    # an empty local account has no bucket or import role: the plan reads it, and its preflight refuses
    plan = subprocess.run(
        [str(tool), "plan", "manifests", "--local"], cwd=outside, env=env, capture_output=True, text=True
    )
    if plan.returncode != 1 or "does not exist (NoSuchBucket)" not in plan.stdout:
        said = plan.stdout[-3000:] + plan.stderr[-3000:]
        raise CheckFailed(f"`plan --local` on an empty account exited {plan.returncode}\n{said}")
    port = _free_port()
    server = subprocess.Popen(
        [tool, "emulator", "serve", "--port", str(port)],
        cwd=outside,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    said = server.stderr.read() if server.stderr else ""
                    raise CheckFailed(f"emulator serve did not start: {said}") from exc
                time.sleep(0.2)
        print(run([python, "-c", SERVE_PROBE, f"http://127.0.0.1:{port}"], cwd=outside, env=env).strip())
    finally:
        server.terminate()
        server.wait(timeout=30)
    run(
        [python, "-m", "reconciler.demo", "--workdir", str(outside / "demo"), "--manifests", str(manifests)],
        cwd=outside,
        env=env,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--dist", type=Path, default=REPO / "dist")
    parser.add_argument("--wheel", type=Path, help="check this wheel instead of building one")
    parser.add_argument("--skip-install", action="store_true", help="only build and check the contents")
    args = parser.parse_args(argv)
    try:
        print("1. build and twine check", flush=True)
        wheel = args.wheel.resolve() if args.wheel else build(args.dist.resolve())
        print(f"2. contents of {wheel.name}", flush=True)
        missing = missing_from_wheel(wheel)
        if missing:
            raise CheckFailed(
                f"{len(missing)} file(s) of the package are not in the wheel: {', '.join(missing[:10])} "
                "(add them to [tool.setuptools.package-data] in pyproject.toml)"
            )
        if not args.skip_install:
            print("3. install into a new venv and run from outside the checkout", flush=True)
            with tempfile.TemporaryDirectory(prefix="wheel-check-") as tmp:
                smoke(wheel, Path(tmp))
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"wheel check FAILED: {exc}", file=sys.stderr)
        return 1
    print("wheel check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
