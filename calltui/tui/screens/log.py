"""Sync & import log: recent import runs, and the rejected rows with file, line and reason."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from sqlite_utils import Database
from textual.app import ComposeResult
from textual.widgets import DataTable

from calltui import store
from calltui.tui.format import cell, short_ts
from calltui.tui.screens.base import DataScreen
from calltui.tui.widgets import Column, PagedTable, PageSource, Row

__all__ = ["LogScreen", "reject_source"]

SYNC_COLUMNS = ("Id", "Started (UTC)", "Finished", "Mode", "Window from", "Window to",
                "Upserted", "Deleted", "Rejected", "API calls", "Usage before", "Usage after",
                "Status", "Error")
IMPORT_COLUMNS = ("Id", "File", "Kind", "Started (UTC)", "Finished", "Read", "Stored",
                  "Rejected", "Status", "Error")
REJECT_COLUMNS = (
    Column("File", lambda r: Path(r["file"]).name),
    Column("Line", lambda r: str(r["line"])),
    Column("Kind", lambda r: r["kind"]),
    Column("Column", lambda r: r.get("column") or ""),
    Column("Reason", lambda r: r["reason"]),
)


def reject_source() -> PageSource:
    """Rejected rows by file and line (offset paging: the store pages them by offset)."""
    def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
        return store.page_rejects(db, limit=limit, offset=offset)

    def count(db: Database) -> int:
        return store.count_rows(db, "rejects")

    return PageSource(REJECT_COLUMNS, fetch, count,
                      key=lambda r: f"{r['file']}\0{r['line']}\0{r['kind']}")


class LogScreen(DataScreen):
    """What each import read, stored and rejected, and why rows were rejected."""

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

    def on_mount(self) -> None:
        self.query_one("#imports", DataTable).add_columns(*IMPORT_COLUMNS)
        self.query_one("#syncs", DataTable).add_columns(*SYNC_COLUMNS)
        super().on_mount()

    def load(self, initial: bool) -> None:
        self._load_syncs()
        table = self.query_one("#imports", DataTable)
        table.clear()
        for row in store.recent_imports(self.state.db):
            values = (row["id"], row["file"], row["kind"], short_ts(row["started_at"]),
                      short_ts(row["finished_at"]), row["rows_read"], row["rows_stored"],
                      row["rows_rejected"], row["status"], row["error"])
            table.add_row(*(Text(cell(v)) for v in values), key=str(row["id"]))
        if not initial:
            self.query_one("#rejects", PagedTable).reload()

    def _load_syncs(self) -> None:
        table = self.query_one("#syncs", DataTable)
        table.clear()
        for row in store.recent_syncs(self.state.db):
            values = (row["id"], short_ts(row["started_at"]), short_ts(row["finished_at"]),
                      row["mode"], short_ts(row["window_start"]), short_ts(row["window_end"]),
                      row["rows_upserted"], row["rows_deleted"], row["rows_rejected"],
                      row["api_calls"], row["usage_before"], row["usage_after"], row["status"],
                      row["error"])
            table.add_row(*(Text(cell(v)) for v in values), key=str(row["id"]))
