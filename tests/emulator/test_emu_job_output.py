"""Batch inference, batch segment and dataset export jobs write their documented output to S3 (issue 13)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from conftest import Env
from emu_support import ITEMS_SCHEMA, USERS_SCHEMA, interactions_csv, items_csv, users_csv


def _settle(env: Env) -> None:
    env.call("ListDatasetGroups")


def _read_lines(env: Env, key: str) -> list[dict[str, Any]]:
    body = env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def _ready_version(env: Env, dg: str, recipe: str, name: str) -> str:
    version = env.version(env.solution(dg, name=name, recipe=recipe, performAutoTraining=False))
    _settle(env)
    return version


def _batch(env: Env, version: str, name: str, lines: list[str], **extra: Any) -> dict[str, Any]:
    url = env.put(f"in/{name}.json", ("\n".join(lines) + "\n").encode())
    arn = env.call(
        "CreateBatchInferenceJob",
        jobName=name,
        solutionVersionArn=version,
        roleArn=env.role,
        jobInput={"s3DataSource": {"path": url}},
        jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/out/{name}/"}},
        **extra,
    )["batchInferenceJobArn"]
    _settle(env)
    return dict(env.call("DescribeBatchInferenceJob", batchInferenceJobArn=arn)["batchInferenceJob"])


def test_batch_inference_writes_json_lines_from_the_trained_model(env: Env) -> None:
    dg = env.trainable_group()
    _settle(env)
    version = _ready_version(env, dg, "aws-user-personalization", "up")
    job = _batch(
        env, version, "up", ['{"userId": "u1"}', '{"userId": "new-user"}', "not json", "{}"], numResults=7
    )
    assert "failureReason" not in job
    lines = _read_lines(env, "out/up/up.json.out")
    assert len(lines) == 4
    model = env.emulator.models.for_version(version)
    assert model is not None
    expected = model.recommend("u1", None, 7)
    assert lines[0]["input"] == {"userId": "u1"} and lines[0]["error"] is None
    assert lines[0]["output"]["recommendedItems"] == [i for i, _ in expected]
    assert len(lines[0]["output"]["scores"]) == 7 and lines[1]["output"]["recommendedItems"]
    assert lines[2]["output"] is None and "not valid JSON" in lines[2]["error"]
    assert lines[3]["output"] is None and "userId is required" in lines[3]["error"]

    sims = _ready_version(env, dg, "aws-sims", "sims")
    _batch(env, sims, "sims", ['{"itemId": "i3"}'])
    (line,) = _read_lines(env, "out/sims/sims.json.out")
    assert "scores" not in line["output"] and len(line["output"]["recommendedItems"]) == 25
    assert "i3" not in line["output"]["recommendedItems"]


def test_batch_segment_jobs_write_recommended_users(env: Env) -> None:
    dg = env.trainable_group()
    schema = env.call("CreateSchema", name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    ds = env.call("CreateDataset", name="items", datasetGroupArn=dg, schemaArn=schema, datasetType="Items")[
        "datasetArn"
    ]
    url = env.put("items.csv", items_csv(60))
    env.call(
        "CreateDatasetImportJob",
        jobName="items",
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
    )
    _settle(env)
    for recipe, lines, key in (
        ("aws-item-affinity", ['{"itemId": "i5"}'], "input"),
        (
            "aws-item-attribute-affinity",
            ['{"itemAttributes": "ITEMS.CATEGORY = \\"cat2\\""}'],
            "itemAttributes",
        ),
    ):
        version = _ready_version(env, dg, recipe, recipe)
        metrics = env.call("GetSolutionMetrics", solutionVersionArn=version)["metrics"]
        assert set(metrics) == {"hit", "recall"} and all(0 <= v <= 1 for v in metrics.values())
        path = env.put(f"seg/{recipe}.json", ("\n".join(lines) + "\n").encode())
        env.call(
            "CreateBatchSegmentJob",
            jobName=recipe,
            solutionVersionArn=version,
            roleArn=env.role,
            numResults=5,
            jobInput={"s3DataSource": {"path": path}},
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/segments/"}},
        )
        _settle(env)
        (line,) = _read_lines(env, f"segments/{recipe}.json.out")
        assert key in line and len(line["output"]["recommendedUsers"]) == 5
        assert all(u.startswith("u") for u in line["output"]["recommendedUsers"])


def test_dataset_export_writes_csv_by_ingestion_mode(env: Env) -> None:
    csv_body = interactions_csv(users=30, per_user=10)
    dg = env.trainable_group(csv=csv_body)
    _settle(env)
    env.emulator.data.append_events(
        dg, [{"USER_ID": "live", "ITEM_ID": "i1", "TIMESTAMP": "1800000000", "EVENT_TYPE": "Click"}]
    )
    ds = env.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"]
    out: dict[str, list[list[str]]] = {}
    for mode in ("BULK", "PUT", "ALL"):
        env.call(
            "CreateDatasetExportJob",
            jobName=f"export-{mode.lower()}",
            datasetArn=ds,
            roleArn=env.role,
            ingestionMode=mode,
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/exports/"}},
        )
        _settle(env)
        key = f"exports/export-{mode.lower()}/part-00000.csv"
        body = env.s3.get_object(Bucket=env.bucket, Key=key)["Body"].read().decode()
        out[mode] = list(csv.reader(io.StringIO(body)))
    header = ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP", "DISCOUNT"]
    assert all(rows[0] == header for rows in out.values())
    source = list(csv.reader(io.StringIO(csv_body.decode())))[1:]
    unique = list(dict.fromkeys(tuple(r) for r in source))
    assert [tuple(r) for r in out["BULK"][1:]] == unique
    assert out["PUT"][1:] == [["i1", "live", "Click", "1800000000", ""]]
    assert len(out["ALL"]) == len(unique) + 2


def test_theme_generation_labels_each_answer_with_the_query_items_name(env: Env) -> None:
    dg = env.trainable_group()
    schema = env.call("CreateSchema", name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    ds = env.call("CreateDataset", name="items", datasetGroupArn=dg, schemaArn=schema, datasetType="Items")[
        "datasetArn"
    ]
    url = env.put("items.csv", items_csv(60))
    env.call(
        "CreateDatasetImportJob",
        jobName="items",
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
    )
    _settle(env)
    version = _ready_version(env, dg, "aws-similar-items", "similar")
    theme = {"fieldsForThemeGeneration": {"itemName": "CATEGORY"}}
    job = _batch(
        env,
        version,
        "themes",
        ['{"itemId": "i7"}'],
        numResults=5,
        batchInferenceJobMode="THEME_GENERATION",
        themeGenerationConfig=theme,
    )
    assert "failureReason" not in job
    (line,) = _read_lines(env, "out/themes/themes.json.out")
    output = line["output"]
    assert output["theme"] == "Items like cat2" and len(output["recommendedItems"]) == 5
    assert output["itemsThemeRelevanceScores"] == sorted(output["itemsThemeRelevanceScores"], reverse=True)
    assert "scores" not in output


def test_batch_inference_applies_the_jobs_filter_with_each_lines_values(env: Env) -> None:
    csv_body = interactions_csv()
    dg = env.trainable_group(csv=csv_body)
    schema = env.call("CreateSchema", name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    ds = env.call("CreateDataset", name="items", datasetGroupArn=dg, schemaArn=schema, datasetType="Items")[
        "datasetArn"
    ]
    url = env.put("items.csv", items_csv(60))
    env.call(
        "CreateDatasetImportJob",
        jobName="items",
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
    )
    _settle(env)
    version = _ready_version(env, dg, "aws-user-personalization", "up")
    by_category = env.call(
        "CreateFilter",
        name="category",
        datasetGroupArn=dg,
        filterExpression="INCLUDE ItemID WHERE Items.CATEGORY IN ($CAT)",
    )["filterArn"]
    bought = env.call(
        "CreateFilter",
        name="bought",
        datasetGroupArn=dg,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")',
    )["filterArn"]
    _settle(env)
    lines = ['{"userId": "u1", "filterValues": {"CAT": "\\"cat2\\""}}', '{"userId": "u1"}']
    _batch(env, version, "bycat", lines, numResults=5, filterArn=by_category)
    first, second = _read_lines(env, "out/bycat/bycat.json.out")
    assert len(first["output"]["recommendedItems"]) == 5
    assert all(int(i[1:]) % 5 == 2 for i in first["output"]["recommendedItems"])  # items_csv: cat = i % 5
    assert second["output"] is None and "$CAT" in second["error"]

    _batch(env, version, "unbought", ['{"userId": "u1"}'], numResults=25, filterArn=bought)
    (line,) = _read_lines(env, "out/unbought/unbought.json.out")
    purchased = {
        row.split(",")[0] for row in csv_body.decode().splitlines()[1:] if ",u1,OrderCompleted," in row
    }
    assert purchased and not purchased & set(line["output"]["recommendedItems"])


def test_batch_inference_reads_every_file_under_a_folder_path(env: Env) -> None:
    """jobInput paths ending in / are folders (developer guide): each file gets its own .out file."""
    dg = env.trainable_group()
    _settle(env)
    version = _ready_version(env, dg, "aws-user-personalization", "up")
    env.put("in/folder/a.json", b'{"userId": "u1"}\n')
    env.put("in/folder/b.json", b'{"userId": "u2"}\n{"userId": "u3"}\n')
    jobs = {}
    for name, path in (("folder", "in/folder/"), ("empty", "in/nothing-here/")):
        jobs[name] = env.client.create_batch_inference_job(
            jobName=name,
            solutionVersionArn=version,
            roleArn=env.role,
            jobInput={"s3DataSource": {"path": f"s3://{env.bucket}/{path}"}},
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/out/{name}/"}},
        )["batchInferenceJobArn"]
    _settle(env)
    folder = env.client.describe_batch_inference_job(batchInferenceJobArn=jobs["folder"])["batchInferenceJob"]
    assert folder["status"] == "ACTIVE", folder.get("failureReason")
    assert [line["input"]["userId"] for line in _read_lines(env, "out/folder/a.json.out")] == ["u1"]
    assert [line["input"]["userId"] for line in _read_lines(env, "out/folder/b.json.out")] == ["u2", "u3"]
    empty = env.client.describe_batch_inference_job(batchInferenceJobArn=jobs["empty"])["batchInferenceJob"]
    assert empty["status"] == "CREATE FAILED"
    assert empty["failureReason"] == f"No files found in the S3 location s3://{env.bucket}/in/nothing-here/."


def test_batch_inference_refuses_a_current_item_filter_without_a_related_items_recipe(env: Env) -> None:
    """CurrentItem reads the line's item: only related-items recipes have one (personalize-data-plane.md 3).
    GetRecommendations refuses such a filter since 437f824; a batch job on a user-personalization version
    took it and wrote an empty list for every line. Now CreateBatchInferenceJob refuses it, naming the
    filter and the recipe; a SIMS version still applies it per line."""
    dg = env.trainable_group()
    schema = env.call("CreateSchema", name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    ds = env.call("CreateDataset", name="items", datasetGroupArn=dg, schemaArn=schema, datasetType="Items")[
        "datasetArn"
    ]
    env.call(
        "CreateDatasetImportJob",
        jobName="items",
        datasetArn=ds,
        dataSource={"dataLocation": env.put("items.csv", items_csv(60))},
        roleArn=env.role,
    )
    _settle(env)
    same_category = env.call(
        "CreateFilter",
        name="same-category",
        datasetGroupArn=dg,
        filterExpression="EXCLUDE ItemID WHERE Items.CATEGORY IN CurrentItem.CATEGORY",
    )["filterArn"]
    up = _ready_version(env, dg, "aws-user-personalization", "up")
    url = env.put("in/users.json", b'{"userId": "u1"}\n')
    try:
        env.client.create_batch_inference_job(
            jobName="up-current",
            solutionVersionArn=up,
            roleArn=env.role,
            filterArn=same_category,
            jobInput={"s3DataSource": {"path": url}},
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/out/up-current/"}},
        )
    except env.client.exceptions.InvalidInputException as exc:
        message = str(exc)
    else:
        raise AssertionError("CreateBatchInferenceJob took a CurrentItem filter for aws-user-personalization")
    assert "CurrentItem" in message and "same-category" in message and "aws-user-personalization" in message
    sims = _ready_version(env, dg, "aws-sims", "sims")
    job = _batch(env, sims, "sims", ['{"itemId": "i3"}'], numResults=10, filterArn=same_category)
    assert "failureReason" not in job
    (line,) = _read_lines(env, "out/sims/sims.json.out")
    assert line["output"]["recommendedItems"]
    assert all(int(i[1:]) % 5 != 3 for i in line["output"]["recommendedItems"])  # items_csv: cat = i % 5


def test_batch_jobs_refuse_a_filter_on_another_target(env: Env) -> None:
    """A batch inference job selects items (ItemID filters), a batch segment job users (UserID filters):
    personalize-api.md 9.2 rule 10. CreateBatchInferenceJob took a UserID filter and wrote unfiltered
    lists; CreateBatchSegmentJob took an ItemID filter."""
    dg = env.trainable_group()
    _settle(env)
    by_user = env.call(
        "CreateFilter",
        name="by-user",
        datasetGroupArn=dg,
        filterExpression='EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")',
    )["filterArn"]
    up = _ready_version(env, dg, "aws-user-personalization", "up")
    url = env.put("in/users.json", b'{"userId": "u1"}\n')
    try:
        env.client.create_batch_inference_job(
            jobName="up-by-user",
            solutionVersionArn=up,
            roleArn=env.role,
            filterArn=by_user,
            jobInput={"s3DataSource": {"path": url}},
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/out/up-by-user/"}},
        )
    except env.client.exceptions.InvalidInputException as exc:
        message = str(exc)
    else:
        raise AssertionError("CreateBatchInferenceJob took a UserID filter")
    assert "Filter by-user selects UserID" in message and "needs a filter on ItemID" in message
    cat = env.call(
        "CreateFilter",
        name="bought",
        datasetGroupArn=dg,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")',
    )["filterArn"]
    affinity = _ready_version(env, dg, "aws-item-affinity", "affinity")
    items = env.put("in/items.json", b'{"itemId": "i1"}\n')
    try:
        env.client.create_batch_segment_job(
            jobName="affinity-by-item",
            solutionVersionArn=affinity,
            roleArn=env.role,
            filterArn=cat,
            jobInput={"s3DataSource": {"path": items}},
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/out/affinity/"}},
        )
    except env.client.exceptions.InvalidInputException as exc:
        message = str(exc)
    else:
        raise AssertionError("CreateBatchSegmentJob took an ItemID filter")
    assert "Filter bought selects ItemID" in message and "needs a filter on UserID" in message


def _segment_group(env: Env) -> tuple[str, bytes]:
    """A trainable group with Items (items_csv) and Users (users_csv: AGE 20 + u % 50, GENDER by u % 2)."""
    csv_body = interactions_csv()
    dg = env.trainable_group(csv=csv_body)
    for kind, schema_text, body in (
        ("Items", ITEMS_SCHEMA, items_csv(60)),
        ("Users", USERS_SCHEMA, users_csv()),
    ):
        schema = env.client.create_schema(name=kind.lower(), schema=schema_text)["schemaArn"]
        ds = env.client.create_dataset(
            name=kind.lower(), datasetGroupArn=dg, schemaArn=schema, datasetType=kind
        )["datasetArn"]
        env.client.create_dataset_import_job(
            jobName=kind.lower(),
            datasetArn=ds,
            dataSource={"dataLocation": env.put(f"{kind}.csv", body)},
            roleArn=env.role,
        )
        _settle(env)
    return dg, csv_body


def _segment(env: Env, version: str, name: str, lines: list[str], **extra: Any) -> list[dict[str, Any]]:
    path = env.put(f"seg/{name}.json", ("\n".join(lines) + "\n").encode())
    arn = env.client.create_batch_segment_job(
        jobName=name,
        solutionVersionArn=version,
        roleArn=env.role,
        jobInput={"s3DataSource": {"path": path}},
        jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/segments/{name}/"}},
        **extra,
    )["batchSegmentJobArn"]
    _settle(env)
    job = env.client.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]
    assert job["status"] == "ACTIVE", job.get("failureReason")
    return _read_lines(env, f"segments/{name}/{name}.json.out")


def test_batch_segment_jobs_apply_their_user_filter(env: Env) -> None:
    """A segment job's filterArn (a UserID filter: personalize-data-plane.md 3 "Targets", 6.2 "Filters use
    UserID") selects the users it returns: Users.FIELD tests each candidate user's record, Interactions.FIELD
    the candidate's own interactions, $NAME takes the line's filterValues, and filtering precedes
    truncation. Before, the filter was ignored and the segment unfiltered."""
    dg, csv_body = _segment_group(env)
    affinity = env.version(
        env.client.create_solution(
            name="affinity",
            datasetGroupArn=dg,
            recipeArn="arn:aws:personalize:::recipe/aws-item-affinity",
        )["solutionArn"]
    )
    _settle(env)

    def user_filter(name: str, expression: str) -> str:
        arn = env.client.create_filter(name=name, datasetGroupArn=dg, filterExpression=expression)[
            "filterArn"
        ]
        _settle(env)
        return str(arn)

    unfiltered = _segment(env, affinity, "all", ['{"itemId": "i5"}'], numResults=40)
    everyone = unfiltered[0]["output"]["recommendedUsers"]
    assert any(int(u[1:]) % 2 == 0 for u in everyone[:10])

    women = user_filter("women", 'INCLUDE UserID WHERE Users.GENDER IN ("F")')
    (line,) = _segment(env, affinity, "women", ['{"itemId": "i5"}'], numResults=10, filterArn=women)
    users = line["output"]["recommendedUsers"]
    assert len(users) == 10 and all(int(u[1:]) % 2 == 1 for u in users)  # users_csv: 'MF'[u % 2]
    assert users == [u for u in everyone if int(u[1:]) % 2 == 1][:10]  # filtered first, then truncated

    buyers = {row.split(",")[1] for row in csv_body.decode().splitlines()[1:] if ",OrderCompleted," in row}
    not_buyers = user_filter(
        "not-buyers", 'EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")'
    )
    (line,) = _segment(env, affinity, "not-buyers", ['{"itemId": "i5"}'], numResults=40, filterArn=not_buyers)
    assert line["output"]["recommendedUsers"] == [u for u in everyone if u not in buyers]

    older = user_filter("older", "INCLUDE UserID WHERE Users.AGE >= $AGE")
    lines = ['{"itemId": "i5", "filterValues": {"AGE": "50"}}', '{"itemId": "i5"}']
    first, second = _segment(env, affinity, "older", lines, numResults=40, filterArn=older)
    assert first["output"]["recommendedUsers"] == [u for u in everyone if 20 + int(u[1:]) % 50 >= 50]
    assert second["output"] is None and "$AGE" in second["error"]


def test_item_attribute_affinity_refuses_an_interactions_filter(env: Env) -> None:
    """ "No Interactions filters with Item-Attribute-Affinity" (personalize-data-plane.md 3 "Targets" [DOC:
    dg/filter-expressions (2023)]); a Users filter is taken and applied."""
    dg, _ = _segment_group(env)
    attribute = env.version(
        env.client.create_solution(
            name="attribute",
            datasetGroupArn=dg,
            recipeArn="arn:aws:personalize:::recipe/aws-item-attribute-affinity",
        )["solutionArn"]
    )
    by_events = env.client.create_filter(
        name="by-events",
        datasetGroupArn=dg,
        filterExpression='EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")',
    )["filterArn"]
    men = env.client.create_filter(
        name="men", datasetGroupArn=dg, filterExpression='INCLUDE UserID WHERE Users.GENDER IN ("M")'
    )["filterArn"]
    _settle(env)
    query = ['{"itemAttributes": "ITEMS.CATEGORY = \\"cat2\\""}']
    try:
        _segment(env, attribute, "by-events", query, filterArn=by_events)
    except env.client.exceptions.InvalidInputException as exc:
        message = str(exc)
    else:
        raise AssertionError(
            "CreateBatchSegmentJob took an Interactions filter on aws-item-attribute-affinity"
        )
    assert "by-events" in message and "aws-item-attribute-affinity" in message
    (line,) = _segment(env, attribute, "men", query, numResults=8, filterArn=men)
    users = line["output"]["recommendedUsers"]
    assert len(users) == 8 and all(int(u[1:]) % 2 == 0 for u in users)


def test_segment_lines_have_the_documented_shape_and_unknown_queries_are_line_errors(env: Env) -> None:
    """dg/batch-segment-job-output-examples: {"input": {"itemId": "105"}, "output": {"recommendedUsers":
    [...]}} and {"itemAttributes": "...", "output": {...}}: no "error" key on an answered line (the emulator
    wrote "error": null). "queried items or attributes must exist at training" (personalize-data-plane.md
    6.2): an item the model never saw, or attributes no item has, is that line's error (it wrote an empty
    segment)."""
    dg, _ = _segment_group(env)
    versions = {}
    for recipe in ("aws-item-affinity", "aws-item-attribute-affinity"):
        versions[recipe] = env.version(
            env.client.create_solution(
                name=recipe, datasetGroupArn=dg, recipeArn=f"arn:aws:personalize:::recipe/{recipe}"
            )["solutionArn"]
        )
    _settle(env)
    known, unknown = _segment(
        env, versions["aws-item-affinity"], "items", ['{"itemId": "i5"}', '{"itemId": "nope"}'], numResults=3
    )
    assert set(known) == {"input", "output"} and len(known["output"]["recommendedUsers"]) == 3
    assert unknown["output"] is None and "nope" in unknown["error"] and "training" in unknown["error"]
    lines = [
        '{"itemAttributes": "ITEMS.CATEGORY = \\"cat2\\""}',
        '{"itemAttributes": "ITEMS.CATEGORY = \\"cat99\\""}',
    ]
    known, unknown = _segment(env, versions["aws-item-attribute-affinity"], "attributes", lines, numResults=3)
    assert set(known) == {"itemAttributes", "output"} and len(known["output"]["recommendedUsers"]) == 3
    assert unknown["output"] is None and "cat99" in unknown["error"]


def test_segment_input_files_hold_at_most_the_documented_queries(env: Env) -> None:
    """Item-Affinity: at most 500 queries per input file; Item-Attribute-Affinity: 10
    (personalize-data-plane.md 6.2, personalize-api.md recipes table [DG23]). A file with more fails the job,
    naming the file and the limit (failing rather than answering part of it is an inference). Before, every
    line was answered."""
    dg, _ = _segment_group(env)
    for recipe, line, limit in (
        ("aws-item-affinity", '{"itemId": "i5"}', 500),
        ("aws-item-attribute-affinity", '{"itemAttributes": "ITEMS.CATEGORY = \\"cat2\\""}', 10),
    ):
        version = env.version(
            env.client.create_solution(
                name=recipe, datasetGroupArn=dg, recipeArn=f"arn:aws:personalize:::recipe/{recipe}"
            )["solutionArn"]
        )
        _settle(env)
        assert len(_segment(env, version, f"{recipe}-ok", [line] * limit, numResults=2)) == limit
        path = env.put(f"seg/{recipe}-over.json", ("\n".join([line] * (limit + 1)) + "\n").encode())
        arn = env.client.create_batch_segment_job(
            jobName=f"{recipe}-over",
            solutionVersionArn=version,
            roleArn=env.role,
            jobInput={"s3DataSource": {"path": path}},
            jobOutput={"s3DataDestination": {"path": f"s3://{env.bucket}/segments/{recipe}-over/"}},
        )["batchSegmentJobArn"]
        _settle(env)
        job = env.client.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]
        assert job["status"] == "CREATE FAILED"
        assert f"{recipe}-over.json" in job["failureReason"] and str(limit) in job["failureReason"]


def test_a_batch_segment_job_builds_its_user_filter_once(env: Env, monkeypatch: Any) -> None:
    """A segment line's filter depends only on its filterValues (a segment has no requesting user), so a job
    binds its UserID filter once per distinct filterValues, not once per line: before, each of up to 500
    lines rebuilt it and scanned every interaction again. The answers stay those of a filter per line."""
    from reconciler.emulator.filtering import ItemFilter

    csv_body = interactions_csv(users=300, per_user=4)  # some users never ordered or viewed
    dg = env.trainable_group(csv=csv_body)
    affinity = env.version(
        env.client.create_solution(
            name="affinity",
            datasetGroupArn=dg,
            recipeArn="arn:aws:personalize:::recipe/aws-item-affinity",
        )["solutionArn"]
    )
    not_buyers = env.client.create_filter(
        name="not-buyers",
        datasetGroupArn=dg,
        filterExpression="EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ($TYPES)",
    )["filterArn"]
    _settle(env)
    scans: list[int] = []
    original = ItemFilter._interaction_users

    def counted(self: Any, *args: Any) -> set[str]:
        scans.append(1)
        return original(self, *args)

    monkeypatch.setattr(ItemFilter, "_interaction_users", counted)
    orders = '{"TYPES": "\\"OrderCompleted\\""}'
    lines = [f'{{"itemId": "i{k}", "filterValues": {orders}}}' for k in range(20)]
    lines += ['{"itemId": "i1", "filterValues": {"TYPES": "\\"ProductViewed\\""}}', '{"itemId": "i2"}']
    out = _segment(env, affinity, "not-buyers", lines, numResults=40, filterArn=not_buyers)
    assert len(scans) == 2, len(scans)  # one per distinct filterValues; the last line drops its clause
    buyers = {row.split(",")[1] for row in csv_body.decode().splitlines()[1:] if ",OrderCompleted," in row}
    viewers = {row.split(",")[1] for row in csv_body.decode().splitlines()[1:] if ",ProductViewed," in row}
    model = env.emulator.models.for_version(affinity)
    assert model is not None
    assert all(line["output"]["recommendedUsers"] for line in out)
    for k, line in enumerate(out[:20]):
        everyone = [u for u, _ in model.segment([f"i{k}"], 300)]
        assert line["output"]["recommendedUsers"] == [u for u in everyone if u not in buyers][:40]
    assert (
        out[20]["output"]["recommendedUsers"]
        == [u for u, _ in model.segment(["i1"], 300) if u not in viewers][:40]
    )
    assert out[21]["output"]["recommendedUsers"] == [u for u, _ in model.segment(["i2"], 40)]
