"""The Textual app: one mode per main screen, and the sync, import and re-match workers.

Long work runs in one thread worker at a time (group ``work``) with its own
SQLite connection; progress comes back through ``call_from_thread`` and ``x``
cancels it between pages or batches. A failure is one readable notification.
"""

from __future__ import annotations

import gc
import os
import shlex
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label
from textual.worker import get_current_worker

from calltui import fixtype, store
from calltui.config import Config
from calltui.importer import FileRefused, FileStopped, import_file
from calltui.match import MatchSummary, live_calls, run_match
from calltui.sf.auth import AuthError
from calltui.sources.files import Cancelled
from calltui.sync import SyncOptions, options_from_config, run_sync
from calltui.tui.screens import (
    DataScreen,
    LogScreen,
    OverviewScreen,
    TouchpointsScreen,
    UnmatchedSessionsScreen,
    all_calls_screen,
    missing_screen,
    unmatched_screen,
)
from calltui.tui.screens.channels import ChannelsScreen
from calltui.tui.screens.confirm import QuitConfirm
from calltui.tui.screens.fixtype import FixTypeConfirm
from calltui.tui.screens.help import HelpScreen
from calltui.tui.state import AppState
from calltui.tui.widgets import BusyBar
from calltui.tui.workers import call_app, one_line

__all__ = ["SCREENS", "CalltuiApp", "Cancelled", "make_client", "run_app"]

SCREENS: tuple[tuple[str, str, str], ...] = (
    ("1", "overview", "Overview"),
    ("2", "missing", "Missing BizibleId"),
    ("3", "unmatched-calls", "Unmatched calls"),
    ("4", "unmatched-sessions", "Unmatched sessions"),
    ("5", "touchpoints", "Touchpoints"),
    ("6", "log", "Sync & import log"),
    ("7", "channels", "Channels"),
    ("8", "calls", "All calls"),
)
"""Key, mode name (also ``calltui tui --screen``) and title of each main screen."""

SCREEN_NAMES = tuple(mode for _, mode, _ in SCREENS)
WATCH_SECONDS = 2.0
"""How often the app looks whether another process changed the database."""
_SCREENS_GROUP = Binding.Group("Screens", compact=True)


def make_client(config: Config) -> Any:
    """A Salesforce client from the environment's credentials, as ``calltui sync`` logs in."""
    from calltui.sf.auth import credentials_from_env
    from calltui.sf.client import SalesforceClient
    from calltui.sf.keychain import with_keyring

    return SalesforceClient(credentials_from_env(with_keyring(os.environ), config.salesforce))


def sync_options(config: Config) -> SyncOptions:
    return options_from_config(config.salesforce, config.task_fields)


class PathPrompt(ModalScreen[list[Path] | None]):
    """Ask for the files to import; Enter imports, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt") as box:
            box.border_title = "Import files"
            box.border_subtitle = "Enter imports · Esc cancels"
            yield Label("Task exports or warehouse files (JSON, CSV, CSV.gz); "
                        "separate paths with spaces:")
            yield Input(placeholder="~/Downloads/tasks.json BIZ_SESSIONS.csv.gz", id="paths")
            yield Label("", id="prompt-error")  # what is wrong with the paths, in the dialog

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            words = shlex.split(event.value)
        except ValueError as exc:
            self._refuse(f"paths: {exc}")
            return
        paths = [Path(w).expanduser() for w in words]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            self._refuse(f"no such file: {missing[0]}; fix the path, or Esc to cancel")
            return
        self.dismiss(paths or None)

    def _refuse(self, message: str) -> None:
        self.query_one("#prompt-error", Label).update(Content(message))
        self.notify(message, severity="error", markup=False)


# A toast shows about three lines of this many characters and cuts the rest off.
TOAST_CHARS = 150


def toast_text(message: str, logged: bool) -> str:
    """``message`` cut to fit a toast, saying where the whole of it is when it is logged."""
    if len(message) <= TOAST_CHARS:
        return message
    cut = message.rfind(" ", 0, TOAST_CHARS)
    head = message[:cut if cut > 0 else TOAST_CHARS].rstrip(" ,;:")
    return head + ("… (all of it: Sync & import log, key 6)" if logged else "…")


class CalltuiApp(App[None]):
    """calltui: every call that did not become the touchpoint you expected, why, and the fix."""

    TITLE = "calltui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        *(Binding(key, f"switch_mode('{mode}')", title, group=_SCREENS_GROUP)
          for key, mode, title in SCREENS),
        Binding("y", "sync", "Sync"),
        Binding("i", "import_files", "Import"),
        Binding("r", "rematch", "Match"),
        Binding("t", "fix_type", "Fix types", show=False),
        Binding("x", "cancel_work", "Cancel", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    busy: reactive[str] = reactive("")
    """What long work is running ("" when idle); every main screen shows it."""

    def __init__(self, db_path: Path, config: Config | None = None,
                 screen: str = "overview") -> None:
        super().__init__()
        if screen not in SCREEN_NAMES:
            raise ValueError(f"no screen {screen!r}: use one of {', '.join(SCREEN_NAMES)}")
        self.first_screen = screen
        self.state = AppState(store.open_db(db_path), Path(db_path), config or Config())
        factories: dict[str, Callable[[AppState], Screen[None]]] = {
            "overview": OverviewScreen, "missing": missing_screen,
            "unmatched-calls": unmatched_screen, "unmatched-sessions": UnmatchedSessionsScreen,
            "touchpoints": TouchpointsScreen, "log": LogScreen, "channels": ChannelsScreen,
            "calls": all_calls_screen,
        }
        for mode, factory in factories.items():
            self.add_mode(mode, partial(factory, self.state))

    def on_mount(self) -> None:
        self.sub_title = str(self.state.db_path)
        self.switch_mode(self.first_screen)
        self.call_after_refresh(self._freeze_startup_objects)
        self._seen = (self._data_version(), store.finished_work(self.state.db))
        self.set_interval(WATCH_SECONDS, self.watch_database)

    def _data_version(self) -> int:
        return int(self.state.db.execute("PRAGMA data_version").fetchone()[0])

    def watch_database(self) -> None:
        """Reload when work another process ran on this database has ended (a `calltui
        sync`, `import` or `fix-type` in a terminal): the Overview went on showing the
        counts from before. ``data_version`` (free) says another connection wrote; the
        finished match, sync and import say whether it was more than a running sync's
        batch."""
        version = self._data_version()
        if self.busy or version == self._seen[0]:
            return
        finished = store.finished_work(self.state.db)
        if finished != self._seen[1]:
            self.data_changed()
        self._seen = (version, finished)

    def _freeze_startup_objects(self) -> None:
        """Keep the tens of thousands of objects made at start-up (widgets, styles, code)
        out of the garbage collector's full passes: each pass over them took 40-80 ms,
        a PageDown that happened to coincide missed the 50 ms repaint target."""
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()
        self.state.db.close()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, mode, title in SCREENS:
            yield SystemCommand(f"Show {title}", f"Switch to the {title} screen (key {key})",
                                lambda mode=mode: self.switch_mode(mode))
        yield SystemCommand("Sync from Salesforce", "Sync call Tasks, then re-match (y)",
                            self.action_sync)
        yield SystemCommand("Import files", "Import Task or warehouse files, then re-match (i)",
                            self.action_import_files)
        yield SystemCommand("Re-run match", "Apply the rules again to everything stored (r)",
                            self.action_rematch)
        yield SystemCommand("Fix blank Task types", "Write Type on call Tasks whose Type is "
                            "blank, after asking (t)", self.action_fix_type)
        yield SystemCommand("Cancel work", "Stop the running sync, import or export (x)",
                            self.action_cancel_work)
        yield SystemCommand("Help", "Every key and the filter line (?)", self.action_help)
        if hasattr(screen, "action_filter"):
            for title, action, help_text in (
                ("Filter this list", "action_filter", "Status, flag, dates, channel, type (/)"),
                ("Sort by the next column", "action_sort", "Empty values last (s)"),
                ("Reverse the sort", "action_reverse", "(S)"),
                ("Export this view to CSV", "action_export", "Filter and sort kept (e)"),
            ):
                yield SystemCommand(title, help_text, getattr(screen, action))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- long work ---------------------------------------------------------------------------

    def _start(self, text: str) -> bool:
        if self.busy:
            self.notify(f"Busy: {self.busy}", severity="warning")
            return False
        self.busy = text
        return True

    async def action_quit(self) -> None:
        """Quit; while a sync, import or match runs, ask first (q quit at once)."""
        if not self.busy:
            self.exit()
            return

        def chosen(quit_app: bool | None) -> None:
            if quit_app:
                self.workers.cancel_group(self, "work")
                self.exit()
        self.push_screen(QuitConfirm(self.busy), chosen)

    def action_cancel_work(self) -> None:
        if not self.busy:
            self.notify("Nothing is running.")
            return
        self.workers.cancel_group(self, "work")
        self.busy = ""
        self.notify("Cancelled; what was committed is kept.", severity="warning")

    def action_rematch(self) -> None:
        """Re-run the match in a thread worker, then refresh the screens."""
        if self._start("Re-running the match…"):
            self.rematch()

    def action_sync(self) -> None:
        if self._start("Syncing call Tasks from Salesforce…"):
            self.sync()

    def action_fix_type(self) -> None:
        """Confirm, then write Type on the call Tasks whose Type is blank (fix-type)."""
        blank = len(fixtype.plan(self.state.db))
        if not blank:
            self.notify("No call Task has a blank Type.")
            return
        backup = fixtype.default_backup(self.state.db_path)

        def chosen(value: str | None) -> None:
            if value and self._start(f"Setting Type = {value!r} on {blank:,} Task(s)…"):
                self.fix_types(value, backup)
        self.push_screen(FixTypeConfirm(blank, backup), chosen)

    def action_import_files(self) -> None:
        def chosen(paths: list[Path] | None) -> None:
            if paths and self._start(f"Importing {len(paths)} file(s)…"):
                self.import_files(paths)
        self.push_screen(PathPrompt(), chosen)

    def _progress(self, done: int, total: int | None) -> None:
        """Main thread: move the bar of every screen that shows one."""
        if not self.busy:
            return
        for bar in self.screen.query(BusyBar):
            bar.progress(done, total)

    def _reporter(self) -> Callable[[int, int], None]:
        """An ``on_progress`` for the core that reports progress and raises when cancelled."""
        worker = get_current_worker()

        def report(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise Cancelled()
            call_app(self, self._progress, done, total)
        return report

    def _match(self, db: Database) -> MatchSummary | None:
        call_app(self, self._progress, 0, None)
        if get_current_worker().is_cancelled:
            return None
        return run_match(db, self.state.config.match, self.state.config.vendor_rules)

    def _run(self, label: str, job: Callable[[Database], Any]) -> None:
        """Run ``job`` on a connection of this thread; report failure in one line."""
        worker = get_current_worker()
        try:
            db = store.open_db(self.state.db_path)
            try:
                result = job(db)
            finally:
                db.close()
        except Cancelled:
            call_app(self, self.data_changed)
            return
        except Exception as exc:  # one line for the user, never a crash
            if not worker.is_cancelled:
                logged = label == "sync"  # the sync log keeps every failed run, in full
                call_app(self, self.work_failed, f"{label} failed: {one_line(exc)}", logged)
            call_app(self, self.data_changed)
            return
        if worker.is_cancelled:  # finished anyway (a match is one transaction): show it
            call_app(self, self.data_changed)
        else:
            call_app(self, self.work_done, result)

    @work(thread=True, exclusive=True, group="work", exit_on_error=False)
    def rematch(self) -> None:
        config = self.state.config
        self._run("match", lambda db: run_match(db, config.match, config.vendor_rules))

    @work(thread=True, exclusive=True, group="work", exit_on_error=False)
    def sync(self) -> None:
        report = self._reporter()

        def job(db: Database) -> str:
            try:
                client = make_client(self.state.config)
            except AuthError as exc:  # in the log too, as `calltui sync` does: read it there
                store.log_failed_sync(db, "login", str(exc))
                raise
            result = run_sync(db, client, sync_options(self.state.config), on_progress=report)
            summary = self._match(db)
            text = result.summary()
            return text if summary is None else f"{text}. {self.match_text(summary)}"
        self._run("sync", job)

    @work(thread=True, exclusive=True, group="work", exit_on_error=False)
    def fix_types(self, value: str, backup: Path) -> None:
        def job(db: Database) -> str:
            client = make_client(self.state.config)
            ids = [row["id"] for row in fixtype.plan(db)]
            result = fixtype.apply_fix(client, db, ids, value, backup)
            self._match(db)
            refused = f", {len(result.failed):,} refused by Salesforce" if result.failed else ""
            return (f"Type set to {value!r} on {len(result.updated):,} Task(s){refused}; "
                    f"old values in {backup}")
        self._run("fix-type", job)

    @work(thread=True, exclusive=True, group="work", exit_on_error=False)
    def import_files(self, paths: list[Path]) -> None:
        report = self._reporter()

        def job(db: Database) -> str:
            lines, refused = [], []
            for path in paths:
                try:
                    r = import_file(db, path, fields=self.state.config.task_fields,
                                    on_progress=report)
                except Cancelled:
                    raise
                except FileStopped as exc:  # the rows before the stop are stored: matched
                    refused.append(one_line(exc))
                    r = exc.result
                except FileRefused as exc:
                    refused.append(one_line(exc))
                    continue
                lines.append(f"{path.name}: {r.stored:,} stored, {r.rejected:,} rejected")
            if refused:
                call_app(self, self.notify, f"import: {refused[0]}", severity="error",
                         markup=False)
            summary = self._match(db) if lines else None
            text = "; ".join(lines) or "Nothing imported"
            return text if summary is None else f"{text}. {self.match_text(summary)}"
        self._run("import", job)

    @staticmethod
    def match_text(summary: MatchSummary) -> str:
        matched = summary.by_status.get("matched", 0)
        live = live_calls(summary.by_status)
        return (f"Matched {matched:,} of {live:,} calls (not counting deleted Tasks); "
                f"{summary.touchpoints:,} touchpoints")

    def work_done(self, result: MatchSummary | str) -> None:
        """Main thread: new rows or outcomes are stored; reload what is on screen."""
        self.busy = ""
        self.data_changed()
        text = self.match_text(result) if isinstance(result, MatchSummary) else result
        self.notify(text, markup=False)

    def match_done(self, summary: MatchSummary) -> None:
        self.work_done(summary)

    def work_failed(self, message: str, logged: bool = False) -> None:
        self.busy = ""
        self.notify(toast_text(message, logged), severity="error", markup=False)

    def data_changed(self) -> None:
        """Bump the data generation and reload the screens of the current mode."""
        self._seen = (self._data_version(), store.finished_work(self.state.db))
        self.state.generation += 1
        for screen in self.screen_stack:
            if isinstance(screen, DataScreen):
                screen.reload()


def run_app(db_path: Path, config: Config, screen: str = "overview") -> None:
    """Open the app on ``db_path`` (the entry point of ``calltui tui``)."""
    CalltuiApp(db_path, config, screen).run()
