"""The sample manifests validate (CLI, both stacks) and produce the expected desired state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.errors import ManifestError
from reconciler.manifest import load, validate
from reconciler.manifest.jsonschema import manifest_json_schema
from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "manifests"
PROD = SAMPLES / "prod.stack.yaml"
runner = CliRunner()


def test_cli_validate_samples_exit_0() -> None:
    result = runner.invoke(app, ["validate", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    assert "15 resources valid" in result.output


def test_cli_validate_prod_stack_exit_0() -> None:
    result = runner.invoke(app, ["validate", str(SAMPLES), "--stack", str(PROD)])
    assert result.exit_code == 0, result.output
    assert "15 resources valid" in result.output


def test_cli_validate_errors_exit_1_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Campaign\nmetadata: {name: c}\n"
        "spec: {solution: missing, minProvisionedTPS: 0}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "bad.yaml:4:46: Campaign/c: spec.minProvisionedTPS: must be >= 1 (got 0)" in result.output
    assert "Campaign/c: spec.solution: Solution/missing is not defined in the manifests" in result.output


def test_cli_validate_missing_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no such file or directory" in result.output


def test_cli_schema_prints_one_json_document() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    assert "Stack" in schema["properties"]["kind"]["enum"]


def test_cli_schema_to_an_unwritable_path_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    for output in (tmp_path, tmp_path / "a-file" / "schema.json"):  # a directory; a file as the parent
        result = runner.invoke(app, ["schema", "-o", str(output)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code == 1
        assert f"Error: cannot write the schema to {output}: " in result.output
    assert (tmp_path / "a-file").read_text() == ""


def test_sample_state() -> None:
    state = load(SAMPLES)
    assert state.stack.name == "retail-dev"
    assert state.stack.settings.accountId == "123456789012"
    assert state.stack.settings.region == "us-east-1"
    assert not state.stack.settings.prune.enabled
    counts = {kind: len(state.of_kind(kind)) for kind in Kind}
    assert counts[Kind.SCHEMA] == 3 and counts[Kind.DATASET] == 3
    assert counts[Kind.SOLUTION] == 3 and counts[Kind.CAMPAIGN] == 3
    assert counts[Kind.FILTER] == 1 and counts[Kind.EVENT_TRACKER] == 1
    group = state.resources[Address(Kind.DATASET_GROUP, "personalize-immersion-day-retail")]
    assert group.physical_name == "dev-personalize-immersion-day-retail"
    assert group.tags == {"project": "personalize-immersion-day", "environment": "dev"}
    dataset = state.resources[Address(Kind.DATASET, "personalize-immersion-day-dataset-interactions")]
    assert dataset.depends_on == (
        Address(Kind.DATASET_GROUP, "personalize-immersion-day-retail"),
        Address(Kind.SCHEMA, "personalize-immersion-day-retail-schema-interactions"),
    )
    assert isinstance(dataset.spec, DatasetSpec) and dataset.spec.dataImport is not None
    imp = dataset.spec.dataImport
    assert imp.dataLocation == "s3://123456789012-us-east-1-personalize-immersionday-retail/interactions.csv"
    assert imp.roleArn == "arn:aws:iam::123456789012:role/PersonalizeS3"
    assert imp.localFile is not None
    assert (Path(state.base_dir) / imp.localFile).resolve() == (
        ROOT / "data/sample/interactions.csv"
    ).resolve()
    campaign = state.resources[Address(Kind.CAMPAIGN, "amazon-personalize-immersionday-related-products")]
    assert campaign.depends_on == (
        Address(Kind.SOLUTION, "amazon-personalize-immersionday-related-products"),
    )
    assert dataset.source.file.endswith("datasets.yaml") and dataset.source.line > 0


def test_prod_stack_shares_resources_with_other_settings() -> None:
    dev, prod = load(SAMPLES), load(SAMPLES, stack_file=PROD)
    assert dev.resources.keys() == prod.resources.keys()
    address = Address(Kind.FILTER, "immersion-day-filter-purchased-products")
    assert prod.resources[address].physical_name == "prod-immersion-day-filter-purchased-products"
    assert prod.resources[address].tags["environment"] == "prod"
    assert dev.digest != prod.digest
    assert load(SAMPLES).digest == dev.digest  # deterministic


def test_load_raises_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Campaign\nmetadata: {name: c}\nspec: {solution: x}\n"
        "---\napiVersion: personalize-gitops/v1alpha1\nkind: Filter\nmetadata: {name: f}\n"
        "spec: {datasetGroup: y, filterExpression: 'EXCLUDE'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as info:
        load(tmp_path)
    assert len(info.value.problems) == 3
    assert "2 problems" not in info.value.render()


def test_variables_and_builtins(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Stack\nmetadata: {name: s1}\n"
        "spec: {region: eu-west-1, accountId: '111122223333', variables: {team: recs}}\n",
        encoding="utf-8",
    )
    group = "apiVersion: personalize-gitops/v1alpha1\nkind: DatasetGroup\nmetadata: {name: g, tags: {%s}}\n"
    (tmp_path / "g.yaml").write_text(
        group % "owner: '${team}', where: '${region}/${account_id}/${stack}'", encoding="utf-8"
    )
    state = load(tmp_path)
    tags = state.resources[Address(Kind.DATASET_GROUP, "g")].tags
    assert tags == {"owner": "recs", "where": "eu-west-1/111122223333/s1"}
    # `$${` is a literal `${` (which no tag may hold: the tag rule shows the expanded value)
    (tmp_path / "g.yaml").write_text(group % "raw: '$${x}'", encoding="utf-8")
    assert [e.splitlines()[0].split(": ", 1)[1] for e in validate(tmp_path).errors] == [
        "DatasetGroup/g: metadata.tags.raw: tag value '${x}' contains '$', which Personalize refuses"
    ]


def test_stack_resources_missing_path(tmp_path: Path) -> None:
    stack = tmp_path / "x.stack.yaml"
    stack.write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Stack\nmetadata: {name: s}\n"
        "spec: {resources: [nowhere/]}\n",
        encoding="utf-8",
    )
    report = validate(tmp_path, stack)
    assert any("no such file or directory: nowhere/" in e for e in report.errors)


def test_no_documents_is_an_error(tmp_path: Path) -> None:
    """A wrong path in CI must not give a green check (issue 14): no documents is an error, not a warning."""
    report = validate(tmp_path)
    assert [e.splitlines()[0] for e in report.errors] == [
        f"{tmp_path}: no manifest documents found (no *.yaml or *.yml files)"
    ]
    (tmp_path / "only-comments.yaml").write_text("# nothing here yet\n---\n", encoding="utf-8")
    report = validate(tmp_path)
    assert [e.splitlines()[0] for e in report.errors] == [
        f"{tmp_path}: no manifest documents found (1 file but no YAML documents)"
    ]


def test_committed_json_schema_is_current() -> None:
    committed = json.loads((SAMPLES / ".schema/personalize-gitops.schema.json").read_text(encoding="utf-8"))
    assert committed == manifest_json_schema(), "run: personalize-gitops schema -o manifests/.schema/..."


def test_samples_point_at_the_schema_and_validate_against_it() -> None:
    import jsonschema
    import yaml

    schema = manifest_json_schema()
    files = sorted(SAMPLES.rglob("*.yaml"))
    assert files
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema="), file
        target = text.splitlines()[0].split("$schema=", 1)[1]
        assert (file.parent / target).resolve() == (
            SAMPLES / ".schema/personalize-gitops.schema.json"
        ).resolve()
        for document in yaml.safe_load_all(text):
            if document is not None:
                jsonschema.validate(document, schema)


def test_json_schema_rejects_a_typo() -> None:
    import jsonschema

    document = {
        "apiVersion": "personalize-gitops/v1alpha1",
        "kind": "Campaign",
        "metadata": {"name": "c"},
        "spec": {"solution": "s", "minProvisionedTps": 1},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, manifest_json_schema())


def test_reference_doc_is_current() -> None:
    from reconciler.manifest.reference import render_reference

    committed = (ROOT / "docs/manifest-reference.md").read_text(encoding="utf-8")
    assert committed == render_reference(), "run: python -m reconciler.manifest.reference --write"


def test_manifest_package_makes_no_aws_calls() -> None:
    package = ROOT / "reconciler/manifest"
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "import boto3" not in text and "client(" not in text, source


def test_json_schema_accepts_unquoted_hyperparameters_and_variables() -> None:
    import jsonschema

    document = {
        "apiVersion": "personalize-gitops/v1alpha1",
        "kind": "Solution",
        "metadata": {"name": "s"},
        "spec": {
            "datasetGroup": "${group}",
            "recipeArn": "aws-sims",
            "solutionConfig": {"algorithmHyperParameters": {"popularity_discount_factor": 0.7}},
        },
    }
    jsonschema.validate(document, manifest_json_schema())


@pytest.mark.parametrize("command", ["plan", "verify", "iam-policy", "apply"])
def test_a_missing_manifests_directory_gets_one_hint_for_the_command_that_was_run(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run where there is no manifests/ (a new user's first try): the hint named `validate manifests/` for any
    the command, and a second hint sent them to `validate` to list "the problems above"."""
    monkeypatch.chdir(tmp_path)
    args = {"iam-policy": ["iam-policy", "--role", "plan"], "apply": ["apply", "--local", "--auto-approve"]}
    result = runner.invoke(app, args.get(command, [command, "--local"]))
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "manifests: no such file or directory" in output
    assert "`validate manifests/`" not in output and "lists them with warnings" not in output, output
    assert output.count("hint:") == 1, output
    assert "pass the manifests directory (the default is manifests/ in the working directory)" in output


def test_json_schema_takes_a_whole_value_variable_in_a_number_field() -> None:
    """Editors check manifests against this schema: `minProvisionedTPS: ${tps}` (validate turns it into the
    number the variable spells) must not be flagged, while a quoted "5" or text around the variable is."""
    import jsonschema

    schema = manifest_json_schema()

    def campaign(tps: object, influence: object = 0.5) -> dict[str, object]:
        return {
            "apiVersion": "personalize-gitops/v1alpha1",
            "kind": "Campaign",
            "metadata": {"name": "c"},
            "spec": {
                "solution": "s",
                "minProvisionedTPS": tps,
                "campaignConfig": {"rankingInfluence": {"FRESHNESS": influence}},
            },
        }

    jsonschema.validate(campaign(2), schema)
    jsonschema.validate(campaign("${tps}", "${freshness}"), schema)
    for wrong in ("5", "x${tps}", "${tps}${tps2}", True, 2.5):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(campaign(wrong), schema)
