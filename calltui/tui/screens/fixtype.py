"""Confirm ``fix-type`` from the app: how many Tasks, which value, where the backup goes."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

__all__ = ["FixTypeConfirm"]


class FixTypeConfirm(ModalScreen[str | None]):
    """Ask for the Type value; Enter writes it to Salesforce, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, blank: int, backup: Path) -> None:
        super().__init__()
        self.blank = blank
        self.backup = backup

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt") as box:
            box.border_title = "Fix blank Task types in Salesforce"
            box.border_subtitle = "Enter writes · Esc cancels"
            yield Label(f"{self.blank:,} call Task(s) have a blank Type, so their touchpoints "
                        "are typed 'Web Visit'. Set Type to:", markup=False)
            yield Input(value="Call", id="type-value")
            yield Label(f"The old values are saved first to {self.backup} "
                        "(undo: calltui fix-type --undo FILE).", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.notify("Type a value, e.g. Call", severity="error")
            return
        self.dismiss(value)
