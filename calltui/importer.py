"""``calltui import``: read files, normalise their rows and upsert them by ID.

Each file is imported in one transaction: a file that is refused part-way
leaves the database as it was. Bad rows never stop an import; they go to the
rejects table with file, line and reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from calltui import store
from calltui.records import (
    DERIVE_INPUTS,
    WAREHOUSE_TABLES,
    RowError,
    TaskFields,
    derive_task,
    task_row,
    warehouse_row,
)
from calltui.sources.files import (
    FileRefused,
    Progress,
    Record,
    check_forced_kind,
    read_records,
    sniff,
)

__all__ = ["AllRejected", "FileRefused", "ImportResult", "import_file", "store_tasks"]

ProgressFn = Callable[[int, int], None]


@dataclass
class ImportResult:
    """What one file gave."""

    file: str
    kind: str
    read: int = 0
    stored: int = 0
    rejected: int = 0


def import_file(
    db: Database,
    path: Path,
    kind: str | None = None,
    *,
    naive_tz: tzinfo = UTC,
    fields: TaskFields = TaskFields(),
    on_progress: ProgressFn | None = None,
) -> ImportResult:
    """Import one file; raises ``FileRefused`` (nothing stored) when it is not a known kind."""
    name = str(path)
    import_id = store.start_import(db, name, kind)
    try:
        if kind:
            check_forced_kind(path, kind)
        else:
            kind = sniff(path)
        with db.atomic():
            db.execute("DELETE FROM rejects WHERE file = ?", [name])
            result = _import_rows(db, path, kind, import_id, naive_tz, fields, on_progress)
    except FileRefused as exc:
        store.finish_import(db, import_id, status="refused", error=str(exc), kind=kind)
        raise
    status = "all rejected" if result.read and not result.stored else "ok"
    store.finish_import(
        db, import_id, status=status, read=result.read, stored=result.stored,
        rejected=result.rejected, kind=kind,
    )
    if status == "all rejected":
        first = store.page_rejects(db, limit=1, file=name)[0]
        raise AllRejected(f"{path}: every row was rejected ({result.rejected}); the first, "
                          f"line {first['line']}: {first['reason']}")
    return result


class AllRejected(FileRefused):
    """Nothing in the file could be stored; its rejected rows are kept."""


def _import_rows(
    db: Database, path: Path, kind: str, import_id: int, naive_tz: tzinfo,
    fields: TaskFields, on_progress: ProgressFn | None,
) -> ImportResult:
    result = ImportResult(str(path), kind)
    progress = Progress()
    good: list[tuple[int, dict[str, Any]]] = []
    rejects: list[dict[str, Any]] = []
    saw_bizible = False
    for record in read_records(path, kind, progress):
        result.read += 1
        try:
            row = _to_row(kind, record, naive_tz, fields)
        except RowError as exc:
            rejects.append(_reject(path, record, kind, str(exc)))
        else:
            good.append((record.line, row))
            saw_bizible = saw_bizible or "bizible_id_raw" in row
        if len(good) >= store.BATCH:
            _flush(db, kind, good, rejects, path, fields, result)
            if on_progress:
                on_progress(progress.done, progress.total)
    _flush(db, kind, good, rejects, path, fields, result)
    if kind == "tasks" and result.stored and not saw_bizible:
        raise FileRefused(
            f"{path}: no {fields.bizible_id} column, so every call would look like it has no "
            "BizibleId; export the Tasks again with that field")
    store.add_rejects(db, import_id, rejects)
    result.rejected = len(rejects)
    if on_progress:
        on_progress(progress.total, progress.total)
    return result


def _to_row(kind: str, record: Record, naive_tz: tzinfo, fields: TaskFields) -> dict[str, Any]:
    if record.fields is None:
        raise RowError(record.problem or "unreadable row")
    if kind == "tasks":
        return task_row(record.fields, fields, naive_tz)
    return warehouse_row(kind, record.fields, naive_tz)


def _reject(path: Path, record: Record, kind: str, reason: str) -> dict[str, Any]:
    raw = record.raw if record.fields is None else json.dumps(record.fields, default=str)
    return {"file": str(path), "line": record.line, "kind": kind, "reason": reason,
            "raw": (raw or "")[:2000]}


def _flush(
    db: Database, kind: str, good: list[tuple[int, dict[str, Any]]],
    rejects: list[dict[str, Any]], path: Path, fields: TaskFields, result: ImportResult,
) -> None:
    origin = f"file:{path.name}"
    rows = [(line, {**row, "origin": origin}) for line, row in good]
    good.clear()
    if kind == "tasks":
        stored, bad = store_tasks(db, rows, fields)
        for line, reason in bad:
            rejects.append({"file": str(path), "line": line, "kind": kind, "reason": reason,
                            "raw": None})
        result.stored += stored
    else:
        result.stored += store.upsert(db, WAREHOUSE_TABLES[kind].table, (r for _, r in rows))


def store_tasks(
    db: Database, rows: Iterable[tuple[int, dict[str, Any]]], fields: TaskFields
) -> tuple[int, list[tuple[int, str]]]:
    """Derive and upsert Task rows; a partial row is merged with the stored one first.

    Returns how many were stored and (position, reason) for those that could not be.
    """
    rows = list(rows)
    partial = [row["id"] for _, row in rows if not row.keys() >= DERIVE_INPUTS]
    stored = store.fetch_by_ids(db, "tasks", partial) if partial else {}
    out, bad = [], []
    for position, row in rows:
        base = stored.get(row["id"]) if stored else None
        merged = row if base is None else {**base, **row}  # derive_task copies, never changes
        try:
            out.append(derive_task(merged, fields))
        except RowError as exc:
            bad.append((position, str(exc)))
    return store.upsert(db, "tasks", out), bad
