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
_TOKEN = regex.compile(
    r'\s*(?:(?P<str>"[^"]*")|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),|])|(?P<word>[$A-Za-z0-9_.*+-]+))'
)


class FilterSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class FieldRef:
    dataset: str
    field: str


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
        while self.peek().upper() in ("AND", "OR"):
            self.take()
            ref = self.condition()
            if ref.dataset != first.dataset:
                raise FilterSyntaxError(
                    f"conditions joined with AND/OR must use one dataset ({first.dataset}); "
                    f"combine {ref.dataset} with a separate expression and |"
                )
        if self.peek().upper() == "IF":
            self.take("IF")
            self.user_condition()
            while self.peek().upper() == "AND":
                self.take("AND")
                self.user_condition()

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

    def condition(self) -> FieldRef:
        ref = self.field()
        self.comparison(allow_current_item=True)
        return ref

    def user_condition(self) -> None:
        token = self.take()
        if not token.upper().startswith("CURRENTUSER.") or len(token) <= len("CurrentUser."):
            raise FilterSyntaxError(f"IF conditions must use CurrentUser.FIELD, found {token!r}")
        self.refs.append(FieldRef("USERS", token.split(".", 1)[1]))
        self.comparison(allow_current_item=False)

    def comparison(self, allow_current_item: bool) -> None:
        token = self.take().upper()
        if token == "NOT":
            token = "NOT " + self.take("IN").upper()
        if token in ("IN", "NOT IN"):
            if self.peek() == "(":
                self.take("(")
                self.value()
                while self.peek() == ",":
                    self.take(",")
                    self.value()
                self.take(")")
            elif allow_current_item and self.peek().upper().startswith("CURRENTITEM."):
                self.take()
            else:
                raise FilterSyntaxError("IN must be followed by a parenthesised list of values")
        elif token in OPERATORS:
            value = self.take()
            if not (value.startswith("$") or _is_number(value)) and not (
                allow_current_item and value.upper().startswith("CURRENTITEM.")
            ):
                raise FilterSyntaxError(f"comparison operators need a number or $PARAMETER, found {value!r}")
        else:
            raise FilterSyntaxError(f"expected IN, NOT IN or a comparison operator, found {token!r}")

    def value(self) -> None:
        token = self.take()
        if not (token.startswith('"') or token.startswith("$")):
            raise FilterSyntaxError(f'values must be "quoted strings" or $PARAMETERS, found {token!r}')


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_filter(text: str) -> list[FieldRef]:
    """The dataset fields a filter expression references; ``FilterSyntaxError`` when it is malformed."""
    refs = _Parser(text).parse()
    fields = {(r.dataset, r.field.upper()) for r in refs}
    if len(fields) > 5:
        raise FilterSyntaxError(
            f"a filter may reference at most 5 distinct dataset fields, found {len(fields)}"
        )
    return refs
