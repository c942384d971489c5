"""A list screen: a filter line, a paged table sorted in SQL, detail on Enter, CSV export.

Keys: ``/`` filter, ``s`` sort by the next column, ``S`` reverse the sort,
``e`` export the current view (filter and sort) to CSV, Enter the detail.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlite_utils import Database
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input
from textual.worker import get_current_worker

from calltui import store
from calltui.store import ListFilter
from calltui.tui.filters import CALL_KEYS, FilterError, parse_filter
from calltui.tui.screens.base import DataScreen
from calltui.tui.screens.detail import DetailScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import Column, PagedTable, PageSource, Row
from calltui.tui.workers import call_app, one_line

__all__ = ["EXPORT_PAGE", "FilterInput", "ListScreen", "export_rows"]

EXPORT_PAGE = 2000


class FilterInput(Input):
    """The filter line; Escape goes back to the list, Enter applies."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to list", show=False),
    ]

    def action_leave(self) -> None:
        self.screen.query_one(PagedTable).focus()


def export_rows(db: Database, source: PageSource, path: Path,
                should_stop: Any = lambda: False) -> int:
    """Write every row of ``source`` (as shown: labels and cell text) to ``path``."""
    done = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.label for c in source.columns])
        last: Row | None = None
        while True:
            rows = source.fetch(db, last, done, EXPORT_PAGE)
            writer.writerows([c.value(r) for c in source.columns] for r in rows)
            done += len(rows)
            if len(rows) < EXPORT_PAGE or should_stop():
                return done
            last = rows[-1]


class ListScreen(DataScreen):
    """A filtered, sorted, paged list; subclasses give the columns and the SQL."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("e", "export", "Export"),
    ]
    TABLE_ID = "list"
    FILTER_KEYS: tuple[str, ...] = CALL_KEYS
    FILTER_HINT = "/ filter: status: flag: from:2026-01-01 to: channel: type: vendor: or words"
    export_name = "list"

    def __init__(self, state: AppState, *, title: str, columns: Sequence[Column]) -> None:
        super().__init__(state)
        self.title_text = title
        self.columns = tuple(columns)
        self.filter = ListFilter()
        self.filter_text = ""
        self.sort: str | None = None
        """The sort column (stored name); None is the list's natural order."""
        self.descending = False
        self.source = PageSource(self.columns, self._fetch, self._count, self.row_key)

    # -- what subclasses give ---------------------------------------------------------

    def fetch(self, db: Database, f: ListFilter, sort: str | None, descending: bool,
              last: Row | None, limit: int) -> list[Row]:
        raise NotImplementedError

    def count(self, db: Database, f: ListFilter) -> int:
        raise NotImplementedError

    def row_key(self, row: Row) -> str:
        raise NotImplementedError

    def detail_task(self, key: str) -> str | None:
        """The Task Id whose detail Enter opens for the row ``key`` (None: no detail)."""
        return key

    # -- the screen ---------------------------------------------------------------------

    def _fetch(self, db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
        return self.fetch(db, self.filter, self.sort, self.descending, last, limit)

    def _count(self, db: Database) -> int:
        return self.count(db, self.filter)

    def compose_body(self) -> ComposeResult:
        yield FilterInput(placeholder=self.FILTER_HINT, id="filter", compact=True)
        table = PagedTable(self.source, self.state.db, db_path=self.state.db_path,
                           id=self.TABLE_ID)
        self._set_title(table)
        yield table
        yield from self.compose_extra()

    def compose_extra(self) -> ComposeResult:
        yield from ()

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    def load(self, initial: bool) -> None:
        if not initial:
            self.table.reload()

    def _set_title(self, table: PagedTable) -> None:
        parts = [self.title_text]
        if self.sort:
            label = next(c.label for c in self.columns if c.sort == self.sort)
            parts.append(f"sorted by {label} {'↓' if self.descending else '↑'}")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        table.border_title = " · ".join(parts)

    def action_filter(self) -> None:
        self.query_one(FilterInput).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, text: str) -> bool:
        """Show the rows the filter line asks for; False (and a notice) when it is wrong."""
        try:
            parsed = parse_filter(text, self.FILTER_KEYS)
        except FilterError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return False
        self.filter, self.filter_text = parsed, text.strip()
        self.query_one(FilterInput).value = text
        table = self.table
        self._set_title(table)
        table.reload(keep=False)
        table.focus()
        return True

    def sortable(self) -> list[str]:
        return [c.sort for c in self.columns if c.sort]

    def sort_by(self, column: str | None, descending: bool = False) -> None:
        """Sort by a stored column (in SQL); the cursor stays on the same record."""
        self.sort, self.descending = column, descending
        table = self.table
        self._set_title(table)
        table.reload(follow=True)

    def action_sort(self) -> None:
        keys = self.sortable()
        if not keys:
            self.notify("This list has one order.", severity="warning")
            return
        at = keys.index(self.sort) + 1 if self.sort in keys else 0
        self.sort_by(keys[at % len(keys)] if at < len(keys) else None)

    def action_reverse(self) -> None:
        if self.sortable():
            self.sort_by(self.sort or self.sortable()[0], not self.descending)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        task = self.detail_task(str(event.row_key.value))
        if task:
            self.app.push_screen(DetailScreen(self.state.db_path, task))
        else:
            self.notify("No call to show for this row.", severity="warning")

    def action_export(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = Path.cwd() / f"calltui-{self.export_name}-{stamp}.csv"
        self.notify(f"Exporting to {path.name}…")
        f, sort, descending = self.filter, self.sort, self.descending  # this view, frozen

        def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
            return self.fetch(db, f, sort, descending, last, limit)

        view = PageSource(self.columns, fetch, lambda db: self.count(db, f), self.row_key)
        self.export(self.app, view, path)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, app: App[Any], view: PageSource, path: Path) -> None:
        worker = get_current_worker()
        try:
            db = store.open_db(self.state.db_path)
            try:
                n = export_rows(db, view, path, lambda: worker.is_cancelled)
            finally:
                db.close()
        except Exception as exc:  # one line, never a crash
            call_app(app, app.notify, f"export failed: {one_line(exc)}", severity="error",
                     markup=False)
            return
        call_app(app, app.notify, f"Exported {n:,} rows to {path}", markup=False)
