"""The key property: import what the notebooks built, then plan shows only adoption; apply; plan is empty."""

from __future__ import annotations

from pathlib import Path

from reconciler.model.address import Kind
from reconciler.model.spec import SolutionSpec
from reconciler.plan.types import Action, Plan

from .conftest import Account
from .workshop import GROUP, RECIPES

TAGGABLE = {Kind.DATASET_GROUP, Kind.DATASET, Kind.SOLUTION, Kind.CAMPAIGN, Kind.FILTER, Kind.EVENT_TRACKER}


def assert_only_adoption(p: Plan) -> None:
    """Adopt for taggable kinds (only ownership tags change), no-op for the rest; nothing else at all."""
    assert not p.errors, p.errors
    for change in p.changes:
        if change.address.kind in TAGGABLE:
            assert change.action is Action.ADOPT, (change.address, change.action, change.reasons)
            paths = {f.path for f in change.field_changes}
            assert paths == {"tags.personalize-gitops:stack", "tags.personalize-gitops:name"}, paths
            assert not change.notes, (change.address, change.notes)  # no field differs from live
        else:
            assert change.action is Action.NOOP, (change.address, change.action)
    assert {c.action for c in p.changes} <= {Action.ADOPT, Action.NOOP}


def assert_no_changes(p: Plan) -> None:
    assert not p.errors, p.errors
    assert not p.has_changes, [
        (str(c.address), c.action.value, c.reasons) for c in p.changes if c.action is not Action.NOOP
    ]


def test_seed_workshop_round_trip(acct: Account) -> None:
    acct.workshop()
    out = acct.import_and_write([GROUP])
    desired = acct.load(out)
    # everything the notebooks made is in the manifests, under its own name (no prefix)
    assert len(desired.of_kind(Kind.SCHEMA)) == 3 and len(desired.of_kind(Kind.DATASET)) == 3
    assert {r.address.name for r in desired.of_kind(Kind.SOLUTION)} == set(RECIPES)
    assert len(desired.of_kind(Kind.CAMPAIGN)) == 3
    assert len(desired.of_kind(Kind.FILTER)) == 1 and len(desired.of_kind(Kind.EVENT_TRACKER)) == 1
    for res in desired.of_kind(Kind.SOLUTION):
        assert isinstance(res.spec, SolutionSpec)
        assert res.spec.performAutoTraining is True  # the service default, written explicitly

    first = acct.plan(desired)
    assert_only_adoption(first)
    assert first.count(Action.ADOPT) == 12  # group, 3 datasets, 3 solutions, 3 campaigns, filter, tracker

    before = acct.emulator.call_count(mutating=True)
    result = acct.apply(desired)
    assert result.exit_code == 0
    mutating = acct.emulator.call_count(mutating=True) - before
    assert mutating == acct.emulator.call_count(mutating=True, prefix="TagResource") == 12  # tags only

    assert_no_changes(acct.plan(desired))


def test_round_trip_holds_when_data_was_imported_after_training(acct: Account) -> None:
    """Live AWS cannot say whether retraining on new data is wanted; the import must not make the first plan
    retrain: the newer import is seen and `training.retrainOnDataChange: false` is written."""
    shop = acct.workshop()
    job = acct.personalize.create_dataset_import_job(
        jobName="more-interactions",
        datasetArn=shop.dataset_arns["interactions"],
        dataSource={"dataLocation": f"s3://{shop.bucket}/interactions.csv"},
        roleArn=shop.role_arn,
        importMode="INCREMENTAL",
    )["datasetImportJobArn"]
    acct.clock.advance(3 * 3600)
    status = acct.personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"][
        "status"
    ]
    assert status == "ACTIVE"
    out = acct.import_and_write([GROUP])
    text = (out / f"{GROUP}.yaml").read_text()
    assert "retrainOnDataChange: false" in text and "(inferred)" in text
    assert "importMode: INCREMENTAL" in text  # the newest successful import is the dataset's source

    desired = acct.load(out)
    assert_only_adoption(acct.plan(desired))
    assert acct.apply(desired).exit_code == 0
    assert_no_changes(acct.plan(desired))

    # the inference matters: with the default policy the adopted solutions would retrain
    default_policy = Path(out / f"{GROUP}.yaml")
    default_policy.write_text(text.replace("  training:\n    retrainOnDataChange: false\n", ""))
    retrains = acct.plan(acct.load(out)).count(Action.RETRAIN)
    assert retrains == 3


def test_tags_written_by_hand_are_kept(acct: Account) -> None:
    shop = acct.workshop()
    acct.personalize.tag_resource(
        resourceArn=shop.filter_arn, tags=[{"tagKey": "team", "tagValue": "search"}]
    )
    out = acct.import_and_write([GROUP])
    desired = acct.load(out)
    tags = desired.resources[next(a for a in desired.resources if a.kind is Kind.FILTER)].tags
    assert tags == {"team": "search"}
    assert_only_adoption(acct.plan(desired))
    acct.apply(desired)
    assert_no_changes(acct.plan(desired))


def test_no_tracking_id_or_credentials_written(acct: Account) -> None:
    shop = acct.workshop()
    tracking = acct.personalize.describe_event_tracker(eventTrackerArn=shop.tracker_arn)["eventTracker"]
    out = acct.import_and_write([GROUP])
    written = "".join(p.read_text() for p in out.iterdir())
    assert tracking["trackingId"] not in written
    assert "testing" not in written  # the access key / secret of the environment


def test_importing_twice_after_adoption_keeps_names_and_round_trip(acct: Account) -> None:
    """Re-importing a stack that already manages the resources gives the same manifests."""
    acct.workshop()
    out = acct.import_and_write([GROUP])
    desired = acct.load(out)
    acct.apply(desired)
    again = acct.import_and_write([GROUP], out=acct.tmp / "again")
    assert (again / f"{GROUP}.yaml").read_text() == (out / f"{GROUP}.yaml").read_text()
    assert_no_changes(acct.plan(acct.load(again)))


def test_domain_group_with_recommenders_and_metric_attribution_round_trips(acct: Account) -> None:
    from reconciler.model.spec import RecommenderSpec

    from .workshop import build_domain_group

    build_domain_group(acct.personalize, acct.target.s3, acct.clock, account=acct.account, name="shop-2022")
    out = acct.import_and_write(["shop-2022"], stack="shop")
    desired = acct.load(out)
    recommenders = {r.address.name: r.spec for r in desired.of_kind(Kind.RECOMMENDER)}
    assert set(recommenders) == {
        "shop-2022-recommended-for-you",
        "shop-2022-customers-who-viewed-x-also-viewed",
    }
    stopped = recommenders["shop-2022-customers-who-viewed-x-also-viewed"]
    assert isinstance(stopped, RecommenderSpec) and stopped.running is False
    assert len(desired.of_kind(Kind.METRIC_ATTRIBUTION)) == 1
    first = acct.plan(desired)
    # metric attributions cannot carry tags: found by name, nothing to adopt
    for change in first.changes:
        if change.address.kind in (Kind.RECOMMENDER,):
            assert change.action is Action.ADOPT
    ma = [c for c in first.changes if c.address.kind is Kind.METRIC_ATTRIBUTION]
    assert [c.action for c in ma] == [Action.NOOP]
    assert {c.action for c in first.changes} <= {Action.ADOPT, Action.NOOP}, [
        (str(c.address), c.action.value) for c in first.changes
    ]
    assert all(not c.notes for c in first.changes if c.action is Action.ADOPT)
    assert acct.apply(desired).exit_code == 0
    assert_no_changes(acct.plan(desired))
