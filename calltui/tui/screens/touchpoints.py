"""Touchpoints: every touchpoint the rules made, paged by (date, id); Enter on a call's opens it."""

from __future__ import annotations

from sqlite_utils import Database
from textual.app import ComposeResult
from textual.widgets import DataTable

from calltui import store
from calltui.tui.format import cell, short_ts
from calltui.tui.screens.base import DataScreen
from calltui.tui.screens.detail import DetailScreen
from calltui.tui.widgets import Column, PagedTable, PageSource, Row

__all__ = ["TouchpointsScreen", "touchpoint_source"]

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


def touchpoint_source() -> PageSource:
    """Touchpoints keyset-paged by (touchpoint_date, touchpoint_id)."""
    def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
        after = None if last is None else (last["touchpoint_date"], last["touchpoint_id"])
        return store.page_touchpoints(db, after=after, limit=limit)

    def count(db: Database) -> int:
        return store.count_rows(db, "touchpoints")

    return PageSource(COLUMNS, fetch, count, key=lambda r: str(r["touchpoint_id"]))


class TouchpointsScreen(DataScreen):
    """The touchpoints Marketo Measure would make from the stored data."""

    def compose_body(self) -> ComposeResult:
        table = PagedTable(touchpoint_source(), self.state.db, db_path=self.state.db_path,
                           id="touchpoints")
        table.border_title = "Touchpoints (call, web form, first visit) with U-shaped credit"
        yield table

    def load(self, initial: bool) -> None:
        if not initial:
            self.query_one(PagedTable).reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        task = self.query_one(PagedTable).values(event.row_key.value)[TASK_COLUMN]
        if task:
            self.app.push_screen(DetailScreen(self.state.db_path, str(task)))
