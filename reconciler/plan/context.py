"""Build the pure ARN <-> logical name context (`RefContext`) from desired and live state."""

from __future__ import annotations

from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec
from reconciler.model.state import DesiredState, LiveResource, LiveState
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
        if address.kind is Kind.SOLUTION:
            newest = newest_active_version(resource)
            if newest:
                versions[address.name] = newest
    physical = {a: r.physical_name for a, r in desired.resources.items()}
    for address, res in desired.resources.items():
        if address in arns:
            continue
        group_name = None
        dataset_type = None
        if isinstance(res.spec, DatasetSpec):
            group = desired.resources.get(Address(Kind.DATASET_GROUP, res.spec.datasetGroup))
            live_group = live.resources.get(Address(Kind.DATASET_GROUP, res.spec.datasetGroup))
            group_name = live_group.name if live_group else (group.physical_name if group else None)
            dataset_type = res.spec.datasetType
        predicted = REGISTRY[address.kind].arn_for(
            res.physical_name, region, account, group_name=group_name, dataset_type=dataset_type
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
