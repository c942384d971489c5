"""SPEC §1 rules 1–7: which session, if any, a call Task merges with, and what it becomes.

Pure functions over ``models``; no database, no I/O. ``match_calls`` is the
whole rule; the helpers are small enough to read one at a time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from calltui.models import (
    Call,
    Flag,
    MatchOptions,
    Outcome,
    SessionRef,
    Status,
    WebSession,
)
from calltui.normalize import BizibleState, is_blank

__all__ = ["SALESFORCE_TASK_SOURCE", "WEB_VISIT", "duplicate_calls", "match_call", "match_calls"]

WEB_VISIT = "Web Visit"
SALESFORCE_TASK_SOURCE = "Salesforce Task"


def match_calls(
    calls: Sequence[Call],
    sessions_by_cookie: Mapping[str, Sequence[WebSession]],
    options: MatchOptions = MatchOptions(),
) -> list[Outcome]:
    """Apply the rules to every call.

    ``sessions_by_cookie`` holds the non-deleted sessions of each cookie sorted
    by (start, session ID).
    """
    duplicates = duplicate_calls(calls, options.duplicate_seconds)
    return [
        match_call(call, sessions_by_cookie.get(call.bizible_id or "", ()), options,
                   call.task_id in duplicates)
        for call in calls
    ]


def match_call(
    call: Call,
    sessions: Sequence[WebSession],
    options: MatchOptions = MatchOptions(),
    duplicate: bool = False,
) -> Outcome:
    """The outcome of one call against its cookie's sessions (sorted by start, then ID)."""
    flags = _flags(call, duplicate)
    if call.is_deleted:
        return Outcome(call, Status.DELETED, flags)
    if call.bizible_id is None:
        return Outcome(call, Status.MISSING_BIZIBLE_ID, flags)
    before, after = _neighbours(call.call_at, sessions)
    before_ref = _ref(call.call_at, before)
    after_ref = _ref(call.call_at, after)
    evidence = {"before": before_ref, "after": after_ref}
    if before is not None:
        window_end = _window_end(before, options)
        if call.call_at <= window_end:
            return _merged(call, flags, before, before_ref, window_end, evidence)
        return _task_touch(call, Status.OUTSIDE_WINDOW, flags, before_ref, evidence, window_end)
    if after is not None:
        return _task_touch(call, Status.CALL_BEFORE_SESSION, flags, after_ref, evidence)
    return _task_touch(call, Status.UNKNOWN_BIZIBLE_ID, flags, None, evidence)


def _flags(call: Call, duplicate: bool) -> tuple[Flag, ...]:
    flags = set()
    if is_blank(call.task_type):
        flags.add(Flag.TYPE_BLANK)
    if call.bizible_state is BizibleState.PLACEHOLDER:
        flags.add(Flag.PLACEHOLDER_BIZIBLE_ID)
    if call.bizible_state is BizibleState.MALFORMED:
        flags.add(Flag.MALFORMED_BIZIBLE_ID)
    if duplicate:
        flags.add(Flag.DUPLICATE_CALL)
    if is_blank(call.who_id):
        flags.add(Flag.NO_PERSON)
    if call.call_time_fallback:
        flags.add(Flag.CALL_TIME_FALLBACK)
    return tuple(sorted(flags))


def _neighbours(
    at: datetime, sessions: Sequence[WebSession]
) -> tuple[WebSession | None, WebSession | None]:
    """The latest session started at or before ``at`` and the earliest after it.

    Equal start times go to the smaller session ID (rule 3): the list is sorted
    by (start, ID), so we step back to the first of the latest start.
    """
    starts = [s.started_at for s in sessions]
    index = bisect_right(starts, at)
    before = None
    if index > 0:
        first = bisect_right(starts, starts[index - 1] - timedelta(microseconds=1))
        before = sessions[first]
    after = sessions[index] if index < len(sessions) else None
    return before, after


def _ref(at: datetime, session: WebSession | None) -> SessionRef | None:
    if session is None:
        return None
    gap = (at - session.started_at).total_seconds()
    return SessionRef(session.session_id, session.started_at, round(gap, 3))


def _window_end(session: WebSession, options: MatchOptions) -> datetime:
    """The last instant a call merges with ``session`` (inclusive bound, rule 2)."""
    anchor = session.started_at
    if options.anchor == "activity" and session.last_activity_at is not None:
        anchor = max(anchor, session.last_activity_at)
    return anchor + timedelta(minutes=options.window_minutes)


def _touchpoint_type(call: Call) -> str:
    """Rule 5: Task.Type, or Web Visit when it is blank."""
    return WEB_VISIT if is_blank(call.task_type) else str(call.task_type)


def _merged(
    call: Call, flags: tuple[Flag, ...], session: WebSession, ref: SessionRef | None,
    window_end: datetime, evidence: dict[str, SessionRef | None],
) -> Outcome:
    """Rule 4: a call touchpoint with the session's web data."""
    medium = session.medium if is_blank(call.task_type) else call.task_type
    return Outcome(
        call, Status.MATCHED, flags, session=session, compared=ref,
        before=evidence["before"], after=evidence["after"], window_ends_at=window_end,
        touchpoint_type=_touchpoint_type(call), medium=medium, channel=session.channel,
        source=session.source, campaign=session.campaign,
    )


def _task_touch(
    call: Call, status: Status, flags: tuple[Flag, ...], compared: SessionRef | None,
    evidence: dict[str, SessionRef | None], window_end: datetime | None = None,
) -> Outcome:
    """Rule 6: a Salesforce Task touchpoint without web data."""
    return Outcome(
        call, status, flags, compared=compared, before=evidence["before"],
        after=evidence["after"], window_ends_at=window_end,
        touchpoint_type=_touchpoint_type(call),
        medium=None if is_blank(call.task_type) else call.task_type,
        channel=None, source=SALESFORCE_TASK_SOURCE,
    )


def duplicate_calls(calls: Sequence[Call], within_seconds: float = 120.0) -> set[str]:
    """Task IDs of non-deleted calls with the same BizibleId at most ``within_seconds`` apart."""
    by_cookie: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        if call.bizible_id is not None and not call.is_deleted:
            by_cookie[call.bizible_id].append(call)
    limit = timedelta(seconds=within_seconds)
    found: set[str] = set()
    for group in by_cookie.values():
        group.sort(key=lambda c: c.call_at)
        for earlier, later in zip(group, group[1:], strict=False):
            if later.call_at - earlier.call_at <= limit:
                found.update((earlier.task_id, later.task_id))
    return found
