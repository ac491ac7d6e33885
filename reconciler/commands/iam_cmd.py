"""`iam-policy` and `ci-setup`: least-privilege IAM for the two CI roles, and their GitHub OIDC trust.

Two roles, two trust boundaries (docs/github-setup.md):

* the **plan** role is read-only. Pull requests (whose author controls what the plan job runs) and the
  scheduled drift check on main assume it;
* the **apply** role can change the stack's resources. Only jobs in the protected GitHub environment
  (`environment: production`) can assume it.

Personalize ARNs carry the resource name (`campaign/NAME`), and names are the stack's `namePrefix` plus the
logical name, so write and describe permissions are scoped by name. A trailing `*` keeps covering what the
tool derives from a name: solution versions (`solution/NAME/ID`), replacement resources created before the
old one is deleted, import job names. List operations and event trackers (whose ARN holds a generated id)
cannot be scoped by name; the generated policy says so in its `Sid`s.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import typer

from reconciler.ci.callers import DEFAULT_WORKFLOWS_REPO
from reconciler.errors import ReconcilerError
from reconciler.model.address import Kind
from reconciler.model.spec import DatasetGroupSpec, DatasetSpec, MetricAttributionSpec
from reconciler.model.state import DesiredState
from reconciler.resources.registry import REGISTRY
from reconciler.s3data import shared_prefix

Role = Literal["plan", "apply"]

#: SSM parameter prefix of the per-stack apply lock (reconciler.apply.lock.LOCK_PREFIX).
LOCK_PARAMETER_PREFIX = "/personalize-gitops/locks/"
#: The GitHub Actions OIDC issuer (without https://) and the audience configure-aws-credentials requests.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
#: IAM limits on policy size, counted without whitespace.
MANAGED_POLICY_LIMIT = 6144
INLINE_POLICY_LIMIT = 10240

# Kind -> the ARN resource type Personalize uses (`arn:aws:personalize:REGION:ACCOUNT:<type>/<name>`).
_ARN_TYPE: dict[Kind, str] = {
    Kind.DATASET_GROUP: "dataset-group",
    Kind.SCHEMA: "schema",
    Kind.SOLUTION: "solution",
    Kind.CAMPAIGN: "campaign",
    Kind.FILTER: "filter",
    Kind.RECOMMENDER: "recommender",
    Kind.METRIC_ATTRIBUTION: "metric-attribution",
}

#: Read-only personalize-runtime operations `verify` calls (IAM prefix `personalize:` like the control plane).
RUNTIME_ACTIONS = ("GetRecommendations", "GetPersonalizedRanking", "GetActionRecommendations")


def read_actions() -> list[str]:
    """DESCRIBE_ACTIONS, with GetSolutionMetrics and RUNTIME_ACTIONS written as the one entry `Get*` (every
    personalize Get operation is read-only: exactly those four), so the apply policy fits a managed policy."""
    gets = {"GetSolutionMetrics", *RUNTIME_ACTIONS}
    describes = _with_registered(DESCRIBE_ACTIONS, "describe")
    return [f"personalize:{a}" for a in describes if a not in gets] + ["personalize:Get*"]


def _with_registered(actions: tuple[str, ...], *ops: str) -> tuple[str, ...]:
    """`actions` plus the IAM actions of these `Ops` members (`list`, `describe`, `create`...) of every
    registered handler that are not in it yet: a kind added to the registry is granted with no edit here."""
    extra: list[str] = []
    for handler in REGISTRY.values():
        for op in ops:
            operation = getattr(handler.ops, op)
            action = "".join(part.capitalize() for part in operation.split("_")) if operation else None
            if action and action not in actions and action not in extra:
                extra.append(action)
    return (*actions, *extra)


def _arn_types() -> dict[Kind, str]:
    """_ARN_TYPE plus the `arn_type` of registered kinds named by their physical name (datasets and event
    trackers have ARNs of their own shape, granted below)."""
    found = dict(_ARN_TYPE)
    for kind, handler in REGISTRY.items():
        if kind not in found and kind not in (Kind.DATASET, Kind.EVENT_TRACKER):
            found[kind] = handler.arn_type
    return found


# Read operations: everything `plan` (and the drift check) calls.
LIST_ACTIONS = (
    "ListDatasetGroups",
    "ListSchemas",
    "ListDatasets",
    "ListDatasetImportJobs",
    "ListSolutions",
    "ListSolutionVersions",
    "ListCampaigns",
    "ListFilters",
    "ListEventTrackers",
    "ListRecommenders",
    "ListMetricAttributions",
    "ListMetricAttributionMetrics",
    "ListRecipes",
)
DESCRIBE_ACTIONS = (
    "DescribeDatasetGroup",
    "DescribeSchema",
    "DescribeDataset",
    "DescribeDatasetImportJob",
    "DescribeSolution",
    "DescribeSolutionVersion",
    "GetSolutionMetrics",
    "DescribeCampaign",
    "DescribeFilter",
    "DescribeEventTracker",
    "DescribeRecommender",
    "DescribeMetricAttribution",
    "ListTagsForResource",
)
CATALOG_ACTIONS = ("DescribeRecipe", "DescribeAlgorithm", "DescribeFeatureTransformation")
# Write operations: what `apply` calls on top of the reads.
WRITE_ACTIONS = (
    "CreateDatasetGroup",
    "DeleteDatasetGroup",
    "CreateSchema",
    "DeleteSchema",
    "CreateDataset",
    "UpdateDataset",
    "DeleteDataset",
    "CreateDatasetImportJob",
    "CreateSolution",
    "UpdateSolution",
    "DeleteSolution",
    "CreateSolutionVersion",
    "StopSolutionVersionCreation",
    "CreateCampaign",
    "UpdateCampaign",
    "DeleteCampaign",
    "CreateFilter",
    "DeleteFilter",
    "CreateEventTracker",
    "DeleteEventTracker",
    "CreateRecommender",
    "UpdateRecommender",
    "DeleteRecommender",
    "StartRecommender",
    "StopRecommender",
    "CreateMetricAttribution",
    "UpdateMetricAttribution",
    "DeleteMetricAttribution",
    "TagResource",
    "UntagResource",
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the policy applies: partition, region and account of the stack (`*` when not pinned)."""

    partition: str = "aws"
    region: str = "*"
    account: str = "*"

    def personalize(self, resource: str) -> str:
        return f"arn:{self.partition}:personalize:{self.region}:{self.account}:{resource}"

    def ssm_parameter(self, name: str) -> str:
        # Parameter ARNs drop the leading slash of the name: parameter/personalize-gitops/locks/prod
        return f"arn:{self.partition}:ssm:{self.region}:{self.account}:parameter/{name.lstrip('/')}"


def _name_patterns(desired: DesiredState, kind: Kind) -> list[str]:
    """`<prefix>*` when the stack has a name prefix, else one `<physical name>*` per resource of the kind."""
    prefix = desired.stack.settings.namePrefix
    if prefix:
        return [f"{prefix}*"]
    return sorted({f"{r.physical_name}*" for r in desired.of_kind(kind)})


def _personalize_resources(desired: DesiredState, scope: Scope) -> list[str]:
    """ARNs (with wildcards) of every Personalize resource the stack owns or derives."""
    arns: list[str] = []
    for kind, arn_type in _arn_types().items():
        arns += [scope.personalize(f"{arn_type}/{p}") for p in _name_patterns(desired, kind)]
    # Datasets: dataset/<dataset group name>/<TYPE>; import jobs are named after their dataset (+ suffix).
    arns += [scope.personalize(f"dataset/{p}/*") for p in _name_patterns(desired, Kind.DATASET_GROUP)]
    arns += [scope.personalize(f"dataset-import-job/{p}") for p in _name_patterns(desired, Kind.DATASET)]
    return sorted(set(arns))


def _s3_locations(desired: DesiredState) -> list[tuple[str, str, bool]]:
    """(bucket, key or key prefix, uploaded by apply) for every dataImport.dataLocation."""
    found: dict[tuple[str, str], bool] = {}
    for res in desired.of_kind(Kind.DATASET):
        spec = res.spec
        if not isinstance(spec, DatasetSpec) or spec.dataImport is None:
            continue
        bucket, _, key = spec.dataImport.dataLocation.removeprefix("s3://").partition("/")
        uploaded = spec.dataImport.localFile is not None
        found[(bucket, key)] = found.get((bucket, key), False) or uploaded
    return sorted((b, k, up) for (b, k), up in found.items())


def _object_arn(partition: str, bucket: str, key: str) -> str:
    # A location ending in "/" is a folder of files: every object below it.
    return (
        f"arn:{partition}:s3:::{bucket}/{key}*"
        if key.endswith("/") or not key
        else (f"arn:{partition}:s3:::{bucket}/{key}")
    )


def _pass_roles(desired: DesiredState) -> list[str]:
    """Role ARNs the manifests hand to Personalize (imports, KMS dataset groups, metric attributions)."""
    roles: set[str] = set()
    for res in desired.resources.values():
        spec = res.spec
        if isinstance(spec, DatasetSpec) and spec.dataImport is not None and spec.dataImport.roleArn:
            roles.add(spec.dataImport.roleArn)
        elif isinstance(spec, DatasetGroupSpec) and spec.roleArn:
            roles.add(spec.roleArn)
        elif isinstance(spec, MetricAttributionSpec):
            roles.add(spec.metricsOutputConfig.roleArn)
    return sorted(roles)


def _actions(service: str, names: Iterable[str]) -> list[str]:
    return [f"{service}:{n}" for n in names]


def _statement(sid: str, actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions}
    body["Resource"] = resources[0] if len(resources) == 1 else resources
    body.update(extra)
    return body


def scope_of(desired: DesiredState, *, partition: str = "aws") -> Scope:
    settings = desired.stack.settings
    return Scope(partition=partition, region=settings.region or "*", account=settings.accountId or "*")


def iam_policy(desired: DesiredState, role: Role, *, partition: str = "aws") -> dict[str, Any]:
    """The least-privilege identity policy of the plan or apply role for one stack."""
    scope = scope_of(desired, partition=partition)
    owned = _personalize_resources(desired, scope)
    trackers = [scope.personalize("event-tracker/*")] if desired.of_kind(Kind.EVENT_TRACKER) else []
    statements: list[dict[str, Any]] = [
        _statement(
            "PersonalizeListNotScopableByName",
            _actions("personalize", _with_registered(LIST_ACTIONS, "list")),
            ["*"],
        ),
        # with the read-only runtime requests of `verify` / `apply --verify` (campaigns, recommenders)
        _statement(
            "PersonalizeReadStackResources",
            read_actions(),
            owned,
        ),
        # The stack is found by its ownership tags, whatever its groups are called (a changed namePrefix
        # must not hide the old resources), so the tags of every dataset group are read.
        _statement(
            "PersonalizeFindStackGroupsByTags",
            ["personalize:ListTagsForResource"],
            [scope.personalize("dataset-group/*")],
        ),
        _statement(
            "PersonalizeReadRecipes",
            _actions("personalize", CATALOG_ACTIONS),
            [
                f"arn:{partition}:personalize:::recipe/*",
                f"arn:{partition}:personalize:::algorithm/*",
                f"arn:{partition}:personalize:::feature-transformation/*",
            ],
        ),
    ]
    if trackers:
        statements.append(
            _statement(
                "PersonalizeReadEventTrackersIdsNotNames",
                _actions("personalize", ("DescribeEventTracker", "ListTagsForResource")),
                trackers,
            )
        )
    locations = _s3_locations(desired)
    if locations:
        if role == "apply":
            # apply compares a localFile with the object before uploading it (HeadObject); the plan role reads
            # object metadata by listing only, so a pull request's workflow cannot download the training data
            statements.append(
                _statement(
                    "ReadDataLocations",
                    ["s3:GetObject"],
                    sorted({_object_arn(partition, b, k) for b, k, _ in locations}),
                )
            )
        # ListObjectsV2 gives size and ETag (the data fingerprint): ListBucket, limited to the keys used and
        # to the one prefix they share (plan lists a bucket's keys together: s3data.shared_prefix)
        for bucket in sorted({b for b, _, _ in locations}):
            used = sorted({k for b, k, _ in locations if b == bucket})
            keys = sorted({k + ("*" if k.endswith("/") or not k else "") for k in used})
            shared = shared_prefix(used)
            if shared is not None and shared not in keys:
                keys = sorted([*keys, shared])
            statements.append(
                _statement(
                    f"ListDataLocations{_sid_part(bucket)}",
                    ["s3:ListBucket"],
                    [f"arn:{partition}:s3:::{bucket}"],
                    Condition={"StringLike": {"s3:prefix": keys}},
                )
            )
        buckets = sorted({b for b, _, _ in locations})
        # plan's preflight (reconciler/live/preflight.py): does the bucket exist (one key listed at most), may
        # Personalize read it (bucket policy), which KMS key encrypts it: metadata, never object content
        statements.append(
            _statement(
                "PreflightProbeDataBuckets",
                ["s3:ListBucket"],
                [f"arn:{partition}:s3:::{b}" for b in buckets],
                Condition={"NumericLessThanEquals": {"s3:max-keys": "1"}},
            )
        )
        statements.append(
            _statement(
                "PreflightReadBucketSettings",
                ["s3:GetBucketPolicy", "s3:GetEncryptionConfiguration"],
                [f"arn:{partition}:s3:::{b}" for b in buckets],
            )
        )
    roles = _pass_roles(desired)
    if roles:
        # plan's preflight reads the roles Personalize is given (exists, trusts personalize.amazonaws.com)
        statements.append(_statement("PreflightReadManifestRoles", ["iam:GetRole"], roles))
    stack = desired.stack.name
    lock_arn = scope.ssm_parameter(f"{LOCK_PARAMETER_PREFIX}{stack}")
    if role == "plan":
        # who holds the apply lock (`ci lock`, shown before approving a break-lock): the lease names a holder
        statements.append(_statement("StackApplyLockRead", ["ssm:GetParametersByPath"], [lock_arn]))
        return {"Version": "2012-10-17", "Statement": statements}

    statements.append(
        _statement(
            "PersonalizeWriteStackResources",
            _actions("personalize", _with_registered(WRITE_ACTIONS, "create", "update", "delete")),
            owned,
        )
    )
    if trackers:
        statements.append(
            _statement(
                "PersonalizeWriteEventTrackersIdsNotNames",
                _actions("personalize", ("DeleteEventTracker", "TagResource", "UntagResource")),
                trackers,
            )
        )
        statements.append(
            _statement(
                "PersonalizeCreateEventTrackers",
                _actions("personalize", ("CreateEventTracker",)),
                [scope.personalize(f"dataset-group/{p}") for p in _name_patterns(desired, Kind.DATASET_GROUP)]
                + trackers,
            )
        )
    if roles:
        statements.append(
            _statement(
                "PassManifestRolesToPersonalize",
                ["iam:PassRole"],
                roles,
                Condition={"StringEquals": {"iam:PassedToService": "personalize.amazonaws.com"}},
            )
        )
    uploads = sorted({_object_arn(partition, b, k) for b, k, up in locations if up})
    read = next((st for st in statements if st["Sid"] == "ReadDataLocations"), None)
    if uploads and read is not None and _listed(read["Resource"]) == uploads:
        # every data file is uploaded: one statement (Abort lets a failed multipart upload clean up)
        read["Action"] = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
        read["Sid"] = "ReadAndUploadDataFiles"
    elif uploads:
        statements.append(
            _statement("UploadLocalDataFiles", ["s3:PutObject", "s3:AbortMultipartUpload"], uploads)
        )
    statements.append(
        _statement(
            "StackApplyLock",
            # one parameter per lease epoch below the stack's path (reconciler/apply/lock.py)
            ["ssm:GetParametersByPath", "ssm:PutParameter", "ssm:DeleteParameters"],
            [lock_arn, f"{lock_arn}/*"],
        )
    )
    ssm_prefix = desired.stack.settings.outputs.ssmPrefix
    if ssm_prefix:
        statements.append(
            _statement(
                "StackOutputsParameters",
                ["ssm:GetParameter", "ssm:PutParameter"],
                [scope.ssm_parameter(f"{ssm_prefix.strip('/')}/*")],
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _sid_part(text: str) -> str:
    """Sids allow [A-Za-z0-9] only."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _check_calls(policy: dict[str, Any], path: Path, role: str) -> None:
    from reconciler.aws import calls

    try:
        recorded = calls.load(path)
    except OSError as exc:
        raise ReconcilerError(f"--check {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ReconcilerError(str(exc), hint="pass the file written by `--record-calls FILE`") from exc
    distinct = {json.dumps(c, sort_keys=True): c for c in recorded}
    refused = [c for c in distinct.values() if not allowed(policy, c)]
    for call in refused:
        context = f" {call['context']}" if call.get("context") else ""
        print(f"refused: {call['action']} on {call['resource']}{context}")
    print(
        f"{len(distinct) - len(refused)} of {len(distinct)} distinct calls ({len(recorded)} recorded) "
        f"allowed by the {role} policy"
    )
    if refused:
        raise typer.Exit(1)


def policy_size(policy: dict[str, Any]) -> int:
    """Characters IAM counts against its size limits (whitespace excluded)."""
    return len(json.dumps(policy, separators=(",", ":")))


def policy_warnings(desired: DesiredState, policy: dict[str, Any]) -> list[str]:
    settings = desired.stack.settings
    warnings: list[str] = []
    if not settings.accountId:
        warnings.append(
            "the stack pins no accountId, so the policy allows any account (`*`); set accountId in the stack "
            "file to scope it (apply also refuses other accounts then)"
        )
    if not settings.region:
        warnings.append("the stack pins no region, so the policy allows any region (`*`)")
    if not settings.namePrefix:
        warnings.append(
            "the stack has no namePrefix, so resources are scoped one name at a time; a prefix per "
            "environment keeps the policy short and separates dev from prod"
        )
    size = policy_size(policy)
    if size > MANAGED_POLICY_LIMIT:
        limit = "inline policies" if size <= INLINE_POLICY_LIMIT else "any IAM policy"
        warnings.append(
            f"the policy is {size} characters, over the {MANAGED_POLICY_LIMIT}-character limit of managed "
            f"policies (fits {limit}); a namePrefix shortens it"
        )
    return warnings


# --- checking recorded calls against a policy ------------------------------------------------------------


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    import fnmatch

    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    """StringEquals, StringLike, NumericLessThanEquals on the keys a recorded call carries; anything else (and
    a key the call does not carry) does not hold."""
    for operator, entries in conditions.items():
        for key, wanted in entries.items():
            value = context.get(key)
            if value is None:
                return False
            if operator == "StringEquals" and value not in _listed(wanted):
                return False
            if operator == "StringLike" and not any(_matches(w, value) for w in _listed(wanted)):
                return False
            if operator == "NumericLessThanEquals" and not all(
                value.isdigit() and int(value) <= int(w) for w in _listed(wanted)
            ):
                return False
            if operator not in ("StringEquals", "StringLike", "NumericLessThanEquals"):
                return False
    return True


def allowed(policy: dict[str, Any], call: dict[str, Any]) -> bool:
    """Whether an identity policy (Allow statements only, as iam_policy writes them) allows one recorded call
    (`reconciler.aws.calls`): some statement matches its action, its resource and its conditions."""
    from reconciler.aws.calls import UNAUTHORIZED_ACTIONS

    action, resource = str(call["action"]), str(call["resource"])
    if action in UNAUTHORIZED_ACTIONS:
        return True
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        if not any(_matches(a, action, ignore_case=True) for a in _listed(statement["Action"])):
            continue
        if not any(_matches(r, resource) for r in _listed(statement["Resource"])):
            continue
        if _conditions_hold(statement.get("Condition") or {}, dict(call.get("context") or {})):
            return True
    return False


# --- OIDC trust policies -------------------------------------------------------------------------------

_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def subject_prefix(repo: str, *, org_id: int | None = None, repo_id: int | None = None) -> str:
    """`repo:ORG/REPO`, or the immutable form `repo:ORG@ORG_ID/REPO@REPO_ID` GitHub emits for repositories
    created on or after 15 July 2026 (and older ones that opted in)."""
    if not _REPO_RE.match(repo):
        raise ReconcilerError(
            f"--repo {repo!r} is not OWNER/NAME", hint="pass the GitHub repository, e.g. --repo acme/recs"
        )
    if (org_id is None) != (repo_id is None):
        raise ReconcilerError("--org-id and --repo-id go together (both numeric ids, or neither)")
    owner, name = repo.split("/")
    if org_id is not None:
        return f"repo:{owner}@{org_id}/{name}@{repo_id}"
    return f"repo:{owner}/{name}"


def plan_subjects(prefix: str, *, branch: str = "main") -> list[str]:
    """Pull requests (plan comments) and the default branch (scheduled drift check, read-only)."""
    return [f"{prefix}:pull_request", f"{prefix}:ref:refs/heads/{branch}"]


def merge_queue_subject(prefix: str, *, branch: str = "main") -> str:
    """The merge queue's branches (`gh-readonly-queue/main/pr-N-SHA`): StringLike, plan role only."""
    return f"{prefix}:ref:refs/heads/gh-readonly-queue/{branch}/*"


def apply_subjects(prefix: str, *, environment: str = "production") -> list[str]:
    """Only jobs that run in the stack's protected environment (one environment per stack)."""
    return [f"{prefix}:environment:{environment}"]


def oidc_provider_arn(account: str, *, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def trust_policy(
    account: str, subjects: list[str], *, partition: str = "aws", like: list[str] | None = None
) -> dict[str, Any]:
    """StringEquals on `aud` and `sub` (a list means any of them); never ForAllValues in an Allow.
    `like`: subjects with a wildcard (the merge queue's branches), in a second statement with StringLike."""
    principal = {"Federated": oidc_provider_arn(account, partition=partition)}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": subjects[0] if len(subjects) == 1 else subjects,
                }
            },
        }
    ]
    if like:
        statements.append(
            {
                "Sid": "GitHubActionsOidcMergeQueue",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE},
                    "StringLike": {f"{GITHUB_OIDC_HOST}:sub": like[0] if len(like) == 1 else like},
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


# --- commands ------------------------------------------------------------------------------------------


def _load(directory: Path, stack_file: Path | None) -> DesiredState:
    from reconciler.manifest import load

    return load(directory, stack_file=stack_file)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a `ReconcilerError` as its message (no traceback) and exit with its code."""
    try:
        yield
    except ReconcilerError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def iam_policy_command(
    role: str = typer.Option(..., "--role", help="plan (read-only) or apply (changes the stack)."),
    directory: Path = typer.Argument(Path("manifests"), help="Manifest directory."),
    stack: Path | None = typer.Option(None, "--stack", help="Stack settings file (default: found in DIR)."),
    partition: str = typer.Option("aws", "--partition", help="AWS partition (aws, aws-cn, aws-us-gov)."),
    check: Path | None = typer.Option(
        None,
        "--check",
        help="Instead of printing the policy, check the calls recorded with `--record-calls FILE` against it "
        "(exit 1 when one is not allowed).",
    ),
) -> None:
    """Print the least-privilege IAM policy (JSON) for the plan or apply role of a stack."""
    with user_errors():
        _iam_policy(role, directory, stack, partition, check)


def _iam_policy(role: str, directory: Path, stack: Path | None, partition: str, check: Path | None) -> None:
    if role not in ("plan", "apply"):
        raise ReconcilerError(f"--role must be plan or apply (got {role!r})")
    desired = _load(directory, stack)
    policy = iam_policy(desired, "plan" if role == "plan" else "apply", partition=partition)
    if check is not None:
        _check_calls(policy, check, role)
        return
    for warning in policy_warnings(desired, policy):
        print(f"note: {warning}", file=sys.stderr)
    sys.stdout.write(_dump(policy))


def ci_setup_command(
    repo: str = typer.Option(
        ..., "--repo", help="GitHub repository OWNER/NAME whose workflows assume the roles."
    ),
    ref: str | None = typer.Option(
        None,
        "--ref",
        help="Commit SHA of personalize-gitops whose reusable workflows the callers pin "
        "(default: the commit this tool was installed from).",
    ),
    environment_prefix: str = typer.Option(
        "production-", "--environment-prefix", help="The apply of stack S runs in the environment <prefix>S."
    ),
    branch: str = typer.Option("main", "--branch", help="Branch the drift check and applies run on."),
    account_id: str | None = typer.Option(
        None, "--account-id", help="AWS account of stacks that pin no accountId."
    ),
    org_id: int | None = typer.Option(None, "--org-id", help="Numeric owner id (immutable OIDC subjects)."),
    repo_id: int | None = typer.Option(None, "--repo-id", help="Numeric repository id (immutable subjects)."),
    directory: Path = typer.Argument(Path("manifests"), help="Manifest directory."),
    stacks_dir: Path = typer.Option(Path("stacks"), "--stacks-dir", help="Directory of stack files."),
    out_dir: Path = typer.Option(
        Path("iam"), "--out-dir", help="Writes <stack>/{plan,apply}-{trust,policy}.json here for every stack."
    ),
    workflows_dir: Path = typer.Option(
        Path(".github/workflows"), "--workflows-dir", help="Where the three caller workflows are written."
    ),
    timeout: str = typer.Option("45m", "--timeout", help="How long one apply run waits for training."),
    workflows_repo: str = typer.Option(
        DEFAULT_WORKFLOWS_REPO, "--workflows-repo", help="Repository of the reusable workflows."
    ),
    partition: str = typer.Option("aws", "--partition", help="AWS partition."),
) -> None:
    """Set up GitHub Actions for every stack: roles (trust + policy), and three short caller workflows."""
    with user_errors():
        _ci_setup(
            CiSetup(
                repo=repo,
                ref=ref,
                environment_prefix=environment_prefix,
                branch=branch,
                account_id=account_id,
                org_id=org_id,
                repo_id=repo_id,
                directory=directory,
                stacks_dir=stacks_dir,
                out_dir=out_dir,
                workflows_dir=workflows_dir,
                timeout=timeout,
                workflows_repo=workflows_repo,
                partition=partition,
            )
        )


@dataclass(frozen=True, slots=True)
class CiSetup:
    repo: str
    ref: str | None
    environment_prefix: str
    branch: str
    account_id: str | None
    org_id: int | None
    repo_id: int | None
    directory: Path
    stacks_dir: Path
    out_dir: Path
    workflows_dir: Path
    timeout: str
    workflows_repo: str
    partition: str


def installed_commit() -> str | None:
    """The commit this tool was installed from (pip records it for `pip install git+...@SHA`)."""
    from importlib import metadata

    try:
        text = metadata.distribution("personalize-gitops").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    commit = (json.loads(text or "{}").get("vcs_info") or {}).get("commit_id")
    return str(commit) if commit and re.fullmatch(r"[0-9a-f]{40}", str(commit)) else None


def _tool_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("personalize-gitops")
    except metadata.PackageNotFoundError:
        return "unknown"


def _write_if_changed(path: Path, text: str) -> str:
    """Write `text`; "unchanged", "updated" or "created"."""
    if path.exists():
        if path.read_text(encoding="utf-8") == text:
            return "unchanged"
        state = "updated"
    else:
        state = "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return state


def _ci_setup(o: CiSetup) -> None:
    from reconciler.ci.callers import MARK, CallerSettings, callers
    from reconciler.ci.github import STACK_NAME
    from reconciler.commands.stacks_cmd import discover

    prefix = subject_prefix(o.repo, org_id=o.org_id, repo_id=o.repo_id)
    ref = o.ref or installed_commit()
    if ref is None or not re.fullmatch(r"[0-9a-f]{40}", ref):
        raise ReconcilerError(
            f"--ref {ref!r} is not a full commit SHA" if ref else "ci-setup needs the commit to pin",
            hint="pass --ref with the 40-hex commit SHA of personalize-gitops you reviewed (the one you "
            "installed it from: pip install 'personalize-gitops @ git+https://github.com/"
            f"{o.workflows_repo}@<SHA>')",
        )
    entries = discover(o.directory, o.stacks_dir)
    lines = [f"# GitHub Actions setup of {o.repo}: {len(entries)} stack(s), workflows pinned at {ref}", ""]
    accounts: set[str] = set()
    for entry in entries:
        if not STACK_NAME.fullmatch(entry.name):
            raise ReconcilerError(
                f"stack name {entry.name!r} ({entry.file or o.directory}) is not a valid stack name",
                hint="letters, digits and inner hyphens, at most 39 characters (see `validate`)",
            )
        account = entry.account or o.account_id
        if not account or not re.fullmatch(r"\d{12}", account):
            raise ReconcilerError(
                f"stack {entry.name}: ci-setup needs the 12-digit AWS account id of its roles",
                hint="set accountId in the stack file, or pass --account-id 123456789012",
            )
        accounts.add(account)
        desired = _load(o.directory, Path(entry.file) if entry.file else None)
        environment = f"{o.environment_prefix}{entry.name}"
        files = {
            "plan-trust.json": trust_policy(
                account,
                plan_subjects(prefix, branch=o.branch),
                partition=o.partition,
                like=[merge_queue_subject(prefix, branch=o.branch)],
            ),
            "apply-trust.json": trust_policy(
                account, apply_subjects(prefix, environment=environment), partition=o.partition
            ),
            "plan-policy.json": iam_policy(desired, "plan", partition=o.partition),
            "apply-policy.json": iam_policy(desired, "apply", partition=o.partition),
        }
        where = o.out_dir / entry.name
        states = {name: _write_if_changed(where / name, _dump(doc)) for name, doc in files.items()}
        changed = sorted(n for n, st in states.items() if st != "unchanged")
        lines += [
            f"# --- stack {entry.name} (account {account}, environment {environment}): {where}/ "
            + (f"({', '.join(changed)} written)" if changed else "(unchanged)"),
        ]
        for role in ("plan", "apply"):
            name = f"personalize-gitops-{role}-{entry.name}"
            lines += [
                f"aws iam create-role --role-name {name} --assume-role-policy-document "
                f"file://{where}/{role}-trust.json "
                f"|| aws iam update-assume-role-policy --role-name {name} --policy-document "
                f"file://{where}/{role}-trust.json",
                f"aws iam put-role-policy --role-name {name} --policy-name {role} "
                f"--policy-document file://{where}/{role}-policy.json",
            ]
        lines += [
            f"gh api -X PUT repos/{o.repo}/environments/{environment}   # then add required reviewers "
            f"and limit it to {o.branch} (Settings > Environments > {environment})",
        ]
        if not entry.account:
            lines += [
                f"gh variable set PLAN_ROLE_ARN --repo {o.repo} --body "
                f"arn:{o.partition}:iam::{account}:role/personalize-gitops-plan-{entry.name}",
                f"gh variable set APPLY_ROLE_ARN --repo {o.repo} --env {environment} --body "
                f"arn:{o.partition}:iam::{account}:role/personalize-gitops-apply-{entry.name}",
            ]
        lines.append("")
    settings = CallerSettings(
        ref=ref,
        version=_tool_version(),
        workflows_repo=o.workflows_repo,
        manifests_dir=o.directory.as_posix(),
        stacks_dir=o.stacks_dir.as_posix(),
        environment_prefix=o.environment_prefix,
        timeout=o.timeout,
        branch=o.branch,
    )
    written = []
    for name, text in callers(settings).items():
        path = o.workflows_dir / name
        if path.exists() and MARK not in path.read_text(encoding="utf-8"):
            raise ReconcilerError(
                f"{path} exists and was not written by ci-setup: not overwriting it",
                hint="move it away, or pass --workflows-dir",
            )
        written.append(f"{path} ({_write_if_changed(path, text)})")
    head = [
        "# OIDC identity provider, once per account (an error saying it exists is fine):",
        *(
            f"aws iam create-open-id-connect-provider --url https://{GITHUB_OIDC_HOST} "
            f"--client-id-list {GITHUB_OIDC_AUDIENCE}   # account {a}"
            for a in sorted(accounts)
        ),
        "gh label create personalize-gitops --repo "
        f"{o.repo} --color 5319e7 --description 'personalize-gitops workflow state' --force",
        "",
    ]
    tail = ["# caller workflows (commit them):", *(f"#   {w}" for w in written)]
    if o.org_id is None:
        tail += [
            "",
            "# Repositories created or renamed on or after 15 July 2026 (or opted in) get immutable subjects",
            "# (repo:OWNER@OWNER_ID/NAME@REPO_ID:...): rerun with --org-id and --repo-id for them.",
        ]
    print("\n".join([lines[0], "", *head, *lines[2:], *tail]))
