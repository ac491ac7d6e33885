"""Issue 11: "a new kind is one new file plus one registry line".

`ExclusionFilter` is not a built-in kind: tests/fixtures/newkind/exclusion_filter.py defines it (its `Kind`,
spec model and handler), and the `exclusion_kind` fixture registers it with one line. Nothing under
reconciler/ names it. Through real boto3 clients against the in-process emulator (virtual time): the
manifests validate (and a bad spec is reported where it is written), plan shows a CREATE, apply creates it,
the next plan is a no-op, an edit of its items plans a REPLACE and a tag edit an UPDATE, and removing it with
prune deletes it; a built-in `Filter` of the same group (the same API) is never confused with it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from reconciler.apply.run import run_apply
from reconciler.aws.target import Target
from reconciler.cli import app
from reconciler.commands.iam_cmd import iam_policy
from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.errors import ManifestError
from reconciler.live.reader import CallCounter, ReadStrategy, read_live
from reconciler.manifest import load
from reconciler.model.address import Address, Kind
from reconciler.model.state import DesiredState
from reconciler.plan import planfile
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Action, Plan
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.resources.base import TAG_KIND, Ops
from reconciler.resources.registry import REGISTRY, register, registered, unregister
from tests.fixtures.newkind import exclusion_filter

ROOT = Path(__file__).resolve().parents[1]
KIND_FILE = ROOT / "tests" / "fixtures" / "newkind" / "exclusion_filter.py"
REGION = "us-east-1"
runner = CliRunner()

STACK = """apiVersion: personalize-gitops/v1alpha1
kind: Stack
metadata: {name: nk}
spec:
  region: us-east-1
  accountId: "123456789012"
  namePrefix: nk-
  prune: {enabled: true}
"""

BASE = """apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {name: shop}
spec: {}
---
apiVersion: personalize-gitops/v1alpha1
kind: Schema
metadata: {name: items}
spec:
  avro:
    name: Items
    fields:
      - {name: ITEM_ID, type: string}
      - {name: CATEGORY, type: string, categorical: true}
---
apiVersion: personalize-gitops/v1alpha1
kind: Schema
metadata: {name: interactions}
spec:
  avro:
    name: Interactions
    fields:
      - {name: ITEM_ID, type: string}
      - {name: USER_ID, type: string}
      - {name: EVENT_TYPE, type: string}
      - {name: TIMESTAMP, type: long}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {name: items}
spec: {datasetGroup: shop, datasetType: ITEMS, schema: items}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {name: interactions}
spec: {datasetGroup: shop, datasetType: INTERACTIONS, schema: interactions}
---
apiVersion: personalize-gitops/v1alpha1
kind: Filter
metadata: {name: no-clicks}
spec:
  datasetGroup: shop
  filterExpression: 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
"""

EXCLUSION = """---
apiVersion: personalize-gitops/v1alpha1
kind: ExclusionFilter
metadata:
  name: {name}
  tags: {tags}
spec:
  datasetGroup: {group}
  {what}
"""


@pytest.fixture
def exclusion_kind() -> Iterator[Kind]:
    register(exclusion_filter.HANDLER)  # the one registry line
    try:
        yield exclusion_filter.EXCLUSION_FILTER
    finally:
        unregister(exclusion_filter.EXCLUSION_FILTER)


def write(root: Path, *exclusions: str) -> Path:
    (root / "stack.yaml").write_text(STACK, encoding="utf-8")
    (root / "resources.yaml").write_text(BASE + "".join(exclusions), encoding="utf-8")
    return root


def exclusion(name: str, what: str, tags: str = "{}", group: str = "shop") -> str:
    return EXCLUSION.format(name=name, what=what, tags=tags, group=group)


class World:
    def __init__(
        self, root: Path, emulator: PersonalizeEmulator, clock: VirtualClock, target: Target
    ) -> None:
        self.root, self.emulator, self.clock, self.target = root, emulator, clock, target
        self.desired: DesiredState = load(root)

    def reload(self, *exclusions: str) -> DesiredState:
        write(self.root, *exclusions)
        self.desired = load(self.root)
        return self.desired

    def live(self):
        return read_live(self.target, self.desired, now=self.clock.now())

    def plan(self) -> Plan:
        return plan(self.desired, self.live(), PlanOptions(target="test"))

    def apply(self) -> int:
        result = run_apply(
            self.desired, self.target, read_live=self.live, plan_options=PlanOptions(target="test")
        )
        assert result.exit_code == 0, result.summary().details()
        return result.exit_code

    def filters(self) -> dict[str, dict]:
        personalize = self.target.personalize
        out = {}
        for summary in personalize.list_filters()["Filters"]:
            arn = summary["filterArn"]
            described = personalize.describe_filter(filterArn=arn)["filter"]
            tags = personalize.list_tags_for_resource(resourceArn=arn)["tags"]
            out[summary["name"]] = {**described, "tags": {t["tagKey"]: t["tagValue"] for t in tags}}
        return out


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exclusion_kind: Kind) -> Iterator[World]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    write(tmp_path)
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, strict=True)
        yield World(tmp_path, emulator, clock, Target.for_tests(emulator, clock, region=REGION))


def changes(p: Plan) -> dict[Address, Action]:
    return {c.address: c.action for c in p.changes if c.action is not Action.NOOP}


HIDE = Address(exclusion_filter.EXCLUSION_FILTER, "hide")


def test_a_registered_kind_is_a_member_of_kind_until_it_is_unregistered(exclusion_kind: Kind) -> None:
    assert Kind("ExclusionFilter") is exclusion_kind and exclusion_kind in list(Kind)
    assert REGISTRY[exclusion_kind] is exclusion_filter.HANDLER
    assert str(HIDE) == "ExclusionFilter/hide" and Address.parse("ExclusionFilter/hide") == HIDE
    unregister(exclusion_kind)
    assert exclusion_kind not in list(Kind) and "ExclusionFilter" not in Kind
    with pytest.raises(ValueError):
        Kind("ExclusionFilter")
    register(exclusion_filter.HANDLER)
    assert Kind("ExclusionFilter") is exclusion_kind


def test_validate_reads_the_new_kind_and_reports_its_errors_where_they_are(
    tmp_path: Path, exclusion_kind: Kind
) -> None:
    desired = load(write(tmp_path, exclusion("hide", "itemIds: [i2, i1]")))
    (res,) = desired.of_kind(exclusion_kind)
    assert res.physical_name == "nk-hide"
    assert res.spec.expression() == 'EXCLUDE ItemID WHERE Items.ITEM_ID IN ("i1", "i2")'
    assert res.depends_on == (Address(Kind.DATASET_GROUP, "shop"),)
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "7 resources valid" in result.output
    write(
        tmp_path,
        exclusion("both", "itemIds: [i1]\n  eventType: purchase"),
        exclusion("lost", "eventType: x", group="shops"),
    )
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    both = next(line for line in lines if "ExclusionFilter/both" in line)
    assert both.startswith(f"{tmp_path / 'resources.yaml'}:")
    assert "exactly one of itemIds and eventType" in both
    lost = next(line for line in lines if "ExclusionFilter/lost" in line)
    assert "spec.datasetGroup: DatasetGroup/shops is not defined" in lost
    assert "Traceback" not in result.output


def test_without_its_registry_line_the_kind_is_unknown(tmp_path: Path) -> None:
    write(tmp_path, exclusion("hide", "itemIds: [i1]"))
    with pytest.raises(ManifestError) as caught:
        load(tmp_path)
    report = str(caught.value) + "\n" + "\n".join(str(p) for p in getattr(caught.value, "problems", ()))
    assert "unknown kind 'ExclusionFilter'" in report
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "unknown kind 'ExclusionFilter'" in result.output


def test_plan_create_apply_noop_and_tag_update_of_the_new_kind(world: World) -> None:
    world.reload(exclusion("hide", "itemIds: [i2, i1]"))
    first = world.plan()
    assert changes(first)[HIDE] is Action.CREATE
    assert "ExclusionFilter/hide" in render_text(first) and "ExclusionFilter/hide" in render_markdown(first)
    saved = planfile.loads(planfile.dumps(first))  # a saved plan reads the kind back
    assert planfile.plan_digest(saved) == planfile.plan_digest(first) and changes(saved) == changes(first)
    assert Address(Kind.DATASET, "items") in next(c for c in first.changes if c.address == HIDE).depends_on
    assert world.apply() == 0
    filters = world.filters()
    assert filters["nk-hide"]["filterExpression"] == 'EXCLUDE ItemID WHERE Items.ITEM_ID IN ("i1", "i2")'
    assert filters["nk-hide"]["tags"][TAG_KIND] == "ExclusionFilter"
    assert TAG_KIND not in filters["nk-no-clicks"]["tags"]  # the built-in Filter of the same API
    live = world.live()
    assert live.resources[HIDE].kind is exclusion_filter.EXCLUSION_FILTER
    assert live.resources[Address(Kind.FILTER, "no-clicks")].kind is Kind.FILTER
    assert not world.plan().has_changes

    # a tag edit: in place
    world.reload(exclusion("hide", "itemIds: [i2, i1]", tags="{team: search}"))
    assert changes(world.plan()) == {HIDE: Action.UPDATE}
    assert world.apply() == 0
    assert world.filters()["nk-hide"]["tags"]["team"] == "search"
    assert world.filters()["nk-hide"]["tags"][TAG_KIND] == "ExclusionFilter"  # bookkeeping, kept
    assert not world.plan().has_changes

    # an edit of what it excludes: filters have no Update*, so a replacement is planned
    world.reload(exclusion("hide", "itemIds: [i1, i3]", tags="{team: search}"))
    assert changes(world.plan()) == {HIDE: Action.REPLACE}


def test_the_new_kind_is_read_with_the_kind_sharing_its_api_per_group_or_account_wide(world: World) -> None:
    """One ListFilters per group serves Filter and ExclusionFilter alike (the reader lists each API once and
    assigns by the kind tag); listed account-wide the account reads the same."""
    world.reload(exclusion("hide", "itemIds: [i2, i1]"), exclusion("bought", "eventType: purchase"))
    assert world.apply() == 0
    personalize = world.target.personalize
    counter = CallCounter(personalize)
    per_group = read_live(
        world.target, world.desired, now=world.clock.now(), strategy=ReadStrategy.per_parent()
    )
    assert counter.calls["ListFilters"] == 1  # one group, two kinds on the filter API
    wide = ReadStrategy(account_wide=frozenset({Kind.FILTER}))
    account_wide = read_live(world.target, world.desired, now=world.clock.now(), strategy=wide)
    kinds = {a: r.kind for a, r in per_group.resources.items()}
    assert kinds == {a: r.kind for a, r in account_wide.resources.items()}
    assert (
        kinds[HIDE]
        is kinds[Address(exclusion_filter.EXCLUSION_FILTER, "bought")]
        is exclusion_filter.EXCLUSION_FILTER
    )
    assert kinds[Address(Kind.FILTER, "no-clicks")] is Kind.FILTER
    assert not plan(world.desired, account_wide, PlanOptions(target="test")).has_changes


def test_replace_and_prune_of_the_new_kind(world: World) -> None:
    world.reload(exclusion("hide", "itemIds: [i2, i1]"))
    assert world.apply() == 0
    # an edit of what it excludes: filters have no Update*, so a replacement
    world.reload(exclusion("hide", "itemIds: [i1, i3]"))
    assert changes(world.plan()) == {HIDE: Action.REPLACE}
    assert world.apply() == 0
    expression = world.filters()["nk-hide"]["filterExpression"]
    assert expression == 'EXCLUDE ItemID WHERE Items.ITEM_ID IN ("i1", "i3")'
    assert not world.plan().has_changes

    # a second one, by event type, then the first removed: prune deletes it, the built-in Filter stays
    bought = Address(exclusion_filter.EXCLUSION_FILTER, "bought")
    world.reload(exclusion("bought", "eventType: purchase"))
    assert changes(world.plan()) == {HIDE: Action.DELETE, bought: Action.CREATE}
    assert world.apply() == 0
    assert sorted(world.filters()) == ["nk-bought", "nk-no-clicks"]
    assert not world.plan().has_changes


def test_the_new_kind_is_one_file_and_nothing_in_reconciler_names_it() -> None:
    """The claim itself: the kind's code is the one file, it registers with one line, and no module of
    reconciler/ (plan, apply, live, manifest...) mentions it."""
    tree = ast.parse(KIND_FILE.read_text(encoding="utf-8"))
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert {"EXCLUSION_FILTER", "HANDLER"} <= assigned
    assert [p.name for p in KIND_FILE.parent.glob("*.py")] == [KIND_FILE.name]  # the one file
    for path in sorted((ROOT / "reconciler").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "ExclusionFilter" not in text and "EXCLUSION_FILTER" not in text, path
    fixture = ast.parse(textwrap.dedent(inspect.getsource(exclusion_kind.__wrapped__)))
    calls = [n.func.id for n in ast.walk(fixture) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert calls.count("register") == 1  # the one registry line (`unregister` only undoes it after the test)


def _granted(policy: dict) -> dict[str, set[str]]:
    """Action -> the resources the policy grants it on."""
    out: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        for action in actions:
            out.setdefault(action, set()).update(resources)
    return out


def test_the_iam_policies_grant_a_registered_kind_its_own_api(tmp_path: Path) -> None:
    """A kind on an API no built-in kind uses (`Widget`: create_widget...) is granted its operations and ARNs
    by `iam-policy` once registered, with no edit in reconciler/commands/iam_cmd.py."""
    widget = Kind.declare("WIDGET", "Widget")
    ops = Ops(
        create="create_widget",
        describe="describe_widget",
        delete="delete_widget",
        list="list_widgets",
        list_key="widgets",
        arn_key="widgetArn",
        describe_key="widget",
        parent_param="datasetGroupArn",
        update="update_widget",
    )
    handler = replace(exclusion_filter.HANDLER, kind=widget, ops=ops, arn_type="widget", kind_tag=False)
    desired = load(write(tmp_path))
    before = _granted(iam_policy(desired, "apply"))
    assert "personalize:CreateWidget" not in before
    with registered(handler):
        apply_role = _granted(iam_policy(desired, "apply"))
        plan_role = _granted(iam_policy(desired, "plan"))
    for action in ("CreateWidget", "UpdateWidget", "DeleteWidget", "DescribeWidget"):
        assert "arn:aws:personalize:us-east-1:123456789012:widget/nk-*" in apply_role[f"personalize:{action}"]
    assert apply_role["personalize:ListWidgets"] == {"*"} and plan_role["personalize:ListWidgets"] == {"*"}
    assert "personalize:CreateWidget" not in plan_role  # the plan role stays read-only
    assert "personalize:CreateWidget" not in _granted(iam_policy(desired, "apply"))  # unregistered again


def test_kind_keeps_the_enum_api_the_code_uses() -> None:
    """`Kind` stopped being a StrEnum so a handler file can declare one; what the code used still holds."""
    import copy
    import pickle

    assert [k.value for k in Kind][:3] == ["DatasetGroup", "Schema", "Dataset"]  # declaration order
    assert Kind("Campaign") is Kind.CAMPAIGN and Kind(Kind.CAMPAIGN) is Kind.CAMPAIGN
    assert Kind.CAMPAIGN.value == "Campaign" and Kind.CAMPAIGN.name == "CAMPAIGN"
    assert (
        str(Kind.CAMPAIGN) == f"{Kind.CAMPAIGN}" == "Campaign"
        and repr(Kind.CAMPAIGN) == "<Kind.CAMPAIGN: 'Campaign'>"
    )
    assert Kind.CAMPAIGN == "Campaign" and Kind.CAMPAIGN < Kind.DATASET and "Campaign" in Kind
    assert {Kind.CAMPAIGN: 1}[Kind("Campaign")] == 1
    assert (
        pickle.loads(pickle.dumps(Kind.FILTER)) is Kind.FILTER and copy.deepcopy(Kind.FILTER) is Kind.FILTER
    )
    with pytest.raises(ValueError, match="is not a valid Kind"):
        Kind("Campaigns")
    assert Kind.declare("EXCLUSION_FILTER", "ExclusionFilter") is exclusion_filter.EXCLUSION_FILTER
    with pytest.raises(ValueError, match="already declared"):
        Kind.declare("OTHER_NAME", "ExclusionFilter")
    with pytest.raises(ValueError, match="already registered"):
        register(replace(exclusion_filter.HANDLER, kind=Kind.FILTER))
