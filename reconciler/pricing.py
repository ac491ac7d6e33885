"""Price table for the plan's cost notes. ESTIMATES ONLY.

The numbers are us-east-1 on-demand list prices as recalled for 2023-2024 and were NOT verified against the
current AWS pricing page (see docs/personalize-api reference §6). They exist so a plan can say "this costs
money, roughly this much"; they are not a bill. Override any of them for your region or contract:

* in code: `PriceTable(campaign_tps_hour_usd=0.25)` or `DEFAULT_PRICES.with_overrides({...})`;
* from the CLI: set `PERSONALIZE_GITOPS_PRICES` to a JSON object with the same keys
  (`{"training_hour_usd": 0.30}`); unknown keys are an error.

Billing mechanics (reliable, from the API docs): a campaign is billed per TPS-hour on
max(minProvisionedTPS, actual TPS) for as long as it is ACTIVE, even with no traffic; training is billed per
training hour (4 vCPU / 8 GiB units, can exceed wall-clock hours); automatic training (default every 7 days)
recurs while it is on; recommenders bill per request with a minimum from minRecommendationRequestsPerSecond.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

ESTIMATE_LABEL = "estimate"


@dataclass(frozen=True, slots=True)
class PriceTable:
    campaign_tps_hour_usd: float = 0.20
    """First tier of real-time inference, per TPS-hour (v1 recipes)."""
    training_hour_usd: float = 0.24
    """Per training hour."""
    typical_training_hours: float = 2.0
    """Training hours assumed per solution version when the plan estimates a training's cost."""
    recommender_per_1000_requests_usd: float = 0.0
    """Unknown (domain recommender prices were not verified); 0 means 'not estimated'."""
    hours_per_month: float = 730.0

    def with_overrides(self, overrides: Mapping[str, float]) -> PriceTable:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown price keys {unknown}; known keys: {sorted(known)}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    # -- estimates --

    def campaign_monthly_minimum(self, min_provisioned_tps: int) -> float:
        """Minimum monthly cost of an ACTIVE campaign: minProvisionedTPS x hours x price per TPS-hour."""
        return round(min_provisioned_tps * self.hours_per_month * self.campaign_tps_hour_usd, 2)

    def training_estimate(self, hours: float | None = None) -> float:
        return round(
            (hours if hours is not None else self.typical_training_hours) * self.training_hour_usd, 2
        )

    def auto_training_monthly(self, every_days: int, hours: float | None = None) -> float:
        runs = 30.4 / max(every_days, 1)
        return round(runs * self.training_estimate(hours), 2)


DEFAULT_PRICES = PriceTable()


def money(amount: float) -> str:
    return f"${amount:,.2f}"
