"""The filter line of a list: ``status:outside_window flag:type_blank from:2026-01-01 words``.

Keys narrow the rows (``status`` and ``flag`` may repeat); the words left are a
search in Task Id, BizibleId and subject (session Id and cookie on sessions).
Dates are UTC days: ``from`` includes its day, ``to`` includes its day too.
"""

from __future__ import annotations

import shlex
from datetime import date, timedelta

from calltui.models import Flag, Status
from calltui.store import ListFilter

__all__ = ["CALL_KEYS", "SESSION_KEYS", "FilterError", "parse_filter"]

CALL_KEYS = ("status", "flag", "from", "to", "channel", "type", "vendor")
SESSION_KEYS = ("from", "to", "channel")


class FilterError(ValueError):
    """A filter line that cannot be read; the message says what to type."""


def _day(key: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{key}: {value!r} is not a day like 2026-01-31") from None


def _words(text: str) -> list[str]:
    """Words split at spaces; double quotes group (``type:"Web Visit"``), and an
    apostrophe is part of its word (``o'brien``)."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split, lexer.quotes, lexer.escape = True, '"', ""
    try:
        return list(lexer)
    except ValueError:
        raise FilterError('filter: a " is not closed') from None


def parse_filter(text: str, keys: tuple[str, ...] = CALL_KEYS) -> ListFilter:
    """The ``ListFilter`` a filter line asks for; ``FilterError`` names the bad part."""
    words = _words(text)
    statuses: list[str] = []
    flags: list[str] = []
    values: dict[str, str] = {}
    search: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        key = key.lower()
        if not sep or not key.isalpha():
            search.append(word)
            continue
        if key not in keys:
            known = ", ".join(f"{k}:" for k in keys)
            raise FilterError(f"no filter {key}: here (use {known} or plain words)")
        if not value:
            raise FilterError(f"{key}: needs a value")
        if key == "status":
            if value not in {s.value for s in Status}:
                raise FilterError(f"status: {value!r} is not one of "
                                  + ", ".join(s.value for s in Status))
            statuses.append(value)
        elif key == "flag":
            if value not in {f.value for f in Flag}:
                raise FilterError(f"flag: {value!r} is not one of "
                                  + ", ".join(f.value for f in Flag))
            flags.append(value)
        else:
            values[key] = value
    since = until = None
    if "from" in values:
        since = _day("from", values["from"]).isoformat()
    if "to" in values:
        until = (_day("to", values["to"]) + timedelta(days=1)).isoformat()
    return ListFilter(
        statuses=tuple(statuses), flags=tuple(flags), since=since, until=until,
        channel=values.get("channel"), task_type=values.get("type"),
        search=" ".join(search) or None, vendor=values.get("vendor"),
    )
