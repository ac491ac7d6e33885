"""Text that came from one Stack variable (no dependencies: the loader makes it, spec models read it).

A Stack's `variables` are strings. A scalar that is exactly one `${name}` becomes a `VariableText`, so a
number field (`model.spec.Int` / `Number`) can take the number it spells (`manifest.loader` converts it where
the model refused a string for a number) - per-environment values such as
`minProvisionedTPS: ${tps}` - while a number written in quotes in a manifest (`"5"`) stays a string and is
refused.
"""

from __future__ import annotations

import re
from typing import Any

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


class NumberText(str):
    """A string scalar that a number field may read as the number it spells (the subclasses say why); any
    other string in a number field stays refused."""

    __slots__ = ()


class PlainNumber(NumberText):
    """An unquoted scalar in exponent form without a dot (`2e-1`, `1E5`): YAML 1.1, which PyYAML reads,
    makes it a string, but YAML 1.2, JSON and the editors checking the manifests' JSON schema read a number,
    and so does a number field (it took it through pydantic's lax coercion before numbers were strict)."""

    __slots__ = ()


#: What YAML 1.2 reads as a number but PyYAML's YAML 1.1 resolver leaves a string: no dot, an exponent.
PLAIN_EXPONENT = re.compile(r"[-+]?[0-9]+[eE][-+]?[0-9]+")


class VariableText(NumberText):
    """A string scalar whose whole text was one `${variable}` (after substitution: the variable's value);
    `name` is the variable's, so an error at a number field can say which Stack variable to change."""

    name: str

    def __new__(cls, value: str, name: str = "") -> VariableText:
        text = super().__new__(cls, value)
        text.name = name
        return text


def integer_from_variable(value: Any) -> Any:
    """The int a `NumberText` spells (surrounding blanks ignored); any other value unchanged."""
    if isinstance(value, NumberText) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return value


def number_from_variable(value: Any) -> Any:
    """The int or float a `NumberText` spells (no nan/inf); any other value unchanged."""
    if isinstance(value, NumberText):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        if _NUMBER.fullmatch(text):
            return float(text)
    return value
