"""Every number field of the manifest models is strict (`model.spec.Int` / `Number`): YAML true/false, a
quoted "5" and (for integers) 5.0 are refused, not coerced by pydantic's lax mode. The corpus case
98-numbers-are-yaml-numbers shows the messages; this test keeps a new field from slipping back to plain
`int`/`float`."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel, Strict, ValidationError

from reconciler.manifest.kinds import SPEC_MODELS
from reconciler.model.spec import CampaignSpec, Lifecycle, Metadata, StackSpec


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    pending: list[Any] = [Metadata, Lifecycle, StackSpec, *SPEC_MODELS.values()]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            pending.extend(_nested_models(info.annotation))
    return seen


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested_models(arg)]


def _loose_numbers(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Places under `annotation` where an int or float is accepted without `Strict()`."""
    if annotation in (int, float):
        return [] if any(isinstance(m, Strict) for m in metadata) else [f"{where}: {annotation.__name__}"]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _loose_numbers(base, extra, where)
    if origin is not None or isinstance(annotation, types.UnionType):
        found: list[str] = []
        for arg in typing.get_args(annotation):
            found.extend(_loose_numbers(arg, [], where))
        return found
    return []


def test_every_number_field_is_strict() -> None:
    loose: list[str] = []
    numbers = 0
    for model in _models():
        for name, info in model.model_fields.items():
            where = f"{model.__name__}.{name}"
            loose.extend(_loose_numbers(info.annotation, list(info.metadata), where))
            numbers += "int" in repr(info.annotation) or "float" in repr(info.annotation)
    assert numbers >= 10  # the walk reaches the number fields (minProvisionedTPS, weight, minimums, ...)
    assert loose == []


@pytest.mark.parametrize("value", [True, False, "5", 5.0])
def test_minprovisionedtps_takes_only_an_integer(value: object) -> None:
    with pytest.raises(ValidationError):
        CampaignSpec.model_validate({"solution": "s", "minProvisionedTPS": value})
    assert CampaignSpec.model_validate({"solution": "s", "minProvisionedTPS": 5}).minProvisionedTPS == 5


def _stack_with_tps(tmp_path: Any, tps_value: str, campaign_tps: str) -> Any:
    from reconciler.manifest import load

    (tmp_path / "stack.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Stack\nmetadata: {name: s}\n"
        f"spec:\n  region: us-east-1\n  variables: {{tps: {tps_value}}}\n",
        encoding="utf-8",
    )
    (tmp_path / "r.yaml").write_text(
        """apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {name: g}
---
apiVersion: personalize-gitops/v1alpha1
kind: Schema
metadata: {name: i}
spec:
  avro:
    name: Interactions
    fields:
      - {name: USER_ID, type: string}
      - {name: ITEM_ID, type: string}
      - {name: TIMESTAMP, type: long}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {name: i}
spec: {datasetGroup: g, datasetType: INTERACTIONS, schema: i}
---
apiVersion: personalize-gitops/v1alpha1
kind: Solution
metadata: {name: sol}
spec: {datasetGroup: g, recipeArn: "arn:aws:personalize:::recipe/aws-user-personalization"}
---
apiVersion: personalize-gitops/v1alpha1
kind: Campaign
metadata: {name: c}
spec:
  solution: sol
"""
        + f"  minProvisionedTPS: {campaign_tps}\n",
        encoding="utf-8",
    )
    return load(tmp_path)


@pytest.mark.parametrize("written", ["'10'", '"10"', "' 10 '"])
def test_a_number_field_may_be_one_stack_variable(tmp_path: Any, written: str) -> None:
    """Per-environment numbers (dev 1 TPS, prod 10) come from the Stack's variables, which are strings: a
    number field whose whole value is one `${variable}` takes the number the variable spells (it did before
    numbers were strict, through pydantic's lax coercion); a literal quoted "10" is still refused."""
    from reconciler.model.address import Address, Kind

    desired = _stack_with_tps(tmp_path, written, "${tps}")
    spec = desired.resources[Address(Kind.CAMPAIGN, "c")].spec
    assert isinstance(spec, CampaignSpec) and spec.minProvisionedTPS == 10
    assert type(spec.minProvisionedTPS) is int


@pytest.mark.parametrize(("value", "shown"), [("ten", "'ten'"), ("'1.5'", "'1.5'"), ("'true'", "'true'")])
def test_a_variable_that_does_not_spell_an_integer_is_refused_at_its_use(
    tmp_path: Any, value: str, shown: str
) -> None:
    from reconciler.errors import ManifestError

    with pytest.raises(ManifestError) as info:
        _stack_with_tps(tmp_path, value, "${tps}")
    text = info.value.render()
    assert "r.yaml:31:" in text and shown in text, text
    assert "spec.minProvisionedTPS: must be an integer" in text, text


@pytest.mark.parametrize(("value", "shown"), [("ten", "'ten'"), ("'1.5'", "'1.5'"), ("'true'", "'true'")])
def test_a_variable_that_spells_no_integer_gets_a_hint_to_change_the_variable(
    tmp_path: Any, value: str, shown: str
) -> None:
    """The manifest says `${tps}`: the hint names that variable and its value, and says to change it in the
    Stack, not to "write a number" at a field that holds none to rewrite."""
    from reconciler.errors import ManifestError

    with pytest.raises(ManifestError) as info:
        _stack_with_tps(tmp_path, value, "${tps}")
    text = info.value.render()
    assert f"the field is the Stack variable `${{tps}}`, whose value {shown} is not an integer" in text, text
    assert 'set it in the Stack\'s `variables`, e.g. `tps: "1"`' in text, text
    assert "write a number" not in text, text


def test_a_quoted_number_or_a_number_inside_text_is_still_refused(tmp_path: Any) -> None:
    from reconciler.errors import ManifestError

    for written in ('"10"', '"${tps}0"'):
        with pytest.raises(ManifestError):
            _stack_with_tps(tmp_path, "'1'", written)


def test_a_variable_fills_a_number_inside_a_map(tmp_path: Any) -> None:
    from reconciler.model.address import Address, Kind

    desired = _stack_with_tps(
        tmp_path, "'1'", "${tps}\n  promotion:\n    maxRegression: {precision_at_25: '${tps}'}"
    )
    spec = desired.resources[Address(Kind.CAMPAIGN, "c")].spec
    assert isinstance(spec, CampaignSpec) and spec.minProvisionedTPS == 1
    assert spec.promotion is not None and spec.promotion.maxRegression == {"precision_at_25": 1.0}


def test_an_unquoted_exponent_is_a_number_as_in_yaml_1_2(tmp_path: Any) -> None:
    """`2e-1` unquoted is a number in YAML 1.2, JSON and the editors checking the JSON schema; PyYAML (YAML
    1.1) reads it as a string, which the strict number fields refused with the hint "write the number without
    quotes: `...: 2e-1`", exactly what was written (6dad56d took it, through lax coercion)."""
    from reconciler.errors import ManifestError
    from reconciler.model.address import Address, Kind

    desired = _stack_with_tps(tmp_path, "'1'", "1\n  promotion:\n    maxRegression: {precision_at_25: 2e-1}")
    spec = desired.resources[Address(Kind.CAMPAIGN, "c")].spec
    assert isinstance(spec, CampaignSpec) and spec.promotion is not None
    assert spec.promotion.maxRegression == {"precision_at_25": 0.2}
    # an integer field wants an integer: 1e3 is refused with what to write, a quoted "2e-1" stays refused
    with pytest.raises(ManifestError) as info:
        _stack_with_tps(tmp_path, "'1'", "1E3")
    text = info.value.render()
    assert "must be an integer (got '1E3')" in text and "`minProvisionedTPS: 1000`" in text, text
    assert "without quotes" not in text, text
    with pytest.raises(ManifestError):
        _stack_with_tps(tmp_path, "'1'", "1\n  promotion:\n    maxRegression: {precision_at_25: '2e-1'}")
