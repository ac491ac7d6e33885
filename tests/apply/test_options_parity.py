"""Issue 11, finding 2: one set of options. Every option that changes what is planned is accepted by `plan`
and `apply` with the same meaning: `apply OPTS` plans exactly what `plan OPTS --out F` + `apply F` runs (same
plan shown, same exit code, same account afterwards). Through the CLI on the embedded emulator (--local)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apply_support import write_mini
from typer.testing import CliRunner

from reconciler.aws.target import open_target
from reconciler.cli import app
from reconciler.demo import seed_local_account
from reconciler.manifest import load
from reconciler.plan import planfile
from reconciler.render.text import render_text

FAST = ["--local", "--time-scale", "1000000"]
STATE = Path(".personalize-gitops") / "emulator-state.json"


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def account(cwd: Path) -> dict[str, object]:
    with open_target(local=True, endpoint_url=None, region="us-east-1", state_path=cwd / STATE) as target:
        pz = target.personalize
        return {
            "filters": sorted(f["name"] for f in pz.list_filters()["Filters"]),
            "versions": len(pz.list_solution_versions()["solutionVersions"]),
            "serving": sorted(c["name"] for c in pz.list_campaigns()["campaigns"]),
        }


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini stack applied on the local emulator, then its filter removed from the manifests."""
    root = tmp_path_factory.mktemp("parity")
    write_mini(root)
    seed_local_account(root, root / "data", load(root / "mini"))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("AWS_PROFILE", raising=False)
        code, output = cli("apply", "mini", "--auto-approve", *FAST)
        assert code == 0, output
    write_mini(root, filter_expression=None)
    return root


CASES = {
    "no options": ([], {}),
    "prune": (["--prune"], {}),
    "no-prune": (["--no-prune"], {}),
    "retrain": (["--retrain", "sims"], {}),
    "allow-data-loss": (["--prune", "--allow-data-loss"], {}),
    "price overrides": (["--retrain", "sims"], {"PERSONALIZE_GITOPS_PRICES": '{"training_hour_usd": 9.5}'}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_apply_opts_plans_what_plan_opts_then_apply_planfile_runs(
    applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    opts, env = CASES[case]
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("PERSONALIZE_GITOPS_PRICES", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    direct, saved = tmp_path / "direct", tmp_path / "saved"
    shutil.copytree(applied, direct)
    shutil.copytree(applied, saved)

    monkeypatch.chdir(saved)
    code, output = cli("plan", "mini", "--out", "plan.json", "--no-color", *opts, *FAST[:1])
    assert code == 0, output
    reviewed = planfile.load("plan.json")
    monkeypatch.delenv("PERSONALIZE_GITOPS_PRICES", raising=False)  # the plan file carries its prices
    saved_code, saved_output = cli("apply", "plan.json", "--manifests", "mini", "--auto-approve", *FAST)

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(direct)
    direct_code, direct_output = cli("apply", "mini", "--auto-approve", *opts, *FAST)

    shown = render_text(reviewed, colour=False)
    assert shown in saved_output, saved_output
    assert shown in direct_output, f"apply {' '.join(opts)} planned something else:\n{direct_output}"
    assert (direct_code, saved_code) == (0, 0), direct_output + saved_output
    assert account(direct) == account(saved)


def test_options_that_change_the_plan_do_change_it(applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(applied)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _, kept = cli("plan", "mini", "--no-color", "--local")
    _, pruned = cli("plan", "mini", "--no-color", "--local", "--prune")
    assert "kept because prune is off" in kept and "No changes to apply" in kept
    assert "1 to delete" in pruned


def test_a_saved_plan_refuses_options_of_its_own(applied: Path, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "w"
    shutil.copytree(applied, work)
    monkeypatch.chdir(work)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert cli("plan", "mini", "--out", "plan.json", "--local")[0] == 0
    code, output = cli("apply", "plan.json", "--manifests", "mini", "--auto-approve", "--prune", *FAST)
    assert code == 1
    assert "--prune: a saved plan is applied with the options it was made with" in output
    assert "Traceback" not in output
