"""App benchmark (issue 6): every list screen over 1,000,000 calls and 5,000,000 sessions.

Run from the repo root::

    .venv/bin/python bench/app.py                                # the full size
    .venv/bin/python bench/app.py --calls 100000 --sessions 500000  # a quicker run
    .venv/bin/python bench/app.py --db /tmp/big.db --reuse       # measure a built database

The database is built straight into the schema ``store.open_db`` creates:
Tasks, sessions, call outcomes (with flags) and touchpoints are written with
``executemany`` (indexes dropped during the load and rebuilt after), so the
build does not run the rules. Then, for each list screen, a fresh process opens
the app headless (``run_test``, 120×40) on that screen and measures:

* **first paint**: from constructing the app to the first rows painted;
* **peak memory**: the process's own peak RSS (``VmHWM``) at the end;
* **key → repaint**: ``pagedown`` 40 times (rows page in from SQLite as the cursor
  nears the end) and a filter typed and applied with Enter, each timed from the
  key press to the repaint; the worst is checked.

Targets: first paint ≤ 0.5 s, memory ≤ 150 MB, key → repaint ≤ 50 ms. Exit
status 1 if any is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlite_utils import Database  # noqa: E402

from calltui import store  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak import own_peak_mb  # noqa: E402

FIRST_PAINT_S = 0.5
MEMORY_MB = 150.0
KEY_MS = 50.0
SIZE = (120, 40)

SCREENS = {  # screen -> filter typed on it
    "missing": "from:2026-02-01",
    "unmatched-calls": "status:outside_window",
    "unmatched-sessions": "channel:Paid",
    "touchpoints": None,
}
STATUSES = (  # (status, share of calls)
    ("matched", 0.60), ("outside_window", 0.18), ("call_before_session", 0.05),
    ("unknown_bizible_id", 0.05), ("missing_bizible_id", 0.10), ("deleted", 0.02),
)
CHANNELS = ("Paid Search.Google", "Social.LinkedIn", "Organic Search", "Email", "Direct")
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _ts(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _without_indexes(db: Any, tables: tuple[str, ...]) -> list[str]:
    marks = ", ".join("?" for _ in tables)
    rows = db.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                      f"NULL AND tbl_name IN ({marks})", list(tables)).fetchall()
    for name, _ in rows:
        db.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def build(path: Path, n_calls: int, n_sessions: int) -> float:
    """Write the database; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(6)
    store.open_db(path).close()  # the schema, migrated
    db = Database(path)  # a bulk load: no WAL, no fsync, a big cache; WAL again at the end
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    tables = ("tasks", "sessions", "call_outcomes", "call_flags", "touchpoints")
    indexes = _without_indexes(db, tables)
    span = 120 * 86400  # four months
    n_cookies = max(1, n_sessions // 3)
    conn = db.conn
    with db.atomic():
        conn.executemany(
            "INSERT INTO sessions (id, cookie_id, started_at, channel, landing_page, is_deleted) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            ((f"S{i:011d}", f"{i % n_cookies:032x}", _ts(i * span // n_sessions),
              CHANNELS[i % len(CHANNELS)], f"https://acme.example/p/{i % 97}")
             for i in range(n_sessions)))
    cuts, acc = [], 0.0
    for status, share in STATUSES:
        acc += share
        cuts.append((acc, status))

    def status_of(j: int) -> str:
        x = (j * 0.6180339887) % 1.0
        return next(s for c, s in cuts if x < c)

    task_rows: list[tuple[Any, ...]] = []
    outcome_rows: list[tuple[Any, ...]] = []
    flag_rows: list[tuple[str, str]] = []
    tp_rows: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.executemany(
            "INSERT INTO tasks (id, subject, type, who_id, is_deleted, bizible_id_raw, "
            "bizible_id, bizible_state, call_at, call_at_field, is_call) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CreatedDate', 1)", task_rows)
        conn.executemany(
            "INSERT INTO call_outcomes (task_id, call_at, call_at_field, bizible_id, "
            "bizible_id_raw, who_id, task_type, status, flags, session_id, compared_session_id, "
            "gap_seconds, before_gap_seconds, after_gap_seconds, touchpoint_type, channel, "
            "explanation) VALUES (?, ?, 'CreatedDate', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            outcome_rows)
        conn.executemany("INSERT INTO call_flags (task_id, flag) VALUES (?, ?)", flag_rows)
        conn.executemany(
            "INSERT INTO touchpoints (touchpoint_id, kind, task_id, session_id, person_key, "
            "touchpoint_date, touchpoint_type, channel, position, u_shaped_credit) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'FT, LC', 1.0)", tp_rows)
        for rows in (task_rows, outcome_rows, flag_rows, tp_rows):
            rows.clear()

    with db.atomic():
        for j in range(n_calls):
            task_id = f"00T{j:012d}AAA"
            status = status_of(j)
            at = rng.randrange(span)
            cookie = f"{(j * 7919) % n_cookies:032x}"
            if status == "unknown_bizible_id":
                cookie = f"{n_cookies + j:032x}"
            bizible = None if status == "missing_bizible_id" else cookie
            session = f"S{(j * 7919) % n_cookies:011d}" if status == "matched" else None
            task_type = "" if j % 10 == 0 else "Call"
            who = None if j % 13 == 0 else "00Q000000000001AAA"
            flags = ",".join(f for f, on in (("no_person", who is None),
                                             ("type_blank", task_type == "")) if on)
            gap = float(rng.randrange(60, 7200)) if status in ("matched", "outside_window") \
                else None
            call_at = _ts(at)
            task_rows.append((task_id, f"Call {j}", task_type, who, status == "deleted",
                              bizible, bizible, "ok" if bizible else "missing", call_at))
            touch = None if status in ("missing_bizible_id", "deleted") else (
                "Call" if status == "matched" else "Salesforce Task")
            outcome_rows.append((
                task_id, call_at, bizible, bizible, who, task_type, status, flags, session,
                session, gap, gap, None if gap is None else -gap * 3, touch,
                CHANNELS[j % len(CHANNELS)] if status == "matched" else None,
                f"{status}: see the rules"))
            flag_rows.extend((task_id, f) for f in flags.split(",") if f)
            if touch:
                tp_rows.append((f"TP{j:012d}", "call_session" if session else "call_task",
                                task_id, session, who or cookie, call_at, touch,
                                CHANNELS[j % len(CHANNELS)] if session else None))
            if len(task_rows) >= 5000:
                flush()
        flush()
        db.execute("INSERT INTO match_runs (started_at, finished_at, calls, window_minutes, "
                   "anchor) VALUES (?, ?, ?, 30, 'start')", [store.now_ts(), store.now_ts(),
                                                             n_calls])
    for sql in indexes:
        db.execute(sql)
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    return time.perf_counter() - started


class _Paints:
    """Times of the app's screen updates (the compositor's output, rendered; headless
    drops only the final write to the terminal)."""

    def __init__(self, app: Any) -> None:
        self.times: list[float] = []
        self.first_rows: float | None = None
        self._app = app
        self._display = app._display
        app._display = self

    def __call__(self, screen: Any, renderable: Any) -> None:
        from calltui.tui.widgets import PagedTable

        self._display(screen, renderable)
        now = time.perf_counter()
        self.times.append(now)
        if self.first_rows is None and renderable is not None:
            tables = screen.query(PagedTable)
            if tables and tables.first().row_count:
                self.first_rows = now

    def after(self, t: float) -> float:
        """Milliseconds from ``t`` to the first screen update after it."""
        return (next(x for x in self.times if x > t) - t) * 1000


async def _measure(db_path: Path, screen: str) -> dict[str, Any]:
    from calltui.config import Config
    from calltui.tui.app import CalltuiApp
    from calltui.tui.widgets import PagedTable

    t0 = time.perf_counter()
    app = CalltuiApp(db_path, Config(), screen=screen)
    paints = _Paints(app)
    out: dict[str, Any] = {"screen": screen}
    async with app.run_test(size=SIZE) as pilot:
        while paints.first_rows is None:
            await asyncio.sleep(0.001)
        out["first_paint_s"] = paints.first_rows - t0
        table = app.screen.query_one(PagedTable)
        table.focus()
        await pilot.pause()
        keys: list[float] = []
        for _ in range(40):
            t = time.perf_counter()
            await pilot.press("pagedown")
            await asyncio.sleep(0.01)
            keys.append(paints.after(t))
        out["loaded"] = table.row_count
        out["pagedown_ms"] = keys
        text = SCREENS[screen]
        if text:
            await pilot.press("slash", *text)
            await asyncio.sleep(0.05)
            t = time.perf_counter()
            await pilot.press("enter")
            await asyncio.sleep(0.01)
            out["filter_ms"] = paints.after(t)
            out["filtered_rows"] = table.row_count
        out["peak_mb"] = own_peak_mb()
        app.workers.cancel_all()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=5_000_000)
    parser.add_argument("--db", type=Path, help="where to build (default: a temporary file)")
    parser.add_argument("--reuse", action="store_true", help="measure --db as it is")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one screen, in a child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.db, args.measure))))
        return 0
    tmp = tempfile.TemporaryDirectory()
    db_path = args.db or Path(tmp.name) / "app.db"
    if not args.reuse:
        db_path.unlink(missing_ok=True)
        seconds = build(db_path, args.calls, args.sessions)
        print(f"built {args.calls:,} calls and {args.sessions:,} sessions in {seconds:.1f} s "
              f"({db_path.stat().st_size / 2**20:,.0f} MB)")
    failed = False
    print(f"{'screen':<20}{'first paint':>13}{'peak MB':>10}{'pgdn med':>10}{'pgdn max':>10}"
          f"{'filter':>9}")
    for screen in SCREENS:
        child = subprocess.run([sys.executable, __file__, "--db", str(db_path), "--measure",
                                screen], capture_output=True, text=True, check=False)
        if child.returncode:
            print(f"{screen}: failed\n{child.stderr[-2000:]}")
            failed = True
            continue
        r = json.loads(child.stdout.strip().splitlines()[-1])
        worst = max([*r["pagedown_ms"], r.get("filter_ms", 0.0)])
        filt = f"{r['filter_ms']:.1f} ms" if "filter_ms" in r else "—"
        print(f"{screen:<20}{r['first_paint_s']:>11.3f} s{r['peak_mb']:>10.1f}"
              f"{statistics.median(r['pagedown_ms']):>7.1f} ms{max(r['pagedown_ms']):>7.1f} ms"
              f"{filt:>9}")
        ratios = (r["first_paint_s"] / FIRST_PAINT_S, r["peak_mb"] / MEMORY_MB, worst / KEY_MS)
        print(f"{'':<20}ratios to target: first paint {ratios[0]:.2f}, memory {ratios[1]:.2f}, "
              f"worst key {ratios[2]:.2f} ({r['loaded']:,} rows loaded)")
        failed = failed or any(x > 1 for x in ratios)
    print("FAILED: a target was missed" if failed else "all targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
