"""Reusable widgets of the app."""

from calltui.tui.widgets.busy import BusyBar
from calltui.tui.widgets.paged_table import Column, PagedTable, PageSource, Row

__all__ = ["BusyBar", "Column", "PageSource", "PagedTable", "Row"]
