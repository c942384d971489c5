"""A list screen: a filter line, a paged table sorted in SQL, detail on Enter, CSV export.

Keys: ``/`` filter, ``s`` sort by the next column, ``S`` reverse the sort,
``e`` export the current view (filter and sort) to CSV, Enter the detail.

The filter line and the list never disagree unseen: a line that Enter could not apply
keeps its text for editing, marked red with the reason under it; a line left without
Enter says it is not applied; Esc puts back the filter in force; and export refuses
while the line says something else than the list shows.
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
from textual.content import Content
from textual.widgets import DataTable, Input, Static
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
    """The filter line; Enter applies, Escape puts back the filter in force and goes back
    to the list. Checked only on Enter (the screen marks it ``-invalid``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to list", show=False),
    ]

    def __init__(self, placeholder: str) -> None:
        super().__init__(placeholder=placeholder, id="filter", compact=True, validate_on=())

    def action_leave(self) -> None:
        screen = self.screen
        if isinstance(screen, ListScreen):
            screen.revert_filter_line()


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
        """The filter in force, as typed (stripped)."""
        self.filter_error: str | None = None
        """Why Enter could not apply the line's text (None: it could, or no Enter yet)."""
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
        yield FilterInput(self.FILTER_HINT)
        yield Static(id="filter-note")  # why the line is not the filter in force
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
            self.rows_changed()

    def rows_changed(self) -> None:
        """The rows were read again (a reload or a new filter); subclasses follow."""

    def _view_parts(self) -> list[str]:
        """The sort and the filter in force, as the title and the export name them."""
        parts = []
        if self.sort:
            label = next(c.label for c in self.columns if c.sort == self.sort)
            parts.append(f"sorted by {label} {'↓' if self.descending else '↑'}")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        return parts

    def _set_title(self, table: PagedTable) -> None:
        table.border_title = " · ".join([self.title_text, *self._view_parts()])

    def in_force(self) -> str:
        """What the list shows, in words: its filter, or every row."""
        return f"its filter '{self.filter_text}'" if self.filter_text else "every row (no filter)"

    def action_filter(self) -> None:
        self.query_one(FilterInput).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show_filter_state()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        self.show_filter_state()

    def apply_filter(self, text: str) -> bool:
        """Show the rows the filter line asks for; False (and the reason, in red under the
        line, which keeps the text for editing) when it is wrong."""
        line = self.query_one(FilterInput)
        try:
            parsed = parse_filter(text, self.FILTER_KEYS)
        except FilterError as exc:
            self.filter_error = str(exc)
            line.value = text
            self.show_filter_state()
            self.notify(str(exc), severity="error", markup=False)
            return False
        self.filter, self.filter_text, self.filter_error = parsed, text.strip(), None
        line.value = text
        self.show_filter_state()
        table = self.table
        self._set_title(table)
        table.reload(keep=False)
        self.rows_changed()
        table.focus()
        return True

    def revert_filter_line(self) -> None:
        """Esc: the line shows the filter in force again; back to the list."""
        self.filter_error = None
        self.query_one(FilterInput).value = self.filter_text
        self.show_filter_state()
        self.table.focus()

    def line_applied(self) -> bool:
        """Whether the filter line says what the list shows."""
        return self.query_one(FilterInput).value.strip() == self.filter_text

    def filter_problem(self) -> str | None:
        """Why the filter line is not what the list shows (None when it is, or while
        the line is being typed in and no Enter has failed)."""
        if self.line_applied():
            return None
        shows = f"The list shows {self.in_force()}"
        if self.filter_error is not None:
            return (f"Not applied: {self.filter_error}. {shows}; fix and press Enter, "
                    "or Esc to put it back.")
        if self.query_one(FilterInput).has_focus:
            return None
        return f"Not applied (no Enter yet). {shows}; Enter applies the line, Esc puts it back."

    def show_filter_state(self) -> None:
        """Mark the line red with the reason under it, or say it is not applied, or
        hide the note when the line is the filter in force."""
        if self.line_applied():
            self.filter_error = None
        problem = self.filter_problem()
        self.query_one(FilterInput).set_class(self.filter_error is not None, "-invalid")
        note = self.query_one("#filter-note", Static)
        note.update(Content(problem or ""))
        note.set_class(problem is not None, "-shown")
        note.set_class(self.filter_error is not None, "-error")

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
        if not self.line_applied():
            self.notify(f"Nothing exported: the filter line is not applied; the list shows "
                        f"{self.in_force()}. Enter on the line applies it, Esc puts it back.",
                        severity="warning", markup=False)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = Path.cwd() / f"calltui-{self.export_name}-{stamp}.csv"
        what = "; ".join(self._view_parts()) or "no filter"
        self.notify(f"Exporting ({what}) to {path.name}…", markup=False)
        f, sort, descending = self.filter, self.sort, self.descending  # this view, frozen

        def fetch(db: Database, last: Row | None, offset: int, limit: int) -> list[Row]:
            return self.fetch(db, f, sort, descending, last, limit)

        view = PageSource(self.columns, fetch, lambda db: self.count(db, f), self.row_key)
        self.export(self.app, view, path, what)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, app: App[Any], view: PageSource, path: Path, what: str) -> None:
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
        call_app(app, app.notify, f"Exported {n:,} rows ({what}) to {path}", markup=False)
