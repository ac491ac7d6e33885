"""`make demo` building blocks: the data-pipeline step, the work directory, the advice it prints."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from reconciler import demo
from reconciler.aws.target import DEFAULT_LOCAL_STATE, open_target
from reconciler.cli import app
from reconciler.manifest import load

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "123456789012-us-east-1-personalize-immersionday-retail"


def test_data_locations_of_the_sample_stack() -> None:
    locations = demo.data_locations(load(ROOT / "manifests"))
    assert sorted(locations) == [
        (BUCKET, f"{name}.csv", f"{name}.csv", "arn:aws:iam::123456789012:role/PersonalizeS3")
        for name in ("interactions", "items", "users")
    ]


def test_seed_local_account_creates_bucket_role_and_objects_that_persist(tmp_path: Path) -> None:
    data = tmp_path / "data"
    written = demo.generate_sample_data(data, seed=0)
    desired = load(ROOT / "manifests")
    lines = demo.seed_local_account(tmp_path, data, desired)
    assert lines[0] == f"bucket  s3://{BUCKET}"
    assert sum(line.startswith("upload") for line in lines) == 3
    again = demo.seed_local_account(tmp_path, data, desired)  # idempotent: bucket and role kept
    assert again == lines
    state = tmp_path / DEFAULT_LOCAL_STATE
    with open_target(local=True, endpoint_url=None, region="us-east-1", state_path=state) as target:
        body = target.s3.get_object(Bucket=BUCKET, Key="items.csv")["Body"].read()
        assert body == written["items"].read_bytes()
        role = target.iam.get_role(RoleName="PersonalizeS3")["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        assert trust["Statement"][0]["Principal"] == {"Service": "personalize.amazonaws.com"}
        # the workshop's bucket policy: the Personalize service principal may read the data
        policy = json.loads(target.s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        statement = policy["Statement"][0]
        assert statement["Principal"] == {"Service": "personalize.amazonaws.com"}
        assert {"s3:GetObject", "s3:ListBucket"} <= set(statement["Action"])


def test_prepare_workdir_starts_from_an_empty_account_unless_kept(tmp_path: Path) -> None:
    state = tmp_path / DEFAULT_LOCAL_STATE
    state.parent.mkdir(parents=True)
    state.write_text("{}")
    demo.prepare_workdir(tmp_path, keep=True)
    assert state.exists() and (tmp_path / "manifests" / "stack.yaml").is_file()
    demo.prepare_workdir(tmp_path, keep=False)
    assert not state.exists()


def test_pr_example_edits_still_apply_to_the_sample_manifests() -> None:
    for name, old, _new in demo.PR_EXAMPLE_EDITS:
        assert old in (ROOT / "manifests" / name).read_text(), name


def _command(path: list[str]) -> Any:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.get_command(None, name)
        assert command is not None, f"no command {' '.join(path)}"
    return command


def _advice_commands() -> list[str]:
    found = []
    for line in demo.real_account_help().splitlines():
        quoted = re.findall(r"`(personalize-gitops [^`]*)`", line)
        if quoted:
            found += quoted
        elif line.strip().startswith("personalize-gitops "):
            found.append(line.split("#")[0].replace("&", ""))
    return found


@pytest.mark.parametrize("line", _advice_commands())
def test_advice_uses_only_existing_commands_and_flags(line: str) -> None:
    argv = shlex.split(line)
    argv = argv[argv.index("personalize-gitops") + 1 :]
    words = [a for a in argv if not a.startswith("-")]
    path = words[:2] if words[0] == "emulator" else words[:1]
    command = _command(path)
    options = {opt for p in command.params if p.param_type_name == "option" for opt in p.opts}
    for flag in (a for a in argv if a.startswith("--")):
        assert flag in options, f"{line!r}: {flag} does not exist"


def test_the_default_work_directory_is_demo_out_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--help` says "default: ./demo-out": from an installed wheel the demo must not write into the
    directory that holds the package (site-packages)."""
    seen: list[Path] = []
    monkeypatch.setattr(demo, "run_demo", lambda workdir, **_: seen.append(workdir))
    monkeypatch.chdir(tmp_path)
    assert demo.main([]) == 0
    assert seen[0].resolve() == tmp_path / "demo-out"
