"""Sync & import log: recent syncs and imports, and the rejected rows with file, line and
reason. The line under the tables shows the highlighted row's whole error or reason, which
a column cuts off however wide the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from sqlite_utils import Database
from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Static

from calltui import store
from calltui.tui.format import cell, short_ts
from calltui.tui.screens.base import DataScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import Column, PagedTable, PageSource, Row

__all__ = ["LogScreen", "reject_source", "run_detail"]


# Status and the counts first: at 120 columns the status sat past the window columns,
# 200 presses of Right away; the long Error column comes last.
SYNC_COLUMNS = ("Id", "Started (UTC)", "Status", "Mode", "Upserted", "Deleted", "Rejected",
                "API calls", "Finished", "Window from", "Window to", "Usage before",
                "Usage after", "Error")
IMPORT_COLUMNS = ("Id", "File", "Kind", "Started (UTC)", "Status", "Read", "Stored",
                  "Rejected", "Finished", "Error")
STATUS_STYLES = {"failed": "red", "refused": "red", "interrupted": "yellow",
                 "cancelled": "yellow", "stopped": "yellow"}
REJECT_COLUMNS = (
    Column("File", lambda r: Path(r["file"]).name),
    Column("Line", lambda r: str(r["line"])),
    Column("Kind", lambda r: r["kind"]),
    Column("Column", lambda r: r.get("column") or ""),
    Column("Reason", lambda r: r["reason"]),
)


def _cells(values: tuple[Any, ...], status_at: int) -> list[Text]:
    """A run's row as plain text, its status coloured when it did not end well."""
    cells = [Text(cell(v)) for v in values]
    cells[status_at].stylize(STATUS_STYLES.get(str(values[status_at]), ""))
    return cells


DETAIL_HINT = "↑ ↓ on a sync, import or rejected row shows its whole error or reason here."


def run_detail(what: str, row: dict[str, Any]) -> str:
    """A sync or import run in one line, with the whole of its error."""
    name = f" {row['file']}" if what == "Import" else f" ({row['mode']})"
    error = row["error"] or "no error"
    return f"{what} {row['id']}{name}, {row['status']}: {error}"


def reject_detail(values: tuple[str, ...]) -> str:
    """A rejected row in one line, with the whole of its reason."""
    file, line, kind, column, reason = values
    at = f", column {column}" if column else ""
    return f"Rejected {kind} row, {file} line {line}{at}: {reason}"


def reject_source() -> PageSource:
    """Rejected rows by file and line (offset paging: the store pages them by offset)."""
    def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
        return store.page_rejects(db, limit=limit, offset=offset)

    def count(db: Database) -> int:
        return store.count_rows(db, "rejects")

    return PageSource(REJECT_COLUMNS, fetch, count,
                      key=lambda r: f"{r['file']}\0{r['line']}\0{r['kind']}")


class LogScreen(DataScreen):
    """What each sync and import read, stored and rejected, and why rows were rejected."""

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self._runs: dict[str, dict[str, dict[str, Any]]] = {"syncs": {}, "imports": {}}
        """The rows of the sync and import tables by key, for the detail line."""

    def compose_body(self) -> ComposeResult:
        syncs: DataTable[Text] = DataTable(id="syncs", cursor_type="row", zebra_stripes=True)
        syncs.border_title = "Salesforce syncs (latest 200)"
        yield syncs
        imports: DataTable[Text] = DataTable(id="imports", cursor_type="row", zebra_stripes=True)
        imports.border_title = "Imports (latest 200)"
        yield imports
        rejects = PagedTable(reject_source(), self.state.db, db_path=self.state.db_path,
                             id="rejects")
        rejects.border_title = "Rejected rows"
        yield rejects
        yield Static(DETAIL_HINT, id="log-detail")

    def on_mount(self) -> None:
        self.query_one("#imports", DataTable).add_columns(*IMPORT_COLUMNS)
        self.query_one("#syncs", DataTable).add_columns(*SYNC_COLUMNS)
        super().on_mount()

    def load(self, initial: bool) -> None:
        self._load_syncs()
        table = self.query_one("#imports", DataTable)
        table.clear()
        self._runs["imports"] = {str(row["id"]): row for row in store.recent_imports(self.state.db)}
        for row in self._runs["imports"].values():
            values = (row["id"], row["file"], row["kind"], short_ts(row["started_at"]),
                      row["status"], row["rows_read"], row["rows_stored"],
                      row["rows_rejected"], short_ts(row["finished_at"]), row["error"])
            table.add_row(*_cells(values, status_at=4), key=str(row["id"]))
        if not initial:
            self.query_one("#rejects", PagedTable).reload()
        self._show_detail()

    def _load_syncs(self) -> None:
        table = self.query_one("#syncs", DataTable)
        table.clear()
        self._runs["syncs"] = {str(row["id"]): row for row in store.recent_syncs(self.state.db)}
        for row in self._runs["syncs"].values():
            values = (row["id"], short_ts(row["started_at"]), row["status"], row["mode"],
                      row["rows_upserted"], row["rows_deleted"], row["rows_rejected"],
                      row["api_calls"], short_ts(row["finished_at"]),
                      short_ts(row["window_start"]), short_ts(row["window_end"]),
                      row["usage_before"], row["usage_after"], row["error"])
            table.add_row(*_cells(values, status_at=2), key=str(row["id"]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.has_focus:
            self._show_detail()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The focused table's highlighted row, whole, in the line under the tables."""
        self.query_one("#log-detail", Static).update(Content(self.detail_text()))

    def detail_text(self) -> str:
        table = self.focused
        if not isinstance(table, DataTable) or not table.row_count:
            return DETAIL_HINT
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        if isinstance(table, PagedTable):
            return reject_detail(table.values(key))
        what = "Sync" if table.id == "syncs" else "Import"
        return run_detail(what, self._runs[str(table.id)][key])
