"""Build the release artifacts and prove the wheel and the sdist work on their own (`make wheel-check`, the
release workflow's check job).

What users install is the wheel or the sdist (`pip --no-binary`, packagers), never this checkout. This script:

1. builds the sdist and the wheel (`python -m build --no-isolation`: the backend is the pinned setuptools of
   .ci/release-requirements.txt, like the release workflow) into DIST and runs `twine check` on both;
2. checks that every file of the `reconciler` package in the source tree is in the wheel (a data file the
   package reads but does not ship fails here, before anyone installs it), and that the wheel and the sdist
   are one version: their file names, their metadata (`Version:`) and `reconciler.__version__` agree;
3. installs the wheel into a new virtual environment and, from a directory outside the checkout (so the
   repository is not on `sys.path`), runs: `personalize-gitops --version` (it must name that version),
   `validate` and `plan --local` on the sample manifests (plan refused by its preflight: the empty local
   account has no bucket), `emulator serve` answering one boto3 call, and the demo flow;
4. installs the sdist into another new virtual environment (pip builds it the way a user's pip does) and runs
   the same commands.

    python tests/packaging/wheel_check.py [--dist DIR] [--skip-install] [--wheel FILE --sdist FILE]

`--wheel FILE` / `--sdist FILE` check given files instead of building them (the release workflow checks the
ones it built; the tests use a wheel that lacks a file, or an sdist of another version).
Exit 0 when everything passed, 1 with a message naming the failed step otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
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


def build(dist: Path) -> tuple[Path, Path]:
    """sdist + wheel into `dist` with the build backend installed beside `build`; returns (wheel, sdist)."""
    if dist.exists():
        shutil.rmtree(dist)
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], cwd=REPO)
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailed(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    run([sys.executable, "-m", "twine", "check", "--strict", str(wheels[0]), str(sdists[0])], cwd=REPO)
    return wheels[0], sdists[0]


def source_version(root: Path = REPO) -> str:
    """`__version__` of reconciler/__init__.py, read without importing it."""
    text = (root / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise CheckFailed(f"no __version__ in {root / PACKAGE / '__init__.py'}")
    return match.group(1)


def _metadata_version(text: str, where: str) -> str:
    match = re.search(r"^Version: (\S+)$", text, re.MULTILINE)
    if not match:
        raise CheckFailed(f"{where} has no Version: line")
    return match.group(1)


def wheel_version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise CheckFailed(f"{wheel.name}: expected one .dist-info/METADATA, found {names}")
        return _metadata_version(archive.read(names[0]).decode("utf-8"), f"{wheel.name}:{names[0]}")


def sdist_version(sdist: Path) -> str:
    with tarfile.open(sdist, "r:gz") as archive:
        names = [n for n in archive.getnames() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
        if len(names) != 1:
            raise CheckFailed(f"{sdist.name}: expected one top-level PKG-INFO, found {names}")
        member = archive.extractfile(names[0])
        assert member is not None
        return _metadata_version(member.read().decode("utf-8"), f"{sdist.name}:{names[0]}")


def same_version(wheel: Path, sdist: Path, root: Path = REPO) -> str:
    """The one version of both distributions: file names, metadata and the source agree, else CheckFailed."""
    expected = source_version(root)
    found = {
        f"wheel file name {wheel.name}": wheel.name.split("-")[1] if wheel.name.count("-") >= 4 else "?",
        f"sdist file name {sdist.name}": sdist.name.removesuffix(".tar.gz").rpartition("-")[2],
        f"{wheel.name} METADATA": wheel_version(wheel),
        f"{sdist.name} PKG-INFO": sdist_version(sdist),
    }
    wrong = [f"{where}: {version}" for where, version in found.items() if version != expected]
    if wrong:
        raise CheckFailed(
            f"the wheel and the sdist must both be version {expected} (reconciler/__init__.py), but "
            + "; ".join(wrong)
            + " (build both from this checkout: make dist)"
        )
    return expected


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


def smoke(distribution: Path, work: Path, version: str | None = None) -> None:
    """Install `distribution` (a wheel or an sdist) into a new venv and run the user-facing commands from
    outside the checkout; `--version` must name `version` when given."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python, tool = bindir / "python", bindir / "personalize-gitops"
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], cwd=work)
    run([python, "-m", "pip", "install", "--quiet", str(distribution)], cwd=work)
    outside = work / "user"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONSAFEPATH"] = "1"  # `python -m` must not put the current directory first on sys.path
    where = run([python, "-c", "import reconciler; print(reconciler.__file__)"], cwd=outside, env=env).strip()
    if Path(where).resolve().is_relative_to(REPO):
        raise CheckFailed(f"the installed package was imported from the checkout ({where})")
    printed = run([tool, "--version"], cwd=outside, env=env)
    if "personalize-gitops" not in printed or "format_version" not in printed:
        raise CheckFailed(f"--version printed {printed!r}")
    if version is not None and printed.splitlines()[0] != f"personalize-gitops {version}":
        raise CheckFailed(f"{distribution.name} installed, but --version printed {printed!r}, not {version}")
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
    parser.add_argument("--sdist", type=Path, help="check this sdist too (with --wheel)")
    parser.add_argument("--skip-install", action="store_true", help="only build and check the contents")
    args = parser.parse_args(argv)
    if args.sdist and not args.wheel:
        parser.error("--sdist needs --wheel (both come from one build)")
    try:
        print("1. build and twine check", flush=True)
        if args.wheel:
            wheel, sdist = args.wheel.resolve(), args.sdist.resolve() if args.sdist else None
        else:
            wheel, sdist = build(args.dist.resolve())
        print(
            f"2. contents of {wheel.name}" + (f", one version with {sdist.name}" if sdist else ""), flush=True
        )
        missing = missing_from_wheel(wheel)
        if missing:
            raise CheckFailed(
                f"{len(missing)} file(s) of the package are not in the wheel: {', '.join(missing[:10])} "
                "(add them to [tool.setuptools.package-data] in pyproject.toml)"
            )
        version = same_version(wheel, sdist) if sdist else None
        if not args.skip_install:
            print("3. install the wheel into a new venv and run from outside the checkout", flush=True)
            with tempfile.TemporaryDirectory(prefix="wheel-check-") as tmp:
                smoke(wheel, Path(tmp), version)
            if sdist:
                print("4. install the sdist into a new venv and run from outside the checkout", flush=True)
                with tempfile.TemporaryDirectory(prefix="sdist-check-") as tmp:
                    smoke(sdist, Path(tmp), version)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"wheel check FAILED: {exc}", file=sys.stderr)
        return 1
    print("wheel and sdist check passed" if sdist else "wheel check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
