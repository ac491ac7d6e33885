"""References between resources: they must exist (both places reported) and form no cycle."""

from __future__ import annotations

import difflib

from reconciler.manifest.context import Context, ParsedResource, article
from reconciler.manifest.kinds import references as kind_references
from reconciler.manifest.problems import Severity
from reconciler.model.address import Address


def references(res: ParsedResource) -> list[tuple[str, Address]]:
    out: list[tuple[str, Address]] = []
    for yaml_field, attribute, target in kind_references(res.address.kind):
        value = getattr(res.spec, attribute, None)
        if isinstance(value, str):
            out.append((yaml_field, Address(target, value)))
    return out


def check(ctx: Context) -> None:
    for res in ctx.resources:
        resolved: list[Address] = []
        for yaml_field, target in references(res):
            if target in ctx.declared:
                resolved.append(target)
                continue
            hint = _hint(ctx, target)
            ctx.error(res, ("spec", yaml_field), f"{target} is not defined in the manifests", hint)
        res.depends_on = tuple(sorted(set(resolved)))
    for address, doc, raw in ctx.partial:
        for yaml_field, _attribute, target_kind in kind_references(address.kind):
            value = raw.get(yaml_field)
            ref = Address(target_kind, value) if isinstance(value, str) else None
            if ref is not None and ref not in ctx.declared:
                ctx.reporter.at(
                    Severity.ERROR,
                    doc,
                    ("spec", yaml_field),
                    f"{ref} is not defined in the manifests",
                    subject=str(address),
                    hint=_hint(ctx, ref),
                    prefer_key=False,
                )
    _check_cycles(ctx)


def _hint(ctx: Context, target: Address) -> str:
    same_kind = sorted(a.name for a in ctx.declared if a.kind is target.kind)
    close = difflib.get_close_matches(target.name, same_kind, n=1, cutoff=0.6)
    if close:
        doc = ctx.declared[Address(target.kind, close[0])]
        return f"did you mean '{close[0]}' ({target.kind.value} defined at {doc.file}:{doc.start.line})?"
    other = [a for a in ctx.declared if a.name == target.name]
    if other:
        doc = ctx.declared[other[0]]
        where = f"{doc.file}:{doc.start.line}"
        actual, wanted = article(other[0].kind.value), article(target.kind.value)
        return f"'{target.name}' is {actual} (defined at {where}), not {wanted}"
    if same_kind:
        return f"defined {target.kind.value}s: " + ", ".join(same_kind[:8])
    return f"add a `kind: {target.kind.value}` document named '{target.name}'"


def find_cycle(graph: dict[Address, tuple[Address, ...]]) -> list[Address] | None:
    """A dependency cycle (first node repeated at the end), or None. Iterative DFS, deterministic order."""
    state: dict[Address, int] = {}  # 1 = on stack, 2 = done
    for root in sorted(graph, key=lambda a: (a.kind, a.name)):  # Address order, compared as tuples (faster)
        if state.get(root):
            continue
        stack: list[tuple[Address, int]] = [(root, 0)]
        path: list[Address] = [root]
        state[root] = 1
        while stack:
            node, index = stack[-1]
            edges = graph.get(node, ())
            if index < len(edges):
                stack[-1] = (node, index + 1)
                nxt = edges[index]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return None


def _check_cycles(ctx: Context) -> None:
    graph = {res.address: res.depends_on for res in ctx.resources}
    cycle = find_cycle(graph)
    if cycle is not None:
        res = ctx.by_address[cycle[0]]
        ctx.error(res, ("spec",), "dependency cycle: " + " -> ".join(str(a) for a in cycle))
