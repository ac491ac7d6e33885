"""Outputs: the identifiers applications need, written after apply (the declarative `%store`).

The JSON file (`StackSpec.outputs.file`, default `personalize-outputs.<stack>.json`) looks like::

    {"stack": "retail", "campaigns": {"related": {"arn": ..., "solutionVersionArn": ...}},
     "filters": {...: {"arn": ...}}, "recommenders": {...},
     "eventTrackers": {...: {"arn": ..., "trackingId": ...}},
     "solutions": {...: {"arn": ..., "solutionVersionArn": <newest ACTIVE version>}}, "datasetGroups": {...}}

When `outputs.ssmPrefix` is set, every leaf also goes to SSM Parameter Store as
`<prefix>/<section>/<name>/<key>` (for example `/myapp/personalize/campaigns/related/arn`). Parameters are
only written when their value changed, so an apply with nothing to do makes no SSM writes either.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from reconciler.errors import ApiError
from reconciler.model.address import Kind
from reconciler.model.state import DesiredState, LiveResource, LiveState

_SECTIONS: dict[Kind, str] = {
    Kind.DATASET_GROUP: "datasetGroups",
    Kind.SOLUTION: "solutions",
    Kind.CAMPAIGN: "campaigns",
    Kind.FILTER: "filters",
    Kind.EVENT_TRACKER: "eventTrackers",
    Kind.RECOMMENDER: "recommenders",
}


def _entry(resource: LiveResource) -> dict[str, str]:
    entry = {"arn": resource.arn}
    if resource.kind is Kind.CAMPAIGN and resource.fields.get("solutionVersionArn"):
        entry["solutionVersionArn"] = str(resource.fields["solutionVersionArn"])
    if resource.kind is Kind.EVENT_TRACKER and resource.fields.get("trackingId"):
        entry["trackingId"] = str(resource.fields["trackingId"])
    if resource.kind is Kind.SOLUTION:
        active = [v for v in resource.versions if v.status == "ACTIVE"]
        if active:
            entry["solutionVersionArn"] = max(active, key=lambda v: v.created).arn
    return entry


def collect_outputs(desired: DesiredState, live: LiveState) -> dict[str, Any]:
    """Outputs of every desired resource that exists in `live` (read after apply), sorted by name."""
    out: dict[str, Any] = {"stack": desired.stack.name}
    for kind, section in _SECTIONS.items():
        entries: dict[str, dict[str, str]] = {}
        for res in desired.of_kind(kind):
            found = live.resources.get(res.address)
            if found is not None and not found.status.startswith("DELETE"):
                entries[res.address.name] = _entry(found)
        out[section] = entries
    return out


def outputs_path(desired: DesiredState) -> Path:
    """Where apply writes the outputs file. A configured relative path is relative to the manifests directory.
    The default file goes to the working directory when the manifests are below it (`apply manifests/` from
    the repository root), so no untracked file appears inside manifests/ after every apply."""
    configured = desired.stack.settings.outputs.file
    base = Path(desired.base_dir)
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else base / path
    name = f"personalize-outputs.{desired.stack.name}.json"
    cwd = Path.cwd().resolve()
    return cwd / name if cwd in base.resolve().parents else base / name


def write_outputs_file(outputs: dict[str, Any], path: Path) -> bool:
    """Write atomically; returns False (and leaves the file alone) when the content is unchanged. Raises
    OSError (a directory at `path`, no permission, disk full) and then leaves no temporary file."""
    text = json.dumps(outputs, indent=2, sort_keys=True) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return True


def ssm_parameters(outputs: dict[str, Any], prefix: str) -> dict[str, str]:
    """Flatten outputs to SSM parameter names under `prefix`."""
    base = "/" + prefix.strip("/")
    params: dict[str, str] = {}
    for section, entries in sorted(outputs.items()):
        if not isinstance(entries, dict):
            continue
        for name, values in sorted(entries.items()):
            for key, value in sorted(values.items()):
                params[f"{base}/{section}/{name}/{key}"] = str(value)
    return params


def remove_stale_ssm(ssm: Any, outputs: dict[str, Any], prefix: str) -> int:
    """Delete the parameters under `prefix` that are no longer outputs (their resource was deleted)."""
    wanted = ssm_parameters(outputs, prefix)
    base = "/" + prefix.strip("/")
    stale: list[str] = []
    try:
        for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=base, Recursive=True):
            stale += [p["Name"] for p in page.get("Parameters", []) if p["Name"] not in wanted]
        for name in sorted(stale):
            ssm.delete_parameter(Name=name)
    except ClientError as exc:
        raise ApiError(
            f"Could not remove stale output parameters under {base} from SSM: {exc}",
            code=str(exc.response.get("Error", {}).get("Code", "")),
            hint="check ssm:GetParametersByPath and ssm:DeleteParameter permissions on the outputs prefix",
        ) from exc
    return len(stale)


def publish_ssm(ssm: Any, outputs: dict[str, Any], prefix: str) -> int:
    """Write changed parameters and remove those of deleted resources; returns how many were written."""
    remove_stale_ssm(ssm, outputs, prefix)
    written = 0
    for name, value in ssm_parameters(outputs, prefix).items():
        try:
            try:
                current = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
                    raise
                current = None
            if current == value:
                continue
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
            written += 1
        except ClientError as exc:
            raise ApiError(
                f"Could not write output parameter {name} to SSM: {exc}",
                code=str(exc.response.get("Error", {}).get("Code", "")),
                hint="check outputs.ssmPrefix in the stack file and ssm:PutParameter permissions",
            ) from exc
    return written
