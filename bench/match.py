"""Matcher benchmark (issue 5): 1,000,000 call Tasks and 10,000,000 sessions, calltui vs DuckDB.

Run from the repo root (DuckDB is a benchmark-only dependency: ``pip install duckdb``)::

    .venv/bin/python bench/match.py                                 # the issue's sizes
    .venv/bin/python bench/match.py --calls 100000 --sessions 1000000  # a quicker run

It builds a seeded data set in a calltui database: ``--sessions`` sessions over
90 days on ``--sessions / 10`` cookies, a third of which call, ``--calls`` call
Tasks on them (most within 30 minutes of a session, some later, some before the
cookie's first session, a few with a cookie that has no session, no BizibleId, or
deleted), three in four with a WhoId, some people with two cookies. Then, in the
same run and on the same data:

(a) the real CLI, ``calltui --db DB match --full``, as a child process: every call
    through the rules, explanations, journeys, written back to SQLite;
(b) DuckDB's ``ASOF LEFT JOIN`` of the same calls to the same sessions (loaded into
    an in-memory DuckDB from CSV before the clock starts), with the window check,
    into a table;
(c) 1 % more calls are added, and ``calltui --db DB match`` (incremental) is timed.

It prints the wall-clock seconds of each, calltui's ratio to DuckDB (target <= 2),
the full match's peak memory (the child's own ``ru_maxrss``, target < 1 GB), and the
incremental match's share of the full one (target <= 5 %), and exits 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from peak import measure

from calltui import store
from calltui.normalize import format_ts
from calltui.records import derive_task

RATIO_TARGET = 2.0
MEMORY_TARGET_MB = 1024
INCREMENTAL_TARGET = 0.05
SEED = 20260302
START = datetime(2026, 1, 5, tzinfo=UTC)
CHANNELS = [("Paid Search.AdWords", "cpc", "Google AdWords"), ("Organic Search.Google",
            "organic", "Google"), ("Direct", None, "Web Direct"), ("Social.LinkedIn",
            "social", "linkedin"), ("Email", "email", "newsletter")]
CALLS_PER_COOKIE = 3


def cookie_id(n: int) -> str:
    return f"{n:032x}"


def session_rows(sessions: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Ten sessions per cookie, spread over 90 days."""
    for n in range(sessions // 10):
        at = START + timedelta(days=rng.uniform(0, 80))
        for k in range(10):
            channel, medium, source = CHANNELS[(n + k) % len(CHANNELS)]
            yield (f"{format_ts(at)[:19]}.{n:x}.{k}", cookie_id(n), format_ts(at), channel,
                   medium, source, "https://www.example-dental.test/implants", 0)
            at += timedelta(hours=rng.expovariate(1 / 20))


def first_sessions(db: Any) -> dict[str, list[datetime]]:
    """Session starts of the calling cookies (every third), to place calls near them."""
    starts: dict[str, list[datetime]] = {}
    for cookie, at in db.execute(
            "SELECT cookie_id, started_at FROM sessions ORDER BY cookie_id, started_at"):
        if int(cookie, 16) % 3 == 0:
            starts.setdefault(cookie, []).append(datetime.fromisoformat(at))
    return starts


def call_row(n: int, cookie: str | None, at: datetime, who: str | None,
             deleted: bool = False) -> dict[str, Any]:
    ts = format_ts(at)
    return derive_task({
        "id": f"00T{n:012d}AAA", "type": "Call", "task_subtype": "Call", "who_id": who,
        "is_deleted": int(deleted), "bizible_id_raw": cookie, "bizible_touchpoint_date": ts,
        "completed_datetime": ts, "created_date": ts, "system_modstamp": ts,
        "subject": "Inbound call", "origin": "bench",
    })


def call_rows(first: int, count: int, starts: dict[str, list[datetime]],
              rng: random.Random) -> Iterator[dict[str, Any]]:
    """Calls on calling cookies: 60 % in the window, 20 % later, 10 % before the first
    session, the rest without a BizibleId, with an unknown cookie or deleted."""
    cookies = sorted(starts)
    for n in range(first, first + count):
        cookie = cookies[(n // CALLS_PER_COOKIE) % len(cookies)]
        who = f"00Q{int(cookie, 16) // 6:012d}AAA" if int(cookie, 16) % 4 else None
        session = rng.choice(starts[cookie])
        roll = rng.random()
        if roll < 0.6:
            yield call_row(n, cookie, session + timedelta(minutes=rng.uniform(0, 30)), who)
        elif roll < 0.8:
            yield call_row(n, cookie, session + timedelta(hours=rng.uniform(0.6, 12)), who)
        elif roll < 0.9:
            yield call_row(n, cookie, starts[cookie][0] - timedelta(hours=2), who)
        elif roll < 0.94:
            yield call_row(n, None, session + timedelta(minutes=5), who)
        elif roll < 0.97:
            yield call_row(n, f"{n:032x}"[::-1], session, who)
        else:
            yield call_row(n, cookie, session + timedelta(minutes=5), who, deleted=True)


def build(path: Path, calls: int, sessions: int) -> None:
    rng = random.Random(SEED)
    db = store.open_db(path)
    store.set_indexes_aside(db, "sessions")
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO sessions (id, cookie_id, started_at, channel, medium, web_source, "
            "landing_page, is_deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            session_rows(sessions, rng))
    store.restore_indexes(db)
    starts = first_sessions(db)
    add_calls(db, 0, calls, starts, rng)
    db.conn.close()


def add_calls(db: Any, first: int, count: int, starts: dict[str, list[datetime]],
              rng: random.Random) -> None:
    batch: list[dict[str, Any]] = []
    with db.atomic():
        for row in call_rows(first, count, starts, rng):
            batch.append(row)
            if len(batch) == 10_000:
                store.upsert(db, "tasks", batch)
                batch = []
        store.upsert(db, "tasks", batch)


def export_csv(path: Path, folder: Path) -> tuple[Path, Path]:
    import sqlite3

    conn = sqlite3.connect(path)
    out = []
    for name, sql in (
        ("calls.csv", "SELECT id, bizible_id, call_at FROM tasks WHERE is_call = 1 "
                      "AND is_deleted = 0 AND bizible_id IS NOT NULL"),
        ("sessions.csv", "SELECT id, cookie_id, started_at FROM sessions WHERE is_deleted = 0"),
    ):
        with open(folder / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("id", "cookie", "ts"))
            writer.writerows(conn.execute(sql))
        out.append(folder / name)
    conn.close()
    return out[0], out[1]


def duckdb_seconds(calls_csv: Path, sessions_csv: Path) -> tuple[float, int]:
    import duckdb

    con = duckdb.connect()
    for table, path in (("calls", calls_csv), ("sessions", sessions_csv)):
        con.execute(f"CREATE TABLE {table} AS SELECT id, cookie, ts::TIMESTAMPTZ AS ts "
                    f"FROM read_csv('{path}', header = true)")
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE result AS SELECT c.id AS task_id, s.id AS session_id, "
        "s.ts AS started_at, c.ts - s.ts AS gap, "
        "c.ts <= s.ts + INTERVAL 30 MINUTE AS merged "
        "FROM calls c ASOF LEFT JOIN sessions s ON c.cookie = s.cookie AND c.ts >= s.ts")
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT COUNT(*) FROM result").fetchone()
    return seconds, int(rows[0]) if rows else 0


def timed_cli(path: Path, *args: str) -> tuple[float, float]:
    """Wall seconds and peak MB of ``calltui --db path ARGS`` in a child process."""
    calltui = Path(sys.executable).with_name("calltui")
    env = {**os.environ, "XDG_CONFIG_HOME": str(path.parent)}  # no user config
    done = measure([str(calltui), "--db", str(path), *args], env=env)
    if done.returncode != 0:
        sys.exit(f"calltui {' '.join(args)} failed: {done.stderr[-500:]}")
    return done.seconds, done.peak_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="calltui-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "bench.db"
        began = time.perf_counter()
        build(path, args.calls, args.sessions)
        calls_csv, sessions_csv = export_csv(path, folder)
        print(f"built {args.calls:,} calls and {args.sessions:,} sessions "
              f"in {time.perf_counter() - began:.0f} s")
        full, peak = timed_cli(path, "match", "--full")
        duck, joined = duckdb_seconds(calls_csv, sessions_csv)
        db = store.open_db(path)
        more = args.calls // 100
        add_calls(db, args.calls, more, first_sessions(db),
                  random.Random(SEED + 1))
        db.conn.close()
        incremental, _ = timed_cli(path, "match")
    ratio, share = full / duck, incremental / full
    print(f"calltui match --full : {full:8.2f} s  peak {peak:,.0f} MB "
          f"(target < {MEMORY_TARGET_MB} MB)")
    print(f"DuckDB ASOF JOIN     : {duck:8.2f} s  ({joined:,} calls joined)")
    print(f"ratio calltui/DuckDB : {ratio:8.2f}x  (target <= {RATIO_TARGET}x)")
    print(f"incremental (+{more:,} calls): {incremental:.2f} s = {share:.1%} of full "
          f"(target <= {INCREMENTAL_TARGET:.0%})")
    met = ratio <= RATIO_TARGET and peak < MEMORY_TARGET_MB and share <= INCREMENTAL_TARGET
    print("targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
