"""Errors raised by the emulator core."""

from __future__ import annotations


class EmulatorError(Exception):
    """A modeled (or generic AWS) error: becomes ``{"__type": code, "message": message}`` on the wire."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class InjectedConnectionReset(Exception):
    """Raised by the core when a ``ConnectionReset`` fault is injected.

    Transports turn it into a dropped connection (in-process: botocore's ``ConnectionClosedError``)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"injected connection reset on {operation}")
        self.operation = operation


class ContractViolation(AssertionError):
    """Strict mode only: the emulator produced a response or error the service model does not allow."""


def invalid(message: str) -> EmulatorError:
    return EmulatorError("InvalidInputException", message)


def not_found(message: str) -> EmulatorError:
    return EmulatorError("ResourceNotFoundException", message)


def in_use(message: str) -> EmulatorError:
    return EmulatorError("ResourceInUseException", message)


def already_exists(message: str) -> EmulatorError:
    return EmulatorError("ResourceAlreadyExistsException", message)


def limit_exceeded(message: str) -> EmulatorError:
    return EmulatorError("LimitExceededException", message)
