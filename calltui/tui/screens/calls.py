"""Lists of calls: missing BizibleId, unmatched, and every call (one class, three filters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlite_utils import Database
from textual.app import ComposeResult
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Static

from calltui import store
from calltui.models import Status
from calltui.store import ListFilter
from calltui.tui.format import cell, flags_text, human_gap, short_ts
from calltui.tui.screens.lists import ListScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import Column, Row

__all__ = ["MISSING", "UNMATCHED", "CallsScreen", "all_calls_screen", "missing_screen",
           "unmatched_screen"]

MISSING = (Status.MISSING_BIZIBLE_ID,)
UNMATCHED = (Status.OUTSIDE_WINDOW, Status.CALL_BEFORE_SESSION, Status.UNKNOWN_BIZIBLE_ID)


def _near(prefix: str, word: str) -> Column:
    def value(row: Row) -> str:
        gap = row[f"{prefix}_gap_seconds"]
        return "" if gap is None else f"{human_gap(abs(gap))} {word}"
    return Column(f"Nearest session {word}", value, f"{prefix}_gap_seconds")


COMMON = (
    Column("Task Id", lambda r: r["task_id"], "task_id"),
    Column("Call (UTC)", lambda r: short_ts(r["call_at"]), "call_at"),
)
MISSING_COLUMNS = (
    *COMMON,
    Column("BizibleId as stored", lambda r: cell(r["bizible_id_raw"]), "bizible_id_raw"),
    Column("Type", lambda r: cell(r["task_type"]), "task_type"),
    Column("WhoId", lambda r: cell(r["who_id"]), "who_id"),
    Column("Flags", lambda r: flags_text(r["flags"]), "flags"),
)
UNMATCHED_COLUMNS = (
    *COMMON,
    Column("Status", lambda r: r["status"], "status"),
    Column("Gap", lambda r: human_gap(r["gap_seconds"]) if r["gap_seconds"] is not None else "",
           "gap_seconds"),
    _near("before", "before"),
    _near("after", "after"),
    Column("BizibleId", lambda r: cell(r["bizible_id"]), "bizible_id"),
    Column("Compared session", lambda r: cell(r["compared_session_id"]), "compared_session_id"),
    Column("Flags", lambda r: flags_text(r["flags"]), "flags"),
)


class CallsScreen(ListScreen):
    """Calls with some statuses (none given: every call); the highlighted call's
    explanation below; Enter for detail."""

    TABLE_ID = "calls"

    def __init__(
        self, state: AppState, *, title: str, statuses: Sequence[str], columns: Sequence[Column],
        name: str = "calls",
    ) -> None:
        super().__init__(state, title=title, columns=columns)
        self.statuses = tuple(statuses)
        self.export_name = name
        self._preview_timer: Timer | None = None

    def _narrowed(self, f: ListFilter) -> ListFilter:
        """The screen's statuses, narrowed by the filter's (none in common: nothing)."""
        if not self.statuses:  # every call: the filter's statuses, if any
            return f
        wanted = [s for s in self.statuses if not f.statuses or s in f.statuses]
        return replace(f, statuses=tuple(wanted) or ("(none)",))

    def fetch(self, db: Database, f: ListFilter, sort: str | None, descending: bool,
              last: Row | None, limit: int) -> list[Row]:
        return store.page_calls(db, self._narrowed(f), sort=sort or "call_at",
                                descending=descending, after=last, limit=limit)

    def count(self, db: Database, f: ListFilter) -> int:
        return store.count_calls(db, self._narrowed(f))

    def row_key(self, row: Row) -> str:
        return str(row["task_id"])

    def compose_extra(self) -> ComposeResult:
        yield Static(id="preview")

    PREVIEW_DELAY = 0.08
    """The explanation follows the cursor once it rests, so paging repaints first."""

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        key = str(event.row_key.value)
        self._preview_timer = self.set_timer(self.PREVIEW_DELAY, lambda: self.show_preview(key))

    def rows_changed(self) -> None:
        """An empty list has no explanation to show (the last call's stayed under it)."""
        if not self.table.row_count:
            if self._preview_timer is not None:
                self._preview_timer.stop()
            self.query_one("#preview", Static).update("")

    def show_preview(self, key: str) -> None:
        row = store.get_outcome(self.state.db, key)
        text = "" if row is None else f"{row['status']}: {row['explanation']}"
        self.query_one("#preview", Static).update(Content(text))


def missing_screen(state: AppState) -> CallsScreen:
    return CallsScreen(state, title="Calls missing BizibleId (escalate to the vendor)",
                       statuses=MISSING, columns=MISSING_COLUMNS, name="missing")


def all_calls_screen(state: AppState) -> CallsScreen:
    return CallsScreen(state, title="All calls (every status)",
                       statuses=(), columns=UNMATCHED_COLUMNS, name="calls")


def unmatched_screen(state: AppState) -> CallsScreen:
    return CallsScreen(state, title="Unmatched calls (a 'Salesforce Task' touchpoint, no web data)",
                       statuses=UNMATCHED, columns=UNMATCHED_COLUMNS, name="unmatched-calls")
