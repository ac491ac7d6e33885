"""Server-side input validation driven by the service model -> ``InvalidInputException``."""

from __future__ import annotations

from typing import Any

from .errors import invalid
from .shapes import check_shape, operation_model


def validate_input(operation: str, params: dict[str, Any]) -> None:
    """Raise ``InvalidInputException`` listing every constraint ``params`` violates for ``operation``."""
    if not isinstance(params, dict):
        raise invalid("The request body must be a JSON object.")
    shape = operation_model(operation).input_shape
    problems = check_shape(params, shape, for_input=True) if shape is not None else []
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise invalid(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))
