"""`import`: generate manifests from what already runs in an account, so GitOps starts from it.

Public interface:
* `import_groups(personalize, *, groups, stack, prefix, region, account) -> ImportResult` reads the dataset
  groups (`groups=None`: every group in the region) through a boto3 Personalize client and maps them to
  manifest resources (`reconciler.importer.mapping`), each self-checked against the handlers' comparison;
* `write_manifests(result, out, source=..., force=False)` writes one file per dataset group plus a Stack file
  (`reconciler.importer.files`).

Depends on: model, resources, live (boto3 helpers `plain`/`translate`), manifest (YAML writer), errors.
"""

from __future__ import annotations

from typing import Any

from reconciler.importer.files import WrittenFiles, write_manifests
from reconciler.importer.mapping import Imported, ImportResult, Skipped, map_snapshots
from reconciler.importer.read import GroupSnapshot, Reader, account_of

__all__ = [
    "GroupSnapshot",
    "ImportResult",
    "Imported",
    "Skipped",
    "WrittenFiles",
    "import_groups",
    "write_manifests",
]


def import_groups(
    personalize: Any,
    *,
    groups: list[str] | None,
    stack: str,
    prefix: str = "",
    region: str,
    account: str | None = None,
) -> ImportResult:
    """Read `groups` (names or ARNs; None: all in the region) and map them to manifest resources."""
    reader = Reader(personalize)
    if groups is None:
        arns = [str(g["datasetGroupArn"]) for g in reader.dataset_groups()]
    else:
        arns = [reader.find_group(g) for g in groups]
    snapshots = [reader.snapshot(arn) for arn in dict.fromkeys(arns)]
    if account is None:
        account = next((a for a in (account_of(s.group.arn) for s in snapshots) if a), None)
    return map_snapshots(snapshots, stack=stack, prefix=prefix, region=region, account=account)
