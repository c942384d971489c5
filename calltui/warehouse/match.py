"""``calltui match --in-warehouse``: SPEC §1's window rule as SQL inside Snowflake.

The call Tasks that depend on sessions (not deleted, with a BizibleId) are
uploaded, as bound parameters, to a temporary table; one query joins them with
``BIZ_SESSIONS`` and brings back, per call, only the status and the sessions the
rule compared: the latest session started at or before the call (equal starts:
the smaller ID), the earliest one after it, and the cookie's first session (for
the journey's first visit). Everything that does not depend on sessions (deleted,
missing BizibleId, flags, touchpoint fields, explanations) is calltui.rules and
calltui.match, exactly as for the local matcher; each call's status from
Snowflake is checked against the same rule applied to the sessions it returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from calltui import store
from calltui.journeys import build_touchpoints
from calltui.match import MatchSummary, _call, save_outcomes, summarize
from calltui.models import Call, FormSubmit, MatchOptions, Outcome, WebSession
from calltui.normalize import parse_ts
from calltui.rules import duplicate_calls, match_call
from calltui.warehouse.settings import WarehouseError, WarehouseSettings, describe_error, ident

__all__ = ["MATCH_SQL_STATUSES", "match_in_warehouse", "run_match_in_warehouse"]

TEMP_TABLE = "CALLTUI_CALLS"
UPLOAD_ROWS = 5000  # 3 bindings a row: under Snowflake's 16,384 expressions
MATCH_SQL_STATUSES = ("matched", "outside_window", "call_before_session", "unknown_bizible_id")
_ATTRS = ("CHANNEL", "MEDIUM", "WEB_SOURCE", "SOURCE", "CAMPAIGN_NAME", "CAMPAIGN",
          "LANDING_PAGE", "REFERRER_PAGE")


@dataclass
class WarehouseMatch:
    """What the warehouse said about one call."""

    status: str
    before: WebSession | None
    after: WebSession | None
    first: WebSession | None


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return parse_ts(value)


def _alive(columns: set[str]) -> str:
    where = "NOT COALESCE(IS_DELETED, FALSE)" if "IS_DELETED" in columns else "TRUE"
    if "_DELETED_DATE" in columns:
        where += " AND _DELETED_DATE IS NULL"
    return where


def build_sql(calls: str, columns: dict[str, set[str]], options: MatchOptions,
              source: str = "") -> str:
    """The rule as one query over the uploaded calls and the warehouse tables.

    ``source`` qualifies the warehouse tables (``DB.SCHEMA.``) when the session's
    current schema is the work schema.
    """
    s_cols = columns["BIZ_SESSIONS"]
    attrs = [a for a in _ATTRS if a in s_cols]
    attr_sel = "".join(f", {a}" for a in attrs)
    b_attrs = "".join(f", b.{a} AS B_{a}" for a in attrs)
    f_attrs = "".join(f", f.{a} AS F_{a}" for a in attrs)
    a_attrs = "".join(f", a.{a} AS A_{a}" for a in attrs)
    in_calls = f"LOWER(TRIM(COOKIE_ID)) IN (SELECT COOKIE_ID FROM {calls})"
    ctes = [
        f"s AS (SELECT ID, LOWER(TRIM(COOKIE_ID)) AS CK, "
        f"DATE_TRUNC('millisecond', EVENT_DATE) AS STARTED_AT{attr_sel} FROM {source}BIZ_SESSIONS "
        f"WHERE {_alive(s_cols)} AND {in_calls})",
        f"b AS (SELECT c.TASK_ID, s.*, ROW_NUMBER() OVER (PARTITION BY c.TASK_ID "
        f"ORDER BY s.STARTED_AT DESC, s.ID ASC) AS RN FROM {calls} c "
        f"JOIN s ON s.CK = c.COOKIE_ID AND s.STARTED_AT <= c.CALL_AT)",
        f"a AS (SELECT c.TASK_ID, s.*, ROW_NUMBER() OVER (PARTITION BY "
        f"c.TASK_ID ORDER BY s.STARTED_AT ASC, s.ID ASC) AS RN FROM {calls} c "
        f"JOIN s ON s.CK = c.COOKIE_ID AND s.STARTED_AT > c.CALL_AT)",
        "f AS (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.CK ORDER BY s.STARTED_AT ASC, "
        "s.ID ASC) AS RN FROM s)",
    ]
    anchor = "b.STARTED_AT"
    act_join = ""
    last_sel = ", FALSE AS B_HAS_LAST"
    if options.anchor == "activity":
        parts = []
        for table in ("BIZ_PAGE_VIEWS", "BIZ_FORM_SUBMITS"):
            parts.append(f"SELECT SESSION_ID, DATE_TRUNC('millisecond', EVENT_DATE) AS EV_AT "
                         f"FROM {source}{table} WHERE {_alive(columns[table])} AND {in_calls}")
        ctes.append(f"act AS (SELECT SESSION_ID, MAX(EV_AT) AS LAST_AT FROM "
                    f"({' UNION ALL '.join(parts)}) GROUP BY SESSION_ID)")
        anchor = "GREATEST(b.STARTED_AT, COALESCE(act.LAST_AT, b.STARTED_AT))"
        act_join = " LEFT JOIN act ON act.SESSION_ID = b.ID"
        last_sel = ", act.LAST_AT AS B_LAST_AT, act.LAST_AT IS NOT NULL AS B_HAS_LAST"
    status = (
        "CASE WHEN b.ID IS NOT NULL AND c.CALL_AT <= "
        f"DATEADD(microsecond, ?, {anchor}) THEN 'matched' "
        "WHEN b.ID IS NOT NULL THEN 'outside_window' "
        "WHEN a.ID IS NOT NULL THEN 'call_before_session' "
        "ELSE 'unknown_bizible_id' END"
    )
    return (
        f"WITH {', '.join(ctes)} "
        f"SELECT c.TASK_ID, {status} AS STATUS, b.ID AS B_ID, b.STARTED_AT AS B_AT{b_attrs}"
        f"{last_sel}, a.ID AS A_ID, a.STARTED_AT AS A_AT{a_attrs}, f.ID AS F_ID, "
        f"f.STARTED_AT AS F_AT{f_attrs} "
        f"FROM {calls} c "
        "LEFT JOIN b ON b.TASK_ID = c.TASK_ID AND b.RN = 1 "
        "LEFT JOIN a ON a.TASK_ID = c.TASK_ID AND a.RN = 1 "
        "LEFT JOIN f ON f.CK = c.COOKIE_ID AND f.RN = 1"
        f"{act_join} ORDER BY c.TASK_ID"
    )


def _session(row: dict[str, Any], prefix: str, cookie: str) -> WebSession | None:
    session_id = row.get(f"{prefix}_ID")
    if session_id is None:
        return None

    def attr(name: str) -> Any:
        return row.get(f"{prefix}_{name}") or None

    return WebSession(
        session_id=str(session_id), cookie_id=cookie,
        started_at=_ts(row[f"{prefix}_AT"]),  # type: ignore[arg-type]
        last_activity_at=_ts(row["B_LAST_AT"]) if prefix == "B" and row["B_HAS_LAST"] else None,
        channel=attr("CHANNEL"), medium=attr("MEDIUM"),
        source=attr("WEB_SOURCE") or attr("SOURCE"),
        campaign=attr("CAMPAIGN_NAME") or attr("CAMPAIGN"),
        landing_page=attr("LANDING_PAGE"), referrer_page=attr("REFERRER_PAGE"),
    )


def match_in_warehouse(conn: Any, settings: WarehouseSettings, calls: Sequence[Call],
                       options: MatchOptions) -> dict[str, WarehouseMatch]:
    """Upload the calls, run the rule in Snowflake, return its answer per Task Id."""
    cur = conn.cursor()

    def run(sql: str, params: Sequence[Any] = (), table: str | None = None) -> Any:
        try:
            cur.execute(sql, list(params))
        except Exception as exc:  # noqa: BLE001 - connector errors become one line
            raise describe_error(exc, settings, table) from None
        return cur

    columns: dict[str, set[str]] = {}
    tables = ["BIZ_SESSIONS"] + (["BIZ_PAGE_VIEWS", "BIZ_FORM_SUBMITS"]
                                 if options.anchor == "activity" else [])
    source = ""
    if settings.work_schema:
        # A temporary table is created in the current schema: make it the work schema and
        # name the share's tables in full.
        run("SELECT CURRENT_DATABASE(), CURRENT_SCHEMA()")
        here = cur.fetchone()
        if not here or not here[0] or not here[1]:
            raise WarehouseError("set database and schema (where the Marketo Measure tables "
                                 "are) to use work_schema")
        source = f"{ident(str(here[0]))}.{ident(str(here[1]))}."
        run(f"USE SCHEMA {ident(settings.work_schema)}", table=settings.work_schema)
    for table in tables:
        run(f"SELECT * FROM {source}{table} LIMIT 0", table=table)
        columns[table] = {d[0].upper() for d in cur.description}
    for needed in ("ID", "COOKIE_ID", "EVENT_DATE"):
        if needed not in columns["BIZ_SESSIONS"]:
            raise WarehouseError(f"BIZ_SESSIONS has no column {needed}")
    temp = TEMP_TABLE
    try:
        run(f"CREATE OR REPLACE TEMPORARY TABLE {temp} (TASK_ID VARCHAR, COOKIE_ID VARCHAR, "
            "CALL_AT TIMESTAMP_NTZ(3))", table=temp)
    except WarehouseError as exc:
        raise WarehouseError(f"cannot create the temporary table of calls ({exc}); a share is "
                             "read-only: set work_schema in [warehouse] to a DATABASE.SCHEMA "
                             "where the role may create temporary tables") from None
    rows = [(c.task_id, c.bizible_id, c.call_at.astimezone(UTC).replace(tzinfo=None))
            for c in calls]
    for start in range(0, len(rows), UPLOAD_ROWS):
        chunk = rows[start : start + UPLOAD_ROWS]
        marks = ", ".join("(?, ?, ?)" for _ in chunk)
        run(f"INSERT INTO {temp} (TASK_ID, COOKIE_ID, CALL_AT) VALUES {marks}",
            [v for row in chunk for v in row], table=temp)
    micros = round(timedelta(minutes=options.window_minutes) / timedelta(microseconds=1))
    run(build_sql(temp, columns, options, source), [micros], table="BIZ_SESSIONS")
    names = [d[0].upper() for d in cur.description]
    by_cookie = {c.task_id: c.bizible_id or "" for c in calls}
    out: dict[str, WarehouseMatch] = {}
    while True:
        batch = cur.fetchmany(10_000)
        if not batch:
            break
        for values in batch:
            row = dict(zip(names, values, strict=True))
            task_id = row["TASK_ID"]
            cookie = by_cookie.get(task_id, "")
            out[task_id] = WarehouseMatch(
                str(row["STATUS"]), _session(row, "B", cookie), _session(row, "A", cookie),
                _session(row, "F", cookie))
    run(f"DROP TABLE IF EXISTS {temp}", table=temp)
    return out


def run_match_in_warehouse(db: Database, conn: Any, settings: WarehouseSettings,
                           options: MatchOptions = MatchOptions()) -> MatchSummary:
    """Like calltui.match.run_match, with the session-dependent part done in Snowflake."""
    started = store.now_ts()
    changes = store.pending_changes(db)
    calls = [_call(row) for row in store.load_calls(db)]
    dependent = [c for c in calls if not c.is_deleted and c.bizible_id is not None]
    answers = match_in_warehouse(conn, settings, dependent, options)
    dependent_ids = {c.task_id for c in dependent}
    duplicates = duplicate_calls(calls, options.duplicate_seconds)
    sessions_by_cookie: dict[str, dict[str, WebSession]] = defaultdict(dict)
    outcomes: list[Outcome] = []
    for call in calls:
        answer = answers.get(call.task_id)
        compared: list[WebSession] = []
        if answer is not None:
            for session in (answer.first, answer.before, answer.after):
                if session is not None:
                    sessions_by_cookie[session.cookie_id].setdefault(session.session_id,
                                                                     session)
            compared = [s for s in (answer.before, answer.after) if s is not None]
        elif call.task_id in dependent_ids:
            raise WarehouseError(f"the warehouse returned no row for Task {call.task_id}")
        outcome = match_call(call, compared, options, call.task_id in duplicates)
        if answer is not None and outcome.status.value != answer.status:
            raise WarehouseError(f"Task {call.task_id}: the warehouse says {answer.status}, "
                                 f"the rule on its sessions says {outcome.status.value}")
        outcomes.append(outcome)
    by_cookie = {cookie: sorted(found.values(), key=lambda s: (s.started_at, s.session_id))
                 for cookie, found in sessions_by_cookie.items()}
    by_id = {s.session_id: s for found in by_cookie.values() for s in found}
    forms: dict[str, list[FormSubmit]] = defaultdict(list)
    for row in store.load_call_forms(db):
        forms[row["cookie_id"]].append(
            FormSubmit(row["id"], row["cookie_id"], row["session_id"], parse_ts(row["event_at"])))
    form_sessions = sorted({f.session_id for fs in forms.values() for f in fs} - set(by_id))
    for sid, row in store.fetch_by_ids(db, "sessions", form_sessions).items():
        if not row["is_deleted"]:
            by_id[sid] = WebSession(sid, row["cookie_id"], parse_ts(row["started_at"]),
                                    channel=row["channel"], medium=row["medium"],
                                    source=row["web_source"] or row["source"],
                                    campaign=row["campaign_name"] or row["campaign"],
                                    landing_page=row["landing_page"],
                                    referrer_page=row["referrer_page"])
    touchpoints = build_touchpoints(outcomes, by_cookie, forms, by_id)
    save_outcomes(db, options, outcomes, touchpoints, started, changes.upto)
    return summarize(outcomes, len(touchpoints))
