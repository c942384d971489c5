"""``calltui fix-type``: fill blank ``Task.Type`` on call Tasks at the source.

Blank Type makes Marketo Measure type the call's touchpoint "Web Visit" (SPEC rule 5).
The plan comes from the local database; applying it goes through the API:

1. read the Tasks' current Type from the org (only those still blank are changed);
2. write the backup file — JSON lines ``{"id", "field", "old", "new"}`` — and fsync it;
3. update in batches of at most 200 with sObject Collections (``allOrNone: false``),
   so a record the org rejects is reported and the others are still written;
4. update the local ``tasks`` rows that were written (the next sync reads them again
   anyway, their SystemModstamp moved); the caller re-runs the match.

``undo`` restores the old values of a backup file, but only on Tasks whose Type still
holds the value the backup wrote; anything changed since is left alone and reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from calltui import store

__all__ = ["BATCH", "FixResult", "apply_fix", "default_backup", "plan", "read_backup", "undo"]

BATCH = 200
FIELD = "Type"


class Client(Protocol):
    """What fix-type needs of :class:`calltui.sf.client.SalesforceClient`."""

    def iter_query(self, soql: str, include_deleted: bool = False
                   ) -> Iterator[list[dict[str, Any]]]: ...

    def update_records(self, sobject: str, records: list[dict[str, Any]],
                       all_or_none: bool = False) -> list[dict[str, Any]]: ...


@dataclass
class FixResult:
    """What an apply or undo did, per record."""

    updated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # id, statusCode, message
    skipped: list[tuple[str, str]] = field(default_factory=list)  # id, why
    backup: Path | None = None


def default_backup(db_path: Path) -> Path:
    """``backups/fix-type-<UTC stamp>.jsonl`` beside the database."""
    stamp = store.now_ts().replace("-", "").replace(":", "")[:15] + "Z"
    return db_path.parent / "backups" / f"fix-type-{stamp}.jsonl"


def plan(db: Database, vendor: str | None = None, since: str | None = None
         ) -> list[dict[str, Any]]:
    """Call Tasks (not deleted) whose Type is blank, oldest first: id, call_at, subject, vendor.

    ``vendor`` needs ``vendors.refresh`` to have run.
    """
    sql = ("SELECT t.id, t.call_at, t.subject, t.type, v.vendor FROM tasks t "
           "LEFT JOIN task_vendors v ON v.task_id = t.id "
           "WHERE t.is_call = 1 AND t.is_deleted = 0 AND (t.type IS NULL OR trim(t.type) = '')")
    params: list[Any] = []
    if vendor is not None:
        sql += " AND v.vendor = ?"
        params.append(vendor)
    if since is not None:
        sql += " AND t.call_at >= ?"
        params.append(since)
    return list(store.iter_query(db, sql + " ORDER BY t.call_at, t.id", params))


def _quote(task_id: str) -> str:
    if not task_id.isalnum():
        raise ValueError(f"not a Salesforce Id: {task_id!r}")
    return f"'{task_id}'"


def _current(client: Client, ids: Sequence[str]) -> dict[str, Any]:
    """Id -> current Type (None when blank) of the Tasks that still exist."""
    out: dict[str, Any] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        soql = (f"SELECT Id, {FIELD} FROM Task WHERE Id IN "
                f"({', '.join(_quote(i) for i in chunk)})")
        for page in client.iter_query(soql):
            for record in page:
                out[record["Id"]] = record.get(FIELD)
    # the org answers 18-character Ids: let a 15-character local Id find its record
    for task_id in ids:
        if task_id not in out:
            match = next((k for k in out if k[:15] == task_id[:15]), None)
            if match is not None:
                out[task_id] = out[match]
    return out


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


Progress = Callable[[int, int], None]


def _write(client: Client, db: Database, changes: list[tuple[str, Any]], result: FixResult,
           on_progress: Progress | None) -> None:
    """Send ``(id, new value)`` pairs in batches; record results; update local rows."""
    done = 0
    for start in range(0, len(changes), BATCH):
        chunk = changes[start:start + BATCH]
        answers = client.update_records("Task", [{"id": i, FIELD: v} for i, v in chunk])
        written = []
        for (task_id, value), answer in zip(chunk, answers, strict=True):
            if answer.get("success"):
                result.updated.append(task_id)
                written.append({"id": task_id, "type": value})
            else:
                errors = answer.get("errors") or [{}]
                result.failed.append((task_id, str(errors[0].get("statusCode", "")),
                                      str(errors[0].get("message", ""))))
        with store.atomic(db):
            db.conn.executemany("UPDATE tasks SET type = :type WHERE id = :id", written)
        done += len(chunk)
        if on_progress is not None:
            on_progress(done, len(changes))


def apply_fix(client: Client, db: Database, ids: Sequence[str], value: str, backup: Path,
              on_progress: Progress | None = None) -> FixResult:
    """Set Type = ``value`` on those of ``ids`` still blank in the org; backup first."""
    if _blank(value):
        raise ValueError("--set needs a non-blank Type value, e.g. Call")
    result = FixResult(backup=backup)
    current = _current(client, list(ids))
    changes: list[tuple[str, Any]] = []
    lines = []
    for task_id in ids:
        if task_id not in current:
            result.skipped.append((task_id, "not found in the org (deleted?)"))
        elif not _blank(current[task_id]):
            result.skipped.append((task_id, f"Type is already {current[task_id]!r} in the org"))
        else:
            changes.append((task_id, value))
            lines.append({"id": task_id, "field": FIELD, "old": current[task_id], "new": value})
    _write_backup(backup, lines)
    _write(client, db, changes, result, on_progress)
    return result


def _write_backup(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as out:  # never overwrite an earlier backup
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())


def read_backup(path: Path) -> list[dict[str, Any]]:
    """The lines of a backup file; ``ValueError`` naming the first bad line."""
    lines = []
    with open(path, encoding="utf-8") as src:
        for number, text in enumerate(src, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except ValueError:
                raise ValueError(f"{path}, line {number}: not JSON") from None
            if not (isinstance(line, dict) and isinstance(line.get("id"), str)
                    and line.get("field") == FIELD and "old" in line and "new" in line):
                raise ValueError(f"{path}, line {number}: not a fix-type backup line "
                                 '({"id", "field": "Type", "old", "new"})')
            lines.append(line)
    return lines


def undo(client: Client, db: Database, path: Path, on_progress: Progress | None = None
         ) -> FixResult:
    """Put back the old values of a backup where the Task still holds the new one."""
    lines = read_backup(path)
    result = FixResult(backup=path)
    current = _current(client, [line["id"] for line in lines])
    changes: list[tuple[str, Any]] = []
    for line in lines:
        task_id = line["id"]
        if task_id not in current:
            result.skipped.append((task_id, "not found in the org (deleted?)"))
        elif current[task_id] != line["new"]:
            now = current[task_id]
            shown = repr(now) if now not in (None, "") else "blank"
            result.skipped.append((task_id, f"Type changed since to {shown}; left alone"))
        else:
            changes.append((task_id, line["old"]))
    _write(client, db, changes, result, on_progress)
    return result
