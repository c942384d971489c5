"""Warehouse sync and in-warehouse match over a generated Marketo Measure warehouse.

N sessions (default 1,000,000) over cookies with 1-4 sessions each; 5 % of the
cookies call (a call Task with the cookie, some minutes to hours from one of its
sessions). The warehouse is fakesnow's server (DuckDB) on 127.0.0.1, reached by
the real snowflake-connector-python over HTTP, so the times are this machine's
client + a local stand-in, not a real Snowflake account's.

Prints: rows in the warehouse, rows pulled by `sync --warehouse` (call cookies
only) and its time, a second (incremental) run, the local match, the in-warehouse
match and whether both agree.

    .venv/bin/python bench/warehouse.py [--sessions N] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calltui import store  # noqa: E402
from calltui.importer import import_file  # noqa: E402
from calltui.match import run_match  # noqa: E402
from calltui.warehouse.match import run_match_in_warehouse  # noqa: E402
from calltui.warehouse.settings import connect, settings_from  # noqa: E402
from calltui.warehouse.sync import WarehouseSyncOptions, run_warehouse_sync  # noqa: E402
from tests.warehouse_fake import create_tables, fake_warehouse  # noqa: E402

END = datetime(2026, 11, 30, tzinfo=UTC)
DAYS = 180
CHANNELS = ["Paid Search.AdWords", "Organic Search.Google", "Social.Facebook", "Email",
            "Direct", "Referral"]


def generate(n_sessions: int, seed: int, call_share: float = 0.05
             ) -> tuple[dict[str, list[object]], list[dict[str, object]]]:
    """Columns of BIZ_SESSIONS and the call Tasks (Salesforce REST records)."""
    rng = random.Random(seed)
    start = (END - timedelta(days=DAYS)).replace(tzinfo=None)
    cols: dict[str, list[object]] = {k: [] for k in (
        "ID", "COOKIE_ID", "EVENT_DATE", "MODIFIED_DATE", "CHANNEL", "IS_DELETED")}
    tasks: list[dict[str, object]] = []
    made = 0
    cookie_no = 0
    while made < n_sessions:
        cookie_no += 1
        cookie = f"{rng.getrandbits(128):032x}"
        starts = sorted(start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
                        for _ in range(min(rng.choice((1, 1, 2, 3, 4)), n_sessions - made)))
        for i, at in enumerate(starts):
            at = at.replace(microsecond=at.microsecond // 1000 * 1000)
            cols["ID"].append(f"{cookie_no:08d}-{i}")
            cols["COOKIE_ID"].append(cookie)
            cols["EVENT_DATE"].append(at)
            cols["MODIFIED_DATE"].append(at + timedelta(hours=2))
            cols["CHANNEL"].append(rng.choice(CHANNELS))
            cols["IS_DELETED"].append(rng.random() < 0.01)
        made += len(starts)
        if rng.random() < call_share:
            call_at = rng.choice(starts) + timedelta(minutes=rng.uniform(-120, 240))
            stamp = call_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
            tasks.append({"Id": f"00T5g{len(tasks):010d}AAA", "Type": "Call",
                          "TaskSubtype": "Call", "WhoId": None, "IsDeleted": False,
                          "CreatedDate": stamp, "CompletedDateTime": stamp,
                          "SystemModstamp": stamp, "bizible2__BizibleId__c": cookie,
                          "bizible2__Bizible_Touchpoint_Date__c": stamp})
    return cols, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import pyarrow as pa

    t0 = time.perf_counter()
    cols, tasks = generate(args.sessions, args.seed)
    cookies = len(set(cols["COOKIE_ID"]))
    print(f"generated {len(cols['ID']):,} sessions of {cookies:,} cookies, {len(tasks):,} call "
          f"Tasks ({len(tasks) / cookies:.1%} of the cookies) in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp, fake_warehouse() as fake:
        create_tables(fake, "BENCH", ("BIZ_SESSIONS", "BIZ_PAGE_VIEWS", "BIZ_FORM_SUBMITS"))
        table = pa.table({
            **{k: pa.array(v) for k, v in cols.items()},
        })
        names = ", ".join(cols)
        cur = fake.fs.duck_conn.cursor()
        cur.register("bench_rows", table)
        cur.execute(f"INSERT INTO BENCH.PUB.BIZ_SESSIONS ({names}) SELECT {names} "
                    "FROM bench_rows")
        cur.close()
        db = store.open_db(Path(tmp) / "bench.db")
        tasks_file = Path(tmp) / "tasks.json"
        tasks_file.write_text(json.dumps({"records": tasks}))
        import_file(db, tasks_file)
        settings = settings_from({**fake.settings("BENCH"), "timeout_seconds": 600}, env={})
        env = {"SNOWFLAKE_PASSWORD": "snow"}

        def timed_sync(label: str) -> None:
            conn = connect(settings, env=env)
            t = time.perf_counter()
            result = run_warehouse_sync(db, conn, settings, WarehouseSyncOptions())
            took = time.perf_counter() - t
            conn.close()
            print(f"{label}: pulled {result.rows['BIZ_SESSIONS']:,} of {len(cols['ID']):,} "
                  f"sessions ({result.deleted:,} deleted) for {result.cookies:,} call cookies "
                  f"in {took:.1f} s, {result.queries} queries")

        timed_sync("sync --warehouse, first run")
        timed_sync("sync --warehouse, incremental run")
        t = time.perf_counter()
        local = run_match(db)
        print(f"local match: {local.calls:,} calls in {time.perf_counter() - t:.1f} s "
              f"{local.by_status}")
        conn = connect(settings, env=env)
        t = time.perf_counter()
        remote = run_match_in_warehouse(db, conn, settings)
        conn.close()
        print(f"match --in-warehouse: {remote.calls:,} calls in {time.perf_counter() - t:.1f} s "
              f"{remote.by_status}")
        print("in-warehouse equals local:", remote.by_status == local.by_status)


if __name__ == "__main__":
    main()
