"""Target selection and boto3 client creation: the ONE seam by which the reconciler reaches an account."""

from __future__ import annotations

from reconciler.aws.target import (
    CLIENT_CONFIG,
    DEFAULT_LOCAL_STATE,
    SystemClock,
    Target,
    client_config,
    open_target,
)

__all__ = ["CLIENT_CONFIG", "DEFAULT_LOCAL_STATE", "SystemClock", "Target", "client_config", "open_target"]
