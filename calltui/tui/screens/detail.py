"""The detail view of one call: status, flags, explanation, evidence and the cookie's timeline.

Its data is read in a thread worker with its own SQLite connection; a worker that
outlives the screen checks ``is_cancelled`` and touches nothing (field report 7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from calltui import reports, store
from calltui.normalize import parse_ts
from calltui.tui.format import cell, human_gap, short_ts
from calltui.tui.workers import call_app, one_line

__all__ = ["DetailScreen", "read_document"]

TIMELINE_LIMIT = 400
"""At most this many sessions and calls of the cookie are shown, centred on the call."""


def read_document(db_path: Path, task_id: str) -> dict[str, Any] | None:
    """The explain document of one call, read on this thread's own connection."""
    db = store.open_db(db_path)
    try:
        return reports.explain_document(db, task_id)
    finally:
        db.close()


def _session_line(label: str, near: dict[str, Any] | None, word: str) -> str:
    if near is None:
        return f"{label}: none"
    gap = human_gap(abs(near["gap_seconds"]))
    return f"{label}: {near['session_id']} started {short_ts(near['started_at'])} ({gap} {word})"


def evidence_text(doc: dict[str, Any]) -> str:
    """The evidence block: call time and field, BizibleId raw and normalised, sessions."""
    ev = doc["evidence"]
    tp = ev["touchpoint"]
    touch = "none" if tp is None else ", ".join(
        f"{k} {cell(v) or '—'}" for k, v in tp.items())
    compared = "none" if ev["compared_session_id"] is None else (
        f"{ev['compared_session_id']} (gap {human_gap(ev['gap_seconds'])})")
    lines = [
        f"Call time: {short_ts(ev['call_at'])} UTC, from {ev['call_at_field']}",
        f"BizibleId as stored: {_as_stored(ev['bizible_id_raw'])}",
        f"BizibleId normalised: {ev['bizible_id'] or 'missing'}",
        f"Task.Type: {_as_stored(ev['task_type'])}   WhoId: {ev['who_id'] or 'none'}",
        f"Compared session: {compared}",
        f"Window ends: {short_ts(ev['window_ends_at']) or '—'}",
        _session_line("Nearest session before", ev["nearest_before"], "before the call"),
        _session_line("Nearest session after", ev["nearest_after"], "after the call"),
        f"Touchpoint: {touch}",
    ]
    return "\n".join(lines)


def _as_stored(value: str | None) -> str:
    """A field as the Task holds it: quoted, so spaces show; (none) when it is empty."""
    return "(none)" if value is None else repr(value)


def timeline_rows(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """The cookie's sessions and calls in time order, with the gap to this call."""
    ev = doc["evidence"]
    call_at = parse_ts(ev["call_at"])
    events: list[tuple[str, str, tuple[str, ...]]] = []
    for s in ev["cookie_sessions"]:
        detail = " ".join(x for x in (cell(s["channel"]), cell(s["landing_page"])) if x)
        kind = "session (deleted)" if s["is_deleted"] else "session"
        events.append((s["started_at"], s["id"], (kind, s["id"], detail)))
    for c in ev["cookie_calls"]:
        kind = "▶ this call" if c["id"] == doc["task_id"] else "call"
        events.append((c["call_at"], c["id"], (kind, c["id"], f"{cell(c['type'])} {c['status']}")))
    events.sort()
    if len(events) > TIMELINE_LIMIT:  # a busy cookie: the events nearest this call
        here = next((i for i, e in enumerate(events) if e[1] == doc["task_id"]), 0)
        start = max(0, min(here - TIMELINE_LIMIT // 2, len(events) - TIMELINE_LIMIT))
        events = events[start : start + TIMELINE_LIMIT]
    rows: list[tuple[str, ...]] = []
    for at, _, (kind, ident, detail) in events:
        gap = (parse_ts(at) - call_at).total_seconds()
        when = "this call" if ident == doc["task_id"] else human_gap(gap)
        rows.append((short_ts(at), kind, ident, detail.strip(), when))
    return rows


class DetailScreen(ModalScreen[None]):
    """Why one call got its status, with the evidence; Escape closes."""

    BINDINGS = [("escape", "dismiss", "Close")]

    def __init__(self, db_path: Path, task_id: str) -> None:
        super().__init__()
        self.db_path = db_path
        self.task_id = task_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail") as box:
            box.border_title = f"Call {self.task_id}"
            box.border_subtitle = "Esc closes"
            yield Static(id="detail-head")
            yield Static(id="explanation")
            yield Static(id="evidence")
            yield Static("Cookie timeline (UTC; gap = event minus call time)", id="timeline-title")
            yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.add_columns("Time (UTC)", "What", "Id", "Detail", "Gap")
        self.query_one("#detail").loading = True
        self.load_detail(self.app)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load_detail(self, app: App[Any]) -> None:
        worker = get_current_worker()
        try:
            doc = read_document(self.db_path, self.task_id)
        except Exception as exc:  # shown to the user, never a crash
            if not worker.is_cancelled:
                call_app(app, app.notify, f"detail: {one_line(exc)}", severity="error",
                         markup=False)
            return
        if not worker.is_cancelled:
            call_app(app, self.show_document, doc)

    def show_document(self, doc: dict[str, Any] | None) -> None:
        """Fill the view (main thread); a screen already closed is left alone."""
        if not self.is_attached:
            return
        try:
            self.query_one("#detail").loading = False
            if doc is None:
                self.query_one("#explanation", Static).update(
                    Content(f"No outcome for {self.task_id}: press r to run the match."))
                return
            flags = ", ".join(doc["flags"]) or "none"
            self.query_one("#detail-head", Static).update(Content.from_markup(
                "[b]$status[/b]   flags: $flags", status=doc["status"], flags=flags))
            self.query_one("#explanation", Static).update(Content(doc["explanation"]))
            self.query_one("#evidence", Static).update(Content(evidence_text(doc)))
            table = self.query_one("#timeline", DataTable)
            table.clear()
            for row in timeline_rows(doc):
                table.add_row(*(Text(v) for v in row))
        except NoMatches:
            return
