"""``calltui report channels``: calls by channel × status, and the match rate by ISO week.

A call's channel is the channel of the web session the rule compared it with: the
merged session for ``matched``, the latest earlier session for ``outside_window``, the
earliest later one for ``call_before_session``. So a marketer sees which channels bring
calls, and which channels' calls lose their web data. Calls the rule compared with no
session (unknown or missing BizibleId, deleted) are under ``(no session)``; a session
without a channel is under ``(no channel)``.

Every call is in exactly one row of each table, so the sums equal ``report calls``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlite_utils import Database

from calltui import store
from calltui.match import match_rate
from calltui.models import Status

__all__ = ["NO_CHANNEL", "NO_SESSION", "ChannelReport", "channel_report"]

NO_SESSION = "(no session)"
NO_CHANNEL = "(no channel)"
STATUSES = tuple(s.value for s in Status)
CHANNEL_COLUMNS = ("channel", *STATUSES, "calls", "match_rate")
WEEK_COLUMNS = ("week", "calls", "deleted", "matched", "match_rate")


@dataclass
class ChannelReport:
    channels: list[dict[str, Any]]
    weeks: list[dict[str, Any]]
    totals: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"channels": self.channels, "weeks": self.weeks, "totals": self.totals}


def _rate(counts: Counter[str]) -> float | None:
    """The match rate of calltui.match, rounded for reports."""
    rate = match_rate(counts)
    return None if rate is None else round(rate, 4)


def _row(key: str, value: str, counts: Counter[str]) -> dict[str, Any]:
    calls = sum(counts.values())
    return {key: value, **{s: counts[s] for s in STATUSES}, "calls": calls,
            "match_rate": _rate(counts)}


def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def channel_report(db: Database, vendor: str | None = None) -> ChannelReport:
    """The two tables; ``vendor`` filters on the stored attribution (refresh first)."""
    join, where, params = "", "", []
    if vendor is not None:
        join = " LEFT JOIN task_vendors v ON v.task_id = o.task_id"
        where = " WHERE COALESCE(v.vendor, 'unknown') = ?"
        params = [vendor]
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    for row in store.iter_query(db, (
            "SELECT CASE WHEN o.compared_session_id IS NULL THEN ? "
            "ELSE COALESCE(NULLIF(trim(s.channel), ''), ?) END AS channel, o.status, "
            "COUNT(*) AS n FROM call_outcomes o "
            f"LEFT JOIN sessions s ON s.id = o.compared_session_id{join}{where} "
            "GROUP BY 1, 2"), [NO_SESSION, NO_CHANNEL, *params]):
        by_channel[row["channel"]][row["status"]] += row["n"]
    by_week: dict[str, Counter[str]] = defaultdict(Counter)
    for row in store.iter_query(db, (
            "SELECT substr(o.call_at, 1, 10) AS day, o.status, COUNT(*) AS n "
            f"FROM call_outcomes o{join}{where} GROUP BY 1, 2"), params):
        by_week[_week(row["day"])][row["status"]] += row["n"]
    channels = sorted((_row("channel", name, counts) for name, counts in by_channel.items()),
                      key=lambda r: (r["channel"].startswith("("), -r["calls"], r["channel"]))
    weeks = []
    for week in sorted(by_week):
        counts = by_week[week]
        calls = sum(counts.values())
        weeks.append({"week": week, "calls": calls, "deleted": counts[Status.DELETED],
                      "matched": counts[Status.MATCHED],
                      "match_rate": _rate(counts)})
    total: Counter[str] = Counter()
    for counts in by_channel.values():
        total.update(counts)
    return ChannelReport(channels, weeks, _row("channel", "total", total))
