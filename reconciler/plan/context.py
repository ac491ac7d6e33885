"""Build the pure ARN <-> logical name context (`RefContext`) from desired and live state."""

from __future__ import annotations

from reconciler.model.address import Address, Kind
from reconciler.model.state import DesiredResource, DesiredState, LiveResource, LiveState
from reconciler.resources.base import RefContext, norm_status
from reconciler.resources.registry import REGISTRY

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"


def newest_active_version(live: LiveResource | None) -> str | None:
    if live is None:
        return None
    active = [v for v in live.versions if norm_status(v.status) == "ACTIVE"]
    if not active:
        return None
    return max(active, key=lambda v: (v.created, v.arn)).arn


def build_context(desired: DesiredState, live: LiveState) -> RefContext:
    """Known ARNs from the live state, predicted ARNs for resources still to be created."""
    settings = desired.stack.settings
    region = live.region or settings.region or DEFAULT_REGION
    account = live.account_id or settings.accountId or DEFAULT_ACCOUNT
    arns: dict[Address, str] = {}
    addresses: dict[str, Address] = {}
    versions: dict[str, str] = {}
    for address, resource in live.resources.items():
        arns[address] = resource.arn
        addresses[resource.arn] = address
        newest = newest_active_version(resource)  # solutions: the only kind with versions
        if newest:
            versions[address.name] = newest
    physical = {a: r.physical_name for a, r in desired.resources.items()}
    for address, res in desired.resources.items():
        if address in arns:
            continue
        handler = REGISTRY[address.kind]
        group_name = _group_name(desired, live, handler.references.get("datasetGroup"), res)
        dataset_type = getattr(res.spec, "datasetType", None)
        predicted = handler.arn_for(
            res.physical_name,
            region,
            account,
            group_name=group_name,
            dataset_type=dataset_type if isinstance(dataset_type, str) else None,
        )
        if predicted:
            arns[address] = predicted
            addresses.setdefault(predicted, address)
    return RefContext(
        region=region,
        account=account,
        stack=desired.stack.name,
        arns=arns,
        addresses=addresses,
        physical_names=physical,
        solution_versions=versions,
    )


def _group_name(
    desired: DesiredState, live: LiveState, kind: Kind | None, res: DesiredResource
) -> str | None:
    """Physical name of the dataset group `res` belongs to (some ARNs contain it), live name first."""
    name = getattr(res.spec, "datasetGroup", None)
    if kind is None or not isinstance(name, str):
        return None
    group = desired.resources.get(Address(kind, name))
    live_group = live.resources.get(Address(kind, name))
    return live_group.name if live_group else (group.physical_name if group else None)
