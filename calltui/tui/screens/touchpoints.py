"""Touchpoints: every touchpoint the rules made, paged by (date, id); Enter on a call's opens it."""

from __future__ import annotations

from sqlite_utils import Database

from calltui import store
from calltui.store import ListFilter
from calltui.tui.format import cell, short_ts
from calltui.tui.screens.lists import ListScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import Column, PageSource, Row

__all__ = ["TOUCHPOINT_KEYS", "TouchpointsScreen", "touchpoint_source"]

COLUMNS = (  # what an admin reads first stays on screen; ids go to the right
    Column("Date (UTC)", lambda r: short_ts(r["touchpoint_date"])),
    Column("Person", lambda r: cell(r["person_key"])),
    Column("Kind", lambda r: r["kind"]),
    Column("Position", lambda r: cell(r["position"])),
    Column("U-shaped", lambda r: f"{(r['u_shaped_credit'] or 0):.0%}"),
    Column("Type", lambda r: cell(r["touchpoint_type"])),
    Column("Channel", lambda r: cell(r["channel"])),
    Column("Medium", lambda r: cell(r["medium"])),
    Column("Source", lambda r: cell(r["source"])),
    Column("Campaign", lambda r: cell(r["campaign"])),
    Column("Task", lambda r: cell(r["task_id"])),
    Column("Session", lambda r: cell(r["session_id"])),
)
TASK_COLUMN = [c.label for c in COLUMNS].index("Task")
TOUCHPOINT_KEYS = ("from", "to", "channel", "type")


def touchpoint_source() -> PageSource:
    """Every touchpoint, keyset-paged by (touchpoint_date, touchpoint_id)."""
    def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
        after = None if last is None else (last["touchpoint_date"], last["touchpoint_id"])
        return store.page_touchpoints(db, after=after, limit=limit)

    def count(db: Database) -> int:
        return store.count_rows(db, "touchpoints")

    return PageSource(COLUMNS, fetch, count, key=lambda r: str(r["touchpoint_id"]))


class TouchpointsScreen(ListScreen):
    """The touchpoints Marketo Measure would make from the stored data (one order: date)."""

    TABLE_ID = "touchpoints"
    FILTER_KEYS = TOUCHPOINT_KEYS
    FILTER_HINT = "/ filter: from:2026-01-01 to:… channel:… type:… or a Task, session, person"
    export_name = "touchpoints"

    def __init__(self, state: AppState) -> None:
        super().__init__(
            state, title="Touchpoints (call, web form, first visit) with U-shaped credit",
            columns=COLUMNS)

    def fetch(self, db: Database, f: ListFilter, sort: str | None, descending: bool,
              last: Row | None, limit: int) -> list[Row]:
        after = None if last is None else (last["touchpoint_date"], last["touchpoint_id"])
        return store.page_touchpoints_where(db, f, after=after, limit=limit)

    def count(self, db: Database, f: ListFilter) -> int:
        return store.count_touchpoints_where(db, f)

    def row_key(self, row: Row) -> str:
        return str(row["touchpoint_id"])

    def detail_task(self, key: str) -> str | None:
        return self.table.values(key)[TASK_COLUMN] or None
