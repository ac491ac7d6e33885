"""The data plane: ``personalize-runtime`` and ``personalize-events`` answered from the emulator's data.

Both services are REST-JSON (botocore's models are the API truth): requests are routed by method + path
(``ROUTES``), answers are JSON bodies, errors carry ``x-amzn-ErrorType`` and the model's HTTP status
(400/404/409). ``wire_data_call`` is the transport-independent entry point the in-process hook and
``emulator serve`` both use; ``PersonalizeEmulator.handle_data`` runs one operation under the emulator's lock.

Runtime
    GetRecommendations (campaign or recommender; userId/itemId by recipe type; numResults default 25, max 500,
    or 50 with metadataColumns; filters applied to the data, dynamic placeholders included; metadataColumns,
    at most 10; one promotion with its name, percentPromotedItems and filterArn; ``context`` keys must be
    metadata fields of the Interactions schema and reweigh user-personalization and ranking answers by the
    items' lift under those values, ``models.context_weights``), GetPersonalizedRanking (the same context),
    GetActionRecommendations. Every answer has a ``recommendationId``
    (``RID-`` + UUID, 40 characters). Unknown users get the model's cold-start list, unknown items popular
    items, as documented. A campaign or recommender that is not ACTIVE answers ResourceNotFoundException.
Events
    PutEvents (tracker's trackingId; events become PUT rows of the Interactions dataset: the user's next
    recommendations of the user-personalization family use them at once, other recipes at the next
    training), PutItems, PutUsers, PutActions (records replace earlier ones with the same id),
    PutActionInteractions. ``properties`` are JSON strings with camelCase keys of schema fields, each value
    checked against its field's type (numbers, booleans, null only in a union with "null"), as imports are.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import uuid
from typing import TYPE_CHECKING, Any

from .data import canonical_field
from .errors import EmulatorError, in_use, invalid, not_found
from .filtering import FilterValueError, ItemFilter, uses_current_item, wrong_target
from .recipes import RECIPES, Recipe
from .s3data import property_problem
from .shapes import check_shape

if TYPE_CHECKING:
    from .core import PersonalizeEmulator
    from .state import Context, Record

RUNTIME = "personalize-runtime"
EVENTS = "personalize-events"
SERVICES = (RUNTIME, EVENTS)
MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
MAX_METADATA_COLUMNS = 10
DEFAULT_RESULTS = 25
DEFAULT_ACTION_RESULTS = 5
MAX_ACTION_RESULTS = 100
#: Domain related-item use cases that need the user too (developer guide, ECOMMERCE/VOD use cases).
NEEDS_USER_AND_ITEM = frozenset(
    {"aws-ecomm-customers-who-viewed-x-also-viewed", "aws-vod-because-you-watched-x", "aws-vod-more-like-x"}
)


@functools.cache
def data_model(service: str) -> Any:
    """botocore's service model of ``personalize-runtime`` or ``personalize-events``."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@functools.cache
def routes() -> dict[tuple[str, str], tuple[str, str]]:
    """``(method, path)`` -> ``(service, operation)`` from the models' ``http.requestUri``."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for service in SERVICES:
        model = data_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            out[(http["method"].upper(), http["requestUri"])] = (service, name)
    return out


def route(method: str, path: str) -> tuple[str, str] | None:
    return routes().get((method.upper(), path.split("?", 1)[0].rstrip("/") or "/"))


def _status_of(service: str, operation: str, code: str) -> int:
    for shape in data_model(service).operation_model(operation).error_shapes:
        if shape.name == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    return 400


def wire_data_call(
    emulator: PersonalizeEmulator,
    method: str,
    path: str,
    body: bytes,
    region: str,
    account: str,
) -> tuple[int, dict[str, str], bytes]:
    """Answer one REST-JSON request of the runtime or events API."""
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": str(uuid.UUID(hashlib.sha256(body + path.encode()).hexdigest()[:32])),
    }
    found = route(method, path)
    if found is None:
        return _error(headers, 404, "UnknownOperationException", f"No operation at {method} {path}.")
    service, operation = found
    try:
        params = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError) as exc:
        return _error(headers, 400, "SerializationException", f"Request body is not valid JSON: {exc}")
    if not isinstance(params, dict):
        return _error(headers, 400, "SerializationException", "Request body must be a JSON object.")
    try:
        out = emulator.handle_data(service, operation, params, region, account)
    except EmulatorError as exc:
        status = exc.status if exc.status != 400 else _status_of(service, operation, exc.code)
        return _error(headers, status, exc.code, exc.message)
    if out is None:
        return 200, headers, b""
    return 200, headers, json.dumps(out).encode()


def _error(
    headers: dict[str, str], status: int, code: str, message: str
) -> tuple[int, dict[str, str], bytes]:
    headers = {**headers, "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"__type": code, "message": message}).encode()


def validate(service: str, operation: str, params: dict[str, Any]) -> None:
    """The model's constraints (required, lengths, ranges, patterns) -> InvalidInputException."""
    shape = data_model(service).operation_model(operation).input_shape
    problems = check_shape(params, shape, for_input=True)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise invalid(f"{len(problems)} validation error(s) detected: {'; '.join(problems[:3])}{more}")


def check_output(service: str, operation: str, out: dict[str, Any] | None) -> list[str]:
    shape = data_model(service).operation_model(operation).output_shape
    return check_shape(out if out is not None else {}, shape)


def declared(service: str, operation: str) -> frozenset[str]:
    return frozenset(s.name for s in data_model(service).operation_model(operation).error_shapes)


# ================================================================================= runtime: serving


class Serving:
    """What answers a runtime request: the campaign or recommender, its recipe, model and data."""

    def __init__(self, ctx: Context, record: Record, kind: str, recipe: Recipe, model_arn: str) -> None:
        self.ctx = ctx
        self.record = record
        self.kind = kind
        self.recipe = recipe
        self.group = str(record.get("_datasetGroupArn") or record.get("datasetGroupArn"))
        self.model_arn = model_arn
        self.store = ctx.emulator.data
        self.model = _model_for(ctx.emulator, model_arn, recipe, self.store, self.group)

    # the tables are read only when a request needs them (after PutEvents, reading the interactions merges
    # the new rows: the common unfiltered request does not pay for it)
    @functools.cached_property
    def interactions(self) -> Any:
        return self.store.interactions(self.group)

    @functools.cached_property
    def items(self) -> Any:
        return self.store.items(self.group)

    @functools.cached_property
    def users(self) -> Any:
        return self.store.users(self.group)

    @functools.cached_property
    def actions(self) -> Any:
        return self.store.actions(self.group)

    @functools.cached_property
    def action_interactions(self) -> Any:
        return self.store.table(self.group, "ACTION_INTERACTIONS")

    @property
    def config(self) -> dict[str, Any]:
        key = "campaignConfig" if self.kind == "campaign" else "recommenderConfig"
        return dict(self.record.get(key) or {})


def _model_for(emulator: PersonalizeEmulator, arn: str, recipe: Recipe, store: Any, group: str) -> Any:
    """The trained model of ``arn``; a popularity stand-in when the recipe's family has no model."""
    model = emulator.models.for_version(arn)
    if model is not None:
        return model
    standins: dict[str, Any] = emulator.__dict__.setdefault("_standin_models", {})
    found = standins.get(arn)
    interactions = store.interactions(group) if found is None else None
    items = store.items(group) if found is None else None
    if found is None and interactions is not None:
        from .models import TrainingConfig
        from .models import train as train_model

        found = train_model(interactions, TrainingConfig(recipe="aws-popularity-count"), items)
        if found is not None:
            found.trained_rows = len(interactions)
            found.trained_puts = len(interactions.put_rows())
            standins[arn] = found
    return found


def _serving(ctx: Context, params: dict[str, Any], *, allow_recommender: bool = True) -> Serving:
    campaign_arn = params.get("campaignArn")
    recommender_arn = params.get("recommenderArn") if allow_recommender else None
    if bool(campaign_arn) == bool(recommender_arn):
        what = "campaignArn or recommenderArn" if allow_recommender else "campaignArn"
        raise invalid(f"Specify exactly one of {what}.")
    if campaign_arn:
        campaign = ctx.find("campaign", campaign_arn)
        if campaign is None or campaign.get("status") != "ACTIVE":
            state = "does not exist" if campaign is None else f"is {campaign.get('status')}, not ACTIVE"
            raise not_found(f"Campaign {campaign_arn} {state}.")
        version = ctx.find("solution_version", campaign["solutionVersionArn"])
        if version is None:
            raise not_found(f"Campaign {campaign_arn} has no solution version to serve.")
        return Serving(
            ctx, campaign, "campaign", RECIPES[version["recipeArn"]], version["solutionVersionArn"]
        )
    recommender = ctx.find("recommender", str(recommender_arn))
    if recommender is None or recommender.get("status") != "ACTIVE":
        state = "does not exist" if recommender is None else f"is {recommender.get('status')}, not ACTIVE"
        raise not_found(f"Recommender {recommender_arn} {state}.")
    return Serving(ctx, recommender, "recommender", RECIPES[recommender["recipeArn"]], str(recommender_arn))


def _item_filter(
    serving: Serving,
    filter_arn: str | None,
    values: dict[str, str] | None,
    user_id: str | None,
    item_id: str | None,
    target: str = "ITEMID",
) -> ItemFilter | None:
    if not filter_arn:
        if values:
            raise invalid("filterValues were given without a filterArn.")
        return None
    record = serving.ctx.find("filter", filter_arn)
    if record is None:
        raise not_found(f"Filter {filter_arn} does not exist.")
    if record.get("status") != "ACTIVE":
        raise invalid(f"Filter {filter_arn} is {record.get('status')}; it must be ACTIVE.")
    if record.get("datasetGroupArn") != serving.group:
        raise invalid(f"Filter {filter_arn} belongs to another dataset group than {serving.record['name']}.")
    # The filter's target must be what the operation selects (personalize-api.md 9.2 rule 10 [DOC]); that
    # the service answers InvalidInputException, rather than applying nothing, is an inference [INF].
    use = {"ITEMID": "GetRecommendations/GetPersonalizedRanking", "ACTIONID": "GetActionRecommendations"}
    mismatch = wrong_target(
        str(record.get("name", filter_arn)), record["filterExpression"], target, use[target]
    )
    if mismatch:
        raise invalid(mismatch)
    # CurrentItem.FIELD reads the request's item: "only for related-item recipes and use cases"
    # (personalize-data-plane.md 3 "Targets" [DOC: dg/native-recipe-sims; dg/item-recommendation-filter-
    # examples]; personalize-api.md 9.2 rule 10). That the service answers InvalidInputException (rather than
    # ignoring the condition) is an inference, as for the other invalid requests of 1.1 "Errors" [INF].
    if serving.recipe.recipe_type != "RELATED_ITEMS" and uses_current_item(record["filterExpression"]):
        raise invalid(
            f"Filter {record.get('name', filter_arn)} uses CurrentItem, which only related-items recipes and "
            f"use cases fill (from itemId); {serving.kind} {serving.record['name']} serves "
            f"{serving.recipe.name} ({serving.recipe.recipe_type}). Use a filter without CurrentItem, or a "
            "related-items campaign or recommender."
        )
    try:
        return ItemFilter(
            record["filterExpression"],
            values,
            user_id=user_id,
            item_id=item_id,
            # an ActionID filter tests the Actions and Action interactions datasets
            interactions=serving.action_interactions if target == "ACTIONID" else serving.interactions,
            items=serving.actions if target == "ACTIONID" else serving.items,
            users=serving.users,
            target=target,
        )
    except FilterValueError as exc:
        raise invalid(str(exc)) from exc


def _metadata_columns(serving: Serving, params: dict[str, Any]) -> list[str]:
    wanted = params.get("metadataColumns") or {}
    if not wanted:
        return []
    if not serving.config.get("enableMetadataWithRecommendations"):
        raise invalid(
            f"{serving.kind.capitalize()} {serving.record['name']} does not return metadata: set "
            "enableMetadataWithRecommendations in its config."
        )
    unknown = sorted(set(wanted) - {"ITEMS"})
    if unknown:
        raise invalid(f"metadataColumns supports the ITEMS dataset only, not {', '.join(unknown)}.")
    columns = [str(c) for c in wanted.get("ITEMS", [])]
    # "up to 10 Items-dataset columns" although the shape allows 99 (personalize-data-plane.md 1.1
    # "metadataColumns" [M; DOC: dg/limits]); the InvalidInputException is an inference [INF].
    if len(columns) > MAX_METADATA_COLUMNS:
        raise invalid(
            f"metadataColumns: at most {MAX_METADATA_COLUMNS} Items columns per request, got {len(columns)} "
            f"({', '.join(columns)})."
        )
    known = set(serving.items.columns) if serving.items is not None else set()
    missing = [c for c in columns if c.upper() not in known]
    if missing:
        raise invalid(f"metadataColumns: the Items dataset has no column(s) {', '.join(missing)}.")
    return columns


def _metadata(serving: Serving, item_id: str, columns: list[str]) -> dict[str, str] | None:
    if not columns or serving.items is None:
        return None
    return {c: serving.items.value(item_id, c) or "" for c in columns}


def _history(serving: Serving, user_id: str | None) -> list[str]:
    """The user's items since the model's training (PutEvents rows), oldest first."""
    if not user_id or serving.model is None:
        return []
    return list(serving.store.user_puts_after(serving.group, user_id, serving.model.trained_puts))


#: Interactions fields a request's ``context`` cannot name: the events API fills them, they are not metadata.
CONTEXT_RESERVED = frozenset(
    {"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "IMPRESSION", "RECOMMENDATION_ID"}
)


def _context_weights(serving: Serving, params: dict[str, Any]) -> Any:
    """The request's ``context`` checked against the Interactions schema, and its effect on the model.

    Keys are metadata fields of the Interactions schema (the workshop's ``DISCOUNT``) and "only
    USER_PERSONALIZATION and PERSONALIZED_RANKING recipes use it", without retraining (personalize-data-
    plane.md 1.1 "context" [DOC: dg/contextual-metadata (2023)]). That a key which is no such field is
    refused with InvalidInputException, and that keys match the schema case-insensitively (as CSV headers
    and ``properties`` do), are inferences [INF]; other recipes accept and ignore a valid context [INF].

    Its effect is ``models.context_weights`` (a documented stand-in)."""
    given = params.get("context") or {}
    if not given:
        return None
    datasets = serving.ctx.where("dataset", datasetGroupArn=serving.group, datasetType="INTERACTIONS")
    fields = _schema_fields(serving.ctx, datasets[0]) if datasets else {}
    metadata = sorted(name for name in fields if name not in CONTEXT_RESERVED)
    for key in given:
        if str(key).upper() not in metadata:
            offer = (
                f"its metadata fields are {', '.join(metadata)}" if metadata else "it has no metadata field"
            )
            raise invalid(
                f"context key {key} is not a metadata field of the Interactions schema of dataset group "
                f"{serving.group}: {offer}. Give context only for those fields (for example "
                '{"DEVICE": "Phone"}).'
            )
    from .models import context_weights

    if serving.model is None or serving.interactions is None:
        return None
    return context_weights(
        serving.recipe.name, serving.model, serving.interactions, {str(k): str(v) for k, v in given.items()}
    )


def _recommendation_id() -> str:
    return f"RID-{uuid.uuid4()}"


def _num_results(params: dict[str, Any], metadata: list[str]) -> int:
    n = params.get("numResults")
    n = DEFAULT_RESULTS if n is None else n  # JSON null from a non-boto3 client: unset
    top = MAX_RESULTS_WITH_METADATA if metadata else MAX_RESULTS
    if n > top:
        detail = " when metadataColumns are requested" if metadata else ""
        raise invalid(f"numResults must be at most {top}{detail}, got {n}.")
    return int(n)


def get_recommendations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    serving = _serving(ctx, params)
    recipe_type = serving.recipe.recipe_type
    user_id, item_id = params.get("userId"), params.get("itemId")
    if recipe_type == "PERSONALIZED_RANKING":
        raise invalid(f"Recipe {serving.recipe.name} ranks items: call GetPersonalizedRanking instead.")
    if recipe_type == "PERSONALIZED_ACTIONS":
        raise invalid(f"Recipe {serving.recipe.name} recommends actions: call GetActionRecommendations.")
    if recipe_type == "USER_SEGMENTATION":
        raise invalid(f"Recipe {serving.recipe.name} makes user segments: use a batch segment job.")
    if not user_id and (
        recipe_type == "USER_PERSONALIZATION"
        or (recipe_type == "POPULAR_ITEMS" and "trending" not in serving.recipe.name)
        or serving.recipe.name in NEEDS_USER_AND_ITEM
    ):
        raise invalid(f"userId is required for recipe {serving.recipe.name}.")
    if recipe_type == "RELATED_ITEMS" and not item_id:
        raise invalid(f"itemId is required for recipe {serving.recipe.name}.")
    columns = _metadata_columns(serving, params)
    n = _num_results(params, columns)
    keep = _item_filter(serving, params.get("filterArn"), params.get("filterValues"), user_id, item_id)
    weights = _context_weights(serving, params)
    scoring = {"context_weights": weights} if weights is not None else {}
    promotions = params.get("promotions") or []
    if len(promotions) > 1:
        raise invalid("At most one promotion can be given.")
    for promo in promotions:
        # A promotion is its name, its share of numResults and the filter that selects the promoted items
        # (personalize-data-plane.md 1.1 "Promotions" [M; DOC: dg/promoting-items (2023)]). The model
        # requires none of them; that the service refuses a promotion without one is an inference [INF]
        # (without a filter nothing defines what to promote; without a share the emulator promoted 1 item).
        missing = [k for k in ("name", "percentPromotedItems", "filterArn") if promo.get(k) in (None, "")]
        if missing:
            raise invalid(
                f"promotions[0] needs {', '.join(missing)}: give the promotion's name, percentPromotedItems "
                "(1-100, its share of numResults) and the filterArn that selects the promoted items."
            )
    if promotions and recipe_type not in ("USER_PERSONALIZATION", "POPULAR_ITEMS", "RELATED_ITEMS"):
        raise invalid(f"Promotions are not supported by recipe {serving.recipe.name}.")
    exclude = [item_id] if item_id and recipe_type == "RELATED_ITEMS" else []
    model = serving.model
    query_user = user_id if recipe_type != "RELATED_ITEMS" else None
    query_item = item_id if recipe_type == "RELATED_ITEMS" else None
    history = _history(serving, user_id) if recipe_type == "USER_PERSONALIZATION" else []
    exploration = serving.config.get("itemExplorationConfig")
    promoted: list[tuple[str, float]] = []
    promotion_name = None
    if promotions and n:
        promo = promotions[0]
        promotion_name = promo.get("name")
        count = max(1, round(n * int(promo.get("percentPromotedItems", 0)) / 100))
        promo_keep = _item_filter(
            serving, promo.get("filterArn"), promo.get("filterValues"), user_id, item_id
        )
        if model is not None:
            promoted = model.recommend(
                query_user,
                query_item,
                count,
                exclude,
                promo_keep,
                history=history,
                exploration=exploration,
                **scoring,
            )
        exclude = exclude + [i for i, _ in promoted]
    ranked: list[tuple[str, float]] = []
    if model is not None and n:
        ranked = model.recommend(
            query_user,
            query_item,
            n - len(promoted),
            exclude,
            keep if keep is not None and keep.active else None,
            history=history,
            exploration=exploration,
            **scoring,
        )
    rid = _recommendation_id()
    rows: list[dict[str, Any]] = [_predicted(serving, i, s, columns) for i, s in ranked]
    if promoted:
        rng = random.Random(rid)  # promoted items sit at random positions, in their own order
        slots = sorted(rng.sample(range(len(rows) + len(promoted)), len(promoted)))
        for slot, (item, score) in zip(slots, promoted, strict=True):
            entry = _predicted(serving, item, score, columns)
            entry["promotionName"] = promotion_name
            rows.insert(slot, entry)
    return {"itemList": rows, "recommendationId": rid}


def _predicted(serving: Serving, item: str, score: float, columns: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"itemId": item}
    if serving.model is not None and serving.model.scored:
        entry["score"] = float(score)
    metadata = _metadata(serving, item, columns)
    if metadata is not None:
        entry["metadata"] = metadata
    return entry


def get_personalized_ranking(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    serving = _serving(ctx, params, allow_recommender=False)
    if serving.recipe.recipe_type != "PERSONALIZED_RANKING":
        raise invalid(
            f"Campaign {serving.record['name']} serves {serving.recipe.name}, not a personalized-ranking "
            "recipe: call GetRecommendations."
        )
    columns = _metadata_columns(serving, params)
    inputs = list(params["inputList"])
    top = MAX_RESULTS_WITH_METADATA if columns else MAX_RESULTS
    if len(inputs) > top:
        raise invalid(f"inputList may hold at most {top} items, got {len(inputs)}.")
    user_id = params["userId"]
    keep = _item_filter(serving, params.get("filterArn"), params.get("filterValues"), user_id, None)
    weights = _context_weights(serving, params)
    scoring = {"context_weights": weights} if weights is not None else {}
    ranked: list[tuple[str, float]] = []
    if serving.model is not None:
        ranked = serving.model.rank(user_id, inputs, history=_history(serving, user_id), **scoring)
    else:
        ranked = [(i, 0.0) for i in inputs]
    if keep is not None and keep.active:
        ranked = [(i, s) for i, s in ranked if keep(i)]
    rows = [_predicted(serving, i, s, columns) for i, s in ranked]
    known = getattr(serving.model, "item_index", None)
    if serving.recipe.name == "aws-personalized-ranking-v2" and known is not None:
        for row in rows:  # v2 returns items without interactions data unscored (v1 scores them 0)
            if row["itemId"] not in known:
                row.pop("score", None)
    return {"personalizedRanking": rows, "recommendationId": _recommendation_id()}


def get_action_recommendations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    serving = _serving(ctx, params, allow_recommender=False)
    if serving.recipe.recipe_type != "PERSONALIZED_ACTIONS":
        raise invalid(f"Campaign {serving.record['name']} does not serve a next-best-action recipe.")
    user_id = params.get("userId")
    if not user_id:
        raise invalid("userId is required for GetActionRecommendations.")
    n = params.get("numResults")
    n = DEFAULT_ACTION_RESULTS if n is None else int(n)
    if n > MAX_ACTION_RESULTS:
        raise invalid(f"numResults must be at most {MAX_ACTION_RESULTS}, got {n}.")
    keep = _item_filter(
        serving, params.get("filterArn"), params.get("filterValues"), user_id, None, target="ACTIONID"
    )
    model = ctx.emulator.models.for_version(serving.model_arn)
    if model is not None:
        ranked = model.recommend(user_id, None, n, (), keep if keep is not None and keep.active else None)
    else:  # no action model: every current action, propensity 0.0 (as before enough action interactions)
        actions = serving.store.actions(serving.group)
        ids = [] if actions is None else actions.record_ids()
        if keep is not None and keep.active:
            ids = [a for a in ids if keep(a)]
        ranked = [(a, 0.0) for a in ids[:n]]
    return {
        "actionList": [{"actionId": a, "score": float(s)} for a, s in ranked],
        "recommendationId": _recommendation_id(),
    }


# ========================================================================================== events


def _not_json(token: str) -> Any:
    """``properties`` are JSON, which has no NaN or Infinity (RFC 8259): Python's json.loads takes them (and
    ``json.dumps(float("nan"))`` writes them), the service's parser does not."""
    raise ValueError(f"{token} is not JSON; give a finite number, or null for a nullable field")


def _properties(raw: str | None, where: str, fields: Fields) -> dict[str, str | None]:
    """A ``properties`` JSON string -> upper-case schema field names -> string values; a value the type of
    its schema field cannot hold is refused (``property_problem``), naming the field."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw, parse_constant=_not_json)
    except ValueError as exc:
        raise invalid(f"{where}: properties must be a JSON object in a string ({exc}).") from exc
    if not isinstance(doc, dict):
        raise invalid(f"{where}: properties must be a JSON object in a string.")
    out: dict[str, str | None] = {}
    for key, value in doc.items():
        field = fields.get(canonical_field(str(key)))
        problem = property_problem(value, field) if field is not None else None
        if field is not None and problem is not None:
            raise invalid(
                f"{where}: properties.{key} {json.dumps(value)} {problem} (schema field {field['name']}, "
                f"type {json.dumps(field.get('type'))})."
            )
        if value is None:
            out[canonical_field(str(key))] = None
        elif isinstance(value, bool):
            out[canonical_field(str(key))] = "true" if value else "false"
        elif isinstance(value, list):
            out[canonical_field(str(key))] = "|".join(str(v) for v in value)
        else:
            out[canonical_field(str(key))] = str(value)
    return out


FORBIDDEN_EVENT_PROPERTIES = {
    "USER_ID",
    "SESSION_ID",
    "EVENT_TYPE",
    "TIMESTAMP",
    "RECOMMENDATION_ID",
    "IMPRESSION",
}


Fields = dict[str, dict[str, Any]]
"""Upper-case field name -> the schema's field (``name``, ``type``, ``nullable``)."""


def _schema_fields(ctx: Context, dataset: Record) -> Fields:
    schema = ctx.find("schema", dataset["schemaArn"])
    return {f["name"].upper(): f for f in (schema or {}).get("_fields", [])}


def _tracker(ctx: Context, tracking_id: str, *, status_error: Any = invalid) -> Record:
    for tracker in ctx.records("event_tracker").values():
        if tracker.get("trackingId") == tracking_id:
            if tracker.get("status") != "ACTIVE":
                raise status_error(f"Event tracker with trackingId {tracking_id} is {tracker.get('status')}.")
            return tracker
    raise invalid(f"No event tracker with trackingId {tracking_id} exists.")


def _epoch(value: Any) -> int:
    number = float(value)
    if number > 1e11:  # milliseconds (seen from some SDKs): keep seconds
        number /= 1000.0
    return int(number)


def put_events(ctx: Context, params: dict[str, Any]) -> None:
    tracker = _tracker(ctx, params["trackingId"])
    group = tracker["datasetGroupArn"]
    datasets = ctx.where("dataset", datasetGroupArn=group, datasetType="INTERACTIONS")
    if not datasets:
        raise invalid(f"Dataset group {group} has no Interactions dataset to record events in.")
    fields = _schema_fields(ctx, datasets[0])
    user = params.get("userId") or params["sessionId"]
    rows: list[dict[str, str | None]] = []
    for i, event in enumerate(params["eventList"]):
        where = f"eventList[{i}]"
        props = _properties(event.get("properties"), where, fields)
        bad = sorted(set(props) & FORBIDDEN_EVENT_PROPERTIES)
        if bad:
            raise invalid(f"{where}: properties may not contain {', '.join(bad)}.")
        unknown = sorted(k for k in props if k not in fields)
        if unknown:
            raise invalid(
                f"{where}: properties {', '.join(unknown)} are not fields of the Interactions schema."
            )
        row: dict[str, str | None] = {
            **props,
            "USER_ID": user,
            "ITEM_ID": event.get("itemId"),
            "TIMESTAMP": str(_epoch(event["sentAt"])),
        }
        if "EVENT_TYPE" in fields:
            row["EVENT_TYPE"] = event["eventType"]
        if "EVENT_VALUE" in fields and event.get("eventValue") is not None:
            row["EVENT_VALUE"] = repr(float(event["eventValue"]))
        rows.append(row)
    rows = _first_events(ctx, group, "INTERACTIONS", params["eventList"], rows)
    if rows:  # a call repeating seen eventIds only brings no new data
        ctx.emulator.data.append_events(group, rows)
        _new_data(ctx, group)


def _first_events(
    ctx: Context,
    group: str,
    dataset_type: str,
    events: list[dict[str, Any]],
    rows: list[dict[str, str | None]],
) -> list[dict[str, str | None]]:
    """The rows of ``events`` (all validated) whose ``eventId`` the dataset has not seen before; events
    without one always count. botocore's personalize-events model (Event.eventId, ActionInteraction.eventId):
    "Amazon Personalize uses the event ID to distinguish unique events. Any subsequent events after the
    first with the same event ID are not used in model training." [M]. A repeat is not recorded at all, so
    it reaches neither training nor the user's recent events (the real-time answers) nor exports: a client
    retrying a call does not count its events twice [INF: the model speaks of training only]. The ids are
    kept per dataset as 64-bit hashes (``data/event_ids.py``)."""
    data = ctx.emulator.data
    kept = []
    for event, row in zip(events, rows, strict=True):
        event_id = event.get("eventId")
        if event_id is None or data.first_event(group, dataset_type, str(event_id)):
            kept.append(row)
    return kept


def _new_data(ctx: Context, group: str) -> None:
    from .resources.datasets import note_new_data

    note_new_data(ctx, group)


def _put_records(ctx: Context, params: dict[str, Any], dataset_type: str, list_key: str, id_key: str) -> None:
    arn = params["datasetArn"]
    dataset = ctx.find("dataset", arn)
    if dataset is None:
        raise not_found(f"Dataset {arn} does not exist.")
    if dataset.get("status") != "ACTIVE":
        raise in_use(f"Dataset {arn} is {dataset.get('status')}; it must be ACTIVE.")
    if dataset["datasetType"] != dataset_type:
        raise invalid(f"Dataset {arn} is a {dataset['datasetType']} dataset, not {dataset_type}.")
    fields = _schema_fields(ctx, dataset)
    id_field = {"ITEMS": "ITEM_ID", "USERS": "USER_ID", "ACTIONS": "ACTION_ID"}[dataset_type]
    rows: list[dict[str, str | None]] = []
    for i, record in enumerate(params[list_key]):
        where = f"{list_key}[{i}]"
        props = _properties(record.get("properties"), where, fields)
        unknown = sorted(k for k in props if k not in fields)
        if unknown:
            raise invalid(f"{where}: properties {', '.join(unknown)} are not fields of the dataset's schema.")
        rows.append({**props, id_field: record[id_key]})
    ctx.emulator.data.put_records(dataset["datasetGroupArn"], dataset_type, rows)
    _new_data(ctx, dataset["datasetGroupArn"])


def put_items(ctx: Context, params: dict[str, Any]) -> None:
    _put_records(ctx, params, "ITEMS", "items", "itemId")


def put_users(ctx: Context, params: dict[str, Any]) -> None:
    _put_records(ctx, params, "USERS", "users", "userId")


def put_actions(ctx: Context, params: dict[str, Any]) -> None:
    _put_records(ctx, params, "ACTIONS", "actions", "actionId")


ACTION_EVENT_TYPES = {
    "viewed": "VIEWED",
    "taken": "TAKEN",
    "not taken": "NOT_TAKEN",
    "not_taken": "NOT_TAKEN",
}


def put_action_interactions(ctx: Context, params: dict[str, Any]) -> None:
    tracking_id = params["trackingId"]
    datasets = [d for d in ctx.records("dataset").values() if d.get("trackingId") == tracking_id]
    if not datasets:
        raise not_found(f"No Action interactions dataset has trackingId {tracking_id}.")
    dataset = datasets[0]
    if dataset.get("status") != "ACTIVE":
        raise in_use(f"Dataset {dataset['datasetArn']} is {dataset.get('status')}; it must be ACTIVE.")
    fields = _schema_fields(ctx, dataset)
    rows: list[dict[str, str | None]] = []
    for i, event in enumerate(params["actionInteractions"]):
        where = f"actionInteractions[{i}]"
        kind = ACTION_EVENT_TYPES.get(str(event["eventType"]).strip().lower())
        if kind is None:
            raise invalid(
                f"{where}: eventType must be Viewed, Taken or Not Taken, not {event['eventType']!r}."
            )
        props = _properties(event.get("properties"), where, fields)
        unknown = sorted(k for k in props if k not in fields)
        if unknown:
            raise invalid(f"{where}: properties {', '.join(unknown)} are not fields of the dataset's schema.")
        rows.append(
            {
                **props,
                "USER_ID": event.get("userId") or event["sessionId"],
                "ACTION_ID": event["actionId"],
                "TIMESTAMP": str(_epoch(event["timestamp"])),
                "EVENT_TYPE": kind,
            }
        )
    group = dataset["datasetGroupArn"]
    rows = _first_events(ctx, group, "ACTION_INTERACTIONS", params["actionInteractions"], rows)
    if rows:
        ctx.emulator.data.append(group, "ACTION_INTERACTIONS", rows)
        _new_data(ctx, group)


DATA_HANDLERS: dict[tuple[str, str], Any] = {
    (RUNTIME, "GetRecommendations"): get_recommendations,
    (RUNTIME, "GetPersonalizedRanking"): get_personalized_ranking,
    (RUNTIME, "GetActionRecommendations"): get_action_recommendations,
    (EVENTS, "PutEvents"): put_events,
    (EVENTS, "PutItems"): put_items,
    (EVENTS, "PutUsers"): put_users,
    (EVENTS, "PutActions"): put_actions,
    (EVENTS, "PutActionInteractions"): put_action_interactions,
}
