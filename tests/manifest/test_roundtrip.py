"""Property: any manifest the models accept round-trips through YAML (dump -> load) to the same model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.manifest import dump_documents, load
from reconciler.manifest.kinds import SPEC_MODELS
from reconciler.manifest.loader import parse
from reconciler.manifest.writer import dump_resource
from reconciler.model.address import Address, Kind
from reconciler.model.spec import Lifecycle, Metadata
from reconciler.model.state import DesiredResource
from tests.manifest.strategies import model_data

SAMPLES = Path(__file__).resolve().parents[2] / "manifests"


def _roundtrip(kind: Kind, data: dict[str, Any], metadata: Metadata, lifecycle: Lifecycle) -> None:
    try:
        spec = SPEC_MODELS[kind].model_validate(data)
    except ValidationError:
        assume(False)
        return
    text = dump_resource(kind, metadata.name, spec, tags=metadata.tags, labels=metadata.labels,
                         lifecycle=lifecycle, comment="generated")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_text(text, encoding="utf-8")
        context, reporter = parse(path)
        assert not reporter.has_errors, [p.format() for p in reporter.problems] + [text]
        assert context is not None
        (parsed,) = context.resources
    assert parsed.address == Address(kind, metadata.name)
    assert parsed.spec == spec, text
    assert parsed.metadata == metadata
    assert parsed.lifecycle == lifecycle


METADATA = model_data(Metadata).map(Metadata.model_validate)
LIFECYCLE = model_data(Lifecycle).map(Lifecycle.model_validate)


@pytest.mark.parametrize("kind", list(SPEC_MODELS), ids=[k.value for k in SPEC_MODELS])
def test_specs_roundtrip_through_yaml(kind: Kind) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                      HealthCheck.too_slow])  # fmt: skip
    @given(data=model_data(SPEC_MODELS[kind]), metadata=METADATA, lifecycle=LIFECYCLE)
    def check(data: dict[str, Any], metadata: Metadata, lifecycle: Lifecycle) -> None:
        _roundtrip(kind, data, metadata, lifecycle)

    check()


@given(st.text(min_size=1, max_size=30))
@settings(max_examples=150, deadline=None)
def test_any_filter_text_roundtrips(expression: str) -> None:
    data = {"datasetGroup": "g", "filterExpression": expression}
    _roundtrip(Kind.FILTER, data, Metadata(name="f"), Lifecycle())


def test_samples_roundtrip_as_a_whole(tmp_path: Path) -> None:
    state = load(SAMPLES)
    text = dump_documents(state.resources.values(), header="round trip of the samples")
    (tmp_path / "all.yaml").write_text(text, encoding="utf-8")
    again = load(tmp_path)
    assert again.resources.keys() == state.resources.keys()
    for address, resource in state.resources.items():
        other = again.resources[address]
        if address.kind is Kind.DATASET:
            continue  # localFile is relative to the manifest directory, which moved
        assert other.spec == resource.spec
        assert dict(other.tags) == dict(resource.tags)
        assert other.depends_on == resource.depends_on


def test_writer_key_order_and_defaults() -> None:
    state = load(SAMPLES)
    campaign = state.resources[Address(Kind.CAMPAIGN, "amazon-personalize-immersionday-related-products")]
    text = dump_documents([campaign])
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert keys == ["apiVersion", "kind", "metadata", "spec"]
    assert "campaignConfig" not in text  # None/default fields are omitted
    solution = state.resources[Address(Kind.SOLUTION, "amazon-personalize-immersionday-related-products")]
    assert "recipeArn: aws-sims\n" in dump_documents([solution])


def test_literal_dollar_brace_survives(tmp_path: Path) -> None:
    resource = DesiredResource(
        address=Address(Kind.FILTER, "f"),
        spec=SPEC_MODELS[Kind.FILTER].model_validate(
            {"datasetGroup": "g", "filterExpression": "a ${b} $${c}"}
        ),
        physical_name="f",
        tags={"note": "${not_a_variable}"},
        lifecycle=Lifecycle(),
        source=None,  # type: ignore[arg-type]
    )
    (tmp_path / "f.yaml").write_text(dump_documents([resource]), encoding="utf-8")
    context, reporter = parse(tmp_path)
    assert not reporter.has_errors
    assert context is not None
    assert context.resources[0].spec == resource.spec
    assert context.resources[0].metadata.tags == {"note": "${not_a_variable}"}
