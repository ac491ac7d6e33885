"""What batch inference, batch segment and dataset export jobs write to S3 when they finish.

* Batch inference: every JSON Lines file at ``jobInput.s3DataSource.path`` (one object, or every object under
  a prefix ending in ``/``) gets ``<output path><input file name>.out`` with one line per input line, as the
  developer guide shows: ``{"input": {...}, "output": {"recommendedItems": [...], "scores": [...]}, "error":
  null}``. Scores only for the recipes whose API shows them (user-personalization, personalized-ranking);
  related-items recipes read ``itemId``, personalized-ranking ``userId`` + ``itemList``, the others
  ``userId``. ``numResults`` is the job's (default 25, at most 500). A line that is not a JSON object, or
  lacks the id the recipe needs, gets ``"output": null`` and the reason in ``"error"``. The answers come from
  the solution version's trained model; events after its training are not used (as the service's batch
  jobs do). The job's ``filterArn`` applies to every line, with the line's own ``filterValues`` (a missing
  INCLUDE value is that line's error). THEME_GENERATION jobs add a labelled stand-in theme (see
  ``_add_theme``).
* Batch segment: item-affinity lines ``{"itemId": "105"}`` -> ``{"input": {...}, "output":
  {"recommendedUsers": [...]}}``; item-attribute-affinity lines ``{"itemAttributes": "ITEMS.GENRES =
  \\"Comedy\\" AND ..."}`` -> ``{"itemAttributes": "...", "output": {"recommendedUsers": [...]}}`` (the items
  having every attribute value — multi-value fields split on ``|`` — are queried together); an answered line
  has no ``error`` key, as the guide's examples; a query item the model never saw, or attributes no item
  has, is that line's error; a file with more than 500 (item-affinity) or 10 (item-attribute-affinity)
  queries fails the job. The job's
  ``filterArn`` (a UserID filter) selects the users: ``Users.FIELD`` tests each candidate's record,
  ``Interactions.FIELD`` the candidate's interactions, ``$NAME`` the line's ``filterValues``; filtering comes
  before truncation to ``numResults`` (personalize-data-plane.md 3, 6.2).
* Dataset export: the dataset as CSV with the schema's columns as header, at
  ``<output path><job name>/part-00000.csv``; ``ingestionMode`` BULK / PUT selects rows by how they arrived,
  ALL keeps both (for items and users the newest row per id); identical rows are written once.

A write that fails (bucket gone) ends the job failed with the reason."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import numpy as np

from ..data import BULK, PUT, Table
from ..filtering import FilterValueError, ItemFilter
from ..kinds import KINDS, VOCABULARY
from ..recipes import RECIPES
from ..s3data import ImportFailure, read_objects, split_s3_url
from ..state import Context, Record
from .registry import ON_STATUS

MAX_RESULTS = 500
_ATTRIBUTE = re.compile(r'\s*ITEMS\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*', re.IGNORECASE)


def _words(kind: str) -> dict[str, str]:
    return VOCABULARY[KINDS[kind].vocabulary]


def _fail(ctx: Context, kind: str, record: Record, reason: str) -> None:
    record["status"] = _words(kind)["failed"]
    record["failureReason"] = reason
    record["lastUpdatedDateTime"] = ctx.now


def _put(ctx: Context, url: str, body: bytes, content_type: str) -> None:
    bucket, key = split_s3_url(url)
    ctx.emulator.s3_client(ctx.region).put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def _output_url(path: str, name: str) -> str:
    return (path if path.endswith("/") else path + "/") + name


def _lines(body: bytes) -> list[tuple[Any, str | None]]:
    out: list[tuple[Any, str | None]] = []
    for raw in body.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            out.append((raw, f"The line is not valid JSON: {exc}."))
            continue
        out.append((value, None if isinstance(value, dict) else "Each line must be a JSON object."))
    return out


# ---- batch inference --------------------------------------------------------------------------------
def _inference_line(
    model: Any, recipe_type: str, line: dict[str, Any], n: int, candidate_filter: Any = None
) -> dict[str, Any]:
    if recipe_type == "RELATED_ITEMS":
        if not line.get("itemId"):
            raise ValueError("itemId is required for a related-items recipe.")
        answer = model.recommend(None, str(line["itemId"]), n, candidate_filter=candidate_filter)
    elif recipe_type == "PERSONALIZED_RANKING":
        if not line.get("userId") or not isinstance(line.get("itemList"), list):
            raise ValueError("userId and itemList are required for a personalized-ranking recipe.")
        answer = model.rank(str(line["userId"]), [str(i) for i in line["itemList"]])
        if candidate_filter is not None:  # filtered-out items are dropped from a ranking
            answer = [(item, score) for item, score in answer if candidate_filter(item)]
    else:
        if not line.get("userId"):
            raise ValueError("userId is required for this recipe.")
        answer = model.recommend(str(line["userId"]), None, n, candidate_filter=candidate_filter)
    output: dict[str, Any] = {"recommendedItems": [item for item, _ in answer]}
    if model.scored:
        output["scores"] = [round(score, 7) for _, score in answer]
    return output


def _line_filter(
    ctx: Context, record: Record, group: str, line: dict[str, Any], target: str = "ITEMID"
) -> Any:
    """The job's filter bound to one input line (its filterValues, userId, itemId), or None. ``target``:
    ITEMID for batch inference (candidates are items), USERID for batch segments (candidates are users)."""
    found = ctx.find("filter", record["filterArn"]) if record.get("filterArn") else None
    if found is None:
        return None
    data = ctx.emulator.data
    values = line.get("filterValues")
    try:
        bound = ItemFilter(
            found["filterExpression"],
            {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else None,
            user_id=str(line["userId"]) if line.get("userId") else None,
            item_id=str(line["itemId"]) if line.get("itemId") else None,
            interactions=data.interactions(group),
            items=data.items(group),
            users=data.users(group),
            target=target,
        )
    except FilterValueError as exc:
        raise ValueError(str(exc)) from exc
    return bound if bound.active else None


def _add_theme(output: dict[str, Any], line: dict[str, Any], record: Record, items: Table | None) -> None:
    """THEME_GENERATION (Similar-Items): a labelled stand-in for the generated theme, "Items like <name of the
    query item>" (the Items column named by fieldsForThemeGeneration.itemName), and relevance scores that
    fall linearly from 0.6 at the top to 0.0 (the service's scores lie roughly in -0.1..0.6)."""
    column = ((record.get("themeGenerationConfig") or {}).get("fieldsForThemeGeneration") or {}).get(
        "itemName"
    )
    query = str(line.get("itemId", ""))
    name = (items.value(query, column) if items is not None and column else None) or query
    count = len(output["recommendedItems"])
    output["theme"] = f"Items like {name}"
    output["itemsThemeRelevanceScores"] = [round(0.6 * (1 - k / max(count, 1)), 4) for k in range(count)]
    output.pop("scores", None)


def _batch_inference_done(ctx: Context, record: Record, status: str) -> None:
    if status != _words("batch_inference_job")["done"]:
        return
    version = ctx.find("solution_version", record["solutionVersionArn"])
    model = ctx.emulator.models.for_version(record["solutionVersionArn"])
    if version is None or model is None:
        _fail(ctx, "batch_inference_job", record, "The solution version has no trained model.")
        return
    recipe_type = RECIPES[version["recipeArn"]].recipe_type
    n = min(MAX_RESULTS, int(record.get("numResults") or 25))
    items = ctx.emulator.data.items(version["datasetGroupArn"])
    try:
        inputs = read_objects(ctx.emulator.s3_client(ctx.region), record["jobInput"]["s3DataSource"]["path"])
        for key, body in inputs:
            lines = []
            for value, problem in _lines(body):
                entry: dict[str, Any] = {"input": value, "output": None, "error": problem}
                if problem is None:
                    try:
                        flt = _line_filter(ctx, record, version["datasetGroupArn"], value)
                        entry["output"] = _inference_line(model, recipe_type, value, n, flt)
                        if record.get("batchInferenceJobMode") == "THEME_GENERATION":
                            _add_theme(entry["output"], value, record, items)
                    except ValueError as exc:
                        entry["error"] = str(exc)
                lines.append(json.dumps(entry))
            name = key.rsplit("/", 1)[-1] + ".out"
            target = _output_url(record["jobOutput"]["s3DataDestination"]["path"], name)
            _put(ctx, target, ("\n".join(lines) + "\n").encode(), "application/jsonlines")
    except ImportFailure as exc:
        _fail(ctx, "batch_inference_job", record, str(exc))
    except Exception as exc:  # botocore errors writing the output
        _fail(ctx, "batch_inference_job", record, f"Invalid S3 output path: {exc}")


# ---- batch segment ----------------------------------------------------------------------------------
def _without_ids(line: dict[str, Any]) -> dict[str, Any]:
    """A segment line's filterValues alone: a segment has no requesting user, and its itemId is the query."""
    return {"filterValues": line["filterValues"]} if "filterValues" in line else {}


def items_with_attributes(items: Table | None, expression: str) -> list[str]:
    """Item ids whose metadata has every ``ITEMS.FIELD = "value"`` of an AND-joined expression."""
    if items is None:
        return []
    clauses = [c for c in re.split(r"\bAND\b", expression, flags=re.IGNORECASE) if c.strip()]
    wanted: list[tuple[str, str]] = []
    for clause in clauses:
        match = _ATTRIBUTE.fullmatch(clause)
        if match is None:
            raise ValueError(f'Cannot read item attribute {clause.strip()!r}; use ITEMS.FIELD = "value".')
        wanted.append((match.group(1).upper(), match.group(2).replace('\\"', '"')))
    out = []
    for row in items.latest_rows().tolist():
        values = {name: (items.cell(row, name) or "") for name, _ in wanted}
        if all(value in values[name].split("|") for name, value in wanted):
            out.append(items.ids.strings[items.id_codes[row]])
    return out


#: Queries per input file (personalize-data-plane.md 6.2; personalize-api.md recipes table [DG23]).
SEGMENT_QUERIES_PER_FILE = {"aws-item-affinity": 500, "aws-item-attribute-affinity": 10}


class _SegmentFilters:
    """A batch segment job's UserID filter, bound once per distinct ``filterValues``: a segment line has no
    requesting user, so its filter depends on nothing else, and binding an Interactions condition scans
    every interaction (``ItemFilter._interaction_users``). Before, each of up to 500 lines bound it again."""

    def __init__(self, ctx: Context, record: Record, group: str) -> None:
        self.ctx, self.record, self.group = ctx, record, group
        self._bound: dict[str, Any] = {}

    def __call__(self, line: dict[str, Any]) -> Any:
        values = _without_ids(line)
        key = json.dumps(values, sort_keys=True, default=str)
        if key not in self._bound:
            self._bound[key] = _line_filter(self.ctx, self.record, self.group, values, "USERID")
        return self._bound[key]


def _segment_line(
    filters: _SegmentFilters, model: Any, items: Table | None, value: Any, n: int
) -> dict[str, Any]:
    """One output line, as dg/batch-segment-job-output-examples shows: ``{"input": {"itemId": ...},
    "output": {"recommendedUsers": [...]}}`` or ``{"itemAttributes": "...", "output": {...}}``, no ``error``
    key. A line that cannot be answered gets ``"output": null`` and ``"error"`` (the format of failed lines
    is undocumented; batch inference's is used)."""
    record = filters.record
    attributes = "itemAttributes" in value
    head = {"itemAttributes": value["itemAttributes"]} if attributes else {"input": value}
    try:
        if attributes:
            query = items_with_attributes(items, str(value["itemAttributes"]))
            if not query:
                raise ValueError(
                    f"No item has the attributes {value['itemAttributes']}; queried attributes must exist "
                    "in the Items dataset."
                )
        elif value.get("itemId"):
            query = [str(value["itemId"])]
        else:
            raise ValueError("itemId or itemAttributes is required.")
        flt = filters(value)
        users = [u for u, _ in model.segment(query, n, flt)]
        if not users and not model.segment(query, 1):
            # "queried items or attributes must exist at training" (personalize-data-plane.md 6.2)
            what = f"Item {query[0]} was" if not attributes else f"No item with {value['itemAttributes']} was"
            raise ValueError(
                f"{what} in the training data of solution version {record['solutionVersionArn']}."
            )
    except ValueError as exc:
        return {**head, "output": None, "error": str(exc)}
    return {**head, "output": {"recommendedUsers": users}}


def _batch_segment_done(ctx: Context, record: Record, status: str) -> None:
    if status != _words("batch_segment_job")["done"]:
        return
    version = ctx.find("solution_version", record["solutionVersionArn"])
    model = ctx.emulator.models.for_version(record["solutionVersionArn"])
    if version is None or model is None:
        _fail(ctx, "batch_segment_job", record, "The solution version has no trained model.")
        return
    n = int(record.get("numResults") or 25)
    group = version["datasetGroupArn"]
    items = ctx.emulator.data.items(group)
    recipe = RECIPES[version["recipeArn"]].name
    limit = SEGMENT_QUERIES_PER_FILE.get(recipe)
    try:
        inputs = read_objects(ctx.emulator.s3_client(ctx.region), record["jobInput"]["s3DataSource"]["path"])
        parsed = [(key, _lines(body)) for key, body in inputs]
        for key, lines in parsed:
            # a file over the limit fails the job before anything is written [INF]
            if limit is not None and len(lines) > limit:
                _fail(
                    ctx,
                    "batch_segment_job",
                    record,
                    f"Input file {key} has {len(lines)} queries; {recipe} takes at most {limit} per file. "
                    "Split it into several files under one folder path ending in /.",
                )
                return
        filters = _SegmentFilters(ctx, record, group)
        for key, lines in parsed:
            out = [
                json.dumps(
                    {"input": value, "output": None, "error": problem}
                    if problem is not None
                    else _segment_line(filters, model, items, value, n)
                )
                for value, problem in lines
            ]
            target = _output_url(
                record["jobOutput"]["s3DataDestination"]["path"], key.rsplit("/", 1)[-1] + ".out"
            )
            _put(ctx, target, ("\n".join(out) + "\n").encode(), "application/jsonlines")
    except ImportFailure as exc:
        _fail(ctx, "batch_segment_job", record, str(exc))
    except Exception as exc:
        _fail(ctx, "batch_segment_job", record, f"Invalid S3 output path: {exc}")


# ---- dataset export ---------------------------------------------------------------------------------
def export_rows(table: Table, field_names: list[str], mode: str) -> list[list[str]]:
    wanted = {"BULK": (BULK,), "PUT": (PUT,)}.get(mode, (BULK, PUT))
    rows = np.flatnonzero(np.isin(table.source, wanted))
    chosen = table.select(rows)
    if mode == "ALL" and not chosen.interactions:
        chosen = chosen.select(chosen.latest_rows())
    seen: set[tuple[str, ...]] = set()
    out = []
    for row in chosen.rows_as_text(field_names):
        key = tuple(row)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _export_done(ctx: Context, record: Record, status: str) -> None:
    if status != _words("dataset_export_job")["done"]:
        return
    dataset = ctx.find("dataset", record["datasetArn"])
    if dataset is None:
        _fail(ctx, "dataset_export_job", record, "The dataset no longer exists.")
        return
    schema = ctx.find("schema", dataset["schemaArn"])
    fields = [f["name"] for f in (schema or {}).get("_fields", [])]
    table = ctx.emulator.data.table(dataset["datasetGroupArn"], dataset["datasetType"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    if table is not None:
        writer.writerows(export_rows(table, fields, record.get("ingestionMode") or "PUT"))
    path = record["jobOutput"]["s3DataDestination"]["path"]
    try:
        _put(
            ctx,
            _output_url(path, f"{record['jobName']}/part-00000.csv"),
            buffer.getvalue().encode(),
            "text/csv",
        )
    except Exception as exc:
        _fail(ctx, "dataset_export_job", record, f"Could not write the export to {path}: {exc}")


ON_STATUS["batch_inference_job"] = _batch_inference_done
ON_STATUS["batch_segment_job"] = _batch_segment_done
ON_STATUS["dataset_export_job"] = _export_done
