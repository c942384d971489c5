"""The help screen (``?``): every key, the filter line and where files go."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HELP_TEXT", "HelpScreen"]

HELP_TEXT = """\
Screens    1 Overview   2 Missing BizibleId   3 Unmatched calls
           4 Unmatched sessions   5 Touchpoints   6 Sync & import log
           7 Channels   8 All calls
           (Enter on an Overview status or flag opens its calls)
Actions    y sync from Salesforce (SF_* variables or the keyring, as
             `calltui sync`)
           i import files (a path prompt; several paths, spaces between)
           r re-run the match
           x cancel the running sync, import or export
           t fix blank Task types in Salesforce (asks first; old values
             backed up)
Lists      ↑ ↓ PgUp PgDn Home End move; rows load as you go
           Enter   detail of the call (on sessions: the nearest call)
           /       filter line; Enter applies it (a wrong one stays red,
                   the reason under it), Esc puts back the one in force
           s       sort by the next column (empty values last),
                   S reverses
           e       export the current view (filter and sort) to CSV
Filter     status:outside_window  flag:type_blank  from:2026-01-01
           to:2026-01-31  channel:Paid  type:Call  vendor:CallRail
           and plain words: part of a Task Id, BizibleId or subject
           (session Id or cookie on Unmatched sessions; Task, session
           or person on Touchpoints, where type: is the touchpoint's)
Anywhere   ctrl+p command palette   ? this help   q quit
           Esc closes a window
"""


class HelpScreen(ModalScreen[None]):
    """Keys and the filter line; Escape or ? closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as box:
            box.border_title = "calltui keys"
            box.border_subtitle = "Esc closes"
            yield Static(Content(HELP_TEXT))
