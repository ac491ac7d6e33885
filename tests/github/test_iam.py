"""iam-policy and ci-setup: least-privilege policies scoped to the stack, OIDC trust for the two roles."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import botocore.session
import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.commands import iam_cmd
from reconciler.manifest import load

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
PROD = MANIFESTS / "prod.stack.yaml"
# IAM's `personalize:` prefix covers the control plane and the read-only runtime (`verify` calls it)
PERSONALIZE_OPS = set(botocore.session.get_session().get_service_model("personalize").operation_names) | set(
    botocore.session.get_session().get_service_model("personalize-runtime").operation_names
)
runner = CliRunner()


def _statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def _actions(policy: dict) -> set[str]:
    found: set[str] = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found


def _resources(statement: dict) -> list[str]:
    res = statement["Resource"]
    return [res] if isinstance(res, str) else res


@pytest.mark.parametrize("role", ["plan", "apply"])
def test_every_personalize_action_is_a_real_operation(role: str) -> None:
    policy = iam_cmd.iam_policy(load(MANIFESTS), role)
    personalize = {a.split(":", 1)[1] for a in _actions(policy) if a.startswith("personalize:")}
    assert personalize, "no Personalize action at all"
    for action in personalize:  # a wildcard must stand for real operations only
        assert fnmatch.filter(sorted(PERSONALIZE_OPS), action), action
    assert set(fnmatch.filter(sorted(PERSONALIZE_OPS), "Get*")) == {
        "GetSolutionMetrics",
        "GetRecommendations",
        "GetPersonalizedRanking",
        "GetActionRecommendations",
    }  # `Get*` grants exactly the read-only metrics and runtime requests


def test_both_roles_may_ask_the_stacks_campaigns_for_recommendations() -> None:
    for role in ("plan", "apply"):
        policy = iam_cmd.iam_policy(load(MANIFESTS), role)
        verify = [s for s in policy["Statement"] if "personalize:Get*" in s["Action"]]
        assert len(verify) == 1, role
        assert any(":campaign/" in r for r in verify[0]["Resource"])
        assert any(":filter/" in r for r in verify[0]["Resource"])


def test_plan_role_is_read_only() -> None:
    policy = iam_cmd.iam_policy(load(MANIFESTS), "plan")
    writes = {
        a
        for a in _actions(policy)
        if a.split(":", 1)[1].startswith(
            ("Create", "Update", "Delete", "Tag", "Untag", "Start", "Stop", "Put")
        )
        or a == "iam:PassRole"
    }
    assert writes == set()
    assert _actions(policy) >= {
        "personalize:DescribeCampaign",
        "personalize:Get*",  # GetSolutionMetrics and the read-only runtime requests of `verify`
        "s3:ListBucket",
    }
    # no data access: object metadata comes from ListObjectsV2 (s3:ListBucket limited to the data keys)
    assert "s3:GetObject" not in _actions(policy)
    listing = [s for s in policy["Statement"] if s["Sid"].startswith("ListDataLocations")]
    assert listing and all(s["Condition"]["StringLike"]["s3:prefix"] for s in listing)


def test_apply_role_scoped_to_the_stack_prefix_account_and_region() -> None:
    policy = iam_cmd.iam_policy(load(MANIFESTS, stack_file=PROD), "apply")
    statements = _statements(policy)
    write = statements["PersonalizeWriteStackResources"]
    assert "personalize:CreateSolutionVersion" in write["Action"]
    for arn in _resources(write):
        assert arn.startswith("arn:aws:personalize:us-east-1:123456789012:"), arn
        assert ":campaign/prod-" in arn or "/prod-" in arn, arn
    # the only unscoped Personalize statement is the List one, and it has no write action
    unscoped = [s for s in policy["Statement"] if "*" in _resources(s)]
    assert [s["Sid"] for s in unscoped] == ["PersonalizeListNotScopableByName"]
    assert all(a.startswith("personalize:List") for a in unscoped[0]["Action"])


def test_apply_role_passes_only_manifest_roles_to_personalize() -> None:
    statement = _statements(iam_cmd.iam_policy(load(MANIFESTS), "apply"))["PassManifestRolesToPersonalize"]
    assert _resources(statement) == ["arn:aws:iam::123456789012:role/PersonalizeS3"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "personalize.amazonaws.com"}}


def test_lock_outputs_and_data_locations() -> None:
    desired = load(MANIFESTS, stack_file=PROD)
    statements = _statements(iam_cmd.iam_policy(desired, "apply"))
    lock = statements["StackApplyLock"]
    assert _resources(lock) == [
        "arn:aws:ssm:us-east-1:123456789012:parameter/personalize-gitops/locks/retail-prod",
        "arn:aws:ssm:us-east-1:123456789012:parameter/personalize-gitops/locks/retail-prod/*",
    ]
    assert set(lock["Action"]) == {"ssm:GetParametersByPath", "ssm:PutParameter", "ssm:DeleteParameters"}
    assert _resources(statements["StackOutputsParameters"]) == [
        "arn:aws:ssm:us-east-1:123456789012:parameter/retail/personalize/*"
    ]
    bucket = "123456789012-us-east-1-personalize-immersionday-retail-prod"
    # localFile is set for every sample dataset: apply reads (compares) and uploads exactly those objects
    data = statements["ReadAndUploadDataFiles"]
    assert data["Action"] == ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    assert _resources(data) == [
        f"arn:aws:s3:::{bucket}/{name}" for name in ("interactions.csv", "items.csv", "users.csv")
    ]
    listing = next(s for sid, s in statements.items() if sid.startswith("ListDataLocations"))
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["interactions.csv", "items.csv", "users.csv"]
    # the plan role has no lock/outputs/upload statements
    plan = _statements(iam_cmd.iam_policy(desired, "plan"))
    assert not {"StackApplyLock", "StackOutputsParameters", "ReadAndUploadDataFiles"} & set(plan)


def test_the_plan_role_may_list_the_prefix_a_buckets_data_locations_share() -> None:
    """plan reads a bucket's data locations with one listing of the prefix they share (issue 15): the plan
    role's ListBucket grant names that prefix exactly, next to each key, and nothing wider."""
    from tests.live.test_account_wide import stack_state

    plan = _statements(iam_cmd.iam_policy(stack_state("shop", "shop-", 12), "plan"))
    listing = next(s for sid, s in plan.items() if sid.startswith("ListDataLocations"))
    prefixes = listing["Condition"]["StringLike"]["s3:prefix"]
    assert "g" in prefixes  # g0/interactions.csv ... g11/interactions.csv share "g"
    assert sorted(p for p in prefixes if p != "g") == sorted(f"g{i}/interactions.csv" for i in range(12))


def test_no_prefix_scopes_each_resource_by_name(tmp_path: Path) -> None:
    stack = tmp_path / "noprefix.stack.yaml"
    text = (
        PROD.read_text()
        .replace("namePrefix: prod-", 'namePrefix: ""')
        .replace("- retail/", f"- {MANIFESTS}/retail/")
    )
    stack.write_text(text)
    desired = load(MANIFESTS, stack_file=stack)
    write = _statements(iam_cmd.iam_policy(desired, "apply"))["PersonalizeWriteStackResources"]
    campaigns = sorted(a for a in _resources(write) if ":campaign/" in a)
    expected = sorted(
        f"{r.physical_name}*" for r in desired.resources.values() if r.address.kind.value == "Campaign"
    )
    assert [a.rsplit("/", 1)[1] for a in campaigns] == expected
    assert any(
        "namePrefix" in w for w in iam_cmd.policy_warnings(desired, iam_cmd.iam_policy(desired, "apply"))
    )


def test_policy_fits_a_managed_policy_for_the_samples() -> None:
    desired = load(MANIFESTS)
    assert iam_cmd.policy_size(iam_cmd.iam_policy(desired, "apply")) < iam_cmd.MANAGED_POLICY_LIMIT


def test_iam_policy_cli_prints_json_and_rejects_unknown_role() -> None:
    result = runner.invoke(app, ["iam-policy", "--role", "plan", str(MANIFESTS)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["Version"] == "2012-10-17"
    bad = runner.invoke(app, ["iam-policy", "--role", "admin", str(MANIFESTS)])
    assert bad.exit_code == 1
    assert "--role must be plan or apply" in bad.stderr
    assert "Traceback" not in bad.output


def test_iam_policy_cli_reports_manifest_errors_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Campaign\nmetadata: {}\n"
    )
    result = runner.invoke(app, ["iam-policy", "--role", "apply", str(tmp_path)])
    assert result.exit_code == 1
    assert "broken.yaml" in result.stderr
    assert "Traceback" not in result.output


# --- trust policies ----------------------------------------------------------------------------------


def _trust_condition(policy: dict) -> dict:
    statement = policy["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "ForAllValues" not in json.dumps(policy)
    return statement["Condition"]["StringEquals"]


def test_trust_policies_split_plan_and_apply_subjects() -> None:
    prefix = iam_cmd.subject_prefix("acme/recs")
    plan = _trust_condition(iam_cmd.trust_policy("111122223333", iam_cmd.plan_subjects(prefix)))
    apply = _trust_condition(iam_cmd.trust_policy("111122223333", iam_cmd.apply_subjects(prefix)))
    assert plan["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert plan["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/recs:pull_request",
        "repo:acme/recs:ref:refs/heads/main",
    ]
    assert apply["token.actions.githubusercontent.com:sub"] == "repo:acme/recs:environment:production"


def test_immutable_subjects_and_bad_repo() -> None:
    assert iam_cmd.subject_prefix("acme/recs", org_id=12, repo_id=34) == "repo:acme@12/recs@34"
    with pytest.raises(iam_cmd.ReconcilerError, match="OWNER/NAME"):
        iam_cmd.subject_prefix("not a repo")
    with pytest.raises(iam_cmd.ReconcilerError, match="go together"):
        iam_cmd.subject_prefix("acme/recs", org_id=12)


REF = "0123456789abcdef0123456789abcdef01234567"


def _ci_setup(tmp_path: Path, *extra: str) -> object:
    return runner.invoke(
        app,
        [
            "ci-setup",
            "--repo",
            "acme/recs",
            "--ref",
            REF,
            str(MANIFESTS),
            "--stacks-dir",
            str(tmp_path / "stacks"),
            "--out-dir",
            str(tmp_path / "iam"),
            "--workflows-dir",
            str(tmp_path / "wf"),
            *extra,
        ],
    )


def test_ci_setup_writes_roles_for_every_stack_and_three_callers(tmp_path: Path) -> None:
    result = _ci_setup(tmp_path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "iam"
    assert sorted(p.name for p in out.iterdir()) == ["retail-dev", "retail-prod"]  # one file set per stack
    for stack in ("retail-dev", "retail-prod"):
        assert sorted(p.name for p in (out / stack).iterdir()) == [
            "apply-policy.json",
            "apply-trust.json",
            "plan-policy.json",
            "plan-trust.json",
        ]
        apply_trust = json.loads((out / stack / "apply-trust.json").read_text())
        # one environment per stack: the dev job cannot assume prod's apply role
        assert (
            _trust_condition(apply_trust)["token.actions.githubusercontent.com:sub"]
            == f"repo:acme/recs:environment:production-{stack}"
        )
        assert f"role-name personalize-gitops-apply-{stack}" in result.stdout
        assert f"repos/acme/recs/environments/production-{stack}" in result.stdout
    prod_policy = json.loads((out / "retail-prod" / "apply-policy.json").read_text())
    assert "prod-" in json.dumps(
        prod_policy
    ) and "parameter/personalize-gitops/locks/retail-prod" in json.dumps(prod_policy)
    assert sorted(p.name for p in (tmp_path / "wf").iterdir()) == [
        "personalize-gitops-apply.yml",
        "personalize-gitops-drift.yml",
        "personalize-gitops-plan.yml",
    ]
    for caller in (tmp_path / "wf").iterdir():
        assert f"@{REF} # personalize-gitops " in caller.read_text()


def test_ci_setup_reruns_are_idempotent_and_foreign_workflows_are_kept(tmp_path: Path) -> None:
    assert _ci_setup(tmp_path).exit_code == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = _ci_setup(tmp_path)
    assert again.exit_code == 0, again.output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert "(unchanged)" in again.stdout and "(created)" not in again.stdout
    foreign = tmp_path / "wf" / "personalize-gitops-plan.yml"
    foreign.write_text("name: mine\n")
    refused = _ci_setup(tmp_path)
    assert refused.exit_code == 1
    assert "not written by ci-setup" in refused.stderr and "Traceback" not in refused.output
    assert foreign.read_text() == "name: mine\n"


def test_plan_trust_allows_pull_requests_main_and_the_merge_queue_only(tmp_path: Path) -> None:
    assert _ci_setup(tmp_path).exit_code == 0
    plan = json.loads((tmp_path / "iam" / "retail-dev" / "plan-trust.json").read_text())
    exact, queue = plan["Statement"]
    assert exact["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/recs:pull_request",
        "repo:acme/recs:ref:refs/heads/main",
    ]
    assert queue["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": "repo:acme/recs:ref:refs/heads/gh-readonly-queue/main/*"
    }
    assert queue["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
    }
    assert "ForAllValues" not in json.dumps(plan)


def test_ci_setup_needs_a_commit_to_pin(tmp_path: Path) -> None:
    result = _ci_setup(tmp_path, "--ref", "v0.1.0")
    assert result.exit_code == 1
    assert "full commit SHA" in result.stderr and "Traceback" not in result.output


def test_ci_setup_needs_an_account(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "dg.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: DatasetGroup\nmetadata: {name: shop}\nspec: {}\n"
    )
    result = runner.invoke(
        app,
        [
            "ci-setup",
            "--repo",
            "acme/recs",
            "--ref",
            REF,
            str(tmp_path / "m"),
            "--stacks-dir",
            str(tmp_path / "s"),
            "--out-dir",
            str(tmp_path / "iam"),
            "--workflows-dir",
            str(tmp_path / "wf"),
        ],
    )
    assert result.exit_code == 1
    assert "--account-id" in result.stderr


def test_ci_setup_immutable_subjects(tmp_path: Path) -> None:
    result = _ci_setup(tmp_path, "--org-id", "12", "--repo-id", "34")
    assert result.exit_code == 0, result.output
    trust = json.loads((tmp_path / "iam" / "retail-prod" / "apply-trust.json").read_text())
    assert (
        _trust_condition(trust)["token.actions.githubusercontent.com:sub"]
        == "repo:acme@12/recs@34:environment:production-retail-prod"
    )
    assert "--org-id" not in result.stdout.split("caller workflows")[-1]
