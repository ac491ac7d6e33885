"""One mistake in one document of the sample manifests is reported once, where it is: not also as a missing
dataset in every document that needs the dataset it declares, nor as a missing field next to the unknown
field that misspells it, nor again in every rule that reads the schema it breaks. Two independent mistakes
still give two errors, and a dataset that is really missing is still reported next to a broken one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "manifests"
runner = CliRunner()

DATASETS = "manifests/retail/datasets.yaml"
SCHEMAS = "manifests/retail/schemas.yaml"
FILTERS = "manifests/retail/filters.yaml"
INTERACTIONS = "Dataset/personalize-immersion-day-dataset-interactions"
SCHEMA = "Schema/personalize-immersion-day-retail-schema-interactions"
FILTER = "Filter/immersion-day-filter-purchased-products"
TYPES = "must be one of 'INTERACTIONS', 'ITEMS', 'USERS', 'ACTIONS' or 'ACTION_INTERACTIONS'"
EXPRESSION = "  filterExpression: 'EXCLUDE itemId WHERE INTERACTIONS.event_type in (\"OrderCompleted\")'"


def _copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(SAMPLES, tmp_path / "manifests")
    shutil.copytree(SAMPLES.parent / "data" / "sample", tmp_path / "data" / "sample")  # their localFiles
    monkeypatch.chdir(tmp_path)


def _edit(file: str, old: str, new: str) -> int:
    """Replace the first line of `file` (below the cwd) that starts with `old` by `new` + its rest; its
    number."""
    path = Path(file)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(old))
    lines[index] = new + lines[index][len(old) :]
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1


def _validate() -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", "manifests", "--quiet"])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy(tmp_path, monkeypatch)


@pytest.mark.usefixtures("samples")
def test_an_invalid_dataset_type_is_the_only_error() -> None:
    """Before: 4 more errors, 'has no INTERACTIONS dataset' at the filter and the three solutions."""
    line = _edit(DATASETS, "  datasetType: INTERACTIONS", "  datasetType: INTERACTION")
    code, out, err = _validate()
    assert code == 1
    assert out == f"{DATASETS}:{line}:16: {INTERACTIONS}: spec.datasetType: {TYPES} (got 'INTERACTION')\n"
    assert err == "1 error: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_a_misspelled_required_field_is_one_unknown_field_error() -> None:
    """Before: 'required field is missing' first, then the unknown field, then 4 missing-dataset errors."""
    line = _edit(DATASETS, "  datasetType: INTERACTIONS", "  datasetTyp: INTERACTIONS")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"{DATASETS}:{line}:3: {INTERACTIONS}: spec.datasetTyp: unknown field\n"
        "  hint: did you mean 'datasetType'? (a required field, missing)\n"
    )
    assert err == "1 error: manifests are not valid\n"


@pytest.mark.parametrize(
    ("old", "new", "column", "message"),
    [
        (
            "    importMode: FULL",
            "    importMode: FUL",
            17,
            "spec.dataImport.importMode: must be one of 'FULL' or 'INCREMENTAL' (got 'FUL')",
        ),
        (
            "    dataLocation: s3://${bucket}/interactions.csv",
            "    dataLocation: interactions.csv",
            19,
            "spec.dataImport.dataLocation: must match the pattern ^s3://[^/]+/.*$ (got 'interactions.csv')",
        ),
        (
            "  datasetGroup: personalize-immersion-day-retail",
            "  datasetGroup: personalize-immersion-day-retai",
            17,
            "spec.datasetGroup: DatasetGroup/personalize-immersion-day-retai is not defined in the manifests",
        ),
    ],
    ids=["invalid-enum", "wrong-pattern", "bad-reference"],
)
@pytest.mark.usefixtures("samples")
def test_one_mistake_in_the_interactions_dataset_is_one_error(
    old: str, new: str, column: int, message: str
) -> None:
    line = _edit(DATASETS, old, new)
    code, out, err = _validate()
    assert code == 1
    assert out.splitlines()[0] == f"{DATASETS}:{line}:{column}: {INTERACTIONS}: {message}"
    assert "has no INTERACTIONS dataset" not in out
    assert err == "1 error: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_a_dataset_whose_type_cannot_be_read_sums_up_what_waits_for_it_in_one_line() -> None:
    line = _edit(DATASETS, "  datasetType: INTERACTIONS", "  datasetType: [INTERACTIONS]")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"{DATASETS}:{line}:16: {INTERACTIONS}: spec.datasetType: {TYPES} (got a list)\n"
        f"{DATASETS}:{line}:16: {INTERACTIONS}: 5 documents need an INTERACTIONS dataset in dataset group "
        "'personalize-immersion-day-retail', which this one may be: not checked for it until this one "
        "validates\n"
        f"  hint: fix the error above and validate again; waiting: {FILTER}, "
        "Solution/amazon-personalize-immersionday-related-products, "
        "Solution/amazon-personalize-immersionday-product-personalization, "
        "Solution/amazon-personalize-immersionday-personalized-ranking and 1 more\n"
    )
    assert err == "2 errors: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_two_independent_mistakes_are_two_errors() -> None:
    line = _edit(DATASETS, "  datasetType: INTERACTIONS", "  datasetType: INTERACTION")
    campaign = _edit(
        "manifests/retail/campaigns.yaml",
        "  solution: amazon-personalize-immersionday-related-products",
        "  solution: amazon-personalize-immersionday-related-product",
    )
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"manifests/retail/campaigns.yaml:{campaign}:13: "
        "Campaign/amazon-personalize-immersionday-related-products: spec.solution: "
        "Solution/amazon-personalize-immersionday-related-product is not defined in the manifests\n"
        "  hint: did you mean 'amazon-personalize-immersionday-related-products' (Solution defined at "
        "manifests/retail/solutions.yaml:5)?\n"
        f"{DATASETS}:{line}:16: {INTERACTIONS}: spec.datasetType: {TYPES} (got 'INTERACTION')\n"
    )
    assert err == "2 errors: manifests are not valid\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    importMode: FULL", "    importMode: FUL"),
        ("  datasetType: INTERACTIONS", "  datasetType: INTERACTION"),
    ],
)
@pytest.mark.usefixtures("samples")
def test_a_dataset_really_missing_is_still_reported_next_to_a_broken_one(old: str, new: str) -> None:
    line = _edit(DATASETS, old, new)
    where = _edit(FILTERS, EXPRESSION, "  filterExpression: 'EXCLUDE itemId WHERE Actions.X IN (\"x\")'")
    code, out, err = _validate()
    assert code == 1
    errors = [text for text in out.splitlines() if not text.startswith(" ")]
    assert len(errors) == 2
    assert errors[0].startswith(f"{DATASETS}:{line}:")
    assert errors[1] == (
        f"{FILTERS}:{where}:43: {FILTER}: spec.filterExpression: "
        "dataset group 'personalize-immersion-day-retail' has no ACTIONS dataset (used by Actions.X)"
    )
    assert err == "2 errors: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_a_misspelled_key_of_a_schema_field_is_the_only_error() -> None:
    """Before: also 'INTERACTIONS schemas need an USER_ID field' at the schema and 'does not fit' at the
    dataset: the field the misspelling took away, reported missing twice more."""
    line = _edit(SCHEMAS, "      - {name: USER_ID, type: string}", "      - {nme: USER_ID, type: string}")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"{SCHEMAS}:{line}:10: {SCHEMA}: spec.avro.fields[1].nme: unknown field\n"
        "  hint: did you mean 'name'? (a required field, missing)\n"
    )
    assert err == "1 error: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_a_schema_field_a_filter_uses_that_cannot_be_read_is_not_reported_missing_by_the_filter() -> None:
    line = _edit(SCHEMAS, "      - {name: EVENT_TYPE, type: string}", "      - {name: EVENT_TYPE, type: 5}")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"{SCHEMAS}:{line}:34: {SCHEMA}: spec.avro.fields[2].type: must be a string (got 5)\n"
        '  hint: quote the value to make it a string, e.g. "0.7"\n'
    )
    assert err == "1 error: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_the_remaining_problems_of_a_schema_are_placed_at_their_own_fields() -> None:
    """A field item the errors took away does not move the problems of the fields after it to the line
    before them."""
    first = _edit(SCHEMAS, "      - {name: USER_ID, type: string}", "      - {nme: USER_ID, type: string}")
    second = _edit(SCHEMAS, "      - {name: DISCOUNT, type: string", "      - {name: DISCOUNT, type: map")
    code, out, _ = _validate()
    assert code == 1
    assert out == (
        f"{SCHEMAS}:{first}:10: {SCHEMA}: spec.avro.fields[1].nme: unknown field\n"
        "  hint: did you mean 'name'? (a required field, missing)\n"
        f"{SCHEMAS}:{second}:32: {SCHEMA}: spec.avro.fields[4].type: unsupported type 'map'\n"
        "  hint: supported: string, int, long, float, double, boolean, null (and unions with null)\n"
    )


@pytest.mark.usefixtures("samples")
def test_an_unsupported_type_of_a_required_field_is_one_error() -> None:
    """Before: also 'TIMESTAMP ... must be long (got lng)' at the same place and 'does not fit' at the
    dataset."""
    line = _edit(SCHEMAS, "      - {name: TIMESTAMP, type: long}", "      - {name: TIMESTAMP, type: lng}")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"{SCHEMAS}:{line}:33: {SCHEMA}: spec.avro.fields[3].type: unsupported type 'lng'\n"
        "  hint: supported: string, int, long, float, double, boolean, null (and unions with null)\n"
    )
    assert err == "1 error: manifests are not valid\n"


@pytest.mark.usefixtures("samples")
def test_a_misspelled_filter_expression_is_one_unknown_field_error() -> None:
    line = _edit(FILTERS, "  filterExpression:", "  filterExpresion:")
    code, out, err = _validate()
    assert code == 1
    assert out == (
        f"{FILTERS}:{line}:3: {FILTER}: spec.filterExpresion: unknown field\n"
        "  hint: did you mean 'filterExpression'? (a required field, missing)\n"
    )
    assert err == "1 error: manifests are not valid\n"
