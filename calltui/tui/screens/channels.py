"""Channels (key 7): a chart of ``calltui report channels`` — calls by channel and status,
and the match rate by ISO week.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from calltui.channels import ChannelReport, channel_report
from calltui.models import Status
from calltui.tui.screens.base import DataScreen

__all__ = ["ChannelsScreen", "channel_chart", "week_chart"]

BAR = 40
"""Width, in cells, of the longest bar."""
SEGMENTS = (
    (Status.MATCHED, "green", "matched"),
    (Status.OUTSIDE_WINDOW, "yellow", "outside window"),
    (Status.CALL_BEFORE_SESSION, "magenta", "before session"),
    (Status.UNKNOWN_BIZIBLE_ID, "cyan", "unknown BizibleId"),
    (Status.MISSING_BIZIBLE_ID, "red", "missing BizibleId"),
    (Status.DELETED, "bright_black", "deleted"),
)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def channel_chart(report: ChannelReport, width: int = BAR) -> str:
    """Rich markup: one stacked bar per channel, scaled to the busiest channel."""
    if not report.channels:
        return "No calls yet: import or sync call Tasks, then press r to match."
    longest = max(row["calls"] for row in report.channels) or 1
    name_width = min(28, max(len(row["channel"]) for row in report.channels))
    lines = ["[b]Calls by channel[/b] (the channel of the session each call was compared "
             "with)", ""]
    for row in report.channels:
        bar = ""
        for status, colour, _ in SEGMENTS:
            cells = round(row[status] * width / longest)
            if cells:
                bar += f"[{colour}]{'█' * cells}[/]"
        rate = "" if row["match_rate"] is None else f"  {row['match_rate']:.0%} matched"
        name = row["channel"][:name_width].ljust(name_width)
        lines.append(f"{_escape(name)} {bar} {row['calls']:,}{rate}")
    lines += ["", "   ".join(f"[{colour}]█[/] {label}" for _, colour, label in SEGMENTS)]
    return "\n".join(lines)


def week_chart(report: ChannelReport, width: int = BAR) -> str:
    """Rich markup: the match rate of each ISO week as a bar (matched / calls not deleted)."""
    if not report.weeks:
        return ""
    lines = ["[b]Match rate by ISO week[/b]", ""]
    for row in report.weeks:
        rate = row["match_rate"]
        if rate is None:
            lines.append(f"{row['week']} {'':{width}} —  ({row['calls']:,} calls)")
            continue
        cells = round(rate * width)
        bar = f"[green]{'█' * cells}[/][bright_black]{'░' * (width - cells)}[/]"
        lines.append(f"{row['week']} {bar} {rate:6.1%}  ({row['matched']:,} of "
                     f"{row['calls'] - row['deleted']:,})")
    return "\n".join(lines)


class ChannelsScreen(DataScreen):
    """Which channels bring calls, which lose them, and how the match rate moves by week."""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="channels-body"):
            yield Static(id="channel-chart")
            yield Static(id="week-chart")

    def load(self, initial: bool) -> None:
        report = channel_report(self.state.db)
        self.query_one("#channel-chart", Static).update(channel_chart(report))
        self.query_one("#week-chart", Static).update("\n" + week_chart(report))
