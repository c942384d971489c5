"""A DataTable that pages its rows from SQLite, one page at a time, keyed by record id.

The table never holds more than the pages the user has scrolled through: it loads
one page on mount and the next when the cursor nears the last loaded row (or on
PageDown / End there). ``reload`` re-reads as many rows as were loaded, without
DuplicateKey, and keeps the cursor on the same record when it is still there
(after a new sort it pages on until it finds it, up to ``FOLLOW_PAGES`` pages).
The total is counted by the database; with a ``db_path`` it is counted in a
thread worker on its own connection, so a slow count never holds up the rows.

Each row is drawn as one cell of fixed-width columns (widths from the first page,
at most ``MAX_WIDTH``): the stock table renders every cell through Rich, and six
cells a row made a PageDown cost 150 ms on a slow machine; one cell a row is the
difference between missing and meeting the 50 ms target. ``values(key)`` gives
a row's column texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from sqlite_utils import Database
from textual import work
from textual._segment_tools import line_crop
from textual.app import App
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist, RowKey
from textual.worker import get_current_worker

from calltui import store
from calltui.tui.workers import call_app

__all__ = ["Column", "PageSource", "PagedTable", "Row"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One column: its label, how a stored row becomes the cell's text, its sort key."""

    label: str
    value: Callable[[Row], str]
    sort: str | None = None
    """The stored column this one sorts by (None: not sortable)."""


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
    FOLLOW_PAGES = 25
    """After a re-sort, page on at most this far to keep the cursor's record."""
    MAX_WIDTH = 36
    """The widest a column gets; longer texts end with an ellipsis."""
    GAP = "  "

    def __init__(
        self, source: PageSource, db: Database, *, page_size: int = 100,
        db_path: Path | None = None,
        id: str | None = None, classes: str | None = None,  # noqa: A002 (Textual's name)
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id, classes=classes)
        self.source = source
        self.db = db
        self.db_path = db_path
        self.page_size = page_size
        self.total: int | None = 0
        """Rows the source has (counted at the last reload; None while counting)."""
        self._last: Row | None = None
        self._exhausted = False
        self._count_generation = 0
        self._values: dict[str, tuple[str, ...]] = {}
        self._widths: list[int] | None = None
        self._widths_unsized = False  # widths taken from the headers of an empty first page
        self._styles: dict[tuple[bool, ...], Style] = {}
        self._zebra: dict[int, Style] = {}
        self._strips: dict[tuple[Any, ...], Strip] = {}

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

    @property
    def exhausted(self) -> bool:
        """Every row of the source is loaded."""
        return self._exhausted

    def values(self, key: str) -> tuple[str, ...]:
        """The column texts of a loaded row (``KeyError`` if it is not loaded)."""
        return self._values[key]

    def values_at(self, index: int) -> tuple[str, ...]:
        key = self._row_locations.get_key(index)
        if key is None:
            raise IndexError(index)
        return self._values[str(key.value)]

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Every row is one line of known width: no Rich measuring of each new row."""
        if self._widths is not None:
            width = sum(self._widths) + len(self.GAP) * (len(self._widths) - 1)
            for column in self.columns.values():
                column.content_width = max(column.content_width, width)
        super()._update_dimensions(())

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A body line from the row's text, cached by what changes its look.

        The stock table keys its line caches by the cursor's coordinate, so every
        cursor move re-renders every visible row through several layers; here a
        row is re-rendered only when its own look (cursor, hover, zebra) changes.
        """
        width = self.size.width
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        index = self._row_locations.get(row_key)
        if index is None:  # the header
            return super()._render_line(y, x1, x2, base_style)
        cursor = self.show_cursor and self.cursor_type == "row" and index == self.cursor_row
        hover = (self._show_hover_cursor and self.cursor_type == "row"
                 and index == self.hover_row)
        key = (row_key, index, x1, x2, width, cursor, hover, base_style,
               self._pseudo_class_state)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        values = self._values.get(str(row_key.value))
        text = "" if values is None else self._line(values)
        extra = self._cursor_style(hover, cursor)
        zebra = self._zebra.get(index % 2)
        if zebra is None:
            zebra = self._zebra[index % 2] = self._get_row_style(index, base_style)
        style = (base_style + zebra + extra
                 + Style.from_meta({"row": index, "column": 0}))
        pad = " " * self.cell_padding
        cell_width = max(width, len(text) + 2 * len(pad))
        body = set_cell_size(pad + text + pad, cell_width)
        segments = line_crop([Segment(body, style)], x1, x2, cell_width)
        strip = Strip(segments).adjust_cell_length(width, base_style)
        if len(self._strips) > 4000:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def _cursor_style(self, hover: bool, cursor: bool) -> Style:
        """The cursor's and hover's style over a body cell, worked out once per look."""
        looks = (hover, cursor, self.show_cursor, self._show_hover_cursor)
        extra = self._styles.get(looks)
        if extra is None:
            component, post = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css")
            extra = self._styles[looks] = component + post
        return extra

    def _render_cell(
        self, row_index: int, column_index: int, base_style: Style, width: int,
        cursor: bool = False, hover: bool = False,
    ) -> list[list[Segment]]:
        """A body row straight to one segment (no Rich layout): the fast path of paging."""
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor,
                                        hover)
        key = self._row_locations.get_key(row_index)
        values = None if key is None else self._values.get(str(key.value))
        text = "" if values is None else self._line(values)
        extra = self._cursor_style(hover, cursor)
        style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        pad = " " * self.cell_padding
        body = set_cell_size(pad + text, max(0, width - len(pad))) + pad
        return [[Segment(set_cell_size(body, width), style + extra)]]

    def on_mount(self) -> None:
        self.reload()

    def _line(self, texts: Sequence[str]) -> str:
        assert self._widths is not None
        cells = []
        for text, width in zip(texts, self._widths, strict=True):
            cells.append(text.ljust(width) if len(text) <= width else text[: width - 1] + "…")
        return self.GAP.join(cells).rstrip()

    def _set_widths(self, rows: list[tuple[str, ...]]) -> None:
        labels = [c.label for c in self.source.columns]
        if self._widths is not None:  # the table was empty: its column is redrawn
            self.clear(columns=True)
            self._strips.clear()
        self._widths_unsized = not rows
        self._widths = [
            min(self.MAX_WIDTH, max([len(label), *(len(r[i]) for r in rows)]))
            for i, label in enumerate(labels)
        ]
        self.add_column(self._line(labels), key="row")

    def reload(self, *, follow: bool = False, keep: bool = True) -> None:
        """Re-read from the first row as many rows as were loaded; keep the cursor's record.

        ``follow``: the order changed, so page on until the record is found again.
        ``keep=False``: the rows changed (a new filter); start at the top.
        """
        keep_key, keep_row = (self.current_key, self.cursor_row) if keep else (None, 0)
        want = max(self.page_size, self.row_count) if keep and not follow else self.page_size
        self.clear()
        self._values.clear()
        self._styles.clear()
        self._zebra.clear()
        self._strips.clear()
        self._last, self._exhausted = None, False
        self._append(self.source.fetch(self.db, None, 0, want), want)
        if keep_key is not None:
            found = self._find(keep_key, follow)
            keep_row = found if found is not None else (0 if follow else keep_row)
        if self.row_count:
            self.move_cursor(row=min(keep_row, self.row_count - 1), animate=False)
        self._start_count()

    def _find(self, key: str, follow: bool) -> int | None:
        for _ in range(self.FOLLOW_PAGES if follow else 1):
            with suppress(RowDoesNotExist):
                return self.get_row_index(key)
            if not follow or not self._load_page():
                break
        return None

    def _start_count(self) -> None:
        self._count_generation += 1
        if self.db_path is None:
            self.total = self.source.count(self.db)
            self._show_count()
            return
        self.total = None
        self._show_count()
        self._count(self.app, self.db_path, self._count_generation)

    @work(thread=True, exclusive=True, group="count", exit_on_error=False)
    def _count(self, app: App[Any], db_path: Path, generation: int) -> None:
        worker = get_current_worker()
        try:
            db = store.open_db(db_path)
            db.execute("PRAGMA cache_size = -4096")  # a count scans; 4 MB of pages will do
            try:
                total = self.source.count(db)
            finally:
                db.close()
        except Exception:  # a count that fails leaves "…"; the rows are still there
            return
        if not worker.is_cancelled:
            call_app(app, self._counted, generation, total)

    def _counted(self, generation: int, total: int) -> None:
        if generation == self._count_generation and self.is_attached:
            self.total = total
            self._show_count()

    def load_more(self) -> bool:
        """Load the next page; False when there is none."""
        grew = self._load_page()
        self._show_count()
        return grew

    def _load_page(self) -> bool:
        if self._exhausted:
            return False
        before = self.row_count
        self._append(self.source.fetch(self.db, self._last, before, self.page_size),
                     self.page_size)
        return self.row_count > before

    def _append(self, rows: list[Row], limit: int) -> None:
        texts = [tuple(column.value(row) for column in self.source.columns) for row in rows]
        if self._widths is None or (self._widths_unsized and texts and not self.row_count):
            self._set_widths(texts)  # widths from rows; an empty first page gave headers
        for row, values in zip(rows, texts, strict=True):
            key = self.source.key(row)
            if key in self._values:  # a record that moved between pages: never DuplicateKey
                continue
            self._values[key] = values
            self.add_row(Text(self._line(values), no_wrap=True, overflow="ellipsis"), key=key)
        if rows:
            self._last = rows[-1]
        if len(rows) < limit:
            self._exhausted = True

    def _show_count(self) -> None:
        if self.total is not None:
            self.total = max(self.total, self.row_count) if not self._exhausted else (
                self.row_count)
        total = "…" if self.total is None else f"{self.total:,}"
        more = "" if self._exhausted else " (↓ more)"
        self.border_subtitle = f"{self.row_count:,} of {total}{more}"

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
