"""Releases: the wheel ships every file of the package, one version everywhere, pins that match the release
workflow, and a CLI whose `--help` does not import the commands.

The full install-and-run check of the wheel is `make wheel-check` (CI's wheel job, and `.ci/run`); here the
wheel is built once and its contents are checked, including that a wheel missing a file fails the check.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import reconciler
from reconciler.cli import COMMANDS, app
from tests.packaging import release_version, wheel_check

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / ".github" / "workflows" / "release.yml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    (out / "build.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    (built,) = out.glob("*.whl")
    return built


@pytest.mark.slow
def test_the_build_backend_prints_no_deprecation_warning(wheel: Path) -> None:
    """Issue 16: setuptools warned that `project.license` as a TOML table is deprecated (builds stop working
    on 2027-02-18); the SPDX expression builds without any deprecation warning."""
    log = (wheel.parent / "build.log").read_text(encoding="utf-8")
    assert "Deprecat" not in log and "deprecat" not in log, log[-2000:]


@pytest.mark.slow
def test_the_wheel_ships_every_file_of_the_package(wheel: Path) -> None:
    assert wheel.name == f"personalize_gitops-{reconciler.__version__}-py3-none-any.whl"
    assert wheel_check.missing_from_wheel(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"personalize_gitops-{reconciler.__version__}.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert f"Version: {reconciler.__version__}" in metadata


@pytest.mark.slow
def test_a_wheel_missing_a_file_fails_the_check(wheel: Path, tmp_path: Path) -> None:
    """The job fails when a file the package needs is not shipped (here: one the emulator imports)."""
    dropped = "reconciler/emulator/recipes.py"
    broken = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            if item.filename != dropped:
                target.writestr(item, source.read(item.filename))
    assert wheel_check.missing_from_wheel(broken) == [dropped]
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests/packaging/wheel_check.py"),
            "--wheel",
            str(broken),
            "--skip-install",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert dropped in result.stderr and "package-data" in result.stderr


def test_one_version_everywhere() -> None:
    version = reconciler.__version__
    assert release_version.package_version() == version
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "release versions are MAJOR.MINOR.PATCH"
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "reconciler.__version__" }' in pyproject
    assert release_version.changelog_section(version), "CHANGELOG.md needs a section for the version"
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{version}]")


def test_version_option_names_the_format_versions() -> None:
    from reconciler.model.spec import API_VERSION
    from reconciler.plan.types import FORMAT_VERSION

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"personalize-gitops {reconciler.__version__}",
        f"manifests: apiVersion {API_VERSION}",
        f"plan files and JSON plans: format_version {FORMAT_VERSION}",
    ]


def test_pinning_instructions_match_the_release_workflow() -> None:
    """README and docs/releases.md name artifacts the release workflow makes, under the tags it reacts to."""
    workflow = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    tag_patterns = workflow[True]["push"]["tags"]  # `on:` parses as True
    assert tag_patterns == ["v[0-9]+.[0-9]+.[0-9]+"]
    version = reconciler.__version__
    tag = f"v{version}"
    release_job = "\n".join(str(step.get("run", "")) for step in workflow["jobs"]["github-release"]["steps"])
    assert "gh release create" in release_job and "dist/*.whl" in release_job
    wheel_name = f"personalize_gitops-{version}-py3-none-any.whl"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    asset = f"https://github.com/personalize-gitops/personalize-gitops/releases/download/{tag}/{wheel_name}"
    assert asset in readme, "the README's install line must name the release asset of the current version"
    assert f"personalize-gitops=={version}" in readme
    assert workflow["jobs"]["pypi"]["permissions"] == {"id-token": "write"}
    assert "secrets." not in RELEASE.read_text(encoding="utf-8"), "trusted publishing only: no stored token"
    docs = (REPO / "docs" / "releases.md").read_text(encoding="utf-8")
    # the pin the docs show is the one ci-setup writes, for the current version
    from reconciler.ci.callers import CallerSettings

    written = CallerSettings(ref="<commit-sha>", version=version).uses("personalize-plan.yml")
    assert f"uses: {written}" in docs, "docs/releases.md must show the pin ci-setup writes"
    # every tag the docs name is one the release workflow reacts to
    tags = re.findall(r"`(v\d[^`]*)`", docs) + re.findall(r"refs/tags/(v[^'^]+)", docs)
    assert tag in tags
    for named in tags:
        assert re.fullmatch(r"v[0-9]+\.[0-9]+\.[0-9]+", named), named


def test_help_lists_every_command_without_importing_them() -> None:
    code = (
        "import sys; from reconciler.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pydantic', 'boto3', 'botocore', 'reconciler.manifest', 'reconciler.plan')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert "HEAVY []" in result.stdout
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_summary_is_the_commands_own_first_help_line(name: str) -> None:
    command = COMMANDS[name].load(name)
    own = " ".join((command.help or "").split("\n\n")[0].split())
    assert own == COMMANDS[name].summary


def test_release_workflow_builds_once_and_attests() -> None:
    workflow = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    builds = [
        name for name, job in jobs.items() if any("-m build" in str(s.get("run", "")) for s in job["steps"])
    ]
    assert builds == ["build"], "later jobs download the build job's artifact, they never rebuild"
    steps = jobs["github-release"]["steps"]
    attest = [s for s in steps if "attest-build-provenance" in str(s.get("uses", ""))]
    assert attest and jobs["github-release"]["permissions"]["attestations"] == "write"
    assert jobs["github-release"]["needs"] == ["build", "wheel-check"]
    assert jobs["pypi"]["if"] == "vars.PYPI_PUBLISH == 'true'"


def test_ci_runs_every_supported_python_on_linux_macos_once_and_the_wheel_job() -> None:
    """Issue 16: CI ran on Linux only, and nothing built or tested the wheel a user installs."""
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    matrix = ci["jobs"]["test"]["strategy"]["matrix"]
    linux = {(os, py) for os in matrix["os"] for py in matrix["python"]}
    extra = {(entry["os"], entry["python"]) for entry in matrix.get("include", [])}
    assert {("ubuntu-latest", py) for py in ("3.11", "3.12", "3.13")} <= linux
    assert [os for os, _ in extra if os.startswith("macos")], "macOS runs make test for one Python"
    wheel_steps = " ".join(str(step.get("run", "")) for step in ci["jobs"]["wheel"]["steps"])
    assert "make wheel-check" in wheel_steps
    assert "make wheel-check" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _tag_check_step() -> str:
    """The `run:` of the build job's step that checks the pushed tag against the sources."""
    workflow = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    (step,) = [s for s in workflow["jobs"]["build"]["steps"] if "release_version.py" in str(s.get("run", ""))]
    return str(step["run"])


def _run_tag_check(tmp_path: Path, tag: str, unreleased: str) -> subprocess.CompletedProcess[str]:
    """The release workflow's tag check, run by bash on a copy of the sources whose CHANGELOG.md has
    `unreleased` under `## [Unreleased]`."""
    root = tmp_path / "checkout"
    (root / "reconciler").mkdir(parents=True)
    (root / "tests" / "packaging").mkdir(parents=True)
    shutil.copy(REPO / "reconciler" / "__init__.py", root / "reconciler" / "__init__.py")
    shutil.copy(REPO / "tests" / "packaging" / "release_version.py", root / "tests" / "packaging")
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    start = changelog.index("## [Unreleased]")
    end = changelog.index(f"## [{reconciler.__version__}]")
    changelog = changelog[:start] + f"## [Unreleased]\n\n{unreleased}\n\n" + changelog[end:]
    (root / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    # `python` of the step is this interpreter (setup-python's in the workflow)
    env = {**os.environ, "TAG": tag, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", _tag_check_step()],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_release_refuses_a_tag_whose_commit_has_unreleased_changes(tmp_path: Path) -> None:
    """A tag `v<version>` on a commit with entries under [Unreleased] would publish those changes as that
    version (with its older notes): main said 0.2.0 while carrying format_version 3.0. Refused before the
    build; the same tag with nothing unreleased passes, and another version's tag is refused."""
    tag = f"v{reconciler.__version__}"
    refused = _run_tag_check(tmp_path / "a", tag, "### Changed\n- plan files: `format_version` 3.0")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "[Unreleased]" in refused.stdout + refused.stderr
    clean = _run_tag_check(tmp_path / "b", tag, "Nothing yet.")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    other = _run_tag_check(tmp_path / "c", "v9.9.9", "Nothing yet.")
    assert other.returncode != 0 and "does not match" in other.stdout + other.stderr


RELEASE_REQUIREMENTS = REPO / ".ci" / "release-requirements.txt"
_PIN = re.compile(
    r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n?)+)", re.MULTILINE
)


def _pins(path: Path) -> dict[str, str]:
    """name -> version of a hashed requirements file; each requirement must be `name==version` + hashes."""
    text = path.read_text(encoding="utf-8")
    pins = {name.lower().replace("_", "-"): version for name, version, _ in _PIN.findall(text)}
    requirements = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "--hash"))
    ]
    assert len(requirements) == len(pins), f"{path.name}: a requirement without exact version and hash"
    return pins


def _release_steps(job: str) -> str:
    workflow = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    return "\n".join(str(step.get("run", "")) for step in workflow["jobs"][job]["steps"])


def test_release_tools_are_pinned_with_hashes_in_the_workflow_and_the_makefile() -> None:
    """`build` and `twine` were installed as "build>=1.2,<2" "twine>=6.1,<7" and the isolated build took
    whatever setuptools was newest: now one hashed file, the same for the workflow and `make dist`."""
    pins = _pins(RELEASE_REQUIREMENTS)
    assert {"build", "twine", "setuptools"} <= set(pins)
    # what they share with the workflows' runtime pins is the same version
    runtime = _pins(REPO / ".ci" / "requirements.txt")
    assert {n: v for n, v in pins.items() if n in runtime and runtime[n] != v} == {}
    install = (
        "pip install --quiet --require-hashes --no-deps --only-binary :all: -r .ci/release-requirements.txt"
    )
    build = _release_steps("build")
    assert install in build
    assert "-m build --no-isolation --outdir dist ." in build, "the backend must be the pinned setuptools"
    workflow = RELEASE.read_text(encoding="utf-8")
    for line in workflow.splitlines():
        if "pip install" in line:
            assert "--require-hashes" in line and "-r .ci/" in line, f"unpinned install: {line.strip()}"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert install in makefile
    recipes = {
        target: makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0] for target in ("dist", "wheel-check")
    }
    for target, recipe in recipes.items():
        first, *commands = recipe.splitlines()
        assert "$(RELEASE_STAMP)" in first, f"make {target} must install the pinned tools first"
        for command in commands:
            if "python" in command:
                assert command.strip().startswith("$(RELEASE_VENV)/bin/python"), (target, command)


def test_release_checks_the_sdist_installed_on_its_own_and_one_version() -> None:
    """The sdist was built, twine-checked and published, but never installed."""
    check = _release_steps("wheel-check")
    assert "wheel_check.py --wheel dist/*.whl --sdist dist/*.tar.gz" in check
    source = (REPO / "tests" / "packaging" / "wheel_check.py").read_text(encoding="utf-8")
    assert "smoke(sdist" in source


@pytest.mark.slow
def test_an_sdist_of_another_version_fails_the_check(wheel: Path, tmp_path: Path) -> None:
    version = reconciler.__version__
    good = tmp_path / f"personalize_gitops-{version}.tar.gz"
    other = tmp_path / "other" / f"personalize_gitops-{version}.tar.gz"
    other.parent.mkdir()
    for path, said in ((good, version), (other, "9.9.9")):
        info = f"Metadata-Version: 2.4\nName: personalize-gitops\nVersion: {said}\n".encode()
        with tarfile.open(path, "w:gz") as archive:
            member = tarfile.TarInfo(f"personalize_gitops-{version}/PKG-INFO")
            member.size = len(info)
            archive.addfile(member, io.BytesIO(info))
    assert wheel_check.same_version(wheel, good) == version
    with pytest.raises(wheel_check.CheckFailed, match=r"PKG-INFO: 9\.9\.9"):
        wheel_check.same_version(wheel, other)
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests/packaging/wheel_check.py"),
            "--wheel",
            str(wheel),
            "--sdist",
            str(other),
            "--skip-install",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "must both be version" in result.stderr, result.stderr
