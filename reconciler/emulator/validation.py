"""Server-side input validation driven by the service model -> ``InvalidInputException``."""

from __future__ import annotations

from typing import Any

from .errors import EmulatorError, invalid
from .shapes import check_shape, declared_errors, operation_model

#: AWS's common error for malformed requests, used where an operation declares no InvalidInputException.
COMMON_VALIDATION_ERROR = "ValidationException"


def validate_input(operation: str, params: dict[str, Any]) -> None:
    """Raise ``InvalidInputException`` listing every constraint ``params`` violates for ``operation``."""
    if not isinstance(params, dict):
        raise invalid("The request body must be a JSON object.")
    shape = operation_model(operation).input_shape
    problems = check_shape(params, shape, for_input=True) if shape is not None else []
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        message = f"{len(problems)} validation {noun} detected: " + "; ".join(problems)
        if "InvalidInputException" not in declared_errors(operation):
            raise EmulatorError(COMMON_VALIDATION_ERROR, message)
        raise invalid(message)
