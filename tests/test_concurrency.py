"""Two writers: the second waits for the first, or says clearly that another one is running."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from calltui import store
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
