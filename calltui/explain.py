"""Plain-English explanations of an outcome, each naming the fix."""

from __future__ import annotations

from calltui.models import Flag, MatchOptions, Outcome, SessionRef, Status
from calltui.normalize import format_ts

__all__ = ["explain", "human_gap"]


def human_gap(seconds: float) -> str:
    """``2876`` -> ``47 min 56 s``; ``90061`` -> ``1 d 1 h 1 min 1 s``."""
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    whole = int(rest)
    millis = round((rest - whole) * 1000)
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if whole >= size:
            parts.append(f"{whole // size} {unit}")
            whole %= size
    if whole or millis or not parts:
        parts.append(f"{whole}.{millis:03d} s" if millis else f"{whole} s")
    return sign + " ".join(parts)


def _at(ref: SessionRef) -> str:
    return f"session {ref.session_id} started {format_ts(ref.started_at)}"


def explain(outcome: Outcome, options: MatchOptions = MatchOptions()) -> str:
    """One paragraph: what happened to this call, why, and what to do."""
    text = _STATUS_TEXT[outcome.status](outcome, options)
    notes = [
        _FLAG_TEXT[f].format(field=outcome.call.call_at_field)
        for f in outcome.flags
        if f in _FLAG_TEXT
    ]
    return " ".join([text, *notes])


def _matched(o: Outcome, options: MatchOptions) -> str:
    assert o.compared is not None
    return (
        f"Merged with web {_at(o.compared)}: the call came {human_gap(o.compared.gap_seconds)} "
        f"later, inside the {options.window_minutes:g}-minute window. Marketo Measure makes a "
        f"call touchpoint with the session's web data (channel {o.channel or 'none'})."
    )


def _outside(o: Outcome, options: MatchOptions) -> str:
    assert o.compared is not None
    return (
        f"Not merged: the cookie's latest earlier web {_at(o.compared)}, "
        f"{human_gap(o.compared.gap_seconds)} before the call, more than the "
        f"{options.window_minutes:g}-minute window, so Marketo Measure makes a 'Salesforce Task' "
        "touchpoint without channel, campaign or landing page. If the call really came sooner, "
        "check which time the vendor writes: the Buyer Touchpoint Date should hold the call's "
        "start, not when the Task was written."
    )


def _before(o: Outcome, options: MatchOptions) -> str:
    assert o.compared is not None
    return (
        f"Not merged: every web session of this cookie starts after the call (the first, "
        f"{_at(o.compared)}, is {human_gap(-o.compared.gap_seconds)} later). A call cannot merge "
        "with a later session. This is often a time-zone error: check that the vendor writes "
        "the call time in UTC (Salesforce datetimes are UTC; a local time without an offset "
        "shifts the call by hours)."
    )


def _unknown(o: Outcome, options: MatchOptions) -> str:
    return (
        f"Not merged: no web session has cookie {o.call.bizible_id}. Marketo Measure makes a "
        "'Salesforce Task' touchpoint without web data. Check that the session export covers "
        "the call's date, and that the vendor reads the _biz_uid cookie of the same domain "
        "where bizible.js runs (cross-domain visits get another cookie)."
    )


def _missing(o: Outcome, options: MatchOptions) -> str:
    raw = o.call.bizible_id_raw
    what = f"holds the placeholder {raw.strip()!r}" if raw and raw.strip() else "is empty"
    return (
        f"No touchpoint: the Task's BizibleId {what}, so Marketo Measure cannot tie the call "
        "to a visitor. Escalate to the call-tracking vendor: their script must read the "
        "_biz_uid cookie after bizible.js has set it and write it on the Task (check script "
        "order, consent mode and ad blockers)."
    )


def _deleted(o: Outcome, options: MatchOptions) -> str:
    return (
        "No touchpoint: the Task is deleted in Salesforce. Nothing to fix unless it was "
        "deleted by mistake; restore it from the Recycle Bin and Marketo Measure picks it up."
    )


_STATUS_TEXT = {
    Status.MATCHED: _matched,
    Status.OUTSIDE_WINDOW: _outside,
    Status.CALL_BEFORE_SESSION: _before,
    Status.UNKNOWN_BIZIBLE_ID: _unknown,
    Status.MISSING_BIZIBLE_ID: _missing,
    Status.DELETED: _deleted,
}

_FLAG_TEXT = {
    Flag.TYPE_BLANK: (
        "Task.Type is blank, so the touchpoint's type is 'Web Visit': have the vendor (or a "
        "Salesforce flow) populate Task.Type, e.g. 'Call'."
    ),
    Flag.MALFORMED_BIZIBLE_ID: (
        "The BizibleId is not 32 hex characters, so it cannot equal a real _biz_uid cookie: "
        "ask the vendor what their script writes."
    ),
    Flag.DUPLICATE_CALL: (
        "Another call Task with the same BizibleId is within 2 minutes of this one: the vendor "
        "may log one call twice (e.g. legacy mode plus a trigger), which doubles touchpoints."
    ),
    Flag.NO_PERSON: (
        "The Task has no WhoId (Lead or Contact), so Marketo Measure cannot attach a touchpoint "
        "to a person: have the vendor relate the Task to the caller's Lead or Contact."
    ),
    Flag.CALL_TIME_FALLBACK: (
        "The preferred call-time field is empty, so the call time comes from {field}; ask the "
        "vendor to fill the Buyer Touchpoint Date with the call's start time."
    ),
}
