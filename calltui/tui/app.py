"""The Textual app: modes for the five main screens, and the re-match worker. Thin by design."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import get_current_worker

from calltui import store
from calltui.config import Config
from calltui.match import MatchSummary, run_match
from calltui.tui.screens import (
    DataScreen,
    LogScreen,
    OverviewScreen,
    TouchpointsScreen,
    missing_screen,
    unmatched_screen,
)
from calltui.tui.state import AppState
from calltui.tui.workers import call_app, one_line

__all__ = ["CalltuiApp", "run_app"]

SCREENS: tuple[tuple[str, str, str], ...] = (
    ("1", "overview", "Overview"),
    ("2", "missing", "Missing BizibleId"),
    ("3", "unmatched", "Unmatched calls"),
    ("4", "touchpoints", "Touchpoints"),
    ("5", "log", "Sync & import log"),
)
"""Key, mode name and title of each main screen."""


class CalltuiApp(App[None]):
    """calltui: every call that did not become the touchpoint you expected, why, and the fix."""

    TITLE = "calltui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        *(Binding(key, f"switch_mode('{mode}')", title) for key, mode, title in SCREENS),
        Binding("r", "rematch", "Re-run match"),
        Binding("q", "quit", "Quit"),
    ]

    busy: reactive[str] = reactive("")
    """What long work is running ("" when idle); every main screen shows it."""

    def __init__(self, db_path: Path, config: Config | None = None) -> None:
        super().__init__()
        self.state = AppState(store.open_db(db_path), Path(db_path), config or Config())
        factories: dict[str, Callable[[AppState], Screen[None]]] = {
            "overview": OverviewScreen, "missing": missing_screen,
            "unmatched": unmatched_screen, "touchpoints": TouchpointsScreen, "log": LogScreen,
        }
        for mode, factory in factories.items():
            self.add_mode(mode, partial(factory, self.state))

    def on_mount(self) -> None:
        self.sub_title = str(self.state.db_path)
        self.switch_mode("overview")

    def on_unmount(self) -> None:
        self.state.db.close()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, mode, title in SCREENS:
            yield SystemCommand(f"Show {title}", f"Switch to the {title} screen (key {key})",
                                lambda mode=mode: self.switch_mode(mode))
        yield SystemCommand("Re-run match", "Apply the rules again to everything stored (r)",
                            self.action_rematch)

    def action_rematch(self) -> None:
        """Re-run the match in a thread worker, then refresh the screens."""
        if self.busy:
            self.notify(f"Busy: {self.busy}", severity="warning")
            return
        self.busy = "Re-running the match…"
        self.rematch()

    @work(thread=True, exclusive=True, group="match", exit_on_error=False)
    def rematch(self) -> None:
        worker = get_current_worker()
        try:
            db = store.open_db(self.state.db_path)
            try:
                summary = run_match(db, self.state.config.match)
            finally:
                db.close()
        except Exception as exc:  # one line for the user, never a crash
            call_app(self, self.work_failed, f"match failed: {one_line(exc)}")
            return
        if not worker.is_cancelled:
            call_app(self, self.match_done, summary)

    def match_done(self, summary: MatchSummary) -> None:
        """Main thread: new outcomes are stored; reload what is on screen."""
        self.busy = ""
        self.data_changed()
        matched = summary.by_status.get("matched", 0)
        live = summary.calls - summary.by_status.get("deleted", 0)
        self.notify(f"Matched {matched:,} of {live:,} calls (not counting deleted Tasks); "
                    f"{summary.touchpoints:,} touchpoints")

    def work_failed(self, message: str) -> None:
        self.busy = ""
        self.notify(message, severity="error", markup=False)

    def data_changed(self) -> None:
        """Bump the data generation and reload the screens of the current mode."""
        self.state.generation += 1
        for screen in self.screen_stack:
            if isinstance(screen, DataScreen):
                screen.reload()


def run_app(db_path: Path, config: Config) -> None:
    """Open the app on ``db_path`` (the entry point of ``calltui tui``)."""
    CalltuiApp(db_path, config).run()
