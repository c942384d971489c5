"""The things the rules reason about: calls, web sessions, outcomes and touchpoints.

Plain frozen dataclasses with timezone-aware UTC datetimes; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from calltui.normalize import BizibleState

__all__ = [
    "Call",
    "Flag",
    "FormSubmit",
    "MatchOptions",
    "Outcome",
    "SessionRef",
    "Status",
    "Touchpoint",
    "WebSession",
]


class Status(StrEnum):
    """One per call (SPEC §4)."""

    MATCHED = "matched"
    OUTSIDE_WINDOW = "outside_window"
    CALL_BEFORE_SESSION = "call_before_session"
    UNKNOWN_BIZIBLE_ID = "unknown_bizible_id"
    MISSING_BIZIBLE_ID = "missing_bizible_id"
    DELETED = "deleted"


class Flag(StrEnum):
    """Zero or more per call (SPEC §4)."""

    TYPE_BLANK = "type_blank"
    PLACEHOLDER_BIZIBLE_ID = "placeholder_bizible_id"
    MALFORMED_BIZIBLE_ID = "malformed_bizible_id"
    DUPLICATE_CALL = "duplicate_call"
    NO_PERSON = "no_person"
    CALL_TIME_FALLBACK = "call_time_fallback"


@dataclass(frozen=True)
class MatchOptions:
    """The ``[match]`` section of the config."""

    window_minutes: float = 30.0
    anchor: Literal["start", "activity"] = "start"
    duplicate_seconds: float = 120.0


# The longest merge window calltui replays: a week. Marketo Measure's is 30 minutes;
# what-if windows of hours or days make sense, longer ones do not (and one of 1e300
# minutes is past any date).
MAX_WINDOW_MINUTES = 7 * 24 * 60


def window_problem(value: object) -> str | None:
    """Why ``value`` is no merge window in minutes, or None when it is one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of minutes, not {value!r}"
    if not 0 < value <= MAX_WINDOW_MINUTES:  # NaN too
        return (f"must be more than 0 and at most {MAX_WINDOW_MINUTES:,} minutes (a week), "
                f"not {value:g}")
    return None


@dataclass(frozen=True)
class Call:
    """A call Task as the rules see it."""

    task_id: str
    call_at: datetime
    bizible_id: str | None
    bizible_state: BizibleState
    bizible_id_raw: str | None = None
    task_type: str | None = None
    who_id: str | None = None
    is_deleted: bool = False
    call_at_field: str = "bizible2__Bizible_Touchpoint_Date__c"
    call_time_fallback: bool = False


@dataclass(frozen=True)
class WebSession:
    """A Marketo Measure web session (a ``BIZ_SESSIONS`` row)."""

    session_id: str
    cookie_id: str
    started_at: datetime
    last_activity_at: datetime | None = None
    channel: str | None = None
    medium: str | None = None
    source: str | None = None
    campaign: str | None = None
    landing_page: str | None = None
    referrer_page: str | None = None


@dataclass(frozen=True)
class FormSubmit:
    """A web form fill (a ``BIZ_FORM_SUBMITS`` row)."""

    form_id: str
    cookie_id: str
    session_id: str
    submitted_at: datetime


@dataclass(frozen=True)
class SessionRef:
    """Evidence: a session near the call and how far the call is from its start."""

    session_id: str
    started_at: datetime
    gap_seconds: float


@dataclass(frozen=True)
class Outcome:
    """What the rule made of one call."""

    call: Call
    status: Status
    flags: tuple[Flag, ...] = ()
    session: WebSession | None = None
    compared: SessionRef | None = None
    before: SessionRef | None = None
    after: SessionRef | None = None
    window_ends_at: datetime | None = None
    touchpoint_type: str | None = None
    medium: str | None = None
    channel: str | None = None
    source: str | None = None
    campaign: str | None = None


TouchKind = Literal["call_session", "call_task", "web_form", "first_visit"]


@dataclass
class Touchpoint:
    """A touch in a person's journey (SPEC §5)."""

    touchpoint_id: str
    kind: TouchKind
    person_key: str
    touchpoint_date: datetime
    touchpoint_type: str | None
    task_id: str | None = None
    session_id: str | None = None
    medium: str | None = None
    channel: str | None = None
    source: str | None = None
    campaign: str | None = None
    landing_page: str | None = None
    referrer_page: str | None = None
    position: str | None = None
    u_shaped_credit: float = 0.0
