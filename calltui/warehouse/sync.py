"""``calltui sync --warehouse``: BIZ_SESSIONS, BIZ_PAGE_VIEWS, BIZ_FORM_SUBMITS into the store.

By default only the rows of cookies that appear on call Tasks are read. The
cookies travel as bound parameters (``qmark``), a batch at a time, never inside
the SQL text. A cookie seen for the first time gets its whole history; a cookie
already synced gets the rows changed since the table's watermark minus an
overlap. A row's change time is the later of ``MODIFIED_DATE`` and
``_DELETED_DATE``; a row with ``IS_DELETED`` or a ``_DELETED_DATE`` is stored as
deleted, so it takes no part in matching. Each table's watermark is written in
the transaction of the rows it covers, and a new cookie is marked synced in the
transaction of its last rows, so a failed run keeps what it committed and the
next run picks up the rest.

``all_sessions`` reads every row whose ``EVENT_DATE`` is in ``[since, until)``
instead (no cookie filter; watermarks untouched).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from calltui import store
from calltui.normalize import format_ts, parse_ts
from calltui.records import WAREHOUSE_TABLES, RowError, warehouse_row
from calltui.warehouse.settings import WarehouseError, WarehouseSettings, describe_error

__all__ = ["TABLES", "WarehouseSyncOptions", "WarehouseSyncResult", "run_warehouse_sync"]

ORIGIN = "warehouse"
TABLES = {"sessions": "BIZ_SESSIONS", "page-views": "BIZ_PAGE_VIEWS",
          "form-submits": "BIZ_FORM_SUBMITS"}
ProgressFn = Callable[[int, int], None]
BIND_LIMIT = 16_000  # Snowflake allows 16,384 expressions in an IN list


@dataclass(frozen=True)
class WarehouseSyncOptions:
    all_sessions: bool = False
    since: datetime | None = None
    until: datetime | None = None
    overlap: timedelta = timedelta(hours=24)
    batch_size: int = 5000
    """Cookies per bound batch, and rows per fetch and per committed transaction."""


@dataclass
class WarehouseSyncResult:
    mode: str
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES.values(), 0))
    deleted: int = 0
    rejected: int = 0
    queries: int = 0
    cookies: int = 0
    new_cookies: int = 0

    @property
    def upserted(self) -> int:
        return sum(self.rows.values())


def watermark_object(table: str) -> str:
    return f"warehouse:{table}"


def known_cookies(db: Database) -> set[str]:
    """Cookies whose whole history has been pulled (table made by a store migration)."""
    return {r[0] for r in db.execute("SELECT cookie_id FROM warehouse_cookies").fetchall()}


def call_cookies(db: Database) -> list[str]:
    return sorted(r[0] for r in db.execute(
        "SELECT DISTINCT bizible_id FROM tasks WHERE is_call = 1 AND bizible_id IS NOT NULL"
    ).fetchall())


class _Table:
    """One warehouse table: the columns it has and the SQL pieces to read it."""

    def __init__(self, kind: str, name: str, columns: Sequence[str]) -> None:
        self.kind, self.name = kind, name
        spec = WAREHOUSE_TABLES[kind]
        present = {c.upper() for c in columns}
        missing = [c.upper() for c in spec.required if c.upper() not in present]
        if missing:
            raise WarehouseError(f"{name} has no column {', '.join(missing)}: is this the "
                                 "Marketo Measure data warehouse?")
        self.columns = [c.upper() for c in spec.columns if c.upper() in present]
        self.deleted_date = "_DELETED_DATE" in present
        modified = "MODIFIED_DATE" if "MODIFIED_DATE" in present else "EVENT_DATE"
        if self.deleted_date:
            self.change = (f"GREATEST(COALESCE({modified}, EVENT_DATE), "
                           f"COALESCE(_DELETED_DATE, {modified}, EVENT_DATE))")
        else:
            self.change = f"COALESCE({modified}, EVENT_DATE)"

    def select(self, where: str, order: str) -> str:
        # _DELETED_DATE is read as a flag: only whether it is set matters here (and a NULL
        # timestamp is best not fetched: fakesnow sends it as 1970-01-01).
        cols = ", ".join(self.columns)
        flag = "_DELETED_DATE IS NOT NULL" if self.deleted_date else "FALSE"
        return (f"SELECT {cols}, {self.change} AS CALLTUI_CHANGED, {flag} AS CALLTUI_GONE "
                f"FROM {self.name} WHERE {where} ORDER BY {order}, ID")


def _wh_text(value: Any) -> Any:
    """Connector values in the text forms the file importer reads (so the fast path applies)."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}"
    return str(value)


class _Runner:
    def __init__(self, db: Database, conn: Any, settings: WarehouseSettings,
                 options: WarehouseSyncOptions, result: WarehouseSyncResult,
                 on_progress: ProgressFn | None) -> None:
        self.db, self.conn, self.settings, self.options = db, conn, settings, options
        self.result, self.on_progress = result, on_progress
        self.steps_done = 0
        self.steps_total = 0

    def execute(self, sql: str, params: Sequence[Any] = (), table: str | None = None) -> Any:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, list(params))
        except WarehouseError:
            raise
        except Exception as exc:  # noqa: BLE001 - connector errors become one line
            raise describe_error(exc, self.settings, table) from None
        self.result.queries += 1
        return cur

    def describe(self, kind: str) -> _Table:
        name = TABLES[kind]
        cur = self.execute(f"SELECT * FROM {name} LIMIT 0", table=name)
        return _Table(kind, name, [d[0] for d in cur.description])

    def step(self) -> None:
        self.steps_done += 1
        if self.on_progress:
            self.on_progress(self.steps_done, max(self.steps_total, self.steps_done))

    def batches(self, cur: Any, table: _Table) -> Iterator[list[Any]]:
        size = max(1, self.options.batch_size)
        while True:
            try:
                rows = cur.fetchmany(size)
            except Exception as exc:  # noqa: BLE001
                raise describe_error(exc, self.settings, table.name) from None
            if not rows:
                return
            yield rows

    def store_rows(self, table: _Table, rows: Sequence[Sequence[Any]], first: int
                   ) -> tuple[int, str | None]:
        """Upsert one batch (call inside a transaction); returns count and the last change."""
        names = table.columns
        out, rejects = [], []
        last: str | None = None
        for position, values in enumerate(rows, start=first):
            record = {n: _wh_text(v) for n, v in zip(names, values, strict=False)}
            changed = values[len(names)]
            if changed is not None:
                last = _wh_text(changed)
            if values[len(names) + 1]:
                record["IS_DELETED"] = "true"
            try:
                row = warehouse_row(table.kind, record)
            except RowError as exc:
                rejects.append({"file": f"warehouse:{table.name}", "line": position,
                                "kind": table.kind, "reason": str(exc),
                                "raw": str(record.get("ID", ""))})
                continue
            row["origin"] = ORIGIN
            out.append(row)
        store.upsert(self.db, WAREHOUSE_TABLES[table.kind].table, out)
        store.add_rejects(self.db, 0, rejects)
        self.result.rejected += len(rejects)
        self.result.deleted += sum(1 for r in out if r.get("is_deleted"))
        self.result.rows[table.name] += len(out)
        return len(out), last

    def pull(self, table: _Table, sql: str, params: Sequence[Any],
             finish: Callable[[str | None], None] | None = None) -> str | None:
        """Read one query in batches, each committed; ``finish(last change)`` in the last one."""
        cur = self.execute(sql, params, table.name)
        seen = 0
        last: str | None = None
        pending: list[Any] | None = None
        for rows in self.batches(cur, table):
            if pending is not None:
                with store.atomic(self.db):
                    _, changed = self.store_rows(table, pending, seen + 1)
                seen += len(pending)
                last = _later(last, changed)
            pending = rows
        with store.atomic(self.db):
            if pending:
                _, changed = self.store_rows(table, pending, seen + 1)
                last = _later(last, changed)
            if finish is not None:
                finish(last)
        return last


def _later(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    size = max(1, min(size, BIND_LIMIT))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cookie_where(table: _Table, n: int) -> str:
    return f"LOWER(TRIM(COOKIE_ID)) IN ({', '.join('?' for _ in range(n))})"


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def run_warehouse_sync(db: Database, conn: Any, settings: WarehouseSettings,
                       options: WarehouseSyncOptions = WarehouseSyncOptions(),
                       on_progress: ProgressFn | None = None,
                       now: datetime | None = None) -> WarehouseSyncResult:
    """One warehouse sync run; raises WarehouseError after logging it, committed rows kept."""
    now = now or datetime.now(UTC)
    mode = "warehouse all-sessions" if options.all_sessions else "warehouse"
    result = WarehouseSyncResult(mode)
    start = format_ts(options.since) if options.all_sessions and options.since else None
    end = format_ts(options.until) if options.all_sessions and options.until else format_ts(now)
    log_id = store.start_sync_log(db, mode, start, end)
    runner = _Runner(db, conn, settings, options, result, on_progress)
    try:
        tables = [runner.describe(kind) for kind in TABLES]
        if options.all_sessions:
            _all_sessions(runner, tables, options, now)
        else:
            _by_cookie(runner, tables, options, now)
    except Exception as exc:
        store.finish_sync_log(db, log_id, status="failed", error=str(exc),
                              rows_upserted=result.upserted, rows_deleted=result.deleted,
                              rows_rejected=result.rejected, api_calls=result.queries)
        raise
    store.finish_sync_log(db, log_id, status="ok", rows_upserted=result.upserted,
                          rows_deleted=result.deleted, rows_rejected=result.rejected,
                          api_calls=result.queries)
    return result


def _all_sessions(runner: _Runner, tables: list[_Table], options: WarehouseSyncOptions,
                  now: datetime) -> None:
    since = options.since or datetime(1970, 1, 1, tzinfo=UTC)
    until = options.until or now
    runner.steps_total = len(tables)
    for table in tables:
        runner.pull(table, table.select("EVENT_DATE >= ? AND EVENT_DATE < ?", "EVENT_DATE"),
                    [_naive(since), _naive(until)])
        runner.step()


def _by_cookie(runner: _Runner, tables: list[_Table], options: WarehouseSyncOptions,
               now: datetime) -> None:
    db = runner.db
    cookies = call_cookies(db)
    known = known_cookies(db)
    old = [c for c in cookies if c in known]
    new = [c for c in cookies if c not in known]
    runner.result.cookies, runner.result.new_cookies = len(cookies), len(new)
    size = options.batch_size
    n_old = -(-len(old) // size) if old else 0
    n_new = -(-len(new) // size) if new else 0
    runner.steps_total = len(tables) * (n_old + n_new) or 1
    snapshot: dict[str, str | None] = {}
    for table in tables:
        cur = runner.execute(f"SELECT MAX({table.change}) FROM {table.name}", table=table.name)
        value = cur.fetchone()[0]
        snapshot[table.name] = _wh_text(value) if value is not None else None
    # Cookies synced before: the rows changed since the watermark (less the overlap).
    for table in tables:
        obj = watermark_object(table.name)
        mark = store.get_watermark(db, obj)
        since = (_naive(parse_ts(mark) - options.overlap)) if mark else None
        seen: str | None = None
        chunks = list(_chunks(old, size))
        for i, chunk in enumerate(chunks):
            where = _cookie_where(table, len(chunk))
            params: list[Any] = list(chunk)
            if since is not None:
                where += f" AND {table.change} >= ?"
                params.append(since)
            is_last = i == len(chunks) - 1

            def finish(last: str | None, is_last: bool = is_last, obj: str = obj,
                       table: _Table = table) -> None:
                nonlocal seen
                seen = _later(seen, last)
                if is_last:
                    _set_mark(db, obj, _later(seen, snapshot[table.name]))

            runner.pull(table, table.select(where, "CALLTUI_CHANGED"), params, finish)
            runner.step()
    # Cookies seen for the first time: their whole history, marked synced with their last rows.
    for chunk in _chunks(new, size):
        for j, table in enumerate(tables):
            mark_chunk = j == len(tables) - 1

            def mark_synced(last: str | None, mark_chunk: bool = mark_chunk,
                            chunk: Sequence[str] = chunk) -> None:
                if mark_chunk:
                    stamp = store.now_ts()
                    db.conn.executemany(
                        "INSERT OR REPLACE INTO warehouse_cookies (cookie_id, synced_at) "
                        "VALUES (?, ?)", [(c, stamp) for c in chunk])

            runner.pull(table, table.select(_cookie_where(table, len(chunk)), "EVENT_DATE"),
                        list(chunk), mark_synced)
            runner.step()
    with store.atomic(db):
        for table in tables:
            obj = watermark_object(table.name)
            _set_mark(db, obj, _later(store.get_watermark(db, obj), snapshot[table.name]))
    if runner.on_progress and runner.steps_done == 0:
        runner.on_progress(1, 1)


def _set_mark(db: Database, obj: str, value: str | None) -> None:
    """Store a warehouse change time (text ``YYYY-MM-DD HH:MM:SS.fff`` or stored form)."""
    if value is None:
        return
    stamp = format_ts(parse_ts(value))
    current = store.get_watermark(db, obj)
    if current is None or stamp > current:
        store.set_watermark(db, stamp, obj)
