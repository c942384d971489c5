"""The machine-readable forms of SPEC §4: report rows and the explain document."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlite_utils import Database

from calltui import store

__all__ = ["call_report_rows", "explain_document", "to_csv", "to_json", "touchpoint_rows"]


def _flags(text: str | None) -> list[str]:
    return [f for f in (text or "").split(",") if f]


def call_report_row(row: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``report calls`` with exactly the SPEC §4 keys."""
    out = {key: row[key] for key in store.CALL_REPORT_COLUMNS}
    out["flags"] = _flags(row["flags"])
    return out


def call_report_rows(
    db: Database, statuses: list[str] | None = None, flags: list[str] | None = None,
    vendor: str | None = None,
) -> Iterator[dict[str, Any]]:
    for row in store.iter_outcomes(db, statuses=statuses, flags=flags, vendor=vendor):
        yield call_report_row(row)


def reject_rows(db: Database, file: str | None = None) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = store.page_rejects(db, limit=500, offset=offset, file=file)
        yield from page
        if len(page) < 500:
            return
        offset += len(page)


def touchpoint_rows(db: Database) -> Iterator[dict[str, Any]]:
    for row in store.iter_touchpoints(db):
        yield {key: row[key] for key in store.TOUCHPOINT_COLUMNS}


def _near(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    if row[f"{prefix}_session_id"] is None:
        return None
    return {
        "session_id": row[f"{prefix}_session_id"],
        "started_at": row[f"{prefix}_started_at"],
        "gap_seconds": row[f"{prefix}_gap_seconds"],
    }


def explain_document(db: Database, task_id: str) -> dict[str, Any] | None:
    """``explain TASK_ID --format json``: status, flags, explanation and evidence."""
    row = store.find_outcome(db, task_id.strip())
    if row is None:
        return None
    sessions: store.Rows = []
    calls: store.Rows = []
    if row["bizible_id"]:
        sessions, calls = store.cookie_timeline(db, row["bizible_id"])
    touchpoint = None
    if row["touchpoint_type"] is not None:
        touchpoint = {k: row[k] for k in ("touchpoint_type", "medium", "channel", "source",
                                          "campaign")}
    return {
        "task_id": row["task_id"],
        "status": row["status"],
        "flags": _flags(row["flags"]),
        "explanation": row["explanation"],
        "evidence": {
            "call_at": row["call_at"],
            "call_at_field": row["call_at_field"],
            "bizible_id": row["bizible_id"],
            "bizible_id_raw": row["bizible_id_raw"],
            "who_id": row["who_id"],
            "task_type": row["task_type"],
            "session_id": row["session_id"],
            "compared_session_id": row["compared_session_id"],
            "gap_seconds": row["gap_seconds"],
            "window_ends_at": row["window_ends_at"],
            "nearest_before": _near(row, "before"),
            "nearest_after": _near(row, "after"),
            "touchpoint": touchpoint,
            "cookie_sessions": sessions,
            "cookie_calls": calls,
        },
    }


def to_json(rows: Iterable[dict[str, Any]], out: io.TextIOBase | Any) -> None:
    """Stream a JSON list, one object per line, without holding it in memory."""
    out.write("[")
    for i, row in enumerate(rows):
        out.write(("," if i else "") + "\n  " + json.dumps(row, ensure_ascii=False))
    out.write("\n]\n")


def to_csv(rows: Iterable[dict[str, Any]], columns: Iterable[str], out: Any) -> None:
    """CSV with the same columns as the JSON form; lists joined with ``;``."""
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()})
