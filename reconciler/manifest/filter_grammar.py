"""Tokenizer and recursive-descent parser for Personalize filter expressions (personalize-api.md §9.1).

    filter     := expression ( "|" expression )*
    expression := ("INCLUDE"|"EXCLUDE") ("ItemID"|"ActionID"|"UserID") "WHERE" conditions [ if_clause ]
    conditions := condition ( ("AND"|"OR") condition )*
    condition  := field_ref ["NOT"] "IN" ( "(" value ("," value)* ")" | current_ref )
                | field_ref comp_op ( number | param | "(" param ")" | current_ref )
    if_clause  := "IF" user_cond ( "AND" user_cond )*
    field_ref  := DATASET "." FIELD          value := STRING | param      param := "$" NAME

Keywords, targets and dataset names are matched case-insensitively (the seed workshop writes
`EXCLUDE itemId WHERE INTERACTIONS.event_type in (...)`). Only syntax is checked here; the rules that need
schemas live in `reconciler.manifest.rules.filters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DATASETS = {
    "items": "Items",
    "users": "Users",
    "interactions": "Interactions",
    "actions": "Actions",
    "action_interactions": "Action_Interactions",
}
DATASET_TYPE = {
    "Items": "ITEMS",
    "Users": "USERS",
    "Interactions": "INTERACTIONS",
    "Actions": "ACTIONS",
    "Action_Interactions": "ACTION_INTERACTIONS",
}
TARGETS = {"itemid": "ItemID", "actionid": "ActionID", "userid": "UserID"}
COMPARISONS = ("<=", ">=", "!=", "=", "<", ">")


class FilterSyntaxError(Exception):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        """0-based character offset in the expression."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    """WORD, STRING, NUMBER, PARAM, OP, LPAREN, RPAREN, COMMA, PIPE, DOT, EOF"""
    text: str
    position: int

    def describe(self) -> str:
        return "end of expression" if self.kind == "EOF" else repr(self.text)


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<STRING>"(?:[^"\\]|\\.)*")
  | (?P<NUMBER>-?\d+(?:\.\d+)?)
  | (?P<PARAM>\$[A-Za-z0-9_]+)
  | (?P<WORD>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<OP><=|>=|!=|=|<|>)
  | (?P<LPAREN>\()
  | (?P<RPAREN>\))
  | (?P<COMMA>,)
  | (?P<PIPE>\|)
  | (?P<DOT>\.)
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            if char == '"':
                raise FilterSyntaxError("unterminated string literal", position)
            if char == "'":
                raise FilterSyntaxError(
                    'string values use double quotes ("..."), not single quotes', position
                )
            if char == "$":
                raise FilterSyntaxError("'$' must be followed by a parameter name ($NAME)", position)
            raise FilterSyntaxError(f"unexpected character {char!r}", position)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("EOF", "", len(text)))
    return tokens


@dataclass(frozen=True, slots=True)
class FieldRef:
    dataset: str
    """Canonical dataset name (Items, Users, Interactions, Actions, Action_Interactions) or CurrentItem /
    CurrentUser."""
    field: str
    position: int


@dataclass(frozen=True, slots=True)
class Value:
    kind: str
    """string, param, number, current"""
    text: str
    position: int
    ref: FieldRef | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    field: FieldRef
    operator: str
    """IN, NOT IN, =, <, <=, >, >=, !="""
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Expression:
    action: str
    target: str
    conditions: tuple[Condition, ...]
    connectors: tuple[str, ...]
    if_conditions: tuple[Condition, ...] = ()
    position: int = 0


@dataclass(frozen=True, slots=True)
class Filter:
    expressions: tuple[Expression, ...]
    parameters: tuple[str, ...] = field(default=())
    """Placeholder names ($NAME, without '$') in order of first use."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "EOF":
            self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.current.kind == "WORD" and self.current.text.upper() in words

    def expect_word(self, *words: str) -> Token:
        if not self.is_word(*words):
            wanted = " or ".join(repr(w) for w in words)
            raise FilterSyntaxError(
                f"expected {wanted}, found {self.current.describe()}", self.current.position
            )
        return self.advance()

    def expect(self, kind: str, what: str) -> Token:
        if self.current.kind != kind:
            raise FilterSyntaxError(
                f"expected {what}, found {self.current.describe()}", self.current.position
            )
        return self.advance()

    def parse(self) -> Filter:
        expressions = [self.expression()]
        while self.current.kind == "PIPE":
            self.advance()
            expressions.append(self.expression())
        if self.current.kind != "EOF":
            raise FilterSyntaxError(
                f"unexpected {self.current.describe()} after the end of the expression", self.current.position
            )
        params: list[str] = []
        for expression in expressions:
            for condition in (*expression.conditions, *expression.if_conditions):
                for value in condition.values:
                    if value.kind == "param" and value.text[1:] not in params:
                        params.append(value.text[1:])
        return Filter(tuple(expressions), tuple(params))

    def expression(self) -> Expression:
        start = self.current.position
        action = self.expect_word("INCLUDE", "EXCLUDE").text.upper()
        target_token = self.expect("WORD", "ItemID, ActionID or UserID")
        target = TARGETS.get(target_token.text.lower())
        if target is None:
            raise FilterSyntaxError(
                f"expected ItemID, ActionID or UserID, found {target_token.describe()}", target_token.position
            )
        self.expect_word("WHERE")
        conditions = [self.condition()]
        connectors: list[str] = []
        while self.is_word("AND", "OR"):
            connectors.append(self.advance().text.upper())
            conditions.append(self.condition())
        if_conditions: list[Condition] = []
        if self.is_word("IF"):
            self.advance()
            if_conditions.append(self.condition())
            while self.is_word("AND"):
                self.advance()
                if_conditions.append(self.condition())
            if self.is_word("OR"):
                raise FilterSyntaxError("IF conditions can only be joined with AND", self.current.position)
            if self.is_word("IF"):
                raise FilterSyntaxError("IF can be used only once per expression", self.current.position)
        return Expression(action, target, tuple(conditions), tuple(connectors), tuple(if_conditions), start)

    def field_ref(self) -> FieldRef:
        dataset_token = self.expect("WORD", "a dataset field such as Items.CATEGORY")
        self.expect("DOT", f"'.' after {dataset_token.text!r} (write Dataset.FIELD)")
        field_token = self.expect("WORD", "a field name")
        name = dataset_token.text
        lowered = name.lower()
        if lowered in DATASETS:
            dataset = DATASETS[lowered]
        elif lowered in ("currentitem", "currentuser"):
            dataset = "CurrentItem" if lowered == "currentitem" else "CurrentUser"
        else:
            raise FilterSyntaxError(
                f"unknown dataset {name!r} (use Items, Users, Interactions, Actions, Action_Interactions, "
                "CurrentItem or CurrentUser)",
                dataset_token.position,
            )
        return FieldRef(dataset, field_token.text, dataset_token.position)

    def condition(self) -> Condition:
        ref = self.field_ref()
        if self.is_word("NOT"):
            self.advance()
            self.expect_word("IN")
            operator = "NOT IN"
        elif self.is_word("IN"):
            self.advance()
            operator = "IN"
        elif self.current.kind == "OP":
            operator = self.advance().text
            return Condition(ref, operator, (self.comparison_value(),))
        else:
            raise FilterSyntaxError(
                f"expected IN, NOT IN or a comparison operator, found {self.current.describe()}",
                self.current.position,
            )
        if self.current.kind == "WORD":
            position = self.current.position
            current = self.field_ref()
            return Condition(
                ref, operator, (Value("current", f"{current.dataset}.{current.field}", position, current),)
            )
        self.expect("LPAREN", "'(' to start the value list")
        values = [self.list_value()]
        while self.current.kind == "COMMA":
            self.advance()
            values.append(self.list_value())
        self.expect("RPAREN", "',' or ')'")
        return Condition(ref, operator, tuple(values))

    def list_value(self) -> Value:
        token = self.current
        if token.kind == "STRING":
            self.advance()
            return Value("string", token.text[1:-1], token.position)
        if token.kind == "PARAM":
            self.advance()
            return Value("param", token.text, token.position)
        if token.kind == "NUMBER":
            raise FilterSyntaxError(f'IN values are strings: write "{token.text}"', token.position)
        raise FilterSyntaxError(
            f"expected a double-quoted string or a $PARAMETER, found {token.describe()}", token.position
        )

    def comparison_value(self) -> Value:
        token = self.current
        if token.kind == "LPAREN" and self.tokens[self.index + 1].kind == "PARAM":
            # Actions.VALUE > ($VALUE), as dg/action-recommendation-filter-examples writes it
            self.advance()
            value = self.comparison_value()
            self.expect("RPAREN", "')'")
            return value
        if token.kind == "NUMBER":
            self.advance()
            return Value("number", token.text, token.position)
        if token.kind == "PARAM":
            self.advance()
            return Value("param", token.text, token.position)
        if token.kind == "WORD":
            current = self.field_ref()
            return Value("current", f"{current.dataset}.{current.field}", token.position, current)
        raise FilterSyntaxError(
            "comparison operators need a number, a $PARAMETER or CurrentItem.FIELD, "
            f"found {token.describe()}",
            token.position,
        )


def parse_filter(text: str) -> Filter:
    """Parse a filter expression; raises `FilterSyntaxError` with a character position."""
    return _Parser(text).parse()
