"""The SOQL calltui sends: which Task fields, which Tasks are calls, which time window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from calltui.normalize import format_ts
from calltui.records import TASK_FIELDS, TaskFields

__all__ = ["DEFAULT_CALL_FILTER", "TaskQuery", "call_filter_problem", "soql_datetime"]

DEFAULT_CALL_FILTER = (
    "TaskSubtype = 'Call' OR Type = 'Call' OR CallType != null OR {bizible_id} != null"
)


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal (unquoted, UTC): ``2026-01-05T13:05:00.000Z``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in SOQL")
    return format_ts(moment)  # the year always in four digits, as SOQL wants


# Words that end a WHERE clause: a call filter holding one would cut the sync's window off.
_CLAUSE_ENDS = re.compile(r"\b(ORDER\s+BY|GROUP\s+BY|LIMIT|OFFSET|HAVING|FOR\s+(?:VIEW|UPDATE|"
                          r"REFERENCE)|WITH|ALL\s+ROWS)\b", re.IGNORECASE)


def call_filter_problem(text: str) -> str | None:
    """Why ``text`` cannot stand as one condition inside the sync's ``WHERE (...)``: an
    unbalanced parenthesis or quote would let it escape the brackets and drop the
    window's ``SystemModstamp`` and ``IsDeleted`` conditions; a clause such as ``LIMIT``
    would end the WHERE. Quoted text (``'...'`` with ``\\`` escapes) is not looked into."""
    depth, outside, chars = 0, [], iter(text)
    for char in chars:
        if char == "'":
            for inner in chars:
                if inner == "\\":
                    next(chars, None)
                elif inner == "'":
                    break
            else:
                return "a quote (') is not closed"
            outside.append(" ")
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return "a ')' closes a parenthesis that was not opened"
        outside.append(char)
    if depth > 0:
        return "a '(' is not closed"
    unquoted = "".join(outside)
    brace = re.search(r"\{[^}]*\}?", unquoted.replace("{bizible_id}", ""))
    if brace is not None:  # SOQL has no braces: a mistyped placeholder
        return (f"{brace.group(0)!r} is not a placeholder calltui fills in (the one it "
                "knows is {bizible_id}, the BizibleId field)")
    clause = _CLAUSE_ENDS.search(unquoted)
    if clause is not None:
        return f"{' '.join(clause.group(0).split()).upper()} ends a WHERE clause"
    return None


@dataclass(frozen=True)
class TaskQuery:
    """Builds the Task queries of one sync window ``[start, end)`` on SystemModstamp."""

    fields: TaskFields = TaskFields()
    call_filter: str = DEFAULT_CALL_FILTER

    def field_names(self) -> list[str]:
        names = [n for n, c in TASK_FIELDS.items() if c != "bizible_id_raw"]
        names.append(self.fields.bizible_id)
        return names

    def where(self, start: datetime | None, end: datetime, deleted: bool = False) -> str:
        call_filter = self.call_filter.replace("{bizible_id}", self.fields.bizible_id)
        parts = [f"({call_filter})"]
        if deleted:
            parts.append("IsDeleted = true")
        if start is not None:
            parts.append(f"SystemModstamp >= {soql_datetime(start)}")
        parts.append(f"SystemModstamp < {soql_datetime(end)}")
        return " AND ".join(parts)

    def select(self, start: datetime | None, end: datetime, deleted: bool = False,
               ordered: bool = True) -> str:
        order = " ORDER BY SystemModstamp, Id" if ordered else ""
        return (f"SELECT {', '.join(self.field_names())} FROM Task "
                f"WHERE {self.where(start, end, deleted)}{order}")

    def count(self, start: datetime | None, end: datetime) -> str:
        return f"SELECT COUNT() FROM Task WHERE {self.where(start, end)}"

    def count_created(self, start: datetime, end: datetime) -> str:
        """Call Tasks created in ``[start, end)`` (``doctor``: calls made, not modified)."""
        call_filter = self.call_filter.replace("{bizible_id}", self.fields.bizible_id)
        return (f"SELECT COUNT() FROM Task WHERE ({call_filter}) AND CreatedDate >= "
                f"{soql_datetime(start)} AND CreatedDate < {soql_datetime(end)}")
