"""CPU time of `validate` (YAML, substitution, models, every offline rule, botocore request checks).

Generates 200 resources in a temporary directory (10 dataset groups x 20: group, 3 schemas, 3 datasets with
imports, 5 solutions, 5 campaigns, 2 filters, an event tracker; one file per group plus a Stack) and prints
`time.process_time()` for the first run (includes loading botocore's Personalize service model once) and
the best of the following runs.

Run: `.venv/bin/python -m benchmarks.bench_validate`
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from reconciler.manifest import validate

GROUPS = 10
STACK = """apiVersion: personalize-gitops/v1alpha1
kind: Stack
metadata: {name: bench}
spec:
  region: us-east-1
  accountId: "123456789012"
  namePrefix: bench-
  defaultTags: {owner: bench}
  variables: {bucket: bench-bucket}
"""
HEADER = "apiVersion: personalize-gitops/v1alpha1\n"


def group_documents(g: int) -> str:
    name = f"group-{g:02d}"
    docs = [f"kind: DatasetGroup\nmetadata: {{name: {name}}}\n"]
    schemas = {
        "INTERACTIONS": "[{name: USER_ID, type: string}, {name: ITEM_ID, type: string}, "
        "{name: EVENT_TYPE, type: string}, {name: TIMESTAMP, type: long}, "
        "{name: DISCOUNT, type: string, categorical: true}]",
        "ITEMS": "[{name: ITEM_ID, type: string}, {name: CATEGORY, type: string, categorical: true}, "
        "{name: PRICE, type: float}]",
        "USERS": "[{name: USER_ID, type: string}, {name: AGE, type: int}, "
        "{name: GENDER, type: string, categorical: true}]",
    }
    for dataset_type, fields in schemas.items():
        lower = dataset_type.lower()
        docs.append(
            f"kind: Schema\nmetadata: {{name: {name}-{lower}}}\n"
            f"spec:\n  avro:\n    name: {dataset_type.title()}\n    fields: {fields}\n"
        )
        docs.append(
            f"kind: Dataset\nmetadata: {{name: {name}-{lower}}}\n"
            f"spec:\n  datasetGroup: {name}\n  datasetType: {dataset_type}\n  schema: {name}-{lower}\n"
            f"  dataImport:\n    dataLocation: s3://${{bucket}}/{name}/{lower}.csv\n"
            f"    roleArn: arn:aws:iam::${{account_id}}:role/PersonalizeS3\n"
        )
    recipes = [
        "aws-sims",
        "aws-user-personalization",
        "aws-personalized-ranking",
        "aws-similar-items",
        "aws-user-personalization",
    ]
    for s, recipe in enumerate(recipes):
        config = ""
        if recipe == "aws-sims":
            config = "  solutionConfig:\n    algorithmHyperParameters: {popularity_discount_factor: '0.7'}\n"
        docs.append(
            f"kind: Solution\nmetadata: {{name: {name}-s{s}}}\n"
            f"spec:\n  datasetGroup: {name}\n  recipeArn: {recipe}\n{config}"
        )
        docs.append(
            f"kind: Campaign\nmetadata: {{name: {name}-c{s}}}\n"
            f"spec:\n  solution: {name}-s{s}\n  minProvisionedTPS: 1\n"
            "  promotion: {maxRegression: {precision_at_25: 0.1}}\n"
        )
    docs.append(
        f"kind: Filter\nmetadata: {{name: {name}-purchased}}\nspec:\n  datasetGroup: {name}\n"
        "  filterExpression: 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"OrderCompleted\")'\n"
    )
    docs.append(
        f"kind: Filter\nmetadata: {{name: {name}-category}}\nspec:\n  datasetGroup: {name}\n"
        "  filterExpression: 'INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) IF CurrentUser.AGE > 18'\n"
    )
    docs.append(f"kind: EventTracker\nmetadata: {{name: {name}-tracker}}\nspec: {{datasetGroup: {name}}}\n")
    return "---\n".join(HEADER + d for d in docs)


def write_manifests(directory: Path, groups: int = GROUPS) -> int:
    (directory / "stack.yaml").write_text(STACK, encoding="utf-8")
    for g in range(groups):
        (directory / f"group-{g:02d}.yaml").write_text(group_documents(g), encoding="utf-8")
    return groups * 20


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        expected = write_manifests(directory)
        timings: list[float] = []
        for _ in range(runs):
            start = time.process_time()
            report = validate(directory)
            timings.append(time.process_time() - start)
            if report.errors or report.resource_count != expected:
                raise SystemExit("benchmark manifests are invalid:\n" + "\n".join(report.errors[:10]))
    print(f"validate: {expected} resources, {len(report.infos)} infos, {len(report.warnings)} warnings")
    print(f"  first run (loads botocore's service model): {timings[0] * 1000:.0f} ms CPU")
    print(f"  best of next {runs - 1} runs:                  {min(timings[1:]) * 1000:.0f} ms CPU")


if __name__ == "__main__":
    main()
