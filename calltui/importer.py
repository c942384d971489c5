"""``calltui import``: read files, normalise their rows and upsert them by ID.

Bad rows never stop an import; they go to the rejects table with file, line,
column and reason, written batch by batch with the rows.

Transactions, and how "nothing from a refused file is stored" fits streaming:

* A file is refused (not a known kind, empty, a required column missing, a
  ``--kind`` that does not fit) by its header, before anything is written.
* Warehouse files (sessions, page views, form submits; CSV, CSV.gz, JSON lines)
  can hold millions of rows: they are read as a stream and committed every
  ``WAREHOUSE_BATCH`` rows, so memory stays flat. A file that stops part-way
  (a truncated gzip, a CSV ending mid-row, a field over the csv limit) keeps the
  rows before the stop, a reject line says where it stopped, and ``FileStopped``
  (with the counts) says so to the caller; rows are upserted by ID, so importing
  the file again, whole, is always safe. An interrupted import is the same: run
  it again; its log row has the counts committed. A byte that is not UTF-8 only
  rejects its row (``sources.text``).
* Task files are refused when no row carries the BizibleId field, which is known
  only at the end, so a Task file is imported in one transaction (rows still go
  to SQLite batch by batch; only SQLite holds the uncommitted pages).
* A file whose every row is rejected stores nothing and keeps its rejects.
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
from calltui.heap import fewer_collections
from calltui.normalize import canonical_zone
from calltui.records import (
    DERIVE_INPUTS,
    WAREHOUSE_TABLES,
    RowError,
    TaskFields,
    derive_task,
    task_row,
    values_plan,
    warehouse_row,
    warehouse_values,
)
from calltui.sources.files import (
    Cancelled,
    CsvRows,
    FileRefused,
    Progress,
    Record,
    check_forced_kind,
    is_json,
    read_records,
    sniff,
)

__all__ = ["AllRejected", "FileRefused", "FileStopped", "ImportResult", "import_file",
           "store_tasks"]

ProgressFn = Callable[[int, int], None]


@dataclass
class ImportResult:
    """What one file gave."""

    file: str
    kind: str
    read: int = 0
    stored: int = 0
    rejected: int = 0
    stopped: str | None = None
    """Where and why reading stopped before the end of the file (cut short, unreadable)."""


WAREHOUSE_BATCH = 5_000
"""Rows per transaction for warehouse files."""
BULK_BYTES = 16 * 1024 * 1024
"""A warehouse file this big, into an empty table, is loaded before the table's indexes
are built (once, at the end, which is faster than keeping them up to date row by row)."""


def import_file(
    db: Database,
    path: Path,
    kind: str | None = None,
    *,
    naive_tz: tzinfo = UTC,
    fields: TaskFields = TaskFields(),
    on_progress: ProgressFn | None = None,
) -> ImportResult:
    """Import one file; raises ``FileRefused`` when it is not a known kind (nothing stored)."""
    name = str(path)
    naive_tz = canonical_zone(naive_tz)
    import_id = store.start_import(db, name, kind)
    result = ImportResult(name, kind or "")  # its counts are the log's, even when stopped
    try:
        if kind:
            check_forced_kind(path, kind)
        else:
            kind = sniff(path)
        result.kind = kind
        if kind == "tasks":
            with store.atomic(db):
                db.execute("DELETE FROM rejects WHERE file = ?", [name])
                _import_tasks(db, path, result, import_id, naive_tz, fields, on_progress)
        else:
            _import_warehouse(db, path, result, import_id, naive_tz, on_progress)
    except Cancelled as exc:  # the app's x: committed batches stay, as after Ctrl-C
        _log_stopped(db, import_id, result, kind, exc.status, str(exc))
        raise
    except FileRefused as exc:
        store.finish_import(db, import_id, status=exc.status, error=str(exc), kind=kind)
        raise
    except BaseException as exc:  # Ctrl-C, a full disk: committed batches stay, say so
        _log_stopped(db, import_id, result, kind, "interrupted", _stopped_by(exc))
        raise
    status = "all rejected" if result.read and not result.stored else "ok"
    store.finish_import(
        db, import_id, status="stopped" if result.stopped else status, read=result.read,
        stored=result.stored, rejected=result.rejected, error=result.stopped, kind=kind,
    )
    if result.stopped:
        stored = f"{result.stored:,} row{'' if result.stored == 1 else 's'} stored"
        raise FileStopped(f"{path}: stopped at {result.stopped} ({stored}, "
                          f"{result.rejected:,} rejected)", result)
    if status == "all rejected":
        first = store.page_rejects(db, limit=1, file=name)[0]
        raise AllRejected(f"{path}: every row was rejected ({result.rejected}); the first, "
                          f"line {first['line']}: {first['reason']}")
    return result


class AllRejected(FileRefused):
    """Nothing in the file could be stored; its rejected rows are kept."""


class FileStopped(FileRefused):
    """Reading stopped before the end of the file; the rows before are stored."""

    status = "stopped"

    def __init__(self, message: str, result: ImportResult) -> None:
        super().__init__(message)
        self.result = result


def _log_stopped(db: Database, import_id: int, result: ImportResult, kind: str | None,
                 status: str, error: str) -> None:
    """Log an import stopped part-way with the counts it committed (a cancel in the app
    logged 0 read and 0 stored while 355,000 sessions were kept)."""
    if db.conn.in_transaction:
        db.conn.rollback()
    if kind == "tasks":  # one transaction, rolled back: nothing of the file is kept
        result.stored = result.rejected = 0
    store.finish_import(db, import_id, status=status, read=result.read, stored=result.stored,
                        rejected=result.rejected, error=error, kind=kind)


def _stopped_by(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return f"{type(exc).__name__}: {exc}"[:500]


def _import_tasks(
    db: Database, path: Path, result: ImportResult, import_id: int, naive_tz: tzinfo,
    fields: TaskFields, on_progress: ProgressFn | None,
) -> None:
    kind = result.kind
    progress = Progress()
    good: list[tuple[int, dict[str, Any]]] = []
    rejects: list[dict[str, Any]] = []
    saw_bizible = False
    for record in read_records(path, kind, progress, fields):
        result.read += 1
        try:
            row = _to_row(kind, record, naive_tz, fields)
        except RowError as exc:
            rejects.append(_reject(result, record, exc))
        else:
            good.append((record.line, row))
            saw_bizible = saw_bizible or "bizible_id_raw" in row
        if len(good) >= store.BATCH:
            _flush(db, kind, good, rejects, path, fields, result)
            result.rejected += len(rejects)
            store.add_rejects(db, import_id, rejects)
            rejects.clear()
            if on_progress:
                on_progress(progress.done, progress.total)
    _flush(db, kind, good, rejects, path, fields, result)
    if result.stored and not saw_bizible:
        raise FileRefused(
            f"{path}: no {fields.bizible_id} column, so every call would look like it has no "
            "BizibleId; export the Tasks again with that field")
    store.add_rejects(db, import_id, rejects)
    result.rejected += len(rejects)
    if on_progress:
        on_progress(progress.total, progress.total)


def _import_warehouse(
    db: Database, path: Path, result: ImportResult, import_id: int, naive_tz: tzinfo,
    on_progress: ProgressFn | None,
) -> None:
    """Stream a warehouse file into its table, one transaction per ``WAREHOUSE_BATCH`` rows.

    A CSV goes through a plan made once from its header (value lists in, value lists
    out); JSON lines and unusual headers through ``warehouse_row``, record by record.
    """
    kind = result.kind
    progress = Progress(total=path.stat().st_size)
    table = WAREHOUSE_TABLES[kind].table
    origin = f"file:{path.name}"
    good: list[Any] = []
    rejects: list[dict[str, Any]] = []
    columns: tuple[str, ...] | None = None  # set: ``good`` holds value lists in this order
    first = [True]

    def commit() -> None:
        with store.atomic(db):
            if first[0]:  # the file's earlier rejects are replaced, never doubled
                db.execute("DELETE FROM rejects WHERE file = ?", [str(path)])
                first[0] = False
            if columns is None:
                stored = store.upsert(db, table, good)
            else:
                store.upsert_values(db, table, columns, good)
                stored = len(good)
            store.add_rejects(db, import_id, rejects)
        result.stored += stored  # counted once committed: an interrupted import's are true
        result.rejected += len(rejects)
        good.clear()
        rejects.clear()
        if on_progress:
            on_progress(progress.done, progress.total)

    with fewer_collections(), store.bulk_load(
            db, table, big=path.stat().st_size >= BULK_BYTES, checkpoints="behind"):
        csv_rows = _csv_rows(path, kind, progress)
        plan = values_plan(kind, csv_rows.header) if csv_rows is not None else None
        if csv_rows is not None and plan is not None:
            columns = (*plan.columns, "origin")
            convert, append, batch = plan.convert, good.append, WAREHOUSE_BATCH
            try:
                for values in csv_rows:
                    result.read += 1
                    if isinstance(values, list):
                        try:
                            append(convert(values, naive_tz, origin))
                        except ValueError:
                            pass  # not the usual shape: the long way below
                        else:
                            if len(good) >= batch:
                                commit()
                            continue
                    try:
                        if isinstance(values, Record):
                            raise _unreadable(values)
                        append(warehouse_values(plan, values, naive_tz, origin))
                    except RowError as exc:
                        rejects.append(_reject(result, _csv_record(csv_rows.line, values,
                                                                   plan.header), exc))
                    if len(good) + len(rejects) >= batch:
                        commit()
            finally:
                csv_rows.close()
        else:
            if csv_rows is not None:
                csv_rows.close()
            records = read_records(path, kind, progress)
            try:
                for record in records:
                    result.read += 1
                    try:
                        if record.fields is None:
                            raise _unreadable(record)
                        row_ = warehouse_row(kind, record.fields, naive_tz)
                    except RowError as exc:
                        rejects.append(_reject(result, record, exc))
                    else:
                        row_["origin"] = origin
                        good.append(row_)
                    if len(good) + len(rejects) >= WAREHOUSE_BATCH:
                        commit()
            finally:
                getattr(records, "close", lambda: None)()
        commit()
    progress.done = progress.total
    if on_progress:
        on_progress(progress.total, progress.total)


def _csv_rows(path: Path, kind: str, progress: Progress) -> CsvRows | None:
    """The file as CSV rows, or None when it is JSON lines."""
    return None if is_json(path) else CsvRows(path, kind, progress)


def _csv_record(line: int, values: list[str] | Record, header: tuple[str, ...]) -> Record:
    if isinstance(values, Record):
        return values
    return Record(line, dict(zip(header, values, strict=True)))


def _to_row(kind: str, record: Record, naive_tz: tzinfo, fields: TaskFields) -> dict[str, Any]:
    if record.fields is None:
        raise _unreadable(record)
    if kind == "tasks":
        return task_row(record.fields, fields, naive_tz)
    return warehouse_row(kind, record.fields, naive_tz)


def _reject(result: ImportResult, record: Record, exc: RowError) -> dict[str, Any]:
    """The rejects row for ``record``; a record where reading stopped says so in ``result``."""
    if record.stops:
        result.stopped = f"line {record.line}: {exc}"
    raw = record.raw if record.fields is None else json.dumps(record.fields, default=str)
    return {"file": result.file, "line": record.line, "kind": result.kind, "reason": str(exc),
            "column": exc.column, "raw": (raw or "")[:2000]}


def _unreadable(record: Record) -> RowError:
    return RowError(record.problem or "unreadable row", record.column)


def _flush(
    db: Database, kind: str, good: list[tuple[int, dict[str, Any]]],
    rejects: list[dict[str, Any]], path: Path, fields: TaskFields, result: ImportResult,
) -> None:
    origin = f"file:{path.name}"
    rows = [(line, {**row, "origin": origin}) for line, row in good]
    good.clear()
    stored, bad = store_tasks(db, rows, fields)
    for line, reason in bad:
        rejects.append({"file": str(path), "line": line, "kind": kind, "reason": reason,
                        "column": None, "raw": None})
    result.stored += stored


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
