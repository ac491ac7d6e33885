"""Campaign handler.

API ops: CreateCampaign, DescribeCampaign, ListCampaigns(solutionArn), UpdateCampaign, DeleteCampaign; tags
via Tag/UntagResource. Updatable fields (UpdateCampaign): solutionVersionArn (spec `solution`, and promotions
to a newer version), minProvisionedTPS, campaignConfig (itemExplorationConfig,
enableMetadataWithRecommendations, syncWithLatestSolutionVersion, rankingInfluence). Only the name forces a
replacement. The campaign keeps serving the old version while an update runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import PlanError
from reconciler.model.address import Kind
from reconciler.model.spec import CampaignSpec
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.pricing import PriceTable, money
from reconciler.resources.base import Cost, Ops, RefContext, TableHandler, drop_defaults

DEFAULTS = {
    "campaignConfig.syncWithLatestSolutionVersion": False,
    "campaignConfig.enableMetadataWithRecommendations": False,
}


def syncs_with_latest(spec: CampaignSpec) -> bool:
    return bool(spec.campaignConfig and spec.campaignConfig.syncWithLatestSolutionVersion)


def pinned_version_arn(spec: CampaignSpec, ctx: RefContext) -> str | None:
    """The ARN of the version the campaign is pinned to (`solutionVersion`), or None when it is not pinned.

    A version id is resolved against the solution's ARN (`<solution ARN>/<id>`, the documented format)."""
    if not spec.solutionVersion:
        return None
    if spec.solutionVersion.startswith("arn:"):
        return spec.solutionVersion
    return f"{ctx.arn(Kind.SOLUTION, spec.solution)}/{spec.solutionVersion}"


@dataclass(frozen=True)
class CampaignHandler(TableHandler):
    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        fields = {
            "solution": ctx.solution_of_version(live.fields.get("solutionVersionArn")),
            "minProvisionedTPS": live.fields.get("minProvisionedTPS"),
            "campaignConfig": live.fields.get("campaignConfig"),
        }
        return drop_defaults(fields, self.defaults)

    def version_arn(self, spec: CampaignSpec, ctx: RefContext) -> str:
        pinned = pinned_version_arn(spec, ctx)
        if pinned is not None:
            return pinned
        if syncs_with_latest(spec):
            return ctx.arn(Kind.SOLUTION, spec.solution) + "/$LATEST"
        version = ctx.solution_versions.get(spec.solution)
        if version is None:
            raise PlanError(
                f"Campaign needs an ACTIVE version of Solution/{spec.solution}, and none is known",
                hint="train the solution first (plan schedules it); apply re-reads versions before this step",
            )
        return version

    def create_cost(self, res: DesiredResource, prices: PriceTable) -> Cost:
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        monthly = prices.campaign_monthly_minimum(spec.minProvisionedTPS)
        return monthly, (
            f"campaign bills at least {spec.minProvisionedTPS} TPS around the clock: "
            f"~{money(monthly)}/month (estimate)",
        )

    def change_cost(
        self, res: DesiredResource, have: Mapping[str, Any], paths: tuple[str, ...], prices: PriceTable
    ) -> Cost:
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        if "minProvisionedTPS" not in paths:
            return None, ()
        before = int(have.get("minProvisionedTPS") or 1)
        cost = prices.campaign_monthly_minimum(spec.minProvisionedTPS)
        was = money(prices.campaign_monthly_minimum(before))
        return cost, (f"minimum monthly cost {was} -> {money(cost)} (estimate)",)

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        request = super().create_request(res, ctx)
        request.pop("solutionArn", None)  # CreateCampaign takes the version, not the solution
        request["solutionVersionArn"] = self.version_arn(spec, ctx)
        return request

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        changed = {p for p in paths if not p.startswith("tags")}
        if not changed:
            return None
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        request: dict[str, Any] = {"campaignArn": live.arn}
        if "solution" in changed or (
            syncs_with_latest(spec) and any(p.startswith("campaignConfig") for p in changed)
        ):
            request["solutionVersionArn"] = self.version_arn(spec, ctx)
        if "minProvisionedTPS" in changed:
            request["minProvisionedTPS"] = spec.minProvisionedTPS
        if any(p.startswith("campaignConfig") for p in changed):
            request["campaignConfig"] = (
                spec.campaignConfig.model_dump(exclude_none=True) if spec.campaignConfig else {}
            )
        return request


HANDLER = CampaignHandler(
    kind=Kind.CAMPAIGN,
    spec_model=CampaignSpec,
    ops=Ops(
        create="create_campaign",
        describe="describe_campaign",
        delete="delete_campaign",
        list="list_campaigns",
        list_key="campaigns",
        arn_key="campaignArn",
        describe_key="campaign",
        parent_param="solutionArn",
        update="update_campaign",
        update_summary_key="latestCampaignUpdate",
    ),
    arn_type="campaign",
    typical_create=25 * 60,
    typical_update=15 * 60,
    delete_rank=0,
    depends_on=(Kind.SOLUTION,),
    references={"solution": Kind.SOLUTION},
    parent_field="solution",
    updatable_fields=("solution", "minProvisionedTPS", "campaignConfig"),
    spec_fields=("solution", "minProvisionedTPS", "campaignConfig"),
    create_fields=("minProvisionedTPS", "campaignConfig"),
    defaults=DEFAULTS,
    serves_traffic=True,
    data_flow="promote",
    follows_new_parent=True,
)
