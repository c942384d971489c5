"""A DataTable that pages its rows from SQLite, one page at a time, keyed by record id.

The table never holds more than the pages the user has scrolled through: it loads
one page on mount and the next when the cursor nears the last loaded row (or on
PageDown / End there). ``reload`` re-reads as many rows as were loaded, without
DuplicateKey, and keeps the cursor on the same record when it is still there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from sqlite_utils import Database
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

__all__ = ["Column", "PageSource", "PagedTable", "Row"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One column: its label and how a stored row becomes the cell's text."""

    label: str
    value: Callable[[Row], str]


@dataclass(frozen=True)
class PageSource:
    """Where a PagedTable's rows come from.

    ``fetch(db, last, offset, limit)`` returns up to ``limit`` rows after ``last``
    (the last row already loaded, ``None`` for the first page; ``offset`` is the
    number of rows loaded, for sources without a keyset). ``key`` names a row
    uniquely (a Task Id for calls).
    """

    columns: Sequence[Column]
    fetch: Callable[[Database, Row | None, int, int], list[Row]]
    count: Callable[[Database], int]
    key: Callable[[Row], str]


class PagedTable(DataTable[Text]):
    """A row-cursor DataTable over a ``PageSource``; its border subtitle reads "N of TOTAL"."""

    NEAR_END = 10
    """Load the next page when the cursor is this close to the last loaded row."""

    def __init__(
        self, source: PageSource, db: Database, *, page_size: int = 200,
        id: str | None = None, classes: str | None = None,  # noqa: A002 (Textual's name)
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id, classes=classes)
        self.source = source
        self.db = db
        self.page_size = page_size
        self.total = 0
        """Rows the source has (counted at the last reload)."""
        self._last: Row | None = None
        self._exhausted = False

    @property
    def loaded(self) -> int:
        """Rows held by the table now."""
        return self.row_count

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def on_mount(self) -> None:
        for column in self.source.columns:
            self.add_column(column.label)
        self.reload()

    def reload(self) -> None:
        """Re-read from the first row as many rows as were loaded; keep the cursor's record."""
        keep_key, keep_row = self.current_key, self.cursor_row
        want = max(self.page_size, self.row_count)
        self.clear()
        self._last, self._exhausted = None, False
        self.total = self.source.count(self.db)
        self._append(self.source.fetch(self.db, None, 0, want), want)
        if keep_key is not None:
            with suppress(RowDoesNotExist):
                keep_row = self.get_row_index(keep_key)
        if self.row_count:
            self.move_cursor(row=min(keep_row, self.row_count - 1), animate=False)
        self._show_count()

    def load_more(self) -> bool:
        """Load the next page; False when there is none."""
        if self._exhausted:
            return False
        before = self.row_count
        rows = self.source.fetch(self.db, self._last, before, self.page_size)
        self._append(rows, self.page_size)
        self._show_count()
        return self.row_count > before

    def _append(self, rows: list[Row], limit: int) -> None:
        for row in rows:
            key = self.source.key(row)
            if key in self.rows:  # a record that moved between pages: never DuplicateKey
                continue
            self.add_row(*(Text(column.value(row)) for column in self.source.columns), key=key)
        if rows:
            self._last = rows[-1]
        if len(rows) < limit:
            self._exhausted = True

    def _show_count(self) -> None:
        self.total = max(self.total, self.row_count)
        more = "" if self._exhausted else " (↓ more)"
        self.border_subtitle = f"{self.row_count:,} of {self.total:,}{more}"

    def _near_end(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - self.NEAR_END:
            self.load_more()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self:
            self._near_end()

    def action_page_down(self) -> None:
        super().action_page_down()
        self._near_end()

    def action_scroll_bottom(self) -> None:
        super().action_scroll_bottom()
        self._near_end()
