"""Two writers: the second waits for the first, or says clearly that another one is running."""

from __future__ import annotations

import ast
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import calltui
from calltui import store, vendors
from calltui.importer import import_file
from tests.conftest import SAMPLE_SESSIONS, SAMPLE_TASKS


def cli(db: Path, *args: str, timeout_ms: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLTUI_BUSY_TIMEOUT": str(timeout_ms)}
    return subprocess.run([sys.executable, "-m", "calltui", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def hold_write_lock(db: Path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store.open_db(db).close()
    ready = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(db, 1.5, ready))
    holder.start()
    ready.wait()
    result = cli(db, "import", str(SAMPLE_TASKS), str(SAMPLE_SESSIONS), timeout_ms=20000)
    holder.join()
    assert result.returncode == 0, result.stderr
    assert store.count_rows(store.open_db(db), "tasks") == 4


def test_a_writer_that_cannot_wait_says_so_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store.open_db(db).close()
    ready = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(db, 4.0, ready))
    holder.start()
    ready.wait()
    result = cli(db, "import", str(SAMPLE_TASKS), timeout_ms=200)
    holder.join()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "error: another calltui is writing to this database")
    assert "Traceback" not in result.stderr


def test_readers_are_not_blocked_by_a_writer(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    db = store.open_db(db_path)
    import_file(db, SAMPLE_TASKS)
    ready = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(db_path, 1.0, ready))
    holder.start()
    ready.wait()
    started = time.monotonic()
    assert store.count_rows(db, "tasks") == 4  # WAL: reading does not wait for the writer
    assert time.monotonic() - started < 0.5
    holder.join()


def test_a_transaction_that_reads_first_keeps_its_turn_when_another_writer_comes(
    tmp_path: Path,
) -> None:
    """The match's vendor refresh reads the Tasks, then writes their vendors. Another
    calltui that writes in between must wait for it: a transaction begun without the
    write lock failed at its first write with 'database is locked', at once, whatever
    the busy timeout (two `calltui sync` runs a second apart failed 6 times in 8)."""
    path = tmp_path / "c.db"
    db = store.open_db(path)
    import_file(db, SAMPLE_TASKS)
    db.execute("DELETE FROM task_vendors")  # so the refresh has every call to write
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    refused: list[str] = []

    def write_in_between(sql: str) -> None:  # runs as the refresh starts writing
        if sql.startswith('INSERT INTO "task_vendors"') and not refused:
            try:
                other.execute("INSERT INTO pending_indexes (name, sql) VALUES ('x', 'y')")
                refused.append("no: the other writer went first")
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))

    db.conn.set_trace_callback(write_in_between)
    vendors.refresh(db)
    db.conn.set_trace_callback(None)
    assert refused == ["database is locked"]  # the other writer waited its 0.2 s, in vain
    calls = db.execute("SELECT COUNT(*) FROM tasks WHERE is_call = 1").fetchone()[0]
    assert calls > 0
    assert store.count_rows(db, "task_vendors") == calls


def _deferred_begins(path: Path) -> list[int]:
    """Lines of ``X.atomic()`` / ``X.begin()`` calls, leaving out ``store.atomic`` itself
    (whose nested case is a savepoint)."""
    tree = ast.parse(path.read_text())
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
              and f.name == "atomic" and path.name == "store.py" for n in ast.walk(f)}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("atomic", "begin") and not node.args
            and id(node) not in inside]


def test_every_write_transaction_takes_the_write_lock_when_it_begins(tmp_path: Path) -> None:
    """sqlite-utils' ``db.atomic()`` begins a deferred transaction (the fault above);
    calltui's writers use ``store.atomic``. The fake org, not calltui's store, may not."""
    root = Path(calltui.__file__).parent
    deferred = [f"{path.relative_to(root)}:{line}" for path in sorted(root.rglob("*.py"))
                if "fakeorg" not in path.parts for line in _deferred_begins(path)]
    assert deferred == []
    assert _deferred_begins(Path(__file__)) != []  # the check does find one
    db = store.open_db(tmp_path / "c.db")
    assert db.conn.isolation_level == "IMMEDIATE"  # sqlite-utils' implicit transactions


def _a_deferred_begin_for_the_check_above(db: Any) -> None:
    with db.atomic():
        pass


def test_a_second_sync_is_refused_at_once_while_one_runs(tmp_path: Path) -> None:
    """Two syncs of one database both read the whole window (twice the API calls) and
    matched twice; the second is now refused before it reads, and logged."""
    from calltui.fakeorg import FakeOrg
    from calltui.sf.client import SyncError
    from calltui.sync import run_sync
    from tests.test_sync import client_for, sample_tasks

    path = tmp_path / "c.db"
    db = store.open_db(path)
    holder = subprocess.Popen(  # another process, in the middle of its sync
        [sys.executable, "-c", "import sys\nfrom calltui import store\n"
         f"with store.sync_lock(store.open_db({str(path)!r})):\n"
         "    print('held', flush=True)\n    sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with FakeOrg() as org:
        org.add_tasks(sample_tasks())
        client = client_for(org)
        calls = org.api_calls
        with pytest.raises(SyncError) as refused:
            run_sync(db, client)
        assert org.api_calls == calls  # nothing was read
        assert str(refused.value) == (
            f"another calltui sync is running on {path}; let it finish (or stop it), then "
            "sync again: nothing was read")
        [log] = store.recent_syncs(db)
        assert (log["status"], log["error"]) == ("failed", str(refused.value))
        holder.communicate("")  # the other sync ends
        assert run_sync(db, client).upserted == 4
