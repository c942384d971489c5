"""A one-line bar that shows long work (a re-match) with an indeterminate ProgressBar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

__all__ = ["BusyBar"]


class BusyBar(Horizontal):
    """Hidden while idle; ``show(text)`` displays it, ``show("")`` hides it."""

    def compose(self) -> ComposeResult:
        yield Label("", id="busy-label")
        yield ProgressBar(total=None, show_eta=False, id="busy-progress")

    def show(self, text: str) -> None:
        self.query_one("#busy-label", Label).update(text)
        self.set_class(bool(text), "-busy")
