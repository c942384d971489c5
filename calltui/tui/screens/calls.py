"""Lists of calls that went wrong: missing BizibleId, and unmatched (one class, two filters)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Static

from calltui import store
from calltui.models import Status
from calltui.tui.format import cell, flags_text, human_gap, short_ts
from calltui.tui.screens.base import DataScreen
from calltui.tui.screens.detail import DetailScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import Column, PagedTable, PageSource, Row

__all__ = ["MISSING", "UNMATCHED", "CallsScreen"]

MISSING = (Status.MISSING_BIZIBLE_ID,)
UNMATCHED = (Status.OUTSIDE_WINDOW, Status.CALL_BEFORE_SESSION, Status.UNKNOWN_BIZIBLE_ID)


def _near(prefix: str, word: str) -> Column:
    def value(row: Row) -> str:
        gap = row[f"{prefix}_gap_seconds"]
        return "" if gap is None else f"{human_gap(abs(gap))} {word}"
    return Column(f"Nearest session {word}", value)


COMMON = (
    Column("Task Id", lambda r: r["task_id"]),
    Column("Call (UTC)", lambda r: short_ts(r["call_at"])),
)
MISSING_COLUMNS = (
    *COMMON,
    Column("BizibleId as stored", lambda r: cell(r["bizible_id_raw"])),
    Column("Type", lambda r: cell(r["task_type"])),
    Column("WhoId", lambda r: cell(r["who_id"])),
    Column("Flags", lambda r: flags_text(r["flags"])),
)
UNMATCHED_COLUMNS = (
    *COMMON,
    Column("Status", lambda r: r["status"]),
    Column("Gap", lambda r: human_gap(r["gap_seconds"]) if r["gap_seconds"] is not None else ""),
    _near("before", "before"),
    _near("after", "after"),
    Column("BizibleId", lambda r: cell(r["bizible_id"])),
    Column("Compared session", lambda r: cell(r["compared_session_id"])),
    Column("Flags", lambda r: flags_text(r["flags"])),
)


def outcome_source(statuses: Sequence[str], columns: Sequence[Column]) -> PageSource:
    """Call outcomes with one of ``statuses``, keyset-paged by (call_at, task_id)."""
    def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
        after = None if last is None else (last["call_at"], last["task_id"])
        return store.page_outcomes(db, statuses=statuses, after=after, limit=limit)

    def count(db: Database) -> int:
        return store.count_outcomes(db, statuses=statuses)

    return PageSource(columns, fetch, count, key=lambda r: str(r["task_id"]))


class CallsScreen(DataScreen):
    """Calls with some statuses; the highlighted call's explanation below; Enter for detail."""

    def __init__(
        self, state: AppState, *, title: str, statuses: Sequence[str], columns: Sequence[Column]
    ) -> None:
        super().__init__(state)
        self.title_text = title
        self.statuses = tuple(statuses)
        self.source = outcome_source(self.statuses, columns)

    def compose_body(self) -> ComposeResult:
        table = PagedTable(self.source, self.state.db, id="calls")
        table.border_title = self.title_text
        yield table
        yield Static(id="preview")

    def load(self, initial: bool) -> None:
        if not initial:
            self.query_one(PagedTable).reload()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = store.get_outcome(self.state.db, str(event.row_key.value))
        text = "" if row is None else f"{row['status']}: {row['explanation']}"
        self.query_one("#preview", Static).update(Content(text))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(DetailScreen(self.state.db_path, event.row_key.value))


def missing_screen(state: AppState) -> CallsScreen:
    return CallsScreen(state, title="Calls missing BizibleId (escalate to the vendor)",
                       statuses=MISSING, columns=MISSING_COLUMNS)


def unmatched_screen(state: AppState) -> CallsScreen:
    return CallsScreen(state, title="Unmatched calls (a 'Salesforce Task' touchpoint, no web data)",
                       statuses=UNMATCHED, columns=UNMATCHED_COLUMNS)
