"""A small, honest SOQL parser and evaluator for the fake Salesforce org.

Only the subset calltui needs is supported::

    SELECT field, field, ... | COUNT()
    FROM Task
    [WHERE condition]
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

Conditions combine comparisons with AND, OR, NOT and parentheses. A comparison is
``field op literal`` with op one of ``= != <> < <= > >=``, ``[NOT] IN (...)`` or
``LIKE``. Literals are strings (``'it\\'s'``), numbers, ``true``/``false``, ``null``,
unquoted dateTimes (``2026-01-05T13:05:00Z``, ``...00.000+0000``, ``...00+00:00``)
and dates (``2026-01-05``).

The pipeline has three steps, each a plain function:

1. :func:`parse` turns text into a :class:`Query` (tokenizer + recursive descent).
   Syntax errors raise :class:`SoqlError` with code ``MALFORMED_QUERY``.
2. :func:`resolve` checks field names against a schema (``{name: soap type}``),
   case-insensitively, and rewrites them to their canonical spelling. Unknown
   fields raise ``INVALID_FIELD``; a literal of the wrong type (for example a
   quoted dateTime) raises ``INVALID_QUERY_FILTER_OPERATOR``, as Salesforce does.
3. :func:`execute` filters, sorts and slices a list of records (dicts in wire
   form, datetimes as strings). Values are compared by type: datetimes as
   instants, strings case-insensitively (SOQL text comparison is case-insensitive).

Null semantics follow SOQL: ``X = null`` / ``X != null`` test for null;
``X != 'a'`` also matches rows where X is null; ``<``, ``>``, ``LIKE`` and ``IN``
never match null. A boolean null counts as false.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, NoReturn

# --------------------------------------------------------------------------- errors


class SoqlError(Exception):
    """A query Salesforce would reject; ``code`` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str, near: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.near = near  # the word of the query it is about, if any

    def located(self, text: str) -> str:
        """The message as Salesforce's REST API words it for an error at a place in the
        query: a newline, the query's text around the place, a caret under it, its row
        and column, then the message. Without a place, the message alone."""
        if not self.near:
            return self.message
        found = re.search(rf"(?<![\w.]){re.escape(self.near)}(?!\w)", text, re.IGNORECASE)
        if found is None:
            return self.message
        row = text.count("\n", 0, found.start()) + 1
        line_start = text.rfind("\n", 0, found.start()) + 1
        line_end = text.find("\n", found.start())
        line = text[line_start:line_end if line_end >= 0 else len(text)]
        column = found.start() - line_start
        first = max(0, column - 40)
        excerpt = line[first:column + 40]
        return (f"\n{excerpt}\n{' ' * (column - first)}^\n"
                f"ERROR at Row:{row}:Column:{column + 1}\n{self.message}")


def _malformed(message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", message)


def invalid_field_message(name: str, sobject: str = "Task") -> str:
    """Salesforce's exact wording for a column that does not exist (or is not readable)."""
    return (
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names."
    )


# --------------------------------------------------------------------------- tokens

# Token kinds.
IDENT = "IDENT"
STRING = "STRING"
NUMBER = "NUMBER"
DATETIME = "DATETIME"
DATE = "DATE"
OP = "OP"
PUNCT = "PUNCT"
END = "END"

# Each literal shape is matched by its own small pattern at the current position.
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # raw text (for STRING: the unescaped value)
    pos: int

    def is_keyword(self, word: str) -> bool:
        return self.kind == IDENT and self.text.upper() == word


def tokenize(text: str) -> list[Token]:
    """Split SOQL text into tokens, ending with an END token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char == "'":
            value, pos = _read_string(text, pos)
            tokens.append(Token(STRING, value, pos))
            continue
        if char in "(),":
            tokens.append(Token(PUNCT, char, pos))
            pos += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
        if operator is not None:
            tokens.append(Token(OP, operator, pos))
            pos += len(operator)
            continue
        token = _read_literal_or_ident(text, pos)
        if token is None:
            raise _malformed(f"unexpected token: '{char}'")
        tokens.append(token)
        pos += len(token.text)
    tokens.append(Token(END, "", len(text)))
    return tokens


_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t",
            "b": "\b", "f": "\f", "%": "\\%", "_": "\\_"}


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``start``; return (value, position after it).

    ``\\%`` and ``\\_`` keep their backslash so LIKE can tell them from wildcards.
    """
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "'":
            return "".join(out), pos + 1
        if char == "\\":
            escaped = text[pos + 1 : pos + 2]
            if escaped not in _ESCAPES:
                raise _malformed(f"Invalid string literal escape sequence at {pos}")
            out.append(_ESCAPES[escaped])
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise _malformed("unterminated string literal")


def _read_literal_or_ident(text: str, pos: int) -> Token | None:
    for kind, pattern in ((DATETIME, _DATETIME_RE), (DATE, _DATE_RE), (NUMBER, _NUMBER_RE),
                          (IDENT, _IDENT_RE)):
        match = pattern.match(text, pos)
        if match:
            return Token(kind, match.group(0), pos)
    return None


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Literal:
    """A literal value: ``kind`` is STRING, NUMBER, DATETIME, DATE, BOOLEAN or NULL."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    values: tuple[Literal, ...]  # one value, or several for IN


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: str
    descending: bool = False
    nulls_first: bool | None = None  # None: SOQL default (first when ASC, last when DESC)


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]  # empty for COUNT()
    is_count: bool
    sobject: str
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    # token helpers ---------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        if token.kind != END:
            self.index += 1
        return token

    def accept_keyword(self, word: str) -> bool:
        if self.current.is_keyword(word):
            self.advance()
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.accept_keyword(word):
            self.fail(f"expecting '{word}'")

    def accept_punct(self, char: str) -> bool:
        if self.current.kind == PUNCT and self.current.text == char:
            self.advance()
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.accept_punct(char):
            self.fail(f"expecting '{char}'")

    def fail(self, expectation: str) -> NoReturn:
        found = self.current.text or "<end of query>"
        raise _malformed(f"unexpected token: '{found}' ({expectation})")

    def expect_field(self) -> str:
        token = self.current
        if token.kind != IDENT or token.text.upper() in _RESERVED:
            self.fail("expecting a field name")
        self.advance()
        return token.text

    def expect_integer(self) -> int:
        token = self.current
        if token.kind != NUMBER or not token.text.isdigit():
            self.fail("expecting a non-negative integer")
        self.advance()
        return int(token.text)

    # grammar ---------------------------------------------------------------
    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields, is_count = self.select_list()
        self.expect_keyword("FROM")
        sobject = self.expect_field()
        where = self.condition() if self.accept_keyword("WHERE") else None
        order_by: tuple[OrderItem, ...] = ()
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            order_by = self.order_list()
        limit = self.expect_integer() if self.accept_keyword("LIMIT") else None
        offset = self.expect_integer() if self.accept_keyword("OFFSET") else None
        if self.current.kind != END:
            self.fail("expecting end of query")
        return Query(tuple(fields), is_count, sobject, where, order_by, limit, offset)

    def select_list(self) -> tuple[list[str], bool]:
        if self.current.is_keyword("COUNT"):
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            return [], True
        fields = [self.expect_field()]
        while self.accept_punct(","):
            fields.append(self.expect_field())
        return fields, False

    def order_list(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.accept_punct(","):
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        name = self.expect_field()
        descending = False
        if self.accept_keyword("DESC"):
            descending = True
        else:
            self.accept_keyword("ASC")
        nulls_first: bool | None = None
        if self.accept_keyword("NULLS"):
            if self.accept_keyword("FIRST"):
                nulls_first = True
            else:
                self.expect_keyword("LAST")
                nulls_first = False
        return OrderItem(name, descending, nulls_first)

    # condition := term (OR term)*      term := factor (AND factor)*
    # factor := NOT factor | '(' condition ')' | comparison
    def condition(self) -> Condition:
        left = self.term()
        while self.accept_keyword("OR"):
            left = BoolOp("OR", left, self.term())
        return left

    def term(self) -> Condition:
        left = self.factor()
        while self.accept_keyword("AND"):
            left = BoolOp("AND", left, self.factor())
        return left

    def factor(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.factor())
        if self.accept_punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.expect_field()
        if self.current.kind == OP:
            op = self.advance().text
            return Comparison(name, "!=" if op == "<>" else op, (self.literal(),))
        if self.accept_keyword("LIKE"):
            return Comparison(name, "LIKE", (self.literal(),))
        if self.accept_keyword("IN"):
            return Comparison(name, "IN", self.literal_list())
        if self.accept_keyword("NOT"):
            self.expect_keyword("IN")
            return Comparison(name, "NOT IN", self.literal_list())
        self.fail("expecting an operator")

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.accept_punct(","):
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.current
        if token.kind == STRING:
            self.advance()
            return Literal(STRING, token.text)
        if token.kind == NUMBER:
            self.advance()
            number = float(token.text) if "." in token.text else int(token.text)
            return Literal(NUMBER, number)
        if token.kind == DATETIME:
            self.advance()
            return Literal(DATETIME, parse_datetime(token.text))
        if token.kind == DATE:
            self.advance()
            return Literal(DATE, date.fromisoformat(token.text))
        for word, kind, value in (("TRUE", "BOOLEAN", True), ("FALSE", "BOOLEAN", False),
                                  ("NULL", "NULL", None)):
            if token.is_keyword(word):
                self.advance()
                return Literal(kind, value)
        self.fail("expecting a literal value")


_RESERVED = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY",
             "ASC", "DESC", "LIMIT", "OFFSET", "NULLS", "TRUE", "FALSE", "NULL"}


def parse(text: str) -> Query:
    """Parse SOQL text into a :class:`Query` (names as written, not yet checked)."""
    return _Parser(text).query()


# --------------------------------------------------------------------------- values


def parse_datetime(text: str) -> datetime:
    """Parse a Salesforce dateTime (``Z``, ``+0000`` or ``+00:00``) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Format an aware datetime the way the REST API does: ``2026-01-05T13:05:00.000+0000``."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


DATETIME_TYPES = {"datetime"}
DATE_TYPES = {"date"}
BOOLEAN_TYPES = {"boolean"}
NUMBER_TYPES = {"int", "double", "currency", "percent"}


def to_python(value: Any, field_type: str) -> Any:
    """Convert a wire value to something comparable for its field type."""
    if field_type in BOOLEAN_TYPES:
        return bool(value)
    if value is None:
        return None
    if field_type in DATETIME_TYPES:
        return parse_datetime(value) if isinstance(value, str) else value
    if field_type in DATE_TYPES:
        return date.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(value, str):
        return value.casefold()
    return value


# --------------------------------------------------------------------------- resolve


def resolve(query: Query, schema: Mapping[str, str], sobject: str = "Task") -> Query:
    """Check names and literal types against ``schema`` ({canonical name: type}).

    Returns a copy of the query with every field in its canonical spelling.
    """
    lookup = {name.lower(): name for name in schema}

    def canonical(name: str) -> str:
        found = lookup.get(name.lower())
        if found is None:
            raise SoqlError("INVALID_FIELD", invalid_field_message(name, sobject), near=name)
        return found

    where = _resolve_condition(query.where, canonical, schema) if query.where else None
    return replace(
        query,
        fields=tuple(canonical(name) for name in query.fields),
        where=where,
        order_by=tuple(replace(item, field=canonical(item.field)) for item in query.order_by),
    )


def _resolve_condition(condition: Condition, canonical: Any, schema: Mapping[str, str]
                       ) -> Condition:
    if isinstance(condition, BoolOp):
        return BoolOp(condition.op, _resolve_condition(condition.left, canonical, schema),
                      _resolve_condition(condition.right, canonical, schema))
    if isinstance(condition, Not):
        return Not(_resolve_condition(condition.operand, canonical, schema))
    name = canonical(condition.field)
    for literal in condition.values:
        _check_literal_type(name, schema[name], condition.op, literal)
    return replace(condition, field=name)


def _expected_literal(field_type: str) -> tuple[str, str]:
    """(literal kind, description) a field of this type must be compared with."""
    if field_type in DATETIME_TYPES:
        return DATETIME, "dateTime and should not be enclosed in quotes"
    if field_type in DATE_TYPES:
        return DATE, "date and should not be enclosed in quotes"
    if field_type in BOOLEAN_TYPES:
        return "BOOLEAN", "boolean and should not be enclosed in quotes"
    if field_type in NUMBER_TYPES:
        return NUMBER, "number and should not be enclosed in quotes"
    return STRING, "string and should be enclosed in quotes"


def _check_literal_type(name: str, field_type: str, op: str, literal: Literal) -> None:
    if literal.kind == "NULL":
        if op in ("=", "!="):
            return
        raise _malformed(f"null may only be used with = or != (field '{name}')")
    expected, description = _expected_literal(field_type)
    if op == "LIKE" and expected != STRING:
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                        f"invalid operator on {field_type} field '{name}': LIKE")
    if literal.kind != expected:
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                        f"value of filter criterion for field '{name}' must be of type "
                        f"{description}")


# --------------------------------------------------------------------------- evaluate


def matches(condition: Condition | None, record: Mapping[str, Any],
            schema: Mapping[str, str]) -> bool:
    """Does ``record`` satisfy the (resolved) condition?"""
    if condition is None:
        return True
    if isinstance(condition, BoolOp):
        left = matches(condition.left, record, schema)
        if condition.op == "AND":
            return left and matches(condition.right, record, schema)
        return left or matches(condition.right, record, schema)
    if isinstance(condition, Not):
        return not matches(condition.operand, record, schema)
    return _compare(condition, record, schema)


def _literal_value(literal: Literal) -> Any:
    return literal.value.casefold() if literal.kind == STRING else literal.value


def _compare(condition: Comparison, record: Mapping[str, Any], schema: Mapping[str, str]
             ) -> bool:
    field_type = schema[condition.field]
    actual = to_python(record.get(condition.field), field_type)
    op = condition.op
    if op in ("IN", "NOT IN"):
        if actual is None:
            return False
        found = actual in {_literal_value(lit) for lit in condition.values}
        return found if op == "IN" else not found
    literal = condition.values[0]
    if op == "LIKE":
        return actual is not None and _like(literal.value, actual)
    expected = _literal_value(literal)
    if field_type in BOOLEAN_TYPES and expected is None:
        expected = False  # SOQL: a boolean compared with null behaves as false
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    return bool(_ORDERING[op](actual, expected))


_ORDERING = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _like(pattern: str, value: str) -> bool:
    """SOQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; no case."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_"):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.fullmatch("".join(parts), value, flags=re.IGNORECASE | re.DOTALL) is not None


def _sort_key(item: OrderItem, field_type: str) -> Any:
    nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
    # With reverse=True a larger rank sorts earlier, so flip the null rank for DESC.
    null_rank = 0 if nulls_first != item.descending else 2

    def key(record: Mapping[str, Any]) -> tuple[int, Any]:
        value = to_python(record.get(item.field), field_type)
        return (null_rank, None) if value is None else (1, value)

    return key


def execute(query: Query, records: Iterable[Mapping[str, Any]], schema: Mapping[str, str]
            ) -> list[Mapping[str, Any]]:
    """Filter, sort and slice records for a resolved query (rows keep all their fields)."""
    rows = [record for record in records if matches(query.where, record, schema)]
    for item in reversed(query.order_by):  # stable sorts, least significant key first
        rows.sort(key=_sort_key(item, schema[item.field]), reverse=item.descending)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return rows[start:end]
