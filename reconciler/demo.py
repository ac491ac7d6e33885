"""`make demo`: the whole first-run experience against the embedded emulator, in about a minute.

It works in `./demo-out/` (git-ignored) so the repository stays clean, and runs the CLI as real subprocesses,
exactly as a user would type it:

1. generate the sample data (the seed workshop's columns and event types, deterministic);
2. the "data pipeline" step every user already has: create the S3 bucket, its bucket policy and the IAM role
   Personalize reads it with (as the workshop's data-layer notebook does), and upload the data (here into
   the local emulated account; in real life your ETL does this);
3. `personalize-gitops validate manifests/`;
4. `personalize-gitops plan manifests/ --local` (everything to create, import, train and promote);
5. `personalize-gitops apply manifests/ --local --auto-approve` with visible progress (the local emulator
   runs a scaled clock: a 45-minute training takes seconds);
6. `personalize-gitops plan manifests/ --local --detailed-exitcode`: no changes, exit code 0;
7. the outputs file applications read, and how to point the same commands at a real account.

`python -m reconciler.demo [--workdir DIR] [--keep] [--pr-example FILE]`: `--keep` continues from the account
of a previous run instead of starting from an empty one; `--pr-example FILE` then edits the manifests the way
a pull request would (more campaign TPS, a new filter expression, a hyperparameter, a retraining trigger) and
writes the plan comment it gets to FILE (the example in the README).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.aws.personalize_access import PERSONALIZE_TRUST as PERSONALIZE_TRUST
from reconciler.aws.personalize_access import bucket_policy, prepare_data_access
from reconciler.aws.target import DEFAULT_LOCAL_STATE, open_target
from reconciler.errors import ReconcilerError
from reconciler.manifest import load
from reconciler.model.address import Kind
from reconciler.model.spec import DatasetSpec
from reconciler.model.state import DesiredState
from reconciler.sampledata import generate_sample_data

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path("demo-out")
"""Relative to the current directory (`make demo` runs at the checkout's root): an installed package never
writes next to itself."""


class DemoFailed(Exception):
    """A demo step did not do what it should; the message says which and what to look at."""


def _bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if sys.stdout.isatty() else text


def banner(step: int, title: str) -> None:
    print(f"\n{_bold(f'== {step}. {title}')}", flush=True)


def cli_command() -> list[str]:
    """`personalize-gitops` next to this interpreter (the venv's), else `python -m reconciler`."""
    script = Path(sys.executable).parent / "personalize-gitops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def run_cli(args: Sequence[str], *, cwd: Path, expect: Sequence[int] = (0,)) -> int:
    """Run `personalize-gitops ARGS` as a subprocess, output streamed to the terminal; check the exit code."""
    print(f"$ personalize-gitops {shlex.join(args)}", flush=True)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    started = time.monotonic()
    code = subprocess.call([*cli_command(), *args], cwd=cwd, env=env)
    print(f"  (exit code {code}, {time.monotonic() - started:.1f}s)", flush=True)
    if code not in expect:
        raise DemoFailed(
            f"`personalize-gitops {shlex.join(args)}` exited with {code}, "
            f"expected {' or '.join(map(str, expect))}"
        )
    return code


def prepare_workdir(workdir: Path, *, keep: bool, manifests: Path | None = None) -> None:
    """Copy the sample manifests into the work directory; start from an empty account unless `keep`."""
    source = manifests if manifests is not None else REPO / "manifests"
    if not (source / "stack.yaml").is_file():
        raise DemoFailed(
            f"no sample manifests at {source} (an installed package has none): "
            "pass --manifests DIR with a checkout's manifests/ directory"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "manifests"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    if not keep:
        state = workdir / DEFAULT_LOCAL_STATE
        if state.parent.exists():
            shutil.rmtree(state.parent)
        for old in workdir.glob("personalize-outputs.*.json"):
            old.unlink()


def data_locations(desired: DesiredState) -> list[tuple[str, str, str, str | None]]:
    """(bucket, key, local file name, import role ARN) of every dataset import in the manifests."""
    found = []
    for res in desired.of_kind(Kind.DATASET):
        spec = res.spec
        if isinstance(spec, DatasetSpec) and spec.dataImport is not None:
            bucket, _, key = spec.dataImport.dataLocation.removeprefix("s3://").partition("/")
            name = Path(spec.dataImport.localFile or key).name
            found.append((bucket, key, name, spec.dataImport.roleArn))
    return found


def personalize_bucket_policy(bucket: str) -> dict[str, Any]:
    """The bucket policy that lets the Personalize service read `bucket` (the workshop's)."""
    return bucket_policy(bucket)


def seed_local_account(workdir: Path, data_dir: Path, desired: DesiredState) -> list[str]:
    """The user's data pipeline, in the local emulated account: bucket, IAM role, uploaded CSV files.

    Returns what was done, one line each. Idempotent (an existing bucket or role is kept).
    """
    done: list[str] = []
    region = desired.stack.settings.region
    with open_target(
        local=True, endpoint_url=None, region=region, state_path=workdir / DEFAULT_LOCAL_STATE
    ) as t:
        locations = data_locations(desired)
        for kind, name, _ in prepare_data_access(t.s3, t.iam, t.region, [(b, r) for b, _, _, r in locations]):
            done.append(
                {
                    "bucket": f"bucket  s3://{name}",
                    "policy": f"policy  s3://{name} readable by personalize.amazonaws.com (bucket policy)",
                    "role": f"role    {name} (trusted by personalize.amazonaws.com, reads the bucket)",
                }[kind]
            )
        for bucket, key, name, _ in locations:
            body = (data_dir / name).read_bytes()
            t.s3.put_object(Bucket=bucket, Key=key, Body=body)
            done.append(f"upload  {name} -> s3://{bucket}/{key} ({len(body):,} bytes)")
    return done


METRIC_COLUMNS = (
    ("coverage", "coverage"),
    ("mean_reciprocal_rank_at_25", "MRR@25"),
    ("normalized_discounted_cumulative_gain_at_5", "NDCG@5"),
    ("normalized_discounted_cumulative_gain_at_10", "NDCG@10"),
    ("normalized_discounted_cumulative_gain_at_25", "NDCG@25"),
    ("precision_at_5", "P@5"),
    ("precision_at_10", "P@10"),
    ("precision_at_25", "P@25"),
)
SHOWN_RECOMMENDATIONS = 5


def demo_user(data_dir: Path) -> str:
    """The sample user with the most purchases (so the purchased-items filter visibly changes the answer)."""
    import csv

    counts: dict[str, int] = {}
    with (data_dir / "interactions.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("EVENT_TYPE") == "OrderCompleted":
                counts[row["USER_ID"]] = counts.get(row["USER_ID"], 0) + 1
    return max(sorted(counts), key=lambda u: counts[u]) if counts else "1"


def results(workdir: Path, data_dir: Path, desired: DesiredState) -> list[str]:
    """The seed's metrics table (one row per solution version) and five recommendations per campaign for
    one user, with and without the purchased-items filter, read from the local account through boto3."""
    from reconciler.model.address import Address
    from reconciler.model.spec import CampaignSpec, SolutionSpec
    from reconciler.verify import live_arns

    lines: list[str] = []
    user = demo_user(data_dir)
    with open_target(
        local=True,
        endpoint_url=None,
        region=desired.stack.settings.region,
        state_path=workdir / DEFAULT_LOCAL_STATE,
    ) as t:
        arns = live_arns(t, desired)
        width = max(len(r.address.name) for r in desired.of_kind(Kind.SOLUTION))
        header = f"  {'solution version':<{width + 10}}" + "".join(
            f"{label:>9}" for _, label in METRIC_COLUMNS
        )
        lines += ["Offline metrics (GetSolutionMetrics) of each solution's version:", header]
        for res in desired.of_kind(Kind.SOLUTION):
            solution = t.personalize.describe_solution(solutionArn=arns[res.address])["solution"]
            version = (solution.get("latestSolutionVersion") or {}).get("solutionVersionArn")
            if not version:
                continue
            metrics = t.personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]
            name = f"{res.address.name}/{version.rsplit('/', 1)[-1]}"
            lines.append(
                f"  {name:<{width + 10}}"
                + "".join(f"{metrics.get(key, 0.0):>9.4f}" for key, _ in METRIC_COLUMNS)
            )
        runtime = t.client("personalize-runtime")
        purchased = next(
            (
                arns[r.address]
                for r in desired.of_kind(Kind.FILTER)
                if "OrderCompleted" in getattr(r.spec, "filterExpression", "")
            ),
            None,
        )
        lines += ["", f"Recommendations for user {user} (GetRecommendations / GetPersonalizedRanking):"]
        seen: list[str] = []
        rankings = []
        for res in desired.of_kind(Kind.CAMPAIGN):
            spec = res.spec
            assert isinstance(spec, CampaignSpec)
            solution_res = desired.resources[Address(Kind.SOLUTION, spec.solution)]
            assert isinstance(solution_res.spec, SolutionSpec)
            recipe = (solution_res.spec.recipeArn or "").rsplit("/", 1)[-1]
            if recipe.startswith("aws-personalized-ranking"):
                rankings.append((res, arns[res.address]))
                continue
            for label, extra in (("", {}), ("with the purchased-items filter", {"filterArn": purchased})):
                if label and purchased is None:
                    continue
                request: dict[str, Any] = {
                    "campaignArn": arns[res.address],
                    "numResults": SHOWN_RECOMMENDATIONS,
                }
                if recipe in ("aws-sims", "aws-similar-items"):
                    request["itemId"] = seen[0] if seen else "unknown"
                    request["userId"] = user
                    what = f"items related to {request['itemId']}"
                else:
                    request["userId"] = user
                    what = "for the user"
                answer = runtime.get_recommendations(**request, **extra)
                items = [i["itemId"] for i in answer["itemList"]]
                seen.extend(i for i in items if i not in seen)
                lines.append(f"  {res.address.name} ({what}{', ' + label if label else ''}):")
                lines += [f"    {k}. {item}" for k, item in enumerate(items, start=1)]
        for res, arn in rankings:
            for label, extra in (("", {}), ("with the purchased-items filter", {"filterArn": purchased})):
                if label and purchased is None:
                    continue
                answer = runtime.get_personalized_ranking(
                    campaignArn=arn, userId=user, inputList=seen[:25], **extra
                )
                items = [i["itemId"] for i in answer["personalizedRanking"]][:SHOWN_RECOMMENDATIONS]
                lines.append(
                    f"  {res.address.name} (the items above, re-ranked{', ' + label if label else ''}):"
                )
                lines += [f"    {k}. {item}" for k, item in enumerate(items, start=1)]
    return lines


def real_account_help() -> str:
    return """\
The same commands against a real AWS account (they cost money: campaigns bill per TPS-hour while ACTIVE):

  export AWS_PROFILE=my-profile           # or any standard AWS credentials (AWS_ACCESS_KEY_ID, SSO...)
  personalize-gitops plan manifests/      # reads the account, changes nothing
  personalize-gitops plan manifests/ --region eu-west-1   # another region than the stack's
  personalize-gitops apply manifests/     # shows the plan and asks before changing anything

The stack's accountId must match the credentials' account (apply refuses any other): edit
manifests/stack.yaml (accountId, bucket variable) for your account first.

Against the emulator over HTTP (for notebooks, the AWS CLI or several processes):

  personalize-gitops emulator serve --port 4566 &
  personalize-gitops plan manifests/ --endpoint-url http://127.0.0.1:4566
  export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1  # any values
  aws --endpoint-url http://127.0.0.1:4566 personalize list-campaigns

In GitHub: `personalize-gitops ci-setup --repo OWNER/REPO --ref SHA` writes three short caller workflows
and the IAM documents of every stack; docs/github-setup.md walks through the rest."""


def run_demo(workdir: Path, *, keep: bool = False, manifests: Path | None = None) -> None:
    started = time.monotonic()
    banner(1, f"Sample data and manifests in {_display(workdir)}")
    prepare_workdir(workdir, keep=keep, manifests=manifests)
    data_dir = workdir / "data" / "sample"
    written = generate_sample_data(data_dir, seed=0)
    for name, path in sorted(written.items()):
        lines = sum(1 for _ in path.open(encoding="utf-8")) - 1
        print(f"  {name:<18} {lines:>5} rows  {_display(path)}")

    banner(2, "Your data pipeline: bucket, IAM role and data upload (in the local emulated account)")
    desired = load(workdir / "manifests")
    for line in seed_local_account(workdir, data_dir, desired):
        print(f"  {line}")
    print(
        "  In a real account your ETL job puts the files in S3; personalize-gitops imports them from there."
    )

    banner(3, "Validate the manifests (offline, no AWS call)")
    run_cli(["validate", "manifests/"], cwd=workdir)

    banner(4, "Plan against the empty local account")
    run_cli(["plan", "manifests/", "--local"], cwd=workdir)

    banner(5, "Apply (imports, three trainings at once, campaigns; the local emulator runs a scaled clock)")
    run_cli(["apply", "manifests/", "--local", "--auto-approve"], cwd=workdir)

    banner(6, "Plan again: the account matches the manifests")
    run_cli(["plan", "manifests/", "--local", "--detailed-exitcode"], cwd=workdir)

    banner(7, "Outputs for applications (campaign ARNs, filter ARNs, event tracker tracking id)")
    outputs = _outputs_file(workdir, desired)
    if outputs is None:
        raise DemoFailed(f"apply wrote no outputs file in {_display(workdir)}")
    print(f"{_display(outputs)}:")
    print(outputs.read_text(encoding="utf-8").rstrip())

    banner(8, "Evaluate and recommend: offline metrics, then recommendations (the workshop's next notebook)")
    for line in results(workdir, data_dir, desired):
        print(line)
    print()
    print(real_account_help())
    elapsed = time.monotonic() - started
    print(f"\n{_bold('Demo complete')} in {elapsed:.0f}s. Work directory: {_display(workdir)}")


#: (file, old text, new text): the pull request of the README's plan-comment example.
PR_EXAMPLE_EDITS = (
    (
        "retail/campaigns.yaml",
        "  solution: amazon-personalize-immersionday-product-personalization\n  minProvisionedTPS: 1",
        "  solution: amazon-personalize-immersionday-product-personalization\n  minProvisionedTPS: 2",
    ),
    ("retail/filters.yaml", 'in ("OrderCompleted")', 'in ("OrderCompleted", "CheckoutStarted")'),
    (
        "retail/solutions.yaml",
        "  recipeArn: aws-sims                     # short for arn:aws:personalize:::recipe/aws-sims\n"
        "  performHPO: false\n",
        "  recipeArn: aws-sims\n  performHPO: false\n"
        '  solutionConfig:\n    algorithmHyperParameters:\n      popularity_discount_factor: "0.7"\n',
    ),
    (
        "retail/solutions.yaml",
        "  recipeArn: aws-user-personalization\n  training:\n",
        '  recipeArn: aws-user-personalization\n  training:\n    trigger: "2026-11 holiday data"\n',
    ),
)


def write_pr_example(workdir: Path, out: Path) -> None:
    """Edit a copy of the applied manifests like a pull request would and render its plan comment."""
    pr = workdir / "pr-example"
    if pr.exists():
        shutil.rmtree(pr)
    shutil.copytree(workdir / "manifests", pr)
    for name, old, new in PR_EXAMPLE_EDITS:
        path = pr / name
        text = path.read_text(encoding="utf-8")
        if old not in text:
            raise DemoFailed(f"the sample manifest {name} changed: cannot make the pull-request example")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    print(f"$ personalize-gitops plan {pr.name}/ --local --format markdown > {out}", flush=True)
    result = subprocess.run(
        [*cli_command(), "plan", f"{pr.name}/", "--local", "--format", "markdown"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DemoFailed(f"the pull-request example plan failed: {result.stderr.strip()}")
    out.write_text(result.stdout, encoding="utf-8")
    print(f"  wrote {_display(out)} ({len(result.stdout):,} characters)")


def _outputs_file(workdir: Path, desired: DesiredState) -> Path | None:
    configured = desired.stack.settings.outputs.file or f"personalize-outputs.{desired.stack.name}.json"
    for candidate in (workdir / configured, workdir / "manifests" / configured):
        if candidate.is_file():
            return candidate
    found = sorted(workdir.rglob("personalize-outputs.*.json"))
    return found[0] if found else None


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="default: ./demo-out")
    parser.add_argument("--keep", action="store_true", help="keep the local account of the previous run")
    parser.add_argument("--pr-example", type=Path, help="also write the plan comment of an example PR here")
    parser.add_argument(
        "--manifests", type=Path, help="sample manifests to copy (default: the checkout's manifests/)"
    )
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    try:
        run_demo(args.workdir, keep=args.keep, manifests=args.manifests)
        if args.pr_example is not None:
            write_pr_example(args.workdir, args.pr_example.resolve())
    except (DemoFailed, ReconcilerError) as exc:
        message = exc.render() if isinstance(exc, ReconcilerError) else str(exc)
        print(f"\ndemo failed: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
