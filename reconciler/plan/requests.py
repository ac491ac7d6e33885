"""The Create* request of every create and replacement, built at plan time by the kind's handler (pure) and
sent by apply exactly as recorded (`CreatePayload.request`, `ReplacePayload.request`).

Names, fields and tags are decided here. Only ARNs the plan cannot know are placeholders, in the top-level
`...Arn` members of the request:

* `{"ref": "Solution/sims"}`: the ARN of a resource this plan creates or replaces (apply takes the ARN its own
  create step got); `"suffix": "/$LATEST"` (or a pinned version id) is appended as recorded;
* `{"version": "Solution/sims"}`: the solution version this apply trains or waits for (else the newest ACTIVE
  one apply knows, as a campaign created now serves).

Every other ARN is the one the plan read. `resolve` is apply's only step from the payload to the call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.errors import PlanError
from reconciler.model.address import Address
from reconciler.model.state import DesiredResource
from reconciler.plan.core import Planner
from reconciler.plan.types import Action, CreatePayload, ReplacePayload
from reconciler.resources.base import RefContext, ResourceHandler

REF = "ref"
VERSION = "version"
SUFFIX = "suffix"
#: Marks a placeholder while the handler builds the request (YAML and JSON text never hold a NUL).
_OPEN, _CLOSE = "\x00<", ">\x00"


class Unresolved(LookupError):
    """A placeholder apply cannot resolve (its resource was not created, no version is known)."""


def _token(what: str, address: Address) -> str:
    return f"{_OPEN}{what}:{address}{_CLOSE}"


def request_context(p: Planner) -> RefContext:
    """The plan's RefContext with placeholders for the ARNs it cannot know: resources it creates or replaces,
    and the versions of kinds whose jobs record a version (solutions) that this plan trains or waits for,
    or of which no ACTIVE version is known."""
    pending = {c.address for c in p.changes if c.action in (Action.CREATE, Action.REPLACE)}
    pending |= {a for a in p.desired.resources if a not in p.live.resources}
    arns = dict(p.ctx.arns)
    arns.update({a: _token(REF, a) for a in pending})
    versioned = {a for a in p.desired.resources if (j := p.handler(a).jobs) is not None and j.records_version}
    training = {c.address for c in p.changes if c.action is Action.RETRAIN or c.in_progress}
    versions = dict(p.ctx.solution_versions)
    for address in versioned:
        if address in pending or address in training or address.name not in versions:
            versions[address.name] = _token(VERSION, address)
    return replace(p.ctx, arns=arns, solution_versions=versions)


def _typed(value: Any) -> Any:
    """A handler's value holding a placeholder token -> the typed placeholder (other values unchanged)."""
    if not (isinstance(value, str) and value.startswith(_OPEN) and _CLOSE in value):
        return value
    inner, _, suffix = value[len(_OPEN) :].partition(_CLOSE)
    what, _, address = inner.partition(":")
    typed = {what: address}
    if suffix:
        typed[SUFFIX] = suffix
    return typed


def planned_request(
    handler: ResourceHandler, res: DesiredResource, name: str, ctx: RefContext
) -> dict[str, Any]:
    """The Create* kwargs of `res` under `name`, with typed placeholders (module docstring)."""
    built = handler.create_request(replace(res, physical_name=name), ctx)
    request = {key: _typed(value) for key, value in built.items()}
    if json.dumps(_OPEN)[1:-1] in json.dumps(request, default=str):
        raise PlanError(
            f"{res.address}: the {res.address.kind.value} handler put a reference ARN inside a request "
            "member (only top-level ...Arn members may hold ARNs the plan cannot know)",
            hint="report this as a bug of personalize-gitops",
        )
    return request


def attach_requests(p: Planner) -> None:
    """Record the Create* request in every create and replacement of the plan."""
    todo = [i for i, c in enumerate(p.changes) if isinstance(c.payload, CreatePayload | ReplacePayload)]
    if not todo:
        return
    ctx = request_context(p)
    for i in todo:
        change = p.changes[i]
        res = p.desired.resources.get(change.address)
        payload = change.payload
        if res is None or not isinstance(payload, CreatePayload | ReplacePayload):
            continue
        name = change.new_physical_name or res.physical_name
        request = planned_request(p.handler(change.address), res, name, ctx)
        p.changes[i] = replace(change, payload=replace(payload, request=request))


def is_placeholder(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and (REF in value) != (VERSION in value)
        and set(value) <= {REF, VERSION, SUFFIX}
    )


def _resolve_one(value: Mapping[str, Any], ctx: RefContext) -> str:
    if REF in value:
        address = Address.parse(str(value[REF]))
        arn = ctx.arns.get(address)
        if arn is None:
            raise Unresolved(f"the ARN of {address} is not known (it was not created)")
        return arn + str(value.get(SUFFIX) or "")
    address = Address.parse(str(value[VERSION]))
    version = ctx.solution_versions.get(address.name)
    if version is None:
        raise Unresolved(f"no ACTIVE version of {address} is known (its training did not finish)")
    return version + str(value.get(SUFFIX) or "")


def resolve(request: Mapping[str, Any], ctx: RefContext) -> dict[str, Any]:
    """The request to send: the recorded one with its placeholders replaced by the ARNs apply now knows."""
    return {key: _resolve_one(v, ctx) if is_placeholder(v) else v for key, v in request.items()}
