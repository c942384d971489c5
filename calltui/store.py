"""The local SQLite database: schema migrations, writes and the reads every screen needs.

This is the only module that talks SQL. One ``Database`` per thread: SQLite
connections must not cross threads, so a worker opens its own with ``open_db``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

import platformdirs
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from calltui.normalize import format_ts
from calltui.sfid import to_18

__all__ = ["ListFilter", "default_db_path", "now_ts", "open_db"]

migrations = Migrations("calltui")

BATCH = 500


@migrations()
def m001_initial(db: Database) -> None:
    """Tasks, warehouse tables, rejects, import runs, outcomes and touchpoints."""
    for statement in _SCHEMA_001.split(";\n"):
        if statement.strip():
            db.execute(statement)


_SCHEMA_001 = """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    subject TEXT, type TEXT, task_subtype TEXT, call_type TEXT,
    call_duration_seconds INTEGER, status TEXT,
    who_id TEXT, what_id TEXT, owner_id TEXT, description TEXT,
    activity_date TEXT, created_date TEXT, completed_datetime TEXT,
    system_modstamp TEXT, is_deleted INTEGER NOT NULL DEFAULT 0,
    bizible_id_raw TEXT, bizible_touchpoint_date TEXT,
    bizible_id TEXT, bizible_state TEXT NOT NULL,
    call_at TEXT NOT NULL, call_at_field TEXT NOT NULL,
    call_time_fallback INTEGER NOT NULL DEFAULT 0,
    is_call INTEGER NOT NULL DEFAULT 1,
    origin TEXT
);
CREATE INDEX tasks_bizible ON tasks (bizible_id, call_at);
CREATE INDEX tasks_call_at ON tasks (call_at);
CREATE INDEX tasks_modstamp ON tasks (system_modstamp);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    cookie_id TEXT NOT NULL, visitor_id TEXT, started_at TEXT NOT NULL,
    channel TEXT, landing_page TEXT, referrer_page TEXT, web_source TEXT, source TEXT,
    medium TEXT, campaign TEXT, term TEXT, content TEXT, ad_provider TEXT,
    campaign_name TEXT, ad_group_name TEXT, ad_name TEXT, keyword_name TEXT,
    search_phrase TEXT, has_form INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0,
    modified_date TEXT, origin TEXT
);
CREATE INDEX sessions_cookie ON sessions (cookie_id, started_at, id);
CREATE INDEX sessions_started ON sessions (started_at);
CREATE TABLE page_views (
    id TEXT PRIMARY KEY, cookie_id TEXT NOT NULL, visitor_id TEXT, session_id TEXT NOT NULL,
    event_at TEXT NOT NULL, current_page TEXT, referrer_page TEXT,
    is_deleted INTEGER NOT NULL DEFAULT 0, modified_date TEXT, origin TEXT
);
CREATE INDEX page_views_session ON page_views (session_id, event_at);
CREATE TABLE form_submits (
    id TEXT PRIMARY KEY, cookie_id TEXT NOT NULL, visitor_id TEXT, session_id TEXT NOT NULL,
    event_at TEXT NOT NULL, current_page TEXT, form_type TEXT,
    is_deleted INTEGER NOT NULL DEFAULT 0, modified_date TEXT, origin TEXT
);
CREATE INDEX form_submits_cookie ON form_submits (cookie_id, event_at);
CREATE INDEX form_submits_session ON form_submits (session_id, event_at);
CREATE TABLE imports (
    id INTEGER PRIMARY KEY, file TEXT NOT NULL, kind TEXT,
    started_at TEXT NOT NULL, finished_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0, rows_stored INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, error TEXT
);
CREATE TABLE rejects (
    file TEXT NOT NULL, line INTEGER NOT NULL, kind TEXT NOT NULL,
    reason TEXT NOT NULL, raw TEXT, import_id INTEGER,
    PRIMARY KEY (file, line, kind)
);
CREATE TABLE match_runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    calls INTEGER, window_minutes REAL, anchor TEXT
);
CREATE TABLE call_outcomes (
    task_id TEXT PRIMARY KEY, call_at TEXT NOT NULL, call_at_field TEXT,
    bizible_id TEXT, bizible_id_raw TEXT, who_id TEXT, task_type TEXT,
    status TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '',
    session_id TEXT, compared_session_id TEXT, gap_seconds REAL,
    before_session_id TEXT, before_started_at TEXT, before_gap_seconds REAL,
    after_session_id TEXT, after_started_at TEXT, after_gap_seconds REAL,
    window_ends_at TEXT,
    touchpoint_type TEXT, medium TEXT, channel TEXT, source TEXT, campaign TEXT,
    explanation TEXT NOT NULL
);
CREATE INDEX call_outcomes_status ON call_outcomes (status, call_at);
CREATE INDEX call_outcomes_call_at ON call_outcomes (call_at);
CREATE INDEX call_outcomes_bizible ON call_outcomes (bizible_id);
CREATE TABLE call_flags (
    task_id TEXT NOT NULL, flag TEXT NOT NULL, PRIMARY KEY (task_id, flag)
);
CREATE INDEX call_flags_flag ON call_flags (flag);
CREATE TABLE touchpoints (
    touchpoint_id TEXT PRIMARY KEY, kind TEXT NOT NULL, task_id TEXT, session_id TEXT,
    person_key TEXT NOT NULL, touchpoint_date TEXT NOT NULL, touchpoint_type TEXT,
    medium TEXT, channel TEXT, source TEXT, campaign TEXT, landing_page TEXT,
    referrer_page TEXT, position TEXT, u_shaped_credit REAL NOT NULL DEFAULT 0
);
CREATE INDEX touchpoints_person ON touchpoints (person_key, touchpoint_date);
CREATE INDEX touchpoints_date ON touchpoints (touchpoint_date);
CREATE INDEX touchpoints_task ON touchpoints (task_id)
"""


@migrations()
def m002_sync(db: Database) -> None:
    """Sync watermarks and the sync log."""
    db.execute(
        "CREATE TABLE sync_state (object TEXT PRIMARY KEY, watermark TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE sync_log (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, "
        "finished_at TEXT, mode TEXT NOT NULL, window_start TEXT, window_end TEXT, "
        "rows_upserted INTEGER NOT NULL DEFAULT 0, rows_deleted INTEGER NOT NULL DEFAULT 0, "
        "rows_rejected INTEGER NOT NULL DEFAULT 0, api_calls INTEGER NOT NULL DEFAULT 0, "
        "usage_before TEXT, usage_after TEXT, status TEXT NOT NULL, error TEXT)"
    )


@migrations()
def m003_fewer_task_indexes(db: Database) -> None:
    """Nothing reads Tasks by call time or modstamp alone; each index cost every write."""
    db.execute("DROP INDEX IF EXISTS tasks_call_at")
    db.execute("DROP INDEX IF EXISTS tasks_modstamp")


@migrations()
def m004_app_list_indexes(db: Database) -> None:
    """The app's lists page by (call_at, task_id) and find merged sessions by id."""
    db.execute("CREATE INDEX IF NOT EXISTS call_outcomes_keyset ON call_outcomes "
               "(call_at, task_id)")
    db.execute("CREATE INDEX IF NOT EXISTS call_outcomes_status_keyset ON call_outcomes "
               "(status, call_at, task_id)")
    db.execute("CREATE INDEX IF NOT EXISTS call_outcomes_session ON call_outcomes (session_id)")


@migrations()
def m004_task_vendors(db: Database) -> None:
    """The call-tracking vendor of each call Task (derived by calltui.vendors.refresh)."""
    db.execute("CREATE TABLE task_vendors (task_id TEXT PRIMARY KEY, vendor TEXT NOT NULL, "
               "rules_key TEXT NOT NULL)")
    db.execute("CREATE INDEX task_vendors_vendor ON task_vendors (vendor)")


@migrations()
def m004_task_vendors_basis(db: Database) -> None:
    """What each vendor row was derived from, so a refresh skips unchanged Tasks."""
    db.execute("ALTER TABLE task_vendors ADD COLUMN basis TEXT")


@migrations()
def m005_reject_column(db: Database) -> None:
    """Each reject names the column at fault, where there is one (EVENT_DATE, COOKIE_ID...);
    indexes set aside during a bulk import, to be rebuilt even after a crash."""
    db.execute('ALTER TABLE rejects ADD COLUMN "column" TEXT')
    db.execute("CREATE TABLE pending_indexes (name TEXT PRIMARY KEY, sql TEXT NOT NULL)")


@migrations()
def m006_warehouse_cookies(db: Database) -> None:
    """Cookies whose warehouse history has been pulled once (calltui.warehouse.sync)."""
    db.execute("CREATE TABLE IF NOT EXISTS warehouse_cookies (cookie_id TEXT PRIMARY KEY, "
               "synced_at TEXT NOT NULL)")


@migrations()
def m007_match_changes(db: Database) -> None:
    """What changed since the last match, kept by triggers whatever writes the rows, so a
    match after an import or sync recomputes only the cookies and people touched."""
    for statement in _SCHEMA_007.split(";\n\n"):
        if statement.strip():
            db.execute(statement)


# Columns the matcher reads: a write that changes none of them leaves the outcomes alone.
_TASK_INPUTS = ("call_at", "bizible_id", "bizible_state", "bizible_id_raw", "type", "who_id",
                "is_deleted", "call_at_field", "call_time_fallback", "is_call")
_SESSION_INPUTS = ("cookie_id", "started_at", "is_deleted", "channel", "medium", "web_source",
                   "source", "campaign_name", "campaign", "landing_page", "referrer_page")
_EVENT_INPUTS = ("cookie_id", "session_id", "event_at", "is_deleted")


def _changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _task_marks(row: str) -> str:
    return (f"INSERT INTO match_changes (kind, key) VALUES ('task', {row}.id);\n"
            f"    INSERT INTO match_changes (kind, key) SELECT 'cookie', {row}.bizible_id "
            f"WHERE {row}.bizible_id IS NOT NULL;\n"
            f"    INSERT INTO match_changes (kind, key) SELECT 'person', {row}.who_id "
            f"WHERE {row}.who_id IS NOT NULL;")


def _cookie_mark(cookie: str) -> str:
    # Cookies that never called are outside the match; a later call marks its cookie itself.
    return (f"INSERT INTO match_changes (kind, key) SELECT 'cookie', {cookie} "
            f"WHERE EXISTS (SELECT 1 FROM tasks WHERE bizible_id = {cookie});")


def _row_marks(table: str, row: str) -> str:
    marks = _cookie_mark(f"{row}.cookie_id")
    if table != "sessions":  # an event also counts for the cookie of its session
        marks += "\n    " + _cookie_mark(
            f"(SELECT cookie_id FROM sessions WHERE id = {row}.session_id)")
    return marks


def _web_triggers(table: str, columns: Sequence[str]) -> str:
    return f"""
CREATE TRIGGER {table}_changed_insert AFTER INSERT ON {table} BEGIN
    {_row_marks(table, "NEW")}
END;

CREATE TRIGGER {table}_changed_update AFTER UPDATE ON {table} WHEN {_changed(columns)} BEGIN
    {_row_marks(table, "OLD")}
    {_row_marks(table, "NEW")}
END;

CREATE TRIGGER {table}_changed_delete AFTER DELETE ON {table} BEGIN
    {_row_marks(table, "OLD")}
END;
"""


_SCHEMA_007 = f"""
CREATE TABLE match_changes (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL);

CREATE INDEX tasks_who ON tasks (who_id) WHERE who_id IS NOT NULL;

ALTER TABLE match_runs ADD COLUMN mode TEXT;

ALTER TABLE match_runs ADD COLUMN options TEXT;

ALTER TABLE match_runs ADD COLUMN recomputed INTEGER;

CREATE TRIGGER tasks_changed_insert AFTER INSERT ON tasks BEGIN
    {_task_marks("NEW")}
END;

CREATE TRIGGER tasks_changed_update AFTER UPDATE ON tasks WHEN {_changed(_TASK_INPUTS)} BEGIN
    {_task_marks("OLD")}
    {_task_marks("NEW")}
END;

CREATE TRIGGER tasks_changed_delete AFTER DELETE ON tasks BEGIN
    {_task_marks("OLD")}
END;
{_web_triggers("sessions", _SESSION_INPUTS)}
{_web_triggers("page_views", _EVENT_INPUTS)}
{_web_triggers("form_submits", _EVENT_INPUTS)}
"""


def default_db_path() -> Path:
    """``CALLTUI_DB`` if set, else ``calltui.db`` in the user data directory."""
    env = os.environ.get("CALLTUI_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("calltui", appauthor=False)) / "calltui.db"


class StoreError(Exception):
    """The database cannot be used; the message is one line and nothing was written."""


def open_db(path: str | Path) -> Database:
    """Open (creating if needed) the database at ``path``, in WAL mode, fully migrated.

    Refuses, without writing, a file that is not SQLite, a SQLite file of another
    application, and a database written by a newer calltui.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    try:
        _check_ours(db, path)
        db.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        # implicit transactions (sqlite-utils' writes outside atomic) take the lock first too
        db.conn.isolation_level = "IMMEDIATE"
        db.execute("PRAGMA cache_size = -65536")  # 64 MB: index pages stay cached on big writes
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(f"{path} cannot be used as a calltui database: {exc}") from None
    except StoreError:
        db.close()
        raise
    return db


class SyncBusy(StoreError):
    """Another sync holds this database's sync lock."""


def db_file(db: Database) -> Path | None:
    """The file behind ``db`` (None in memory)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


SYNC_LOCK_SUFFIX = "-synclock"


@contextmanager
def sync_lock(db: Database) -> Iterator[None]:
    """One Salesforce sync at a time on a database: a second is refused at once
    (``SyncBusy``) instead of reading the same window again and spending its API calls
    twice. The lock is an exclusive transaction on an empty file beside the database
    (``<db>-synclock``, kept like ``-wal`` and ``-shm``), so the operating system lets it
    go if the process dies."""
    path = db_file(db)
    if path is None:
        yield
        return
    lock = sqlite3.connect(f"{path}{SYNC_LOCK_SUFFIX}", timeout=0, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError:
        lock.close()
        raise SyncBusy(f"another calltui sync is running on {path}; let it finish (or stop "
                       "it), then sync again: nothing was read") from None
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def busy_timeout_ms() -> int:
    """How long a writer waits for another one (``CALLTUI_BUSY_TIMEOUT`` ms, default 60 s)."""
    try:
        return max(0, int(os.environ.get("CALLTUI_BUSY_TIMEOUT", "60000")))
    except ValueError:
        return 60000


def _check_ours(db: Database, path: Path) -> None:
    """Read-only checks before anything is written to an existing file."""
    tables = set(db.table_names())  # reading the schema fails on a file that is not SQLite
    if not tables or tables == {"_sqlite_migrations"}:  # new, or killed while being created
        return
    if "_sqlite_migrations" not in tables or "tasks" not in tables:
        raise StoreError(f"{path} holds another application's data; calltui will not write "
                         "to it (pass another --db)")
    known = {m.name for m in migrations._migrations}  # sqlite-utils keeps the registry private
    applied = {m.name for m in migrations.applied(db)}
    newer = sorted(applied - known)
    if newer:
        raise StoreError(f"{path} was written by a newer calltui (schema {newer[-1]}); upgrade "
                         "calltui to use it")


def now_ts() -> str:
    """The current time in the stored form."""
    return format_ts(datetime.now(UTC))


# --- writes -----------------------------------------------------------------


@contextmanager
def atomic(db: Database) -> Iterator[Database]:
    """A write transaction that takes SQLite's write lock when it begins.

    sqlite-utils' ``db.atomic()`` begins a deferred transaction. One that reads before
    it writes fails at once with "database is locked" when another calltui has written
    since the read began: SQLite cannot wait for a snapshot that is already stale, so
    ``busy_timeout`` is never used. ``BEGIN IMMEDIATE`` takes the lock first, and a
    second writer waits its turn instead. Nested, it is a savepoint, as in sqlite-utils.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()  # a no-op when the error already ended the transaction
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


def upsert(db: Database, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert rows by primary key; a column a row lacks keeps its stored value.

    Rows are grouped by their key set, so a batch never writes NULL over a
    column that only some of its rows carry (sqlite-utils#873).
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    key_sets: dict[tuple[str, ...], tuple[str, ...]] = {}  # keys in row order -> sorted
    count = 0
    for row in rows:
        order = tuple(row)
        keys = key_sets.get(order)
        if keys is None:
            keys = key_sets[order] = tuple(sorted(order))
        group = groups.get(keys)
        if group is None:
            group = groups[keys] = []
        group.append(row)
        count += 1
    for keys, group in groups.items():
        _upsert_group(db, table, keys, group)
    return count


def upsert_values(db: Database, table: str, columns: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> None:
    """Upsert rows given as value lists in ``columns`` order (the importer's fast path)."""
    db.conn.executemany(_upsert_sql(db, table, columns), rows)


def _upsert_sql(db: Database, table: str, keys: Sequence[str]) -> str:
    pks = _primary_keys(db, table)
    cols = ", ".join(f'"{k}"' for k in keys)
    marks = ", ".join("?" for _ in keys)
    updates = ", ".join(f'"{k}" = excluded."{k}"' for k in keys if k not in pks)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return (f'INSERT INTO "{table}" ({cols}) VALUES ({marks}) '
            f"ON CONFLICT ({', '.join(pks)}) {action}")


def _upsert_group(
    db: Database, table: str, keys: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    sql = _upsert_sql(db, table, keys)
    if len(keys) > 1:
        params: Iterable[Sequence[Any]] = map(itemgetter(*keys), rows)  # tuples, built in C
    else:
        params = ([row[k] for k in keys] for row in rows)
    db.conn.executemany(sql, params)


_PK_CACHE: dict[str, tuple[str, ...]] = {}


def _primary_keys(db: Database, table: str) -> tuple[str, ...]:
    if table not in _PK_CACHE:
        _PK_CACHE[table] = tuple(db.table(table).pks)
    return _PK_CACHE[table]


def set_indexes_aside(db: Database, table: str) -> None:
    """Drop ``table``'s secondary indexes and its change triggers for a bulk load into it,
    remembering them in ``pending_indexes`` in the same transaction; ``restore_indexes``
    builds them again. While triggers are set aside every match is a full one."""
    with atomic(db):
        for name, sql, type_ in db.execute(
            "SELECT name, sql, type FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name = ? AND sql IS NOT NULL", [table]).fetchall():
            db.execute("INSERT OR REPLACE INTO pending_indexes (name, sql) VALUES (?, ?)",
                       [name, sql])
            db.execute(f'DROP {type_.upper()} "{name}"')


def restore_indexes(db: Database) -> None:
    """Build every index and trigger set aside by ``set_indexes_aside`` (a no-op when there
    is none). Rows written without the triggers were never noted, so a trigger coming back
    notes that everything changed: the next match is a full one."""
    pending = db.execute("SELECT name, sql FROM pending_indexes").fetchall()
    for name, sql in pending:
        with atomic(db):
            exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [name]).fetchone()
            if not exists:
                db.execute(sql)
                if sql.lstrip().upper().startswith("CREATE TRIGGER"):
                    db.execute("INSERT INTO match_changes (kind, key) VALUES ('all', '')")
            db.execute("DELETE FROM pending_indexes WHERE name = ?", [name])


Checkpoints = Literal["end", "behind", "writer"]


@contextmanager
def bulk_load(db: Database, table: str, big: bool,
              checkpoints: Checkpoints = "end") -> Iterator[None]:
    """Write a lot into ``table``, fast and still crash-safe.

    ``checkpoints`` says who copies the WAL back into the database file while the
    load goes on:

    * ``"end"``: no one; it is copied once at the end instead of by the writer every
      4 MB, where each copy holds the load up waiting for the disk;
    * ``"behind"``: a background thread on its own connection (``Checkpointer``);
      faster for a file import, which is busy parsing, but its copying is CPU the
      process spends;
    * ``"writer"``: SQLite's own, after a commit that leaves more than 4 MB in the WAL;
      best for a sync, which commits every few pages: the WAL stays small and its
      file pages are written over again instead of new ones being taken each time.

    For a ``big`` load into an empty table, the indexes and triggers are set aside
    and built once at the end, which is faster than keeping them up to date row by
    row. A load killed half-way is finished by the next one's start.
    """
    saved = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    if checkpoints != "writer":
        db.execute("PRAGMA wal_autocheckpoint = 0")
    restore_indexes(db)
    if big and is_empty(db, table):
        set_indexes_aside(db, table)
    checkpointer = Checkpointer(_db_file(db) if checkpoints == "behind" else None)
    try:
        yield
    finally:
        checkpointer.stop()
        db.execute("PRAGMA wal_checkpoint(RESTART)")  # the index build starts a fresh WAL
        restore_indexes(db)
        db.execute(f"PRAGMA wal_autocheckpoint = {int(saved)}")
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _db_file(db: Database) -> Path | None:
    name = db.execute("PRAGMA database_list").fetchone()[2]
    return Path(name) if name else None


class Checkpointer:
    """A thread that checkpoints a database's WAL every ``every`` seconds on its own
    connection (SQLite releases the GIL while it copies), until ``stop``."""

    def __init__(self, path: Path | None, every: float = 0.5) -> None:
        self._every = every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if path is not None:
            self._thread = threading.Thread(target=self._run, args=(path,), daemon=True,
                                            name="calltui-checkpoint")
            self._thread.start()

    def _run(self, path: Path) -> None:
        conn = sqlite3.connect(path, timeout=0, check_same_thread=False)
        try:
            while not self._stopping.wait(self._every):
                with suppress(sqlite3.Error):  # busy or locked: the next turn tries again
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()


def triggers_set_aside(db: Database) -> bool:
    """Whether some change triggers are set aside (a bulk load running, or killed)."""
    return db.execute("SELECT 1 FROM pending_indexes WHERE UPPER(LTRIM(sql)) "
                      "LIKE 'CREATE TRIGGER%' LIMIT 1").fetchone() is not None


def fetch_by_ids(db: Database, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored rows by id (used to merge partial records before deriving)."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), BATCH):
        chunk = list(ids[start : start + BATCH])
        marks = ", ".join("?" for _ in chunk)
        for row in db.query(f'SELECT * FROM "{table}" WHERE id IN ({marks})', chunk):
            out[row["id"]] = row
    return out


def start_import(db: Database, file: str, kind: str | None) -> int:
    cursor = db.execute(
        "INSERT INTO imports (file, kind, started_at, status) VALUES (?, ?, ?, 'running')",
        [file, kind, now_ts()],
    )
    return int(cursor.lastrowid or 0)


def finish_import(
    db: Database, import_id: int, *, status: str, read: int = 0, stored: int = 0,
    rejected: int = 0, error: str | None = None, kind: str | None = None,
) -> None:
    db.execute(
        "UPDATE imports SET finished_at = ?, status = ?, rows_read = ?, rows_stored = ?, "
        "rows_rejected = ?, error = ?, kind = COALESCE(?, kind) WHERE id = ?",
        [now_ts(), status, read, stored, rejected, error, kind, import_id],
    )


def add_rejects(db: Database, import_id: int, rejects: Iterable[dict[str, Any]]) -> None:
    """Keep rejected rows with file, line and reason; re-importing replaces, never doubles."""
    rows = [{**r, "import_id": import_id} for r in rejects]
    if rows:
        upsert(db, "rejects", rows)


# --- match results ------------------------------------------------------------


_RESULT_TABLES = ("call_outcomes", "call_flags", "touchpoints")


def start_staging(db: Database) -> None:
    """Empty temp copies of the result tables, filled by ``stage`` while a match runs.

    They live in this connection's temp database: staging takes no lock on the main
    one, so a long match never holds up an import or sync; ``swap_in_staged`` then
    writes the results in one short transaction.
    """
    for table in _RESULT_TABLES:
        db.execute(f"DROP TABLE IF EXISTS temp.staged_{table}")
        db.execute(f"CREATE TEMP TABLE staged_{table} AS SELECT * FROM main.{table} LIMIT 0")


def stage(db: Database, outcomes: Iterable[dict[str, Any]],
          touchpoints: Iterable[dict[str, Any]]) -> None:
    """Add outcome rows (with their flags) and touchpoint rows to the staging tables."""
    with atomic(db):
        for table, rows in (("call_outcomes", outcomes), ("touchpoints", touchpoints)):
            batch = list(rows)
            if not batch:
                continue
            if table == "call_outcomes":
                db.conn.executemany(
                    "INSERT INTO temp.staged_call_flags (task_id, flag) VALUES (?, ?)",
                    [(r["task_id"], f) for r in batch for f in r["flags"].split(",") if f])
            columns = list(batch[0])
            db.conn.executemany(
                f"INSERT INTO temp.staged_{table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                [[r[c] for c in columns] for r in batch])


def swap_in_staged(db: Database, scoped: bool = False) -> None:
    """Replace the stored results (all, or the scope's, see ``set_scope``) with the staged
    ones (call inside a transaction)."""
    if scoped:
        people = f"{_SCOPE_COOKIES} UNION SELECT key FROM temp.scope_persons"
        db.execute(f"DELETE FROM call_outcomes WHERE task_id IN ({_SCOPE_TASKS})")
        db.execute(f"DELETE FROM call_flags WHERE task_id IN ({_SCOPE_TASKS})")
        db.execute(f"DELETE FROM touchpoints WHERE person_key IN ({people}) "
                   f"OR task_id IN ({_SCOPE_TASKS})")
    else:
        for table in _RESULT_TABLES:
            db.execute(f"DELETE FROM {table}")
    for table in _RESULT_TABLES:
        # OR REPLACE: a Task that moved to another cookie between two batches of a full
        # match is staged twice; the later batch wins (and the move is noted for the next)
        db.execute(f"INSERT OR REPLACE INTO main.{table} SELECT * FROM temp.staged_{table}")
        db.execute(f"DROP TABLE temp.staged_{table}")


def iter_query(db: Database, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
    """Stream rows of a read-only query as dicts."""
    yield from db.query(sql, list(params))


# --- reads for the matcher ------------------------------------------------------
# The matcher reads the scope set by ``set_scope`` or ``fill_scope``; ``load_calls`` and
# ``load_call_forms`` also read everything (``scoped=False``, the in-warehouse match).

_CALL_COOKIES = (
    "SELECT DISTINCT bizible_id FROM tasks WHERE is_call = 1 AND bizible_id IS NOT NULL"
)
_SCOPE_COOKIES = "SELECT key FROM temp.scope_cookies"
_SCOPE_TASKS = "SELECT key FROM temp.scope_tasks"


def _cookies(scoped: bool) -> str:
    return _SCOPE_COOKIES if scoped else _CALL_COOKIES


def load_calls(db: Database, scoped: bool = False) -> Iterator[dict[str, Any]]:
    """Every call Task (or those in scope), with the columns the rules read."""
    where = f"AND id IN ({_SCOPE_TASKS}) " if scoped else ""
    return iter_query(
        db,
        "SELECT id, call_at, bizible_id, bizible_state, bizible_id_raw, type, who_id, "
        f"is_deleted, call_at_field, call_time_fallback FROM tasks WHERE is_call = 1 {where}"
        "ORDER BY call_at, id",
    )


def load_call_sessions(db: Database) -> Iterator[dict[str, Any]]:
    """Non-deleted sessions of the scope's cookies, by cookie, start and ID."""
    return iter_query(
        db,
        "SELECT id, cookie_id, started_at, channel, medium, web_source, source, "
        "campaign_name, campaign, landing_page, referrer_page FROM sessions "
        f"WHERE is_deleted = 0 AND cookie_id IN ({_SCOPE_COOKIES}) "
        "ORDER BY cookie_id, started_at, id",
    )


def load_last_activity(db: Database) -> dict[str, str]:
    """Session ID -> time of its last page view or form submit (the scope's sessions)."""
    out: dict[str, str] = {}
    sessions = f"SELECT id FROM sessions WHERE cookie_id IN ({_SCOPE_COOKIES})"
    for table in ("page_views", "form_submits"):
        sql = (
            f"SELECT session_id, MAX(event_at) AS last FROM {table} "
            f"WHERE is_deleted = 0 AND session_id IN ({sessions}) GROUP BY session_id"
        )
        for row in db.query(sql):
            if row["last"] > out.get(row["session_id"], ""):
                out[row["session_id"]] = row["last"]
    return out


def load_call_forms(db: Database, scoped: bool = False) -> Iterator[dict[str, Any]]:
    """Non-deleted form submits of cookies seen on calls."""
    return iter_query(
        db,
        "SELECT id, cookie_id, session_id, event_at FROM form_submits "
        f"WHERE is_deleted = 0 AND cookie_id IN ({_cookies(scoped)}) "
        "ORDER BY cookie_id, event_at",
    )


# --- what changed since the last match (kept by the m007 triggers) -------------------


@dataclass
class Changes:
    """Keys written since the last match, up to ``upto`` (the last ``match_changes.seq``)."""

    upto: int
    tasks: set[str]
    cookies: set[str]
    persons: set[str]
    everything: bool = False  # written while the triggers were set aside: match in full


def pending_changes(db: Database) -> Changes:
    """How far the changes go and whether they are "everything"; no keys yet (a full
    match needs none, and after a big load there can be millions: ``with_keys``)."""
    upto = db.execute("SELECT COALESCE(MAX(seq), 0) FROM match_changes").fetchone()[0]
    everything = triggers_set_aside(db) or db.execute(
        "SELECT 1 FROM match_changes WHERE kind = 'all' AND seq <= ? LIMIT 1",
        [upto]).fetchone() is not None
    return Changes(upto, set(), set(), set(), everything)


def count_changed_tasks(db: Database, upto: int) -> int:
    """How many Tasks were written up to ``upto`` (to see if most calls were touched)."""
    return int(db.execute("SELECT COUNT(DISTINCT key) FROM match_changes WHERE kind = 'task' "
                          "AND seq <= ?", [upto]).fetchone()[0])


def with_keys(db: Database, changes: Changes) -> Changes:
    """``changes`` with the Task, cookie and person keys written up to ``changes.upto``."""
    found: dict[str, set[str]] = {"task": set(), "cookie": set(), "person": set(),
                                  "all": set()}
    for kind, key in db.execute(
            "SELECT DISTINCT kind, key FROM match_changes WHERE seq <= ?", [changes.upto]):
        found[kind].add(key)
    return Changes(changes.upto, found["task"], found["cookie"], found["person"],
                   changes.everything)


def clear_changes(db: Database, upto: int) -> None:
    """Forget the changes a match has taken in; later ones wait for the next match."""
    db.execute("DELETE FROM match_changes WHERE seq <= ?", [upto])


def set_scope(db: Database, changes: Changes) -> int:
    """Fill the temp scope tables with everything ``changes`` can affect; return its calls.

    A call's outcome depends on the other calls and the sessions of its cookie; a
    person's journey on all their calls and the cookies they own. So the scope grows
    through calls (cookie -> WhoIds on it -> their other cookies ...) until it is closed.
    """
    with atomic(db):  # executemany alone would leave a transaction open
        _fill_scope(db, changes)
    # fetchall, not fetchone: a statement left open on a temp table blocks a checkpoint
    return int(db.execute(f"SELECT COUNT(*) FROM tasks WHERE is_call = 1 AND id IN "
                          f"({_SCOPE_TASKS})").fetchall()[0][0])


def fill_scope(db: Database, cookies: Iterable[str], persons: Iterable[str],
               tasks: Iterable[str] = ()) -> None:
    """Set the scope to these cookies and people, their Tasks, and ``tasks`` (Tasks with
    neither). The caller makes sure it is closed (``call_links``)."""
    with atomic(db):
        _put_scope(db, tasks, cookies, persons)
        _add_scope_tasks(db)


def call_links(db: Database) -> Iterator[tuple[str | None, str | None]]:
    """The distinct (BizibleId, WhoId) pairs on calls, either may be None (not both):
    the edges of the graph a full match is split along."""
    yield from db.execute(
        "SELECT DISTINCT bizible_id, who_id FROM tasks WHERE is_call = 1 "
        "AND (bizible_id IS NOT NULL OR who_id IS NOT NULL)")


def unlinked_calls(db: Database) -> Iterator[str]:
    """Task Ids of calls with neither a BizibleId nor a WhoId (each a group of its own)."""
    for (task_id,) in db.execute(
            "SELECT id FROM tasks WHERE is_call = 1 AND bizible_id IS NULL AND who_id IS NULL"):
        yield task_id


def _put_scope(db: Database, tasks: Iterable[str], cookies: Iterable[str],
               persons: Iterable[str]) -> None:
    for name, keys in (("scope_tasks", tasks), ("scope_cookies", cookies),
                       ("scope_persons", persons)):
        db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (key TEXT PRIMARY KEY)")
        db.execute(f"DELETE FROM temp.{name}")
        db.conn.executemany(f"INSERT OR IGNORE INTO temp.{name} VALUES (?)",
                            ((k,) for k in keys))


def _add_scope_tasks(db: Database) -> None:
    for sql in (f"SELECT id FROM tasks WHERE bizible_id IN ({_SCOPE_COOKIES})",
                "SELECT id FROM tasks WHERE who_id IN (SELECT key FROM temp.scope_persons)"):
        db.execute(f"INSERT OR IGNORE INTO temp.scope_tasks {sql}")


def _fill_scope(db: Database, changes: Changes) -> None:
    _put_scope(db, changes.tasks, changes.cookies, changes.persons)
    grow = (
        "INSERT OR IGNORE INTO temp.scope_persons SELECT who_id FROM tasks "
        f"WHERE bizible_id IN ({_SCOPE_COOKIES}) AND who_id IS NOT NULL",
        "INSERT OR IGNORE INTO temp.scope_cookies SELECT bizible_id FROM tasks "
        "WHERE who_id IN (SELECT key FROM temp.scope_persons) AND bizible_id IS NOT NULL",
    )
    while sum(db.execute(sql).rowcount for sql in grow):
        pass
    _add_scope_tasks(db)


def stored_statuses(db: Database) -> dict[str, str]:
    """Task Id -> status of the last match."""
    return {r["task_id"]: r["status"] for r in db.query(
        "SELECT task_id, status FROM call_outcomes")}


def record_match_run(
    db: Database, started_at: str, calls: int, window_minutes: float, anchor: str,
    *, mode: str = "full", options: str | None = None, recomputed: int | None = None,
) -> None:
    db.execute(
        "INSERT INTO match_runs (started_at, finished_at, calls, window_minutes, anchor, "
        "mode, options, recomputed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [started_at, now_ts(), calls, window_minutes, anchor, mode, options, recomputed],
    )


# --- reads for reports and screens -------------------------------------------------

CALL_REPORT_COLUMNS = (
    "task_id", "call_at", "bizible_id", "status", "flags", "session_id",
    "compared_session_id", "gap_seconds", "touchpoint_type", "medium", "channel",
)
TOUCHPOINT_COLUMNS = (
    "touchpoint_id", "kind", "task_id", "session_id", "person_key", "touchpoint_date",
    "touchpoint_type", "medium", "channel", "source", "campaign", "landing_page",
    "referrer_page", "position", "u_shaped_credit",
)


def _outcome_filter(
    statuses: Sequence[str] | None, flags: Sequence[str] | None, vendor: str | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if statuses:
        clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    if flags:
        marks = ", ".join("?" for _ in flags)
        clauses.append(f"task_id IN (SELECT task_id FROM call_flags WHERE flag IN ({marks}))")
        params.extend(flags)
    if vendor is not None:  # attributed by calltui.vendors.refresh; no row counts as unknown
        clauses.append("COALESCE((SELECT vendor FROM task_vendors v WHERE v.task_id = "
                       "call_outcomes.task_id), 'unknown') = ?")
        params.append(vendor)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def page_outcomes(
    db: Database, *, statuses: Sequence[str] | None = None, flags: Sequence[str] | None = None,
    after: tuple[str, str] | None = None, limit: int = 500, columns: str = "*",
    vendor: str | None = None,
) -> list[dict[str, Any]]:
    """One page of call outcomes in (call_at, task_id) order, after the keyset ``after``."""
    where, params = _outcome_filter(statuses, flags, vendor)
    if after is not None:
        where += (" AND " if where else " WHERE ") + "(call_at, task_id) > (?, ?)"
        params.extend(after)
    sql = f"SELECT {columns} FROM call_outcomes{where} ORDER BY call_at, task_id LIMIT ?"
    return list(db.query(sql, [*params, limit]))


def iter_outcomes(
    db: Database, *, statuses: Sequence[str] | None = None, flags: Sequence[str] | None = None,
    vendor: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Every matching outcome, streamed page by page (constant memory)."""
    after: tuple[str, str] | None = None
    while True:
        page = page_outcomes(db, statuses=statuses, flags=flags, after=after, vendor=vendor)
        yield from page
        if len(page) < 500:
            return
        after = (page[-1]["call_at"], page[-1]["task_id"])


def count_outcomes(
    db: Database, *, statuses: Sequence[str] | None = None, flags: Sequence[str] | None = None,
    vendor: str | None = None,
) -> int:
    where, params = _outcome_filter(statuses, flags, vendor)
    return int(db.execute(f"SELECT COUNT(*) FROM call_outcomes{where}", params).fetchone()[0])


def get_outcome(db: Database, task_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM call_outcomes WHERE task_id = ?", [task_id]))
    return rows[0] if rows else None


def find_outcome(db: Database, task_id: str) -> dict[str, Any] | None:
    """An outcome by its Id as admins paste it.

    Exact first; a 15-character Id by its 18-character form or its first 15
    characters; an 18-character Id in any case (the suffix makes it case-safe).
    """
    found = get_outcome(db, task_id)
    if found is not None:
        return found
    if len(task_id) == 15:
        found = get_outcome(db, to_18(task_id))
        where = "substr(task_id, 1, 15) = ?"
    elif len(task_id) == 18:
        where = "task_id = ? COLLATE NOCASE"
    else:
        return None
    if found is None:
        rows = list(db.query(f"SELECT * FROM call_outcomes WHERE {where} LIMIT 1", [task_id]))
        found = rows[0] if rows else None
    return found


def counts_by_status(db: Database) -> dict[str, int]:
    return {r["status"]: r["n"] for r in db.query(
        "SELECT status, COUNT(*) AS n FROM call_outcomes GROUP BY status")}


def counts_by_flag(db: Database) -> dict[str, int]:
    return {r["flag"]: r["n"] for r in db.query(
        "SELECT flag, COUNT(*) AS n FROM call_flags GROUP BY flag")}


def counts_by_channel(db: Database) -> dict[str, int]:
    """Call touchpoints per channel (no channel = 'Salesforce Task' touchpoints)."""
    return {r["channel"] or "(no channel: Salesforce Task)": r["n"] for r in db.query(
        "SELECT channel, COUNT(*) AS n FROM call_outcomes WHERE touchpoint_type IS NOT NULL "
        "GROUP BY channel ORDER BY n DESC")}


def page_touchpoints(
    db: Database, *, after: tuple[str, str] | None = None, limit: int = 500,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """One page of touchpoints in (touchpoint_date, touchpoint_id) order."""
    clauses: list[str] = []
    params: list[Any] = []
    if kind:
        clauses.append("kind = ?")
        params.append(kind)
    if after is not None:
        clauses.append("(touchpoint_date, touchpoint_id) > (?, ?)")
        params.extend(after)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (f"SELECT * FROM touchpoints{where} "
           "ORDER BY touchpoint_date, touchpoint_id LIMIT ?")
    return list(db.query(sql, [*params, limit]))


def iter_touchpoints(db: Database) -> Iterator[dict[str, Any]]:
    after: tuple[str, str] | None = None
    while True:
        page = page_touchpoints(db, after=after)
        yield from page
        if len(page) < 500:
            return
        after = (page[-1]["touchpoint_date"], page[-1]["touchpoint_id"])


def count_rows(db: Database, table: str) -> int:
    return int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def is_empty(db: Database, table: str) -> bool:
    return db.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is None


Rows = list[dict[str, Any]]


def cookie_timeline(db: Database, cookie_id: str) -> tuple[Rows, Rows]:
    """The sessions and call Tasks of one cookie, in time order (for the detail view)."""
    sessions = list(db.query(
        "SELECT id, started_at, channel, landing_page, is_deleted FROM sessions "
        "WHERE cookie_id = ? ORDER BY started_at, id", [cookie_id]))
    calls = list(db.query(
        "SELECT t.id, t.call_at, t.type, o.status FROM tasks t "
        "LEFT JOIN call_outcomes o ON o.task_id = t.id "
        "WHERE t.bizible_id = ? AND t.is_call = 1 ORDER BY t.call_at, t.id", [cookie_id]))
    return sessions, calls


def last_import(db: Database) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM imports ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows else None


def last_match(db: Database) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM match_runs ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows else None


def finished_work(db: Database) -> tuple[Any, ...]:
    """What has finished: the last match, sync and import (ids and end times). It changes
    when another process's work ends, not with each batch a running sync commits."""
    return tuple(db.execute(
        "SELECT (SELECT MAX(id) FROM match_runs), "
        "(SELECT MAX(id) || ' ' || COALESCE(MAX(finished_at), '') FROM sync_log), "
        "(SELECT MAX(id) || ' ' || COALESCE(MAX(finished_at), '') FROM imports)").fetchone())


def recent_imports(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM imports ORDER BY id DESC LIMIT ?", [limit]))


def page_rejects(db: Database, limit: int = 500, offset: int = 0,
                 file: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE file = ? ", [file]) if file else ("", [])
    return list(db.query(
        f'SELECT file, line, kind, "column", reason FROM rejects {where}ORDER BY file, line '
        "LIMIT ? OFFSET ?", [*params, limit, offset]))


def count_rejects(db: Database) -> int:
    """Rows kept in the rejects table (shown on the Overview)."""
    return count_rows(db, "rejects")


# --- reads for the app's lists (filtered, sorted, keyset-paged) --------------------

LIST_SORTS = frozenset({
    "call_at", "task_id", "status", "gap_seconds", "before_gap_seconds", "after_gap_seconds",
    "bizible_id", "bizible_id_raw", "compared_session_id", "task_type", "who_id", "flags",
    "channel",
})
"""Columns of ``call_outcomes`` a list can sort by."""


@dataclass(frozen=True)
class ListFilter:
    """What a list shows: every field is optional and narrows the rows (AND)."""

    statuses: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    since: str | None = None
    """Stored-form time; rows at or after it."""
    until: str | None = None
    """Stored-form time; rows before it."""
    channel: str | None = None
    task_type: str | None = None
    search: str | None = None
    """Part of a Task Id, BizibleId or subject (calls) or session Id or cookie (sessions)."""
    vendor: str | None = None
    """Part of the call-tracking vendor's name (``task_vendors``; calls only)."""


def _list_where(f: ListFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.statuses:
        clauses.append(f"o.status IN ({', '.join('?' for _ in f.statuses)})")
        params.extend(f.statuses)
    for flag in f.flags:  # every flag given must be set
        clauses.append("o.task_id IN (SELECT task_id FROM call_flags WHERE flag = ?)")
        params.append(flag)
    if f.since:
        clauses.append("o.call_at >= ?")
        params.append(f.since)
    if f.until:
        clauses.append("o.call_at < ?")
        params.append(f.until)
    if f.channel:  # as report channels: an unmatched call's is its compared session's
        clauses.append("COALESCE(o.channel, (SELECT s.channel FROM sessions s "
                       "WHERE s.id = o.compared_session_id)) LIKE ?")
        params.append(f"%{f.channel}%")
    if f.task_type:
        clauses.append("COALESCE(o.task_type, '') LIKE ?")
        params.append(f.task_type)
    if f.vendor:
        clauses.append("o.task_id IN (SELECT task_id FROM task_vendors WHERE vendor LIKE ?)")
        params.append(f"%{f.vendor}%")
    if f.search:
        like = f"%{f.search}%"
        clauses.append("(o.task_id LIKE ? OR o.bizible_id LIKE ? OR o.bizible_id_raw LIKE ? "
                       "OR o.task_id IN (SELECT id FROM tasks WHERE subject LIKE ?))")
        params.extend([like, like, like, like])
    return clauses, params


def page_calls(
    db: Database, f: ListFilter = ListFilter(), *, sort: str = "call_at",
    descending: bool = False, after: dict[str, Any] | None = None, limit: int = 500,
) -> list[dict[str, Any]]:
    """One page of call outcomes, filtered and sorted in SQL, after the row ``after``.

    The order is (sort value, task_id), or (call_at, task_id), with empty values
    last in both directions, so paging by keyset never skips or repeats a row.
    """
    if sort not in LIST_SORTS:
        raise ValueError(f"cannot sort by {sort}")
    clauses, params = _list_where(f)
    op, way = ("<", "DESC") if descending else (">", "ASC")
    if sort == "call_at":
        keys = ["o.call_at", "o.task_id"]
        order = f"o.call_at {way}, o.task_id {way}"
    else:
        keys = [f"(o.{sort} IS NULL OR o.{sort} = '')", f"o.{sort}", "o.task_id"]
        order = f"{keys[0]} ASC, o.{sort} {way}, o.task_id {way}"
    if after is not None:
        if sort == "call_at":
            clauses.append(f"(o.call_at, o.task_id) {op} (?, ?)")
            params.extend([after["call_at"], after["task_id"]])
        else:
            value = after[sort]
            empty = value is None or value == ""
            if empty:  # among the empty values: by task_id
                clauses.append(f"{keys[0]} AND o.task_id {op} ?")
                params.append(after["task_id"])
            else:
                clauses.append(f"({keys[0]} OR (o.{sort}, o.task_id) {op} (?, ?))")
                params.extend([value, after["task_id"]])
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT o.* FROM call_outcomes o{where} ORDER BY {order} LIMIT ?"
    return list(db.query(sql, [*params, limit]))


def count_calls(db: Database, f: ListFilter = ListFilter()) -> int:
    clauses, params = _list_where(f)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return int(db.execute(f"SELECT COUNT(*) FROM call_outcomes o{where}", params).fetchone()[0])


_UNMERGED = (
    "s.is_deleted = 0 "
    "AND EXISTS (SELECT 1 FROM tasks t WHERE t.bizible_id = s.cookie_id AND t.is_call = 1 "
    "AND t.is_deleted = 0) "
    "AND NOT EXISTS (SELECT 1 FROM call_outcomes o WHERE o.session_id = s.id)"
)
_NEAR_CALL = (
    "(SELECT t.{col} FROM tasks t WHERE t.bizible_id = s.cookie_id AND t.is_call = 1 "
    "AND t.is_deleted = 0 AND t.call_at {op} s.started_at ORDER BY t.call_at {way}, t.id {way} "
    "LIMIT 1)"
)


def _session_where(f: ListFilter) -> tuple[list[str], list[Any]]:
    clauses, params = [_UNMERGED], []
    if f.since:
        clauses.append("s.started_at >= ?")
        params.append(f.since)
    if f.until:
        clauses.append("s.started_at < ?")
        params.append(f.until)
    if f.channel:
        clauses.append("s.channel LIKE ?")
        params.append(f"%{f.channel}%")
    if f.search:
        clauses.append("(s.id LIKE ? OR s.cookie_id LIKE ?)")
        params.extend([f"%{f.search}%"] * 2)
    return clauses, params


def page_unmatched_sessions(
    db: Database, f: ListFilter = ListFilter(), *, after: tuple[str, str] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Sessions of cookies that called but that no call merged with, by (started_at, id).

    Each row carries the nearest call of its cookie before and after the session
    start (``call_before_id``/``_at``, ``call_after_id``/``_at``).
    """
    clauses, params = _session_where(f)
    if after is not None:
        clauses.append("(s.started_at, s.id) > (?, ?)")
        params.extend(after)
    near = {
        f"call_{side}_{name}": _NEAR_CALL.format(col=col, op=op, way=way)
        for side, op, way in (("before", "<=", "DESC"), ("after", ">", "ASC"))
        for name, col in (("id", "id"), ("at", "call_at"))
    }
    picks = ", ".join(f"{sql} AS {name}" for name, sql in near.items())
    sql = (f"SELECT s.id, s.cookie_id, s.started_at, s.channel, s.landing_page, {picks} "
           f"FROM sessions s WHERE {' AND '.join(clauses)} ORDER BY s.started_at, s.id LIMIT ?")
    return list(db.query(sql, [*params, limit]))


def count_unmatched_sessions(db: Database, f: ListFilter = ListFilter()) -> int:
    clauses, params = _session_where(f)
    sql = f"SELECT COUNT(*) FROM sessions s WHERE {' AND '.join(clauses)}"
    return int(db.execute(sql, params).fetchone()[0])


def _touchpoint_where(f: ListFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value, op in (("touchpoint_date", f.since, ">="),
                              ("touchpoint_date", f.until, "<")):
        if value:
            clauses.append(f"{column} {op} ?")
            params.append(value)
    if f.channel:
        clauses.append("channel LIKE ?")
        params.append(f"%{f.channel}%")
    if f.task_type:
        clauses.append("COALESCE(touchpoint_type, '') LIKE ?")
        params.append(f.task_type)
    if f.search:
        clauses.append("(task_id LIKE ? OR session_id LIKE ? OR person_key LIKE ?)")
        params.extend([f"%{f.search}%"] * 3)
    return clauses, params


def page_touchpoints_where(
    db: Database, f: ListFilter = ListFilter(), *, after: tuple[str, str] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """One page of touchpoints narrowed by a list filter, by (touchpoint_date, touchpoint_id)."""
    clauses, params = _touchpoint_where(f)
    if after is not None:
        clauses.append("(touchpoint_date, touchpoint_id) > (?, ?)")
        params.extend(after)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT * FROM touchpoints{where} ORDER BY touchpoint_date, touchpoint_id LIMIT ?"
    return list(db.query(sql, [*params, limit]))


def count_touchpoints_where(db: Database, f: ListFilter = ListFilter()) -> int:
    clauses, params = _touchpoint_where(f)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return int(db.execute(f"SELECT COUNT(*) FROM touchpoints{where}", params).fetchone()[0])


# --- sync state and log ----------------------------------------------------------


def get_watermark(db: Database, obj: str = "Task") -> str | None:
    rows = list(db.query("SELECT watermark FROM sync_state WHERE object = ?", [obj]))
    return rows[0]["watermark"] if rows else None


def set_watermark(db: Database, watermark: str, obj: str = "Task") -> None:
    """Call inside the transaction that stores the rows the watermark covers."""
    db.execute(
        "INSERT INTO sync_state (object, watermark, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (object) DO UPDATE SET watermark = excluded.watermark, "
        "updated_at = excluded.updated_at",
        [obj, watermark, now_ts()],
    )


def start_sync_log(db: Database, mode: str, window_start: str | None, window_end: str) -> int:
    cursor = db.execute(
        "INSERT INTO sync_log (started_at, mode, window_start, window_end, status) "
        "VALUES (?, ?, ?, ?, 'running')", [now_ts(), mode, window_start, window_end])
    return int(cursor.lastrowid or 0)


def finish_sync_log(db: Database, log_id: int, **values: Any) -> None:
    _set_sync_log(db, log_id, finished_at=now_ts(), **values)


def _set_sync_log(db: Database, log_id: int, **values: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE sync_log SET {sets} WHERE id = ?", [*values.values(), log_id])


def note_sync_rows(db: Database, log_id: int, upserted: int, deleted: int,
                   rejected: int) -> None:
    """A running sync's counts, written in the transaction of the rows they count: the
    log always says what is committed, whatever stops the run."""
    _set_sync_log(db, log_id, rows_upserted=upserted, rows_deleted=deleted,
                  rows_rejected=rejected)


def sync_rows(db: Database, log_id: int) -> tuple[int, int, int]:
    """(upserted, deleted, rejected) committed so far by the sync logged as ``log_id``."""
    row = db.execute("SELECT rows_upserted, rows_deleted, rows_rejected FROM sync_log "
                     "WHERE id = ?", [log_id]).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def sync_log_row(db: Database, log_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM sync_log WHERE id = ?", [log_id]))
    return rows[0] if rows else None


def recent_syncs(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM sync_log ORDER BY id DESC LIMIT ?", [limit]))


def log_failed_sync(db: Database, mode: str, error: str, status: str = "failed") -> None:
    """A run that failed (or was interrupted) before it could read anything, e.g. at the
    login, is logged too."""
    log_id = start_sync_log(db, mode, None, now_ts())
    finish_sync_log(db, log_id, status=status, error=error)
