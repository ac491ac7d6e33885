"""The data flows: IMPORT into a dataset (handlers with `data_flow == "import"`) and RETRAIN of a solution
(`data_flow == "train"`), after the resource's own change. Work already running is followed, never repeated.

Imports compare like with like (reconciler/s3data.py): the object's ETag against the ETag recorded at import,
the local file's SHA-256 against the SHA-256 recorded at import; never an ETag against a file's hash."""

from __future__ import annotations

import re

from reconciler.model.address import Address
from reconciler.model.spec import DataImport, DatasetSpec, SolutionSpec, TrainingPolicy
from reconciler.model.state import (
    TAG_SOURCE_ETAG,
    TAG_SOURCE_SHA256,
    TAG_TRIGGER,
    DesiredResource,
    LiveImportJob,
    LiveResource,
)
from reconciler.plan.core import Decision, Planner
from reconciler.plan.types import Action, Change, ImportPayload, Reason, TrainPayload
from reconciler.pricing import money
from reconciler.resources.base import contract_fingerprint, norm_status
from reconciler.resources.solution import VERSION_IN_PROGRESS

LOCAL_FILE_PREFIX = "local:"
"""`LiveState.s3_etags[LOCAL_FILE_PREFIX + dataLocation]`: `sha256:<hex>` of the declared localFile; the MD5
of the same file is under LEGACY_MD5_PREFIX, only to recognise imports made by earlier versions (s3data)."""
LEGACY_MD5_PREFIX = "local-md5:"

Fingerprints = tuple[str | None, str | None, str | None]
"""(S3 ETag of the data location, sha256 of the local file, MD5 of the local file)."""


def parse_duration(text: str) -> float:
    """`30d` / `12h` -> seconds."""
    match = re.fullmatch(r"(\d+)([dh])", text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r}")
    return int(match.group(1)) * (86400 if match.group(2) == "d" else 3600)


# -- imports --


def plan_import(p: Planner, res: DesiredResource, lv: LiveResource | None, decision: Decision) -> None:
    spec = res.spec
    assert isinstance(spec, DatasetSpec)
    source = spec.dataImport
    if source is None:
        return
    fresh = decision.action in (Action.CREATE, Action.REPLACE) or lv is None
    if lv is not None and not fresh and follow_running_import(p, res, lv, decision):
        return
    prints = fingerprints(p, source)
    reasons, notes = import_reasons(lv, source, prints) if lv is not None and not fresh else ([], [])
    if fresh:
        reasons.append(Reason.FIRST_IMPORT)
    mode = "FULL" if Reason.FIRST_IMPORT in reasons else source.importMode
    etag, local, _md5 = prints
    if etag is None and not source.localFile and reasons:
        p.warnings.append(
            f"{res.address}: {source.dataLocation} was not found in S3; "
            "the import will fail unless it is uploaded first"
        )
    if not reasons:
        if notes:
            p.annotate_notes(res.address, notes)
        return
    payload = ImportPayload(
        data_location=source.dataLocation,
        fingerprint=local if local is not None else etag,
        import_mode=mode,
        role_arn=source.roleArn,
        trigger=source.trigger,
        local_file=source.localFile,
        publish_attribution_metrics_to_s3=source.publishAttributionMetricsToS3,
    )
    p.add(
        Change(
            res.address,
            Action.IMPORT,
            reasons=tuple(reasons),
            physical_name=lv.name if lv else res.physical_name,
            arn=lv.arn if lv else None,
            depends_on=p.depends([res.address]),
            notes=tuple(notes),
            payload=payload,
            read_fingerprint=contract_fingerprint(lv) if lv is not None and not fresh else None,
        )
    )
    decision.imports = True


def fingerprints(p: Planner, source: DataImport) -> Fingerprints:
    location = source.dataLocation
    etag = p.live.s3_etags.get(location)
    local = p.live.s3_etags.get(LOCAL_FILE_PREFIX + location) if source.localFile else None
    return etag, local, p.live.s3_etags.get(LEGACY_MD5_PREFIX + location)


def follow_running_import(p: Planner, res: DesiredResource, lv: LiveResource, decision: Decision) -> bool:
    """An import already running is followed (apply waits for it): True when there is one."""
    busy = p.handler(res.address).in_progress
    running = [j for j in lv.imports if norm_status(j.status) in busy]
    if not running:
        return False
    decision.importing = True
    p.annotate(
        res.address, f"import {norm_status(running[0].status)}", f"import {running[0].name} is running"
    )
    return True


def import_reasons(
    lv: LiveResource, source: DataImport, prints: Fingerprints
) -> tuple[list[Reason], list[str]]:
    """Why the existing dataset imports again (none: it does not), and notes for the reviewer."""
    done = [j for j in lv.imports if norm_status(j.status) == "ACTIVE"]
    if not done:
        return [Reason.FIRST_IMPORT, *([Reason.FAILED] if lv.imports else [])], []
    last = done[0]
    reasons, notes = source_reasons(last, source, prints)
    if source.trigger is not None and source.trigger != last.tags.get(TAG_TRIGGER):
        reasons.append(Reason.TRIGGER_CHANGED)
    return reasons, notes


def source_reasons(
    last: LiveImportJob, source: DataImport, prints: Fingerprints
) -> tuple[list[Reason], list[str]]:
    """Did the data change since the `last` import (the fingerprint recorded on it against today's)?"""
    etag, local, local_md5 = prints
    location = source.dataLocation
    recorded = last.tags.get(TAG_SOURCE_ETAG)
    recorded_local = last.tags.get(TAG_SOURCE_SHA256)
    legacy = recorded_local is None and local_md5 is not None and recorded == local_md5
    if legacy:
        recorded_local = local  # an earlier version recorded the file's MD5 as source-etag
    if local is not None and local != recorded_local:
        note = (
            "the local file (dataImport.localFile) changed since the last import; "
            f"apply uploads it to {location} first"
        )
        return [Reason.SOURCE_CHANGED], [note]
    if local is not None and legacy:
        # imported by an earlier version from this very file: the object may be re-encrypted. An import that
        # recorded the SHA-256 recorded the object's own ETag (the file's MD5 for a single-part upload):
        # that one is compared with the object now, which another writer may have replaced
        return [], []
    if etag is not None and recorded is not None and recorded != etag:
        return [Reason.SOURCE_CHANGED], []
    if etag is None and source.localFile:
        note = f"{location} is missing; apply uploads the local file (dataImport.localFile) first"
        return [Reason.SOURCE_CHANGED], [note]
    if recorded is None and etag is not None and TAG_TRIGGER not in last.tags:
        note = (
            f"the last import ({last.name}) was not made by personalize-gitops; "
            "change dataImport.trigger to import again"
        )
        return [], [note]
    return [], []


# -- trainings --


def group_imports_after(p: Planner, res: DesiredResource, since: float) -> tuple[bool, list[Address]]:
    """(data imported after `since`, datasets of the group with an import planned now)."""
    newer = False
    planned: list[Address] = []
    for dataset in p.datasets_in_group(p.group_of(res)):
        decision = p.decisions.get(dataset.address)
        if decision is not None and (decision.imports or decision.importing):
            planned.append(dataset.address)  # planned now, or running: the training follows it
        lv = p.live.resources.get(dataset.address)
        if lv is None:
            continue
        for job in lv.imports:
            if norm_status(job.status) == "ACTIVE" and job.last_updated > since:
                newer = True
    return newer, planned


def plan_retrain(p: Planner, res: DesiredResource, lv: LiveResource | None, decision: Decision) -> None:
    spec = res.spec
    assert isinstance(spec, SolutionSpec)
    _newer, planned_imports = group_imports_after(p, res, float("inf"))
    mode = "FULL"
    if decision.action is Action.CREATE or lv is None:
        reasons = [Reason.FIRST_VERSION]
    elif decision.action is Action.REPLACE:
        reasons = [Reason.FIRST_VERSION, Reason.REPLACEMENT]
    elif follow_running_training(p, res, lv, decision):
        return
    else:
        reasons, mode = retrain_reasons(p, res, lv, spec.training, planned_imports)
    if not reasons:
        return
    if Reason.FIRST_VERSION in reasons:
        mode = "FULL"
    add_training(p, res, lv, decision, (reasons, mode), planned_imports)


def follow_running_training(p: Planner, res: DesiredResource, lv: LiveResource, decision: Decision) -> bool:
    """A training already running is followed (apply waits for it): True when there is one."""
    running = [v for v in lv.versions if norm_status(v.status) in VERSION_IN_PROGRESS]
    if not running:
        return False
    decision.training = running[0].arn
    p.annotate(res.address, f"training {norm_status(running[0].status)}", "a solution version is training")
    return True


def retrain_reasons(
    p: Planner, res: DesiredResource, lv: LiveResource, policy: TrainingPolicy, planned: list[Address]
) -> tuple[list[Reason], str]:
    """Why the trained solution trains again (none: it does not), and the training mode."""
    active = sorted(
        (v for v in lv.versions if norm_status(v.status) == "ACTIVE"),
        key=lambda v: (v.created, v.arn),
        reverse=True,
    )
    if not active:
        return [Reason.FIRST_VERSION, *([Reason.FAILED] if lv.versions else [])], "FULL"
    newest = active[0]
    reasons: list[Reason] = []
    if res.address.name in p.options.retrain:
        reasons.append(Reason.REQUESTED)
    if policy.trigger is not None and policy.trigger != newest.tags.get(TAG_TRIGGER):
        reasons.append(Reason.TRIGGER_CHANGED)
    if policy.retrainOnDataChange:
        newer, _planned = group_imports_after(p, res, newest.created)
        if newer or planned:
            reasons.append(Reason.DATA_CHANGED)
    if policy.maxAge and p.live.now - newest.created > parse_duration(policy.maxAge):
        reasons.append(Reason.MAX_AGE)
    incremental = policy.mode == "UPDATE" and any(v.training_mode in (None, "FULL") for v in active)
    return reasons, "UPDATE" if incremental else "FULL"


def add_training(
    p: Planner,
    res: DesiredResource,
    lv: LiveResource | None,
    decision: Decision,
    why: tuple[list[Reason], str],
    planned_imports: list[Address],
) -> None:
    """The RETRAIN change (`why`: its reasons and training mode), after the imports planned in the group."""
    reasons, mode = why
    spec = res.spec
    assert isinstance(spec, SolutionSpec)
    prices = p.options.prices
    cost = f"~{money(prices.training_estimate())} at {prices.typical_training_hours:g} h (estimate)"
    notes = [f"starts a {mode} training, billed per training hour: {cost}"]
    requested = res.address.name in p.options.retrain
    if requested and Reason.REQUESTED not in reasons:
        notes.append("retraining was requested and is part of this training")
    interrupted = p.live.interrupted
    continues = interrupted.training(res.address.name) if requested and interrupted else None
    if continues and interrupted:
        notes = [
            f"continues the training --retrain {res.address.name} asked of an apply that did not complete, "
            f"{interrupted.by} (training key {continues}): apply uses its version if it is training or "
            f"trained, so nothing is billed twice; a {mode} training starts only if that one failed or "
            f"never started ({cost})"
        ]
    existing = lv is not None and decision.action not in (Action.CREATE, Action.REPLACE)
    p.add(
        Change(
            res.address,
            Action.RETRAIN,
            reasons=tuple(reasons),
            physical_name=decision.new_name
            or (lv.name if lv is not None and existing else "")
            or res.physical_name,
            arn=lv.arn if lv and decision.action is not Action.REPLACE else None,
            depends_on=p.depends([res.address, *planned_imports]),
            notes=tuple(notes),
            payload=TrainPayload(
                training_mode=mode,
                trigger=spec.training.trigger,
                reason=reasons[0].name,
                continues=continues,
            ),
            read_fingerprint=contract_fingerprint(lv) if lv is not None and existing else None,
        )
    )
    decision.retrain = True
