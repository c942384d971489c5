"""Overview: counts per status and flag, match rate, last import and match, calls by channel."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from calltui import store
from calltui.match import live_calls, match_rate
from calltui.models import Flag, Status
from calltui.tui.format import short_ts
from calltui.tui.screens.base import DataScreen
from calltui.tui.screens.lists import ListScreen

__all__ = ["STATUS_MODE", "OverviewScreen", "match_rate", "row_target"]

STATUS_MODE = {
    Status.MATCHED: "calls",
    Status.OUTSIDE_WINDOW: "unmatched-calls",
    Status.CALL_BEFORE_SESSION: "unmatched-calls",
    Status.UNKNOWN_BIZIBLE_ID: "unmatched-calls",
    Status.MISSING_BIZIBLE_ID: "missing",
    Status.DELETED: "calls",
}
"""Enter on a status row opens the screen listing those calls (a flag row: All calls)."""


def row_target(table_id: str | None, name: str) -> tuple[str, str] | None:
    """The screen (mode) and filter line that Enter on an Overview row opens, if any."""
    if table_id == "by-status" and name in STATUS_MODE:
        return STATUS_MODE[Status(name)], f"status:{name}"
    if table_id == "by-flag" and name in {f.value for f in Flag}:
        return "calls", f"flag:{name}"
    return None


def _last_import(row: dict[str, Any] | None) -> str:
    if row is None:
        return "never"
    when = short_ts(row["finished_at"] or row["started_at"])
    what = f"{row['kind']}, " if row["kind"] else ""  # a refused file is of no known kind
    return (f"{row['file']} ({what}{row['status']}, {row['rows_stored']} stored, "
            f"{row['rows_rejected']} rejected) at {when} UTC")


def _last_sync(row: dict[str, Any] | None) -> str:
    if row is None:
        return "never (calltui sync)"
    when = short_ts(row["finished_at"] or row["started_at"])
    return (f"{when} UTC, {row['mode']}, {row['status']}, {row['rows_upserted']} upserted, "
            f"{row['api_calls']} API calls")


def _last_match(row: dict[str, Any] | None) -> str:
    if row is None:
        return "never: press r to run the match"
    return (f"{short_ts(row['finished_at'] or row['started_at'])} UTC, {row['calls']} calls, "
            f"window {row['window_minutes']:g} min from {row['anchor']}")


class OverviewScreen(DataScreen):
    """What went right and wrong, at a glance."""

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        with Horizontal(id="overview-tables"):
            with Vertical(id="overview-left"):
                yield DataTable(id="by-status", cursor_type="row")
                yield DataTable(id="by-flag", cursor_type="row")
            yield DataTable(id="by-channel", cursor_type="row")

    def on_mount(self) -> None:
        for table_id, first in (("by-status", "Status"), ("by-flag", "Flag"),
                                ("by-channel", "Channel (call touchpoints)")):
            table = self.query_one(f"#{table_id}", DataTable)
            table.add_column(first, key="name")
            table.add_column("Calls", key="n")
        super().on_mount()

    def load(self, initial: bool) -> None:
        db = self.state.db
        by_status = store.counts_by_status(db)
        self._fill("by-status", [(s.value, by_status.get(s, 0)) for s in Status])
        by_flag = store.counts_by_flag(db)
        self._fill("by-flag", [(f.value, by_flag.get(f, 0)) for f in Flag])
        self._fill("by-channel", list(store.counts_by_channel(db).items()))
        rate = match_rate(by_status)
        live = live_calls(by_status)
        matched = by_status.get(Status.MATCHED, 0)
        rate_text = "—" if rate is None else f"{rate:.1%} ({matched:,} of {live:,})"
        self.query_one("#summary", Static).update(Content.from_markup(
            "[b]Calls[/b] $calls   [b]Match rate[/b] $rate   [b]Tasks[/b] $tasks   "
            "[b]Sessions[/b] $sessions   [b]Rejected rows[/b] $rejects\n"
            "[b]Last sync[/b] $sync\n[b]Last import[/b] $imp\n"
            "[b]Last match[/b] $match",
            calls=f"{sum(by_status.values()):,}", rate=rate_text,
            tasks=f"{store.count_rows(db, 'tasks'):,}",
            sessions=f"{store.count_rows(db, 'sessions'):,}",
            rejects=f"{store.count_rows(db, 'rejects'):,}",
            sync=_last_sync(next(iter(store.recent_syncs(db, 1)), None)),
            imp=_last_import(store.last_import(db)), match=_last_match(store.last_match(db)),
        ))

    def _fill(self, table_id: str, rows: list[tuple[str, int]]) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        keep = table.cursor_row
        table.clear()
        for name, n in rows:
            table.add_row(Text(name), f"{n:,}", key=name)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        target = row_target(event.data_table.id, str(event.row_key.value))
        if target is None:
            return
        mode, filter_line = target
        await self.app.switch_mode(mode)
        screen = self.app.screen
        if isinstance(screen, ListScreen):
            screen.apply_filter(filter_line)  # those calls only, whatever filter was left

