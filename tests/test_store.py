"""The database file: migrations, WAL, and refusing files that are not ours."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from calltui import store
from calltui.channels import STATUSES
from calltui.cli import cli


def test_new_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "new.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"tasks", "sessions", "page_views", "form_submits", "rejects", "imports",
            "call_outcomes", "call_flags", "touchpoints", "sync_state",
            "sync_log"} <= set(db.table_names())
    assert [m.name for m in store.migrations.pending(db)] == []


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    store.open_db(tmp_path / "a.db").close()
    db = store.open_db(tmp_path / "a.db")
    names = [m.name for m in store.migrations.applied(db)]
    assert len(names) == len(set(names))


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 50)
    before = path.read_bytes()
    with pytest.raises(store.StoreError, match="cannot be used as a calltui database"):
        store.open_db(path)
    assert path.read_bytes() == before


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    with pytest.raises(store.StoreError, match="holds another application's data"):
        store.open_db(path)
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"invoices"}


def test_a_database_from_a_newer_calltui_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    store.open_db(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('calltui', 'm999_from_the_future', '2030-01-01')")
    with pytest.raises(store.StoreError, match=r"newer calltui \(schema m999_from_the_future\)"):
        store.open_db(path)


def test_a_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.db"
    db = store.open_db(path)
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[:100])
    with pytest.raises(store.StoreError):
        store.open_db(path)


def test_cli_says_it_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello\n" * 100)
    result = CliRunner().invoke(cli, ["--db", str(path), "match"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {path} cannot be used as a calltui database")


def test_a_database_killed_while_being_created_is_still_ours(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    with sqlite3.connect(path) as conn:  # what a kill between the two first steps leaves
        conn.execute("CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, "
                     "migration_set TEXT, name TEXT, applied_at TEXT)")
    db = store.open_db(path)
    assert "tasks" in db.table_names()


def test_a_bulk_load_copies_the_wal_back_while_it_writes(tmp_path: Path) -> None:
    import time

    path = tmp_path / "bulk.db"
    db = store.open_db(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    start = path.stat().st_size
    with store.bulk_load(db, "sessions", big=False, checkpoints="behind"):
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO sessions (id, cookie_id, started_at) VALUES (?, ?, ?)",
                ((f"S{i}", "c" * 32, "2026-03-02T09:00:00.000Z") for i in range(20_000)))
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # not the writer...
        deadline = time.monotonic() + 10
        while path.stat().st_size <= start and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > start  # ...the background thread copied the pages back
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert store.count_rows(db, "sessions") == 20_000


def test_the_channel_filter_finds_unmatched_calls_as_report_channels_counts_them(
    tmp_path: Path,
) -> None:
    """channel:Paid on Unmatched calls showed 0 of 0, while report channels counted 104
    outside_window calls under Paid Search.AdWords: a call's channel there is the one of
    the session the rule compared it with."""
    from calltui.channels import channel_report
    from calltui.demo import build_demo

    db_path = tmp_path / "demo.db"
    build_demo(db_path, calls=600, seed=3)
    db = store.open_db(db_path)
    report = channel_report(db)
    for row in report.channels:
        if row["channel"].startswith("("):
            continue
        found = Counter(r["status"] for r in store.page_calls(
            db, store.ListFilter(channel=row["channel"]), limit=10_000))
        in_report = {s: row[s] for s in STATUSES if row[s]}
        # a filter matches part of a name: other channels that contain it come too
        assert all(found[s] >= n for s, n in in_report.items()), row["channel"]
        assert store.count_calls(db, store.ListFilter(channel=row["channel"])) == sum(
            found.values())
    paid = [r for r in report.channels if r["channel"] == "Paid Search.AdWords"]
    assert paid and paid[0]["outside_window"] > 0
    unmatched = store.page_calls(db, store.ListFilter(
        statuses=("outside_window",), channel="Paid Search.AdWords"), limit=10_000)
    assert len(unmatched) == paid[0]["outside_window"]
