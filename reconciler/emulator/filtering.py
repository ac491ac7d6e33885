"""Filter expressions applied to the data (runtime Get* calls, promotions, batch inference and segments).

Semantics (developer guide, "Filter expression elements" and "Filtering real-time recommendations"):

* ``Items.FIELD`` conditions test the candidate item's metadata (the newest record of the id; categorical
  values split on ``|`` match if any part matches); ``IN``/``NOT IN`` compare exact strings, ``= < <= > >=``
  numbers. ``CurrentItem.FIELD`` takes the operand from the request's ``itemId`` (related-items recipes
  only: the data plane refuses such a filter for the others, ``uses_current_item``).
* ``Interactions.FIELD`` conditions test the *requesting user's* interactions: an item matches when the user
  has an interaction with it satisfying the conditions; ``EVENT_TYPE`` compares case-insensitively and
  ``("*")`` means any event type. ``EVENT_TYPE`` is the only field CreateFilter takes on interactions data
  ("you can only filter based on event type", dg/filter-expression-guidelines-requirements).
* ``ActionID`` filters (GetActionRecommendations) read ``Actions.FIELD`` like ``Items.FIELD`` and
  ``Action_Interactions.FIELD`` like ``Interactions.FIELD``, on the Actions and Action interactions datasets.
* ``UserID`` filters (batch segment jobs) select users: ``Users.FIELD`` tests the candidate user's record,
  ``Interactions.FIELD`` the candidate user's own interactions (a user matches when one of them satisfies
  the conditions); there is no requesting user, so ``IF CurrentUser`` never holds. The guide documents the
  UserID target and these two datasets for segments (personalize-api.md 9.1 examples,
  personalize-data-plane.md 3 "Targets"); reading Interactions per candidate user is an inference.
* ``IF CurrentUser.FIELD ...`` applies the expression only when the requesting user's record satisfies it.
* ``$NAME`` placeholders take ``filterValues["NAME"]``: double-quoted strings separated by commas
  (``"\\"comedy\\",\\"drama\\""``). An INCLUDE expression needs every parameter (``InvalidInputException``
  otherwise); in an EXCLUDE expression a condition whose parameter has no value is dropped.
* ``|``-chained expressions: every INCLUDE keeps its matches (their union), every EXCLUDE removes its
  matches; an item passes when it is in the INCLUDE union (if any) and in no EXCLUDE.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .filters import Condition, Expression, compile_filter

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class FilterValueError(ValueError):
    """Bad or missing filterValues (the runtime answers InvalidInputException with this message)."""


def parse_values(raw: str) -> list[str]:
    """``"\\"a\\",\\"b\\""`` -> ``["a", "b"]``; an unquoted value (a number) is taken as it is."""
    text = raw.strip()
    found = _QUOTED.findall(text)
    if found or '"' in text:
        rest = _QUOTED.sub("", text).replace(",", "").strip()
        if rest or not found:
            raise FilterValueError(
                f"Invalid filter value {raw!r}: give each value in double quotes, separated by commas, "
                'for example "\\"comedy\\",\\"drama\\"".'
            )
        return [v.replace('\\"', '"') for v in found]
    return [v.strip() for v in text.split(",") if v.strip()]


#: A filter's target as the expression writes it.
TARGET_NAMES = {"ITEMID": "ItemID", "USERID": "UserID", "ACTIONID": "ActionID"}


def filter_targets(expression: str) -> frozenset[str]:
    """What a filter's expressions select (``ITEMID``, ``USERID``, ``ACTIONID``)."""
    return frozenset(expr.target for expr in compile_filter(expression))


def wrong_target(name: str, expression: str, target: str, use: str) -> str | None:
    """Why filter ``name`` cannot serve ``use`` (which selects ``target``), or None. ``ItemID`` filters are
    for item recommendations and rankings, ``UserID`` for user segments, ``ActionID`` for action
    recommendations (personalize-api.md 9.2 rule 10 [DOC]); an expression of another target would be
    skipped, so a filter without one of ``target`` would change nothing."""
    found = filter_targets(expression)
    if target in found:
        return None
    has = " and ".join(sorted(TARGET_NAMES[t] for t in found))
    return (
        f"Filter {name} selects {has}, but {use} needs a filter on {TARGET_NAMES[target]} (ItemID filters "
        "are for item recommendations and rankings, UserID for batch segment jobs, ActionID for action "
        "recommendations). Use a filter whose expression starts INCLUDE or EXCLUDE "
        f"{TARGET_NAMES[target]}."
    )


def uses_current_item(expression: str) -> bool:
    """Whether a filter tests the request's item (``CurrentItem.FIELD``)."""
    return any(cond.current is not None for expr in compile_filter(expression) for cond in expr.conditions)


def _parts(value: str | None) -> list[str]:
    return [] if value is None else value.split("|")


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _compare(op: str, left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return False
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


class _Bound:
    """A condition with its operand resolved (literals, filter values, or the current item's values)."""

    def __init__(self, cond: Condition, operand: list[str]) -> None:
        self.cond = cond
        self.field = cond.ref.field.upper()
        self.op = cond.op
        self.operand = operand
        self.event_type = self.field == "EVENT_TYPE"
        self.set = {v.lower() for v in operand} if self.event_type else set(operand)
        self.wildcard = self.event_type and "*" in operand
        self.threshold = cond.number if cond.number is not None else _number(operand[0] if operand else None)

    def test(self, value: str | None) -> bool:
        if self.op in ("IN", "NOT IN"):
            if self.wildcard:
                hit = value is not None
            else:
                parts = _parts(value)
                hit = any((p.lower() if self.event_type else p) in self.set for p in parts)
            return hit if self.op == "IN" else not hit
        return _compare(self.op, _number(value), self.threshold)


def _combine(results: list[bool], joins: list[str]) -> bool:
    """AND binds tighter than OR."""
    groups: list[bool] = []
    current = results[0]
    for join, value in zip(joins, results[1:], strict=True):
        if join == "AND":
            current = current and value
        else:
            groups.append(current)
            current = value
    groups.append(current)
    return any(groups)


class ItemFilter:
    """A compiled filter bound to one request: call it with a candidate id, it says whether it passes."""

    def __init__(
        self,
        expression: str,
        filter_values: Mapping[str, str] | None,
        *,
        user_id: str | None,
        item_id: str | None,
        interactions: Any,
        items: Any,
        users: Any,
        target: str = "ITEMID",
    ) -> None:
        self.items = items
        self.interactions = interactions
        # the datasets describing the candidates: ``items``/``interactions`` hold Actions/Action interactions
        # when the target is ActionID
        self._record_datasets = {
            "ACTIONID": ("ACTIONS", "ACTION_INTERACTIONS"),
            "USERID": ("USERS", "INTERACTIONS"),
        }.get(target, ("ITEMS", "INTERACTIONS"))
        # the table describing each candidate: its record (Items/Actions; Users for UserID filters)
        self.records = users if target == "USERID" else items
        self.target = target
        values = {k: parse_values(v) for k, v in (filter_values or {}).items()}
        self._include: list[Callable[[str], bool]] = []
        self._exclude: list[Callable[[str], bool]] = []
        self._cache: dict[str, bool] = {}
        for expr in compile_filter(expression):
            if expr.target != target:
                continue
            matcher = self._bind(expr, values, user_id, item_id, users)
            if matcher is not None:
                (self._include if expr.action == "INCLUDE" else self._exclude).append(matcher)

    @property
    def active(self) -> bool:
        return bool(self._include or self._exclude)

    def __call__(self, candidate: str) -> bool:
        found = self._cache.get(candidate)
        if found is None:
            found = (not self._include or any(m(candidate) for m in self._include)) and not any(
                m(candidate) for m in self._exclude
            )
            self._cache[candidate] = found
        return found

    # ---- binding ----------------------------------------------------------------------------------
    def _operand(
        self, cond: Condition, values: dict[str, list[str]], item_id: str | None, required: bool
    ) -> list[str] | None:
        if cond.param is not None:
            got = values.get(cond.param)
            if not got:
                if required:
                    raise FilterValueError(
                        f"The filter needs a value for ${cond.param}: pass filterValues "
                        f'{{"{cond.param}": "\\"value\\""}} (INCLUDE expressions need every parameter).'
                    )
                return None
            return got
        if cond.current is not None:
            record = self.items.value(item_id, cond.current) if self.items is not None and item_id else None
            return _parts(record)
        if cond.number is not None:
            return [repr(cond.number)]
        return list(cond.values)

    def _bind(
        self,
        expr: Expression,
        values: dict[str, list[str]],
        user_id: str | None,
        item_id: str | None,
        users: Any,
    ) -> Callable[[str], bool] | None:
        required = expr.action == "INCLUDE"
        for cond in expr.user_conditions:
            operand = self._operand(cond, values, item_id, required)
            if operand is None:
                continue
            record = users.value(user_id, cond.ref.field) if users is not None and user_id else None
            if not _Bound(cond, operand).test(record):
                return None  # IF CurrentUser... does not hold: the expression does not apply
        bound: list[_Bound] = []
        joins: list[str] = []
        for i, cond in enumerate(expr.conditions):
            operand = self._operand(cond, values, item_id, required)
            if operand is None:
                continue  # EXCLUDE without a value for this parameter: the condition is dropped
            if bound:
                joins.append(expr.joins[i - 1] if i > 0 else "AND")
            bound.append(_Bound(cond, operand))
        if not bound:
            return None
        records, interactions = self._record_datasets
        if expr.dataset == records:
            return self._items_matcher(bound, joins)
        if expr.dataset == interactions:
            if self.target == "USERID":
                return self._interaction_users(bound, joins).__contains__
            matched = self._interaction_items(bound, joins, user_id)
            return matched.__contains__
        return lambda _candidate: False  # other datasets never describe the candidates

    def _items_matcher(self, bound: list[_Bound], joins: list[str]) -> Callable[[str], bool]:
        items = self.records

        def match(candidate: str) -> bool:
            if items is None:
                return False
            row = items.row_of(candidate)
            if row < 0:
                return False
            return _combine([b.test(items.cell(row, b.field)) for b in bound], joins)

        return match

    def _interaction_users(self, bound: list[_Bound], joins: list[str]) -> set[str]:
        """UserID filters: the users having at least one interaction that satisfies the conditions. Each
        condition is evaluated once per distinct value of its column, then looked up for every row."""
        table = self.interactions
        if table is None or not len(table):
            return set()
        masks: list[np.ndarray[Any, Any]] = []
        for b in bound:
            if b.event_type:
                codes, strings = table.event_type.astype(np.int32), table.event_types.strings
            elif b.field == "EVENT_VALUE":
                values = table.event_value
                unique, codes = np.unique(values, return_inverse=True)
                strings = [repr(float(v)) for v in unique.tolist()]
                codes = np.where(np.isnan(values), -1, codes)
            elif b.field in table.columns:
                codes, vocab = table.columns[b.field]
                strings = vocab.strings
            else:
                codes, strings = np.full(len(table), -1, np.int32), []
            # index -1 (null) reads the trailing entry
            lookup = np.array([b.test(s) for s in strings] + [b.test(None)], dtype=bool)
            masks.append(lookup[codes])
        groups: list[np.ndarray[Any, Any]] = []
        current = masks[0]
        for join, mask in zip(joins, masks[1:], strict=True):  # AND binds tighter than OR
            if join == "AND":
                current = current & mask
            else:
                groups.append(current)
                current = mask
        groups.append(current)
        hit = np.logical_or.reduce(groups)
        codes = np.unique(table.user[hit & (table.user >= 0)])
        return {table.users.strings[c] for c in codes.tolist()}

    def _interaction_items(self, bound: list[_Bound], joins: list[str], user_id: str | None) -> set[str]:
        table = self.interactions
        if table is None or not user_id:
            return set()
        rows = table.user_rows(user_id)
        if not len(rows):
            return set()
        types = table.event_types.strings
        columns: dict[str, list[str | None]] = {}
        for b in bound:
            if b.event_type:
                columns[b.field] = [types[c] if c >= 0 else None for c in table.event_type[rows].tolist()]
            elif b.field == "EVENT_VALUE":
                columns[b.field] = [
                    None if np.isnan(v) else repr(float(v)) for v in table.event_value[rows].tolist()
                ]
            elif b.field not in columns:
                col = table.columns.get(b.field)
                if col is None:
                    columns[b.field] = [None] * len(rows)
                else:
                    strings = col[1].strings
                    columns[b.field] = [None if c < 0 else strings[c] for c in col[0][rows].tolist()]
        item_codes = table.item[rows].tolist()
        out: set[str] = set()
        for i, code in enumerate(item_codes):
            if code < 0:
                continue
            if _combine([b.test(columns[b.field][i]) for b in bound], joins):
                out.add(table.items.strings[code])
        return out
