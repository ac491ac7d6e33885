"""Import beyond the plain workshop: name prefixes, several groups, what cannot be represented, files that
exist, versions newer than the serving one."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.aws.personalize_access import grant_personalize_access
from reconciler.errors import ReconcilerError
from reconciler.importer import write_manifests
from reconciler.model.address import Address, Kind
from reconciler.model.spec import CampaignSpec, DatasetSpec
from reconciler.plan.types import Action

from .conftest import Account
from .test_roundtrip import assert_no_changes, assert_only_adoption
from .workshop import GROUP, SAMPLE, SCHEMAS, wait_for

HOUR = 3600.0


def build_prefixed(acct: Account, prefix: str = "dev-") -> dict[str, str]:
    """A small dataset group whose names carry `prefix`, plus one filter whose name does not."""
    p, clock = acct.personalize, acct.clock
    bucket = "prefixed-data"
    acct.target.s3.create_bucket(Bucket=bucket)
    acct.target.s3.put_object(
        Bucket=bucket, Key="interactions.csv", Body=(SAMPLE / "interactions.csv").read_bytes()
    )
    grant_personalize_access(
        acct.target.s3, acct.target.iam, bucket, f"arn:aws:iam::{acct.account}:role/PersonalizeS3"
    )
    arns: dict[str, str] = {}
    arns["group"] = p.create_dataset_group(name=f"{prefix}shop")["datasetGroupArn"]
    wait_for(clock, lambda: p.describe_dataset_group(datasetGroupArn=arns["group"]), "datasetGroup", 15)
    schema = p.create_schema(name=f"{prefix}shop-interactions", schema=SCHEMAS["interactions"][1])[
        "schemaArn"
    ]
    arns["dataset"] = p.create_dataset(
        name=f"{prefix}shop-interactions",
        datasetType="INTERACTIONS",
        datasetGroupArn=arns["group"],
        schemaArn=schema,
    )["datasetArn"]
    clock.advance(HOUR)
    p.create_dataset_import_job(
        jobName="first-load",
        datasetArn=arns["dataset"],
        dataSource={"dataLocation": f"s3://{bucket}/interactions.csv"},
        roleArn=f"arn:aws:iam::{acct.account}:role/PersonalizeS3",
    )
    clock.advance(3 * HOUR)
    arns["solution"] = p.create_solution(
        name=f"{prefix}recs",
        datasetGroupArn=arns["group"],
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
    )["solutionArn"]
    wait_for(clock, lambda: p.describe_solution(solutionArn=arns["solution"]), "solution", 15)
    version = p.create_solution_version(solutionArn=arns["solution"])["solutionVersionArn"]
    clock.advance(6 * HOUR)
    arns["campaign"] = p.create_campaign(
        name=f"{prefix}recs",
        solutionVersionArn=version,
        minProvisionedTPS=2,
        campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.1"}},
    )["campaignArn"]
    arns["filter"] = p.create_filter(
        name=f"{prefix}no-orders",
        datasetGroupArn=arns["group"],
        filterExpression='EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
    )["filterArn"]
    arns["legacy"] = p.create_filter(
        name="legacy-filter",
        datasetGroupArn=arns["group"],
        filterExpression='INCLUDE itemId WHERE INTERACTIONS.event_type in ("ProductViewed")',
    )["filterArn"]
    clock.advance(HOUR)
    return arns


def test_name_prefix_is_stripped_and_references_rewritten(acct: Account) -> None:
    arns = build_prefixed(acct)
    result = acct.import_(["dev-shop"], stack="shop-dev", prefix="dev-")
    names = {str(r.address) for r in result.resources}
    assert names == {
        "DatasetGroup/shop",
        "Schema/shop-interactions",
        "Dataset/shop-interactions",
        "Solution/recs",
        "Campaign/recs",
        "Filter/no-orders",
    }
    by_address = {r.address: r for r in result.resources}
    dataset = by_address[Address(Kind.DATASET, "shop-interactions")].spec
    assert isinstance(dataset, DatasetSpec)
    assert (dataset.datasetGroup, dataset.schema_) == ("shop", "shop-interactions")
    campaign = by_address[Address(Kind.CAMPAIGN, "recs")].spec
    assert isinstance(campaign, CampaignSpec) and campaign.solution == "recs"
    assert campaign.minProvisionedTPS == 2
    assert campaign.campaignConfig is not None
    assert campaign.campaignConfig.itemExplorationConfig == {"explorationWeight": "0.1"}

    # the filter without the prefix cannot be found by the stack: listed with the reason, not dropped
    [skipped] = result.skipped
    assert (skipped.kind, skipped.name, skipped.arn) == (Kind.FILTER, "legacy-filter", arns["legacy"])
    assert "does not start with the name prefix 'dev-'" in skipped.reason

    out = acct.tmp / "shop"
    write_manifests(result, out, source="test")
    text = (out / "shop.yaml").read_text()
    assert "# Not imported (cannot be represented in manifests yet):" in text
    assert "legacy-filter" in text.split("Not imported")[1]
    assert "namePrefix: dev-" in (out / "stack.yaml").read_text()

    desired = acct.load(out)
    assert desired.resources[Address(Kind.SOLUTION, "recs")].physical_name == "dev-recs"
    assert_only_adoption(acct.plan(desired))
    assert acct.apply(desired).exit_code == 0
    assert_no_changes(acct.plan(desired))


def test_all_imports_every_dataset_group_into_one_stack(acct: Account) -> None:
    acct.workshop()
    build_prefixed(acct, prefix="")
    out = acct.import_and_write(None, stack="everything")
    assert sorted(p.name for p in out.iterdir()) == [f"{GROUP}.yaml", "shop.yaml", "stack.yaml"]
    desired = acct.load(out)
    assert {r.address.name for r in desired.of_kind(Kind.DATASET_GROUP)} == {GROUP, "shop"}
    # without a prefix the legacy filter is an ordinary resource
    assert Address(Kind.FILTER, "legacy-filter") in desired.resources
    first = acct.plan(desired)
    assert_only_adoption(first)
    assert acct.apply(desired).exit_code == 0
    assert_no_changes(acct.plan(desired))


def test_existing_files_are_not_overwritten_without_force(acct: Account) -> None:
    acct.workshop()
    out = acct.import_and_write([GROUP])
    group_file = out / f"{GROUP}.yaml"
    stack_file = out / "stack.yaml"
    group_file.write_text(group_file.read_text() + "# my edit\n")
    stack_file.write_text(stack_file.read_text() + "# my stack edit\n")
    result = acct.import_([GROUP])
    with pytest.raises(ReconcilerError, match=r"refusing to overwrite .*nothing was written") as info:
        write_manifests(result, out, source="test")
    assert "--force" in (info.value.hint or "")
    assert group_file.read_text().endswith("# my edit\n")
    written = write_manifests(result, out, source="test", force=True)
    assert not group_file.read_text().endswith("# my edit\n")
    # the stack file is never rewritten: it is the user's once it exists
    assert written.stack_file is None and written.existing_stack == stack_file
    assert stack_file.read_text().endswith("# my stack edit\n")


def test_newer_automatic_version_pins_the_serving_version(acct: Account) -> None:
    """performAutoTraining (the notebooks' default) trains new versions the campaigns do not serve; import
    pins each campaign to the version it serves (said in the output and next to the campaign), so adoption
    moves nothing; removing the pin lets plan promote."""
    shop = acct.workshop()
    # the nightly ETL imports more interactions, so the weekly automatic training has new data to train on
    acct.personalize.create_dataset_import_job(
        jobName="nightly-etl",
        datasetArn=shop.dataset_arns["interactions"],
        dataSource={"dataLocation": f"s3://{shop.bucket}/interactions.csv"},
        roleArn=shop.role_arn,
        importMode="INCREMENTAL",
    )
    acct.clock.advance(8 * 24 * HOUR)  # the weekly automatic training ran
    result = acct.import_([GROUP])
    pinned = [w for w in result.warnings if "so adoption does not move it" in w]
    assert len(pinned) == 3
    out = acct.tmp / "auto"
    write_manifests(result, out, source="test")
    text = (out / f"{GROUP}.yaml").read_text()
    assert "a newer ACTIVE version" in text and text.count("solutionVersion:") == 3
    desired = acct.load(out)
    assert_only_adoption(acct.plan(desired))  # adoption changes nothing else
    acct.apply(desired)
    after = acct.plan(desired)
    assert not after.has_changes  # pinned: no promotion, no retraining
    unpinned = acct.tmp / "unpinned"
    unpinned.mkdir()
    for path in out.iterdir():
        body = "\n".join(line for line in path.read_text().splitlines() if "solutionVersion:" not in line)
        (unpinned / path.name).write_text(body + "\n")
    released = acct.plan(acct.load(unpinned))
    assert released.count(Action.PROMOTE) == 3 and released.count(Action.RETRAIN) == 0


def test_unknown_dataset_group_names_the_existing_ones(acct: Account) -> None:
    acct.workshop()
    with pytest.raises(ReconcilerError, match="dataset group 'nope' not found") as info:
        acct.import_(["nope"])
    assert GROUP in (info.value.hint or "")


def test_failed_and_untrained_resources(acct: Account) -> None:
    """A solution whose only training failed is imported with a warning (plan will train it); a filter whose
    creation failed is listed as not imported, with the service's reason."""
    shop = acct.workshop()
    p = acct.personalize
    acct.emulator.control.fail_next("filter", "broken-filter", "Invalid filter expression.")
    p.create_filter(
        name="broken-filter",
        datasetGroupArn=shop.group_arn,
        filterExpression='EXCLUDE itemId WHERE INTERACTIONS.event_type in ("X")',
    )
    arn = p.create_solution(
        name="never-trained",
        datasetGroupArn=shop.group_arn,
        recipeArn="arn:aws:personalize:::recipe/aws-sims",
        performAutoTraining=False,
    )["solutionArn"]
    acct.clock.advance(HOUR)
    acct.emulator.control.fail_next("solution_version", arn, "Not enough data.")
    p.create_solution_version(solutionArn=arn)
    acct.clock.advance(6 * HOUR)
    result = acct.import_([GROUP])
    [skipped] = result.skipped
    assert skipped.name == "broken-filter" and "Invalid filter expression." in skipped.reason
    assert any("Solution never-trained has no ACTIVE version" in w for w in result.warnings), (
        result.warnings,
        [r.comments for r in result.resources if r.address.name == "never-trained"],
    )
    desired_names = {str(r.address) for r in result.resources}
    assert "Solution/never-trained" in desired_names


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_comments_say_what_was_inferred(acct: Account) -> None:
    acct.workshop()
    out = acct.import_and_write([GROUP])
    text = (out / f"{GROUP}.yaml").read_text()
    assert all(len(line) <= 110 for line in text.splitlines() if line.startswith("#"))
    comments = " ".join(line.lstrip("# ") for line in _lines(text) if line.startswith("#"))
    assert "training policy (inferred" in comments
    assert "performAutoTraining: true is what live has" in comments
    assert "serves solution version arn:aws:personalize:us-east-1:" in comments
    assert "dataImport: from import job immersion-day-retail-dataset-items-import" in comments
    # API defaults are left out
    assert "minProvisionedTPS" not in text and "performHPO" not in text and "importMode" not in text


def test_jobs_are_listed_as_not_managed(acct: Account) -> None:
    """Batch inference and dataset export jobs belong to the group but are not declarative resources: they
    are named in the 'Not imported' list (one line per job kind), and adoption is unaffected."""
    shop = acct.workshop()
    p, s3 = acct.personalize, acct.target.s3
    s3.put_object(Bucket=shop.bucket, Key="batch/input.json", Body=b'{"userId": "1"}\n{"userId": "2"}\n')
    version = next(iter(shop.version_arns.values()))
    for n in (1, 2):
        p.create_batch_inference_job(
            jobName=f"nightly-{n}",
            solutionVersionArn=version,
            roleArn=shop.role_arn,
            jobInput={"s3DataSource": {"path": f"s3://{shop.bucket}/batch/input.json"}},
            jobOutput={"s3DataDestination": {"path": f"s3://{shop.bucket}/batch/out-{n}/"}},
        )
        acct.clock.advance(HOUR)
    p.create_dataset_export_job(
        jobName="export-interactions",
        datasetArn=shop.dataset_arns["interactions"],
        roleArn=shop.role_arn,
        jobOutput={"s3DataDestination": {"path": f"s3://{shop.bucket}/export/"}},
    )
    acct.clock.advance(3 * HOUR)
    result = acct.import_([GROUP])
    listed = {s.kind: s for s in result.skipped}
    assert set(listed) == {"BatchInferenceJob", "DatasetExportJob"}
    assert listed["BatchInferenceJob"].name == "nightly-2 and 1 more"
    assert "not declarative resources" in listed["DatasetExportJob"].reason
    out = acct.tmp / "jobs"
    write_manifests(result, out, source="test")
    tail = (out / f"{GROUP}.yaml").read_text().split("Not imported")[1]
    assert "BatchInferenceJob nightly-2 and 1 more" in tail and "DatasetExportJob export-interactions" in tail
    assert_only_adoption(acct.plan(acct.load(out)))


class _DeletedDuringImport:
    """A Personalize client on which one filter disappears between ListFilters and DescribeFilter."""

    def __init__(self, inner: Any, arn: str) -> None:
        self._inner, self._arn = inner, arn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def describe_filter(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        if kwargs.get("filterArn") == self._arn:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": "Filter not found."}}
            raise ClientError(error, "DescribeFilter")  # type: ignore[arg-type]
        return self._inner.describe_filter(**kwargs)


def test_resource_deleted_while_importing_is_left_out(acct: Account) -> None:
    from reconciler.importer import import_groups

    shop = acct.workshop()
    client = _DeletedDuringImport(acct.personalize, shop.filter_arn)
    result = import_groups(client, groups=[GROUP], stack="retail", region="us-east-1", account=acct.account)
    kinds = [r.address.kind for r in result.resources]
    assert Kind.FILTER not in kinds and kinds.count(Kind.CAMPAIGN) == 3
    assert result.skipped == [] and result.warnings == []
