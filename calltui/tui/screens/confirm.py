"""Ask before quitting while work runs: what stops, and what is kept."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

__all__ = ["QuitConfirm"]


class QuitConfirm(ModalScreen[bool]):
    """``y`` quits (the work stops, what it committed is kept); ``n`` or Escape stays."""

    BINDINGS = [Binding("y", "answer(True)", "Quit"), Binding("n", "answer(False)", "Stay"),
                Binding("escape", "answer(False)", "Stay", show=False)]

    def __init__(self, busy: str) -> None:
        super().__init__()
        self.busy = busy

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt") as box:
            box.border_title = "Quit while work runs?"
            box.border_subtitle = "y quits · n or Esc stays"
            yield Label(f"{self.busy} Quitting stops it: what it has committed is kept, and "
                        "the next run goes on from there.", markup=False)

    def action_answer(self, quit_app: bool) -> None:
        self.dismiss(quit_app)
