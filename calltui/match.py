"""``calltui match``: load calls and sessions from the store, apply the rules, store the outcomes.

The glue between ``store`` (rows) and ``rules``/``journeys`` (models).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from calltui import store, vendors
from calltui.explain import explain
from calltui.journeys import build_touchpoints
from calltui.models import (
    Call,
    FormSubmit,
    MatchOptions,
    Outcome,
    SessionRef,
    Status,
    Touchpoint,
    WebSession,
)
from calltui.normalize import BizibleState, format_ts, parse_ts
from calltui.rules import match_calls
from calltui.vendors import Rule

__all__ = ["Change", "MatchSummary", "live_calls", "load_inputs", "match_rate", "options_key",
           "batches", "run_match", "save_outcomes", "summarize", "what_if"]


@dataclass
class MatchSummary:
    """Counts of one match run (over every stored call, however many were recomputed)."""

    calls: int
    by_status: dict[str, int]
    touchpoints: int
    mode: str = "full"
    recomputed: int = 0


# Bump when a change to rules, journeys or explanations changes what is stored, so the
# next match after an upgrade is a full one.
RULES_VERSION = 1
# An incremental match that would recompute more than this share of the calls runs full.
FULL_MATCH_SHARE = 0.5
# Cookies and people per batch of a full match (a few calls each): enough to amortise the
# queries, few enough that memory stays flat.
BATCH_KEYS = 5_000


def options_key(options: MatchOptions) -> str:
    """What outcomes depend on besides the data: an incremental match needs it unchanged."""
    return json.dumps({"rules": RULES_VERSION, **dataclasses.asdict(options)}, sort_keys=True)


def live_calls(by_status: Mapping[str, int]) -> int:
    """Calls that are not deleted: the match rate's denominator everywhere."""
    return sum(by_status.values()) - by_status.get(Status.DELETED, 0)


def match_rate(by_status: Mapping[str, int]) -> float | None:
    """Matched calls over calls that are not deleted; None when there are none."""
    live = live_calls(by_status)
    return by_status.get(Status.MATCHED, 0) / live if live else None


@dataclass
class Inputs:
    """Everything the rules read, loaded from the store once."""

    calls: list[Call]
    sessions_by_cookie: dict[str, list[WebSession]]
    sessions_by_id: dict[str, WebSession]
    forms: dict[str, list[FormSubmit]]


@dataclass(frozen=True)
class Change:
    """A call whose status would change under other options."""

    task_id: str
    call_at: str
    before: str | None
    after: str


def run_match(db: Database, options: MatchOptions = MatchOptions(),
              vendor_rules: Sequence[Rule] | None = None, *, full: bool = False) -> MatchSummary:
    """Apply the rules and store the outcomes and touchpoints.

    Only the calls and people touched since the last match are recomputed (SQLite
    triggers note them), unless ``full`` or the options changed, or most calls
    were touched anyway; the result is the same as a full match's. A full match
    works through the calls a batch of closed groups at a time (``batches``), so
    memory stays flat however many calls there are; the results are staged and
    written in one short transaction at the end. With ``vendor_rules`` (the
    config's ``[vendors]``), each call's vendor is brought up to date too, so
    every screen and filter can rely on it.
    """
    started = store.now_ts()
    changes = store.pending_changes(db)
    scoped, recomputed = _incremental_scope(db, options, changes, full)
    store.start_staging(db)
    by_status: Counter[str] = Counter({s.value: 0 for s in Status})
    touchpoints = 0
    for _ in [None] if scoped else batches(db, BATCH_KEYS):
        inputs = load_inputs(db, options)
        outcomes = match_calls(inputs.calls, inputs.sessions_by_cookie, options)
        touches = build_touchpoints(outcomes, inputs.sessions_by_cookie, inputs.forms,
                                    inputs.sessions_by_id)
        _stage(db, options, outcomes, touches)
        by_status.update(o.status.value for o in outcomes)
        touchpoints += len(touches)
    computed = sum(by_status.values())
    _commit(db, options, started, changes.upto, scoped, computed)
    if vendor_rules is not None:
        vendors.refresh(db, vendor_rules)
    if not scoped:
        return MatchSummary(computed, dict(by_status), touchpoints, "full", computed)
    stored = {s.value: 0 for s in Status} | store.counts_by_status(db)
    return MatchSummary(sum(stored.values()), stored,
                        store.count_rows(db, "touchpoints"), "incremental", recomputed)


def _incremental_scope(db: Database, options: MatchOptions, changes: store.Changes,
                       full: bool) -> tuple[bool, int]:
    """Whether this match can be incremental, and how many calls it then recomputes."""
    last = store.last_match(db)
    if (full or changes.everything or last is None
            or last.get("options") != options_key(options)):
        return False, 0
    changed = store.count_changed_tasks(db, changes.upto)
    calls = store.count_rows(db, "call_outcomes") + changed  # at most
    if changed > calls * FULL_MATCH_SHARE:
        return False, 0  # most calls touched (a big import): no need to read which
    recomputed = store.set_scope(db, store.with_keys(db, changes))
    if recomputed > calls * FULL_MATCH_SHARE:
        return False, 0  # reading everything in one pass is cheaper
    return True, recomputed


def batches(db: Database, size: int) -> Iterator[None]:
    """Set the store's scope to one batch of calls after another, covering every call.

    A call's outcome depends on the other calls and the sessions of its cookie, a
    person's journey on all their calls and cookies: so cookies and WhoIds are
    split into the connected groups of the graph cookie -- call -- WhoId
    (union-find over the distinct pairs), and whole groups are put together until
    a batch holds about ``size`` cookies and people.
    """
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        top = node
        while (up := parent.setdefault(top, top)) != top:
            top = up
        while node != top:
            parent[node], node = top, parent[node]
        return top

    for cookie, who in store.call_links(db):
        nodes = [n for n in ("c" + cookie if cookie else "", "p" + who if who else "") if n]
        a, b = root(nodes[0]), root(nodes[-1])
        if a != b:
            parent[a] = b
    groups: dict[str, list[str]] = defaultdict(list)
    for node in list(parent):
        groups[root(node)].append(node)
    parent.clear()
    batch: list[str] = []
    for members in groups.values():
        batch.extend(members)
        if len(batch) >= size:
            store.fill_scope(db, *_split(batch))
            yield
            batch = []
    if batch:
        store.fill_scope(db, *_split(batch))
        yield
    unlinked = list(store.unlinked_calls(db))
    for start in range(0, len(unlinked), size):
        store.fill_scope(db, (), (), unlinked[start:start + size])
        yield


def _split(nodes: Sequence[str]) -> tuple[list[str], list[str]]:
    """Cookies and WhoIds of a batch of graph nodes."""
    return ([n[1:] for n in nodes if n[0] == "c"], [n[1:] for n in nodes if n[0] == "p"])


def _stage(db: Database, options: MatchOptions, outcomes: Sequence[Outcome],
           touchpoints: Sequence[Touchpoint]) -> None:
    store.stage(db, (outcome_row(o, options) for o in outcomes),
                (touchpoint_row(t) for t in touchpoints))


def _commit(db: Database, options: MatchOptions, started: str, changes_upto: int,
            scoped: bool, computed: int) -> None:
    """Swap the staged results in and take in the changes they saw, in one transaction.

    The match run's ``calls`` are all the stored outcomes after it (what the screens
    show), ``recomputed`` those this run computed.
    """
    with store.atomic(db):
        store.swap_in_staged(db, scoped)
        store.clear_changes(db, changes_upto)
        calls = store.count_rows(db, "call_outcomes") if scoped else computed
        store.record_match_run(db, started, calls, options.window_minutes,
                               options.anchor, mode="incremental" if scoped else "full",
                               options=options_key(options), recomputed=computed)


def save_outcomes(db: Database, options: MatchOptions, outcomes: Sequence[Outcome],
                  touchpoints: Sequence[Touchpoint], started: str, changes_upto: int) -> None:
    """Replace every stored outcome and touchpoint with these (the in-warehouse match)."""
    store.start_staging(db)
    _stage(db, options, outcomes, touchpoints)
    _commit(db, options, started, changes_upto, False, len(outcomes))


def summarize(outcomes: Sequence[Outcome], touchpoints: int) -> MatchSummary:
    counts: dict[str, int] = {s.value: 0 for s in Status}
    for o in outcomes:
        counts[o.status.value] += 1
    return MatchSummary(len(outcomes), counts, touchpoints)


def what_if(db: Database, options: MatchOptions) -> list[Change]:
    """Which calls would change status under ``options``; nothing is written."""
    stored = store.stored_statuses(db)
    changes = []
    for _ in batches(db, BATCH_KEYS):
        inputs = load_inputs(db, options)
        for o in match_calls(inputs.calls, inputs.sessions_by_cookie, options):
            before = stored.get(o.call.task_id)
            if before != o.status.value:
                changes.append(Change(o.call.task_id, format_ts(o.call.call_at), before,
                                      o.status.value))
    changes.sort(key=lambda c: (c.call_at, c.task_id))
    return changes


def load_inputs(db: Database, options: MatchOptions) -> Inputs:
    """The calls of the store's scope (``batches``, ``store.set_scope``), their cookies'
    sessions (with last activity for the activity anchor) and form submits."""
    calls = [_call(row) for row in store.load_calls(db, scoped=True)]
    last = store.load_last_activity(db) if options.anchor == "activity" else {}
    sessions_by_cookie: dict[str, list[WebSession]] = defaultdict(list)
    sessions_by_id: dict[str, WebSession] = {}
    for row in store.load_call_sessions(db):
        session = _session(row, last.get(row["id"]))
        sessions_by_cookie[session.cookie_id].append(session)
        sessions_by_id[session.session_id] = session
    forms: dict[str, list[FormSubmit]] = defaultdict(list)
    for row in store.load_call_forms(db, scoped=True):
        forms[row["cookie_id"]].append(
            FormSubmit(row["id"], row["cookie_id"], row["session_id"], parse_ts(row["event_at"]))
        )
    return Inputs(calls, sessions_by_cookie, sessions_by_id, forms)


def _call(row: dict[str, Any]) -> Call:
    return Call(
        task_id=row["id"],
        call_at=parse_ts(row["call_at"]),
        bizible_id=row["bizible_id"],
        bizible_state=BizibleState(row["bizible_state"]),
        bizible_id_raw=row["bizible_id_raw"],
        task_type=row["type"],
        who_id=row["who_id"],
        is_deleted=bool(row["is_deleted"]),
        call_at_field=row["call_at_field"],
        call_time_fallback=bool(row["call_time_fallback"]),
    )


def _session(row: dict[str, Any], last_activity: str | None) -> WebSession:
    return WebSession(
        session_id=row["id"],
        cookie_id=row["cookie_id"],
        started_at=parse_ts(row["started_at"]),
        last_activity_at=parse_ts(last_activity) if last_activity else None,
        channel=row["channel"],
        medium=row["medium"],
        source=row["web_source"] or row["source"],
        campaign=row["campaign_name"] or row["campaign"],
        landing_page=row["landing_page"],
        referrer_page=row["referrer_page"],
    )


def _ts(value: Any) -> str | None:
    return format_ts(value) if value is not None else None


def _ref_columns(prefix: str, ref: SessionRef | None) -> dict[str, Any]:
    return {
        f"{prefix}_session_id": ref.session_id if ref else None,
        f"{prefix}_started_at": _ts(ref.started_at) if ref else None,
        f"{prefix}_gap_seconds": ref.gap_seconds if ref else None,
    }


def outcome_row(o: Outcome, options: MatchOptions) -> dict[str, Any]:
    """The ``call_outcomes`` row of an outcome."""
    return {
        "task_id": o.call.task_id,
        "call_at": format_ts(o.call.call_at),
        "call_at_field": o.call.call_at_field,
        "bizible_id": o.call.bizible_id,
        "bizible_id_raw": o.call.bizible_id_raw,
        "who_id": o.call.who_id,
        "task_type": o.call.task_type,
        "status": o.status.value,
        "flags": ",".join(f.value for f in o.flags),
        "session_id": o.session.session_id if o.session else None,
        "compared_session_id": o.compared.session_id if o.compared else None,
        "gap_seconds": o.compared.gap_seconds if o.compared else None,
        **_ref_columns("before", o.before),
        **_ref_columns("after", o.after),
        "window_ends_at": _ts(o.window_ends_at),
        "touchpoint_type": o.touchpoint_type,
        "medium": o.medium,
        "channel": o.channel,
        "source": o.source,
        "campaign": o.campaign,
        "explanation": explain(o, options),
    }


def touchpoint_row(t: Touchpoint) -> dict[str, Any]:
    """The ``touchpoints`` row of a touchpoint."""
    return {
        "touchpoint_id": t.touchpoint_id,
        "kind": t.kind,
        "task_id": t.task_id,
        "session_id": t.session_id,
        "person_key": t.person_key,
        "touchpoint_date": format_ts(t.touchpoint_date),
        "touchpoint_type": t.touchpoint_type,
        "medium": t.medium,
        "channel": t.channel,
        "source": t.source,
        "campaign": t.campaign,
        "landing_page": t.landing_page,
        "referrer_page": t.referrer_page,
        "position": t.position,
        "u_shaped_credit": t.u_shaped_credit,
    }
