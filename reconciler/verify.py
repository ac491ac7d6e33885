"""`personalize-gitops verify`: ask every campaign and recommender of the stack for an answer.

The workshop's "get recommendations" step, automated as a post-apply check. For each Campaign and
Recommender of the manifests it sends one read-only runtime request through a real boto3
``personalize-runtime`` client (the same on AWS, an ``emulator serve`` endpoint or ``--local``):

* GetPersonalizedRanking for personalized-ranking recipes (``verify.inputList``, else items another campaign
  of the stack returned);
* GetActionRecommendations for next-best-action recipes;
* GetRecommendations otherwise: ``verify.itemId`` for related-items recipes, ``verify.userId`` for the
  others; unset ids are a cold user / item, which the service answers with its cold-start or popular list.

``verify.filter`` (a Filter of the stack) and ``verify.filterValues`` are passed along. A check fails when the
resource is not in the account, the call fails, or fewer items come back than ``verify.minResults``
(default ``numResults``; for a ranking, the input's length). Nothing is changed in the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.model.address import Address, Kind
from reconciler.model.spec import CampaignSpec, RecommenderSpec, SolutionSpec, VerifySpec
from reconciler.model.state import DesiredState

COLD_USER = "personalize-gitops-verify-cold-user"
COLD_ITEM = "personalize-gitops-verify-cold-item"
RANKING = ("aws-personalized-ranking",)
ACTIONS = ("aws-next-best-action",)
RELATED = (
    "aws-sims",
    "aws-similar-items",
    "aws-semantic-similarity",
    "aws-ecomm-customers-who-viewed-x-also-viewed",
    "aws-ecomm-frequently-bought-together",
    "aws-vod-because-you-watched-x",
    "aws-vod-more-like-x",
)
NEEDS_USER_TOO = (
    "aws-ecomm-customers-who-viewed-x-also-viewed",
    "aws-vod-because-you-watched-x",
    "aws-vod-more-like-x",
)
SHOWN = 5


@dataclass
class Check:
    address: Address
    operation: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    expected: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and len(self.items) >= self.expected

    def describe(self) -> str:
        asked = ", ".join(f"{k}={v}" for k, v in self.request.items() if k in ("userId", "itemId", "filter"))
        head = f"{self.address}: {self.operation or 'no request'}" + (f" ({asked})" if asked else "")
        if self.error is not None:
            return f"FAIL  {head}: {self.error}"
        shown = ", ".join(self.items[:SHOWN]) + (" ..." if len(self.items) > SHOWN else "")
        if not self.ok:
            return f"FAIL  {head}: {len(self.items)} item(s), fewer than the {self.expected} expected" + (
                f" [{shown}]" if shown else ""
            )
        return f"ok    {head}: {len(self.items)} item(s) [{shown}]"


@dataclass
class VerifyReport:
    target: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def render(self) -> str:
        lines = [f"Verify {len(self.checks)} campaign(s)/recommender(s) against {self.target}:"]
        lines += [f"  {c.describe()}" for c in self.checks]
        failed = sum(not c.ok for c in self.checks)
        if not self.checks:
            lines.append("  (the stack has no campaigns or recommenders)")
        elif failed:
            lines.append(
                f"Verify FAILED: {failed} of {len(self.checks)} did not answer as declared. Check that apply "
                "finished (campaigns ACTIVE), and the `verify:` blocks (userId, itemId, filter, minResults)."
            )
        else:
            lines.append(f"Verify passed: all {len(self.checks)} answered.")
        return "\n".join(lines)


def _recipe_name(desired: DesiredState, spec: CampaignSpec | RecommenderSpec) -> str:
    arn: str | None = None
    if isinstance(spec, RecommenderSpec):
        arn = spec.recipeArn
    else:
        solution = desired.resources.get(Address(Kind.SOLUTION, spec.solution))
        if solution is not None and isinstance(solution.spec, SolutionSpec):
            arn = solution.spec.recipeArn
    return (arn or "").rsplit("/", 1)[-1]


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def verify_stack(runtime: Any, desired: DesiredState, arns: dict[Address, str], target: str) -> VerifyReport:
    """Run the checks. ``runtime`` is a boto3 ``personalize-runtime`` client; ``arns`` the live ARNs of the
    stack's resources (campaigns, recommenders, filters) by address."""
    checks: list[Check] = []
    seen_items: list[str] = []
    rankings: list[tuple[Check, str, VerifySpec]] = []
    resources = [*desired.of_kind(Kind.CAMPAIGN), *desired.of_kind(Kind.RECOMMENDER)]
    for res in resources:
        spec = res.spec
        assert isinstance(spec, CampaignSpec | RecommenderSpec)
        verify = spec.verify or VerifySpec()
        check = Check(res.address)
        checks.append(check)
        arn = arns.get(res.address)
        if arn is None:
            check.error = "not in the account (run apply first)"
            continue
        recipe = _recipe_name(desired, spec)
        arn_key = "recommenderArn" if res.address.kind is Kind.RECOMMENDER else "campaignArn"
        request: dict[str, Any] = {arn_key: arn}
        if verify.filter:
            filter_arn = arns.get(Address(Kind.FILTER, verify.filter))
            if filter_arn is None:
                check.error = f"verify.filter {verify.filter} is not in the account"
                continue
            request["filterArn"] = filter_arn
            if verify.filterValues:
                request["filterValues"] = dict(verify.filterValues)
        if recipe.startswith(RANKING):
            rankings.append((check, arn, verify))
            continue
        if recipe.startswith(ACTIONS):
            check.operation = "GetActionRecommendations"
            request.update(userId=verify.userId or COLD_USER, numResults=min(verify.numResults, 100))
            check.expected = verify.minResults if verify.minResults is not None else 0
            _call(check, runtime.get_action_recommendations, request, "actionList", "actionId")
            continue
        check.operation = "GetRecommendations"
        if recipe in RELATED:
            request["itemId"] = verify.itemId or COLD_ITEM
            if recipe in NEEDS_USER_TOO or verify.userId:
                request["userId"] = verify.userId or COLD_USER
        elif "trending" not in recipe or verify.userId:
            request["userId"] = verify.userId or COLD_USER
        request["numResults"] = verify.numResults
        check.expected = verify.minResults if verify.minResults is not None else verify.numResults
        _call(check, runtime.get_recommendations, request, "itemList", "itemId")
        seen_items.extend(i for i in check.items if i not in seen_items)
    for check, arn, verify in rankings:
        check.operation = "GetPersonalizedRanking"
        inputs = list(verify.inputList or seen_items[:25])
        if not inputs:
            check.error = (
                "no items to rank: declare verify.inputList (no other campaign of the stack returned items)"
            )
            continue
        request = {"campaignArn": arn, "userId": verify.userId or COLD_USER, "inputList": inputs}
        if verify.filter:
            request["filterArn"] = arns[Address(Kind.FILTER, verify.filter)]
            if verify.filterValues:
                request["filterValues"] = dict(verify.filterValues)
        check.expected = verify.minResults if verify.minResults is not None else len(inputs)
        _call(check, runtime.get_personalized_ranking, request, "personalizedRanking", "itemId")
    return VerifyReport(target, checks)


def _call(check: Check, method: Any, request: dict[str, Any], list_key: str, id_key: str) -> None:
    check.request = dict(request)
    if "filterArn" in request:
        check.request["filter"] = request["filterArn"].rsplit("/", 1)[-1]
    try:
        answer = method(**request)
    except Exception as exc:  # botocore ClientError, endpoint errors: the check fails with the service's text
        check.error = _error_text(exc)
        return
    check.items = [str(entry.get(id_key)) for entry in answer.get(list_key, [])]


def live_arns(target: Any, desired: DesiredState) -> dict[Address, str]:
    """The live ARNs of the stack's resources (read by ownership tags, as plan does)."""
    from reconciler.live.reader import read_live

    live = read_live(target, desired, now=target.clock.now())
    return {address: res.arn for address, res in live.resources.items()}


def run_verify(target: Any, desired: DesiredState) -> VerifyReport:
    """Read the stack's live ARNs and verify every campaign and recommender through ``target``."""
    arns = live_arns(target, desired)
    runtime = target.client("personalize-runtime")
    return verify_stack(runtime, desired, arns, target.label)
