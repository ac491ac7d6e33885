"""Which account a plan was made for, as apply compares it: `TargetIdentity`.

The display label (`AWS account 123456789012 (eu-west-1)`) is for people and may change wording; apply never
parses it. A saved plan records this structure (`target_identity`) and `apply PLANFILE` compares it field by
field with the target it is about to change. What is deliberately NOT part of it: the AWS profile (a read-only
profile plans, the apply role applies, in the same account) and an emulator's time scale (the same account,
served faster or slower).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The fields in the order a difference is named (the most telling first).
FIELDS = ("local_state", "endpoint", "partition", "account", "region")
_WORDS = {
    "local_state": "the --local state file",
    "endpoint": "endpoint",
    "partition": "partition",
    "account": "account",
    "region": "region",
}


@dataclass(frozen=True)
class TargetIdentity:
    account: str
    """The AWS account id every call went to (STS, or the ARNs read)."""
    region: str
    partition: str
    """`aws`, `aws-cn`, `aws-us-gov`, ... (the region's partition in botocore's partitions data)."""
    endpoint: str | None = None
    """The endpoint URL every call went to (`--endpoint-url`, `AWS_ENDPOINT_URL`); None: AWS's own."""
    local_state: str | None = None
    """`--local`: the absolute path of the emulated account's state file; None otherwise."""
    service_endpoints: Mapping[str, str | None] = field(default_factory=dict)
    """Real AWS: the services (botocore names: `s3`, `ssm`, ...) whose calls go elsewhere than `endpoint`,
    through a per-service setting (`AWS_ENDPOINT_URL_S3`, a `services` section of the AWS config): their
    endpoint, or None for AWS's own. Empty when every call goes to `endpoint`."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "account": self.account,
            "region": self.region,
            "endpoint": self.endpoint,
            "service_endpoints": dict(sorted(self.service_endpoints.items())),
            "local_state": self.local_state,
        }

    def endpoint_of(self, service: str) -> str | None:
        """Where `service`'s calls go (None: AWS's own)."""
        return self.service_endpoints.get(service, self.endpoint)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetIdentity:
        """Raises ValueError (naming the field) unless every field is a string (endpoint and local_state may
        be null) and account, region and partition are not empty."""
        if not isinstance(data, Mapping):
            raise ValueError(f"target_identity is a {type(data).__name__}, not an object")
        values: dict[str, Any] = {}
        for name in FIELDS:
            value = data.get(name)
            optional = name in ("endpoint", "local_state")
            if (value is None and not optional) or (value is not None and not isinstance(value, str)):
                raise ValueError(f"target_identity.{name} is {value!r}, not a string")
            if value == "" and not optional:
                raise ValueError(f"target_identity.{name} is empty")
            values[name] = (value or None) if optional else value
        services = data.get("service_endpoints") or {}  # absent in plans saved before it was recorded
        if not isinstance(services, Mapping) or not all(
            isinstance(k, str) and k and (v is None or (isinstance(v, str) and v))
            for k, v in services.items()
        ):
            raise ValueError(
                f"target_identity.service_endpoints is {services!r}, not an object of service names to "
                "endpoint URLs (or null)"
            )
        return cls(**values, service_endpoints=dict(services))

    def differences(self, other: TargetIdentity) -> list[str]:
        """`self` (what a plan was made for) against `other` (the target now), one phrase per field that
        differs: `region eu-west-1, not us-east-1`."""
        found = [
            f"{_WORDS[name]} {_shown(getattr(self, name), name)}, not {_shown(getattr(other, name), name)}"
            for name in FIELDS
            if getattr(self, name) != getattr(other, name)
        ]
        for service in sorted(set(self.service_endpoints) | set(other.service_endpoints)):
            made, now = self.endpoint_of(service), other.endpoint_of(service)
            if made != now:
                found.append(f"{service} endpoint {_shown(made, 'endpoint')}, not {_shown(now, 'endpoint')}")
        return found


def _shown(value: str | None, name: str) -> str:
    if value is not None:
        return value
    return "AWS's own endpoints" if name == "endpoint" else "none (no --local)"
