"""Unmatched sessions: sessions of cookies that called that no call merged with.

Each row shows the nearest call of the cookie (before or after the session's
start) and the gap; Enter opens that call's detail.
"""

from __future__ import annotations

from sqlite_utils import Database

from calltui import store
from calltui.normalize import parse_ts
from calltui.store import ListFilter
from calltui.tui.filters import SESSION_KEYS
from calltui.tui.format import cell, human_gap, short_ts
from calltui.tui.screens.lists import ListScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import Column, Row

__all__ = ["SESSION_COLUMNS", "UnmatchedSessionsScreen", "nearest_call"]


def nearest_call(row: Row) -> tuple[str | None, str | None, float | None]:
    """(Task Id, call time, call minus session start in seconds) of the nearer call."""
    start = parse_ts(row["started_at"])
    best: tuple[str | None, str | None, float | None] = (None, None, None)
    for side in ("before", "after"):
        at = row[f"call_{side}_at"]
        if at is None:
            continue
        gap = (parse_ts(at) - start).total_seconds()
        if best[2] is None or abs(gap) < abs(best[2]):
            best = (row[f"call_{side}_id"], at, gap)
    return best


def _gap(row: Row) -> str:
    gap = nearest_call(row)[2]
    if gap is None:
        return ""
    return f"{human_gap(abs(gap))} {'after' if gap >= 0 else 'before'} the session"


SESSION_COLUMNS = (
    Column("Session start (UTC)", lambda r: short_ts(r["started_at"])),
    Column("Channel", lambda r: cell(r["channel"])),
    Column("Nearest call", lambda r: cell(nearest_call(r)[0])),
    Column("Call gap", _gap),
    Column("Session", lambda r: r["id"]),
    Column("Cookie (BizibleId)", lambda r: r["cookie_id"]),
    Column("Landing page", lambda r: cell(r["landing_page"])),
)

NEAREST_COLUMN = 2


class UnmatchedSessionsScreen(ListScreen):
    """Web sessions of callers that no call merged with; Enter opens the nearest call."""

    TABLE_ID = "sessions"
    FILTER_KEYS = SESSION_KEYS
    FILTER_HINT = "/ filter: from:2026-01-01 to:… channel:… or a session Id / cookie"
    export_name = "unmatched-sessions"

    def __init__(self, state: AppState) -> None:
        super().__init__(state, title="Unmatched sessions (cookies that called; no call merged)",
                         columns=SESSION_COLUMNS)

    def fetch(self, db: Database, f: ListFilter, sort: str | None, descending: bool,
              last: Row | None, limit: int) -> list[Row]:
        after = None if last is None else (last["started_at"], last["id"])
        return store.page_unmatched_sessions(db, f, after=after, limit=limit)

    def count(self, db: Database, f: ListFilter) -> int:
        return store.count_unmatched_sessions(db, f)

    def row_key(self, row: Row) -> str:
        return str(row["id"])

    def detail_task(self, key: str) -> str | None:
        task = self.table.values(key)[NEAREST_COLUMN]
        return task or None
