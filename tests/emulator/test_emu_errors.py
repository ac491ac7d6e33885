"""Service-side errors, table-driven: each case builds some state, makes one call and expects one code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import Env
from emu_support import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, USERS_SCHEMA, avro, interactions_csv

from reconciler.emulator import EmulatorError

R = "arn:aws:personalize:::recipe/"
EXPR = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")'


def _schema(env: Env, name: str = "s", body: str = INTERACTIONS_SCHEMA, **kw: Any) -> str:
    return str(env.call("CreateSchema", name=name, schema=body, **kw)["schemaArn"])


def _dataset(
    env: Env, dg: str, dtype: str = "Interactions", name: str = "d", body: str = INTERACTIONS_SCHEMA
) -> str:
    schema = _schema(env, f"{name}-schema", body)
    return str(
        env.call("CreateDataset", name=name, datasetGroupArn=dg, schemaArn=schema, datasetType=dtype)[
            "datasetArn"
        ]
    )


def _version(env: Env, recipe: str = "aws-user-personalization") -> tuple[str, str, str]:
    dg = env.trainable_group()
    sol = env.solution(dg, recipe=recipe, performAutoTraining=False)
    return dg, sol, env.version(sol)


def _campaign(env: Env) -> tuple[str, str, str]:
    dg, sol, sv = _version(env)
    env.call("CreateCampaign", name="c", solutionVersionArn=sv)
    return dg, sol, sv


def _slow(env: Env, kind: str) -> None:
    env.emulator.profile.create[kind] = 3600.0


Case = tuple[str, Callable[[Env], tuple[str, dict[str, Any]]], str]
CASES: list[Case] = [
    # duplicates
    (
        "duplicate dataset group",
        lambda e: (e.group("a"), ("CreateDatasetGroup", {"name": "a"}))[1],
        "ResourceAlreadyExistsException",
    ),
    (
        "duplicate schema",
        lambda e: (_schema(e), ("CreateSchema", {"name": "s", "schema": ITEMS_SCHEMA}))[1],
        "ResourceAlreadyExistsException",
    ),
    (
        "second dataset of a type",
        lambda e: (
            lambda dg: (
                _dataset(e, dg),
                (
                    "CreateDataset",
                    {
                        "name": "other",
                        "datasetGroupArn": dg,
                        "schemaArn": _schema(e, "s2"),
                        "datasetType": "INTERACTIONS",
                    },
                ),
            )[1]
        )(e.group()),
        "ResourceAlreadyExistsException",
    ),
    (
        "duplicate solution",
        lambda e: (
            lambda dg: (
                e.solution(dg),
                ("CreateSolution", {"name": "sol", "datasetGroupArn": dg, "recipeArn": R + "aws-sims"}),
            )[1]
        )(e.group()),
        "ResourceAlreadyExistsException",
    ),
    (
        "second event tracker",
        lambda e: (
            lambda dg: (
                e.call("CreateEventTracker", name="t1", datasetGroupArn=dg),
                ("CreateEventTracker", {"name": "t2", "datasetGroupArn": dg}),
            )[1]
        )(e.group()),
        "ResourceAlreadyExistsException",
    ),
    (
        "duplicate campaign",
        lambda e: (lambda v: ("CreateCampaign", {"name": "c", "solutionVersionArn": v[2]}))(_campaign(e)),
        "ResourceAlreadyExistsException",
    ),
    # missing references
    (
        "dataset with unknown schema",
        lambda e: (
            "CreateDataset",
            {
                "name": "d",
                "datasetGroupArn": e.group(),
                "schemaArn": "arn:aws:personalize:eu-west-1:123456789012:schema/x",
                "datasetType": "Items",
            },
        ),
        "ResourceNotFoundException",
    ),
    (
        "campaign with unknown version",
        lambda e: (
            "CreateCampaign",
            {
                "name": "c",
                "solutionVersionArn": "arn:aws:personalize:eu-west-1:123456789012:solution/x/abcdef12",
            },
        ),
        "ResourceNotFoundException",
    ),
    (
        "solution with unknown recipe",
        lambda e: (
            "CreateSolution",
            {"name": "s", "datasetGroupArn": e.group(), "recipeArn": R + "aws-nope"},
        ),
        "ResourceNotFoundException",
    ),
    (
        "list versions of unknown solution",
        lambda e: (
            "ListSolutionVersions",
            {"solutionArn": "arn:aws:personalize:eu-west-1:123456789012:solution/none"},
        ),
        "ResourceNotFoundException",
    ),
    # in use / wrong state
    (
        "delete group with dataset",
        lambda e: (lambda dg: (_dataset(e, dg), ("DeleteDatasetGroup", {"datasetGroupArn": dg}))[1])(
            e.group()
        ),
        "ResourceInUseException",
    ),
    (
        "delete schema used by dataset",
        lambda e: (
            lambda dg: (
                "DeleteSchema",
                {"schemaArn": e.call("DescribeDataset", datasetArn=_dataset(e, dg))["dataset"]["schemaArn"]},
            )
        )(e.group()),
        "ResourceInUseException",
    ),
    (
        "delete dataset with a filter",
        lambda e: (
            lambda dg: (
                e.call("CreateFilter", name="f", datasetGroupArn=dg, filterExpression=EXPR),
                (
                    "DeleteDataset",
                    {"datasetArn": e.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"]},
                ),
            )[1]
        )(e.trainable_group()),
        "ResourceInUseException",
    ),
    (
        "delete interactions with tracker",
        lambda e: (
            lambda dg: (
                e.call("CreateEventTracker", name="t", datasetGroupArn=dg),
                (
                    "DeleteDataset",
                    {"datasetArn": e.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"]},
                ),
            )[1]
        )(e.trainable_group()),
        "ResourceInUseException",
    ),
    (
        "delete solution with campaign",
        lambda e: (lambda v: ("DeleteSolution", {"solutionArn": v[1]}))(_campaign(e)),
        "ResourceInUseException",
    ),
    (
        "delete solution while training",
        lambda e: (
            _slow(e, "solution_version.FULL"),
            (lambda v: ("DeleteSolution", {"solutionArn": v[1]}))(_version(e)),
        )[1],
        "ResourceInUseException",
    ),
    (
        "dataset in a pending group",
        lambda e: (
            _slow(e, "dataset_group"),
            (
                "CreateDataset",
                {
                    "name": "d",
                    "datasetGroupArn": e.group(),
                    "schemaArn": _schema(e),
                    "datasetType": "Interactions",
                },
            ),
        )[1],
        "ResourceInUseException",
    ),
    (
        "version of a pending solution",
        lambda e: (_slow(e, "solution"), ("CreateSolutionVersion", {"solutionArn": e.solution(e.group())}))[
            1
        ],
        "ResourceInUseException",
    ),
    (
        "campaign on a training version",
        lambda e: (
            _slow(e, "solution_version.FULL"),
            ("CreateCampaign", {"name": "c", "solutionVersionArn": _version(e)[2]}),
        )[1],
        "ResourceInUseException",
    ),
    (
        "update a creating campaign",
        lambda e: (
            _slow(e, "campaign"),
            (
                lambda v: (
                    "UpdateCampaign",
                    {
                        "campaignArn": e.call("ListCampaigns")["campaigns"][0]["campaignArn"],
                        "minProvisionedTPS": 2,
                    },
                )
            )(_campaign(e)),
        )[1],
        "ResourceInUseException",
    ),
    (
        "delete a creating campaign",
        lambda e: (
            _slow(e, "campaign"),
            (
                lambda v: (
                    "DeleteCampaign",
                    {"campaignArn": e.call("ListCampaigns")["campaigns"][0]["campaignArn"]},
                )
            )(_campaign(e)),
        )[1],
        "ResourceInUseException",
    ),
    (
        "update dataset still creating",
        lambda e: (
            _slow(e, "dataset"),
            (
                lambda dg: (
                    "UpdateDataset",
                    {
                        "datasetArn": _dataset(e, dg, "Items", body=ITEMS_SCHEMA),
                        "schemaArn": _schema(e, "n", ITEMS_SCHEMA),
                    },
                )
            )(e.group()),
        )[1],
        "ResourceInUseException",
    ),
    # invalid input the service rejects
    (
        "bad dataset type",
        lambda e: (
            "CreateDataset",
            {"name": "d", "datasetGroupArn": e.group(), "schemaArn": _schema(e), "datasetType": "Clicks"},
        ),
        "InvalidInputException",
    ),
    (
        "schema is not JSON",
        lambda e: ("CreateSchema", {"name": "s", "schema": "{not json"}),
        "InvalidInputException",
    ),
    (
        "schema lacks required fields",
        lambda e: (
            "CreateDataset",
            {
                "name": "d",
                "datasetGroupArn": e.group(),
                "schemaArn": _schema(e, body=USERS_SCHEMA),
                "datasetType": "Interactions",
            },
        ),
        "InvalidInputException",
    ),
    (
        "schema domain mismatch",
        lambda e: (
            "CreateDataset",
            {
                "name": "d",
                "datasetGroupArn": e.group(),
                "schemaArn": _schema(e, domain="ECOMMERCE"),
                "datasetType": "Interactions",
            },
        ),
        "InvalidInputException",
    ),
    (
        "update interactions schema",
        lambda e: (
            lambda dg: ("UpdateDataset", {"datasetArn": _dataset(e, dg), "schemaArn": _schema(e, "n")})
        )(e.group()),
        "InvalidInputException",
    ),
    (
        "update drops a field",
        lambda e: (
            lambda dg: (
                "UpdateDataset",
                {
                    "datasetArn": _dataset(e, dg, "Items", body=ITEMS_SCHEMA),
                    "schemaArn": _schema(e, "n", avro("Items", [("ITEM_ID", "string")])),
                },
            )
        )(e.group()),
        "InvalidInputException",
    ),
    (
        "UPDATE training with sims",
        lambda e: (
            "CreateSolutionVersion",
            {"solutionArn": _version(e, "aws-sims")[1], "trainingMode": "UPDATE"},
        ),
        "InvalidInputException",
    ),
    (
        "sync without $LATEST",
        lambda e: (
            "CreateCampaign",
            {
                "name": "c",
                "solutionVersionArn": _version(e)[2],
                "campaignConfig": {"syncWithLatestSolutionVersion": True},
            },
        ),
        "InvalidInputException",
    ),
    (
        "exploration on sims",
        lambda e: (
            "CreateCampaign",
            {
                "name": "c",
                "solutionVersionArn": _version(e, "aws-sims")[2],
                "campaignConfig": {"itemExplorationConfig": {"explorationWeight": "0.5"}},
            },
        ),
        "InvalidInputException",
    ),
    (
        "domain recipe for a solution",
        lambda e: (
            "CreateSolution",
            {"name": "s", "datasetGroupArn": e.group(), "recipeArn": R + "aws-ecomm-recommended-for-you"},
        ),
        "InvalidInputException",
    ),
    (
        "recommender in a custom group",
        lambda e: (
            "CreateRecommender",
            {"name": "r", "datasetGroupArn": e.group(), "recipeArn": R + "aws-ecomm-recommended-for-you"},
        ),
        "InvalidInputException",
    ),
    (
        "filter syntax",
        lambda e: (
            "CreateFilter",
            {
                "name": "f",
                "datasetGroupArn": e.trainable_group(),
                "filterExpression": "EXCLUDE ItemID Interactions.EVENT_TYPE",
            },
        ),
        "InvalidInputException",
    ),
    (
        "filter unknown field",
        lambda e: (
            "CreateFilter",
            {
                "name": "f",
                "datasetGroupArn": e.trainable_group(),
                "filterExpression": 'INCLUDE ItemID WHERE Interactions.COLOR IN ("red")',
            },
        ),
        "InvalidInputException",
    ),
    (
        "filter on a missing dataset",
        lambda e: (
            "CreateFilter",
            {
                "name": "f",
                "datasetGroupArn": e.trainable_group(),
                "filterExpression": 'INCLUDE ItemID WHERE Items.CATEGORY IN ("shoe")',
            },
        ),
        "InvalidInputException",
    ),
    (
        "incremental import first",
        lambda e: (
            lambda dg: (
                "CreateDatasetImportJob",
                {
                    "jobName": "j",
                    "datasetArn": _dataset(e, dg),
                    "roleArn": e.role,
                    "importMode": "INCREMENTAL",
                    "dataSource": {"dataLocation": e.put("x.csv", interactions_csv())},
                },
            )
        )(e.group()),
        "InvalidInputException",
    ),
    (
        "schedule over 30 days",
        lambda e: (
            "CreateSolution",
            {
                "name": "s",
                "datasetGroupArn": e.group(),
                "recipeArn": R + "aws-sims",
                "solutionConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(31 days)"}},
            },
        ),
        "InvalidInputException",
    ),
    (
        "automl with a recipe",
        lambda e: (
            "CreateSolution",
            {"name": "s", "datasetGroupArn": e.group(), "recipeArn": R + "aws-sims", "performAutoML": True},
        ),
        "InvalidInputException",
    ),
    ("name too long", lambda e: ("CreateDatasetGroup", {"name": "x" * 64}), "InvalidInputException"),
    ("enum", lambda e: ("CreateDatasetGroup", {"name": "x", "domain": "RETAIL"}), "InvalidInputException"),
    (
        "kms without role",
        lambda e: (
            "CreateDatasetGroup",
            {"name": "x", "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abc"},
        ),
        "InvalidInputException",
    ),
    ("maxResults range", lambda e: ("ListDatasets", {"maxResults": 101}), "InvalidInputException"),
    (
        "maxResults range, no modeled error",
        lambda e: ("ListDatasetGroups", {"maxResults": 0}),
        "ValidationException",
    ),
    (
        "tags on a schema",
        lambda e: ("TagResource", {"resourceArn": _schema(e), "tags": [{"tagKey": "a", "tagValue": "b"}]}),
        "InvalidInputException",
    ),
    (
        "batch inference on a segmentation recipe",
        lambda e: (
            "CreateBatchInferenceJob",
            {
                "jobName": "b",
                "solutionVersionArn": _version(e, "aws-item-affinity")[2],
                "roleArn": e.role,
                "jobInput": {"s3DataSource": {"path": "s3://emu-data/in.json"}},
                "jobOutput": {"s3DataDestination": {"path": "s3://emu-data/out/"}},
            },
        ),
        "InvalidInputException",
    ),
]


@pytest.mark.parametrize(("name", "build", "code"), CASES, ids=[c[0] for c in CASES])
def test_service_error(
    env: Env, name: str, build: Callable[[Env], tuple[str, dict[str, Any]]], code: str
) -> None:
    operation, params = build(env)
    with pytest.raises(EmulatorError) as info:
        env.call(operation, **params)
    assert info.value.code == code, info.value.message
    assert info.value.status == 400
    assert len(info.value.message) > 20  # says what is wrong


def test_errors_reach_boto3_as_modeled_exceptions(env: Env) -> None:
    env.group("g")
    with pytest.raises(env.client.exceptions.ResourceAlreadyExistsException) as info:
        env.client.create_dataset_group(name="g")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "already exists" in info.value.response["Error"]["Message"]
