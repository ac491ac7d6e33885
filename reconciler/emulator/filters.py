"""A small parser for filter expressions: syntax plus the documented semantic rules.

Grammar (keywords case-insensitive, as the seed workshop writes ``EXCLUDE itemId WHERE ... in (...)``)::

    filter     := expression ("|" expression)*
    expression := ("INCLUDE"|"EXCLUDE") ("ItemID"|"UserID"|"ActionID") "WHERE" condition
                  (("AND"|"OR") condition)* ["IF" user_cond ("AND" user_cond)*]
    condition  := field ["NOT"] "IN" ( "(" value ("," value)* ")" | current )
                | field op (number | param | current)
    user_cond  := "CurrentUser." NAME (op (number|param) | ["NOT"] "IN" "(" value ("," value)* ")")
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

DATASETS = {
    "ITEMS": "ITEMS",
    "USERS": "USERS",
    "INTERACTIONS": "INTERACTIONS",
    "ACTIONS": "ACTIONS",
    "ACTION_INTERACTIONS": "ACTION_INTERACTIONS",
}
TARGETS = {"ITEMID", "USERID", "ACTIONID"}
OPERATORS = {"=", "<", "<=", ">", ">=", "!="}
#: Distinct dataset fields one filter may reference (the current Personalize quota; the 2023 guide said 5).
MAX_FIELDS_PER_FILTER = 10
_TOKEN = regex.compile(
    r'\s*(?:(?P<str>"[^"]*")|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),|])|(?P<word>[$A-Za-z0-9_.*+-]+))'
)


class FilterSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class FieldRef:
    dataset: str
    field: str


@dataclass(frozen=True)
class Condition:
    """``Dataset.FIELD op operand``: ``op`` is IN, NOT IN or a comparison; ``values`` quoted strings (quotes
    removed), ``param`` a ``$NAME`` placeholder (without ``$``), ``current`` a ``CurrentItem.FIELD`` field,
    ``number`` a numeric literal."""

    ref: FieldRef
    op: str
    values: tuple[str, ...] = ()
    param: str | None = None
    current: str | None = None
    number: float | None = None


@dataclass(frozen=True)
class Expression:
    action: str  # INCLUDE | EXCLUDE
    target: str  # ITEMID | USERID | ACTIONID
    conditions: tuple[Condition, ...]
    joins: tuple[str, ...]  # AND/OR between consecutive conditions
    user_conditions: tuple[Condition, ...] = ()  # IF CurrentUser.FIELD ... (ref.dataset is USERS)

    @property
    def dataset(self) -> str:
        return self.conditions[0].ref.dataset


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterSyntaxError(f"unexpected character {text[pos:].strip()[:1]!r} at position {pos}")
        out.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.refs: list[FieldRef] = []
        self.expressions: list[Expression] = []

    def peek(self) -> str:
        return self.tokens[self.i] if self.i < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token:
            raise FilterSyntaxError(f"expression ends early; expected {expected or 'more'}")
        if expected is not None and token.upper() != expected:
            raise FilterSyntaxError(f"expected {expected} but found {token!r}")
        self.i += 1
        return token

    def parse(self) -> list[FieldRef]:
        self.expression()
        while self.peek() == "|":
            self.take("|")
            self.expression()
        if self.peek():
            raise FilterSyntaxError(f"unexpected {self.peek()!r}")
        return self.refs

    def expression(self) -> None:
        action = self.take().upper()
        if action not in ("INCLUDE", "EXCLUDE"):
            raise FilterSyntaxError(f"an expression starts with INCLUDE or EXCLUDE, not {action!r}")
        target = self.take().upper()
        if target not in TARGETS:
            raise FilterSyntaxError(f"the target must be ItemID, UserID or ActionID, not {target!r}")
        self.take("WHERE")
        first = self.condition()
        conditions, joins = [first], []
        while self.peek().upper() in ("AND", "OR"):
            joins.append(self.take().upper())
            cond = self.condition()
            if cond.ref.dataset != first.ref.dataset:
                raise FilterSyntaxError(
                    f"conditions joined with AND/OR must use one dataset ({first.ref.dataset}); "
                    f"combine {cond.ref.dataset} with a separate expression and |"
                )
            conditions.append(cond)
        user_conditions = []
        if self.peek().upper() == "IF":
            self.take("IF")
            user_conditions.append(self.user_condition())
            while self.peek().upper() == "AND":
                self.take("AND")
                user_conditions.append(self.user_condition())
        self.expressions.append(
            Expression(action, target, tuple(conditions), tuple(joins), tuple(user_conditions))
        )

    def field(self) -> FieldRef:
        token = self.take()
        dataset, dot, name = token.partition(".")
        if not dot or not name:
            raise FilterSyntaxError(f"expected Dataset.FIELD, found {token!r}")
        if dataset.upper() not in DATASETS:
            raise FilterSyntaxError(f"unknown dataset {dataset!r}; use Items, Users, Interactions, Actions")
        ref = FieldRef(DATASETS[dataset.upper()], name)
        self.refs.append(ref)
        return ref

    def condition(self) -> Condition:
        ref = self.field()
        return self.comparison(ref, allow_current_item=True)

    def user_condition(self) -> Condition:
        token = self.take()
        if not token.upper().startswith("CURRENTUSER.") or len(token) <= len("CurrentUser."):
            raise FilterSyntaxError(f"IF conditions must use CurrentUser.FIELD, found {token!r}")
        ref = FieldRef("USERS", token.split(".", 1)[1])
        self.refs.append(ref)
        return self.comparison(ref, allow_current_item=False)

    def comparison(self, ref: FieldRef, allow_current_item: bool) -> Condition:
        token = self.take().upper()
        if token == "NOT":
            token = "NOT " + self.take("IN").upper()
        if token in ("IN", "NOT IN"):
            if self.peek() == "(":
                self.take("(")
                values, params = [self.value()], []
                while self.peek() == ",":
                    self.take(",")
                    values.append(self.value())
                self.take(")")
                params = [v[1:] for v in values if v.startswith("$")]
                literal = tuple(v[1:-1] for v in values if v.startswith('"'))
                return Condition(ref, token, literal, params[0] if params else None)
            if allow_current_item and self.peek().upper().startswith("CURRENTITEM."):
                return Condition(ref, token, current=self.take().split(".", 1)[1])
            raise FilterSyntaxError("IN must be followed by a parenthesised list of values")
        if token in OPERATORS:
            value = self.take()
            if value == "(" and self.peek().startswith("$"):  # Actions.VALUE > ($VALUE), as documented
                value = self.take()
                self.take(")")
            if value.startswith("$"):
                return Condition(ref, token, param=value[1:])
            if _is_number(value):
                return Condition(ref, token, number=float(value))
            if allow_current_item and value.upper().startswith("CURRENTITEM."):
                return Condition(ref, token, current=value.split(".", 1)[1])
            raise FilterSyntaxError(f"comparison operators need a number or $PARAMETER, found {value!r}")
        raise FilterSyntaxError(f"expected IN, NOT IN or a comparison operator, found {token!r}")

    def value(self) -> str:
        token = self.take()
        if not (token.startswith('"') or token.startswith("$")):
            raise FilterSyntaxError(f'values must be "quoted strings" or $PARAMETERS, found {token!r}')
        return token


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def compile_filter(text: str) -> list[Expression]:
    """The expressions of a filter (``|``-chained), ready for ``FilterEvaluator``."""
    parser = _Parser(text)
    parser.parse()
    return parser.expressions


def parse_filter(text: str) -> list[FieldRef]:
    """The dataset fields a filter expression references; ``FilterSyntaxError`` when it is malformed."""
    refs = _Parser(text).parse()
    fields = {(r.dataset, r.field.upper()) for r in refs}
    if len(fields) > MAX_FIELDS_PER_FILTER:
        raise FilterSyntaxError(
            f"a filter may reference at most {MAX_FIELDS_PER_FILTER} distinct dataset fields, "
            f"found {len(fields)}"
        )
    return refs
