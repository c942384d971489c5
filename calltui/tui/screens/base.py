"""The base of the app's main screens: header, body, busy bar, footer, and reload on change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from calltui.tui.state import AppState
from calltui.tui.widgets import BusyBar

__all__ = ["DataScreen"]


class DataScreen(Screen[None]):
    """A main screen; reloads when the data changed (``state.generation``) while it was away."""

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self._generation = state.generation
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_body()
        yield BusyBar()
        yield Footer(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        self._mounted = True
        self.watch(self.app, "busy", self._show_busy)
        self.load(initial=True)

    def on_screen_resume(self) -> None:
        if self._mounted and self._generation != self.state.generation:
            self.reload()

    def reload(self) -> None:
        """Re-read the screen's data from the database."""
        self._generation = self.state.generation
        self.load(initial=False)

    def load(self, initial: bool) -> None:
        """Read the screen's data (subclasses); PagedTables load themselves when ``initial``."""

    def _show_busy(self, text: str) -> None:
        self.query_one(BusyBar).show(text)
