"""A one-line bar that shows long work (sync, import, match) with a ProgressBar and cancel key."""

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
        yield Label("x cancels", id="busy-hint")

    def show(self, text: str) -> None:
        self.query_one("#busy-label", Label).update(text)
        self.set_class(bool(text), "-busy")
        if not text:
            self.progress(0, None)

    def progress(self, done: int, total: int | None) -> None:
        """Determinate when the total is known, else the bouncing bar."""
        self.query_one(ProgressBar).update(total=total or None, progress=done)
