"""Import benchmark (issue 4): a 2,000,000-row BIZ_SESSIONS CSV, calltui vs a bare loader.

Run from the repo root::

    .venv/bin/python bench/import.py               # 2,000,000 sessions
    .venv/bin/python bench/import.py --rows 200000 # a quicker run

It writes a seeded ``BIZ_SESSIONS`` CSV with the 23 columns of a real
data-warehouse export (as in ``tests/data/biz_sessions.csv``), in event order as
the warehouse writes them, then, in the same run and on the same file:

(a) runs the real CLI, ``calltui --db FRESH import --no-match FILE``, as a child
    process (sniffing, normalising, upsert by ID, indexes, rejects: everything an
    admin gets), and
(b) a bare reference loader in a child process: ``csv.reader`` and one
    ``executemany`` into a plain table of 23 text columns (no key, no index, no
    normalising), committed once.

Each is timed by wall clock (the target); its CPU seconds are printed too, since
on a busy machine wall time also counts waiting for a core. Peak memory is the
child's own ``ru_maxrss`` (``peak.measure``). It prints rows/s for both, calltui's
ratio to the reference (target >= 0.5) and calltui's peak memory (target < 200 MB),
checks that every row arrived, and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from peak import measure

RATIO_TARGET = 0.5
MEMORY_TARGET_MB = 200
SEED = 20260302
HEADER = (
    "ID VISITOR_ID COOKIE_ID EVENT_DATE MODIFIED_DATE IS_FIRST_SESSION CHANNEL LANDING_PAGE "
    "LANDING_PAGE_RAW REFERRER_PAGE REFERRER_PAGE_RAW WEB_SOURCE HAS_FORM AD_PROVIDER "
    "CAMPAIGN_NAME AD_GROUP_NAME KEYWORD_NAME CAMPAIGN SOURCE MEDIUM TERM CONTENT IS_DELETED"
)
SITE = "https://www.example-dental.test"
PAGES = ["/", "/implants", "/whitening", "/pricing", "/contact", "/careers", "/blog/braces",
         "/blog/implants-cost", "/locations/boston", "/locations/austin"]
# channel, web source, ad provider, medium, referrer, weight
CHANNELS = [
    ("Paid Search.AdWords", "Google AdWords", "Google", "cpc", "https://www.google.com/", 30),
    ("Organic Search.Google", "Google", "", "organic", "https://www.google.com/", 25),
    ("Direct", "Web Direct", "", "", "", 20),
    ("Social.LinkedIn", "linkedin", "", "social", "https://www.linkedin.com/", 8),
    ("Social.Facebook", "facebook", "Facebook", "paid-social", "https://www.facebook.com/", 7),
    ("Email", "newsletter", "", "email", "", 6),
    ("Other", "Web Referral", "", "referral", "https://www.dentistry-today.test/", 4),
]
CAMPAIGNS = ["Implants - Spring", "Whitening - Always On", "Brand", "Braces - Teens", ""]
KEYWORDS = ["dental implants cost", "teeth whitening near me", "emergency dentist", "braces",
            ""]


def generate(path: Path, rows: int, seed: int = SEED) -> None:
    """``rows`` sessions in event order; about 3 sessions per visitor; a few need quoting."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    step = 90 * 86400 / max(rows, 1)  # spread over 90 days
    visitors: list[str] = []
    weights = [c[-1] for c in CHANNELS]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER.split())
        moment = start.timestamp()
        for i in range(rows):
            moment += rng.random() * 2 * step
            first = not visitors or rng.random() < 0.35
            if first:
                cookie = f"{rng.getrandbits(128):032x}"
                visitors.append(cookie)
                if len(visitors) > 200_000:
                    visitors = visitors[100_000:]
            else:
                cookie = visitors[rng.randrange(len(visitors))]
            when = datetime.fromtimestamp(moment, UTC)
            millis = rng.randrange(1000)
            event = when.strftime("%Y-%m-%d %H:%M:%S.") + f"{millis:03d}"
            modified = (when + timedelta(seconds=rng.randrange(60, 3600))).strftime(
                "%Y-%m-%d %H:%M:%S.000")
            channel, web_source, provider, medium, referrer, _ = rng.choices(
                CHANNELS, weights)[0]
            page = SITE + rng.choice(PAGES)
            paid = bool(provider)
            campaign = rng.choice(CAMPAIGNS) if paid else ""
            raw_page = page + (f"?gclid=EAIa{rng.getrandbits(40):x}" if paid else "")
            content = 'hero "B", v2' if rng.random() < 0.01 else ""  # needs CSV quoting
            writer.writerow((
                when.strftime("%Y-%m-%d:%H-%M-%S-") + f"{i:07d}.{cookie[:16]}",
                f"v_{cookie}", cookie, event, modified,
                "true" if first else "false", channel, page, raw_page, referrer, referrer,
                web_source, "true" if rng.random() < 0.08 else "false", provider, campaign,
                campaign and campaign + " - Exact", rng.choice(KEYWORDS) if paid else "",
                "" if paid else rng.choice(["", "spring-hiring", "newsletter-03"]),
                web_source.lower() if medium else "", medium, "", content,
                "true" if rng.random() < 0.002 else "false",
            ))


def reference_load(csv_path: Path, db_path: Path) -> int:
    """The bare loader: csv module + one executemany into a plain table, one commit."""
    conn = sqlite3.connect(db_path)
    with csv_path.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        header = next(reader)
        cols = ", ".join(f'"{h}" TEXT' for h in header)
        conn.execute(f"CREATE TABLE sessions ({cols})")
        marks = ", ".join("?" for _ in header)
        conn.executemany(f"INSERT INTO sessions VALUES ({marks})", reader)
    conn.commit()
    n = int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
    conn.close()
    return n


@dataclass
class Run:
    name: str
    rows: int
    seconds: float
    peak_mb: float
    cpu: float = 0.0  # user + system seconds of the child

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_child(name: str, argv: list[str], rows: int) -> Run:
    """Run ``argv``; its wall time, peak RSS and CPU seconds (``peak.measure``)."""
    done = measure(argv)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr.strip()}")
    return Run(name, rows, done.seconds, done.peak_mb, done.cpu_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=2_000_000,
                        help="sessions to generate (2,000,000)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", type=Path,
                        help="keep the CSV and databases in this folder (and reuse the CSV)")
    parser.add_argument("--reference", nargs=2, type=Path, metavar=("CSV", "DB"),
                        help=argparse.SUPPRESS)  # the child process of (b)
    args = parser.parse_args(argv)
    if args.reference:
        reference_load(*args.reference)
        return 0
    with tempfile.TemporaryDirectory(prefix="calltui-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = work / "BIZ_SESSIONS.csv"
        stamp = work / "BIZ_SESSIONS.stamp"
        wanted = f"{args.rows} {args.seed} {HEADER}"
        started = time.perf_counter()
        if source.exists() and stamp.exists() and stamp.read_text() == wanted:
            print(f"reusing {source} ({args.rows:,} sessions, seed {args.seed})")
        else:
            generate(source, args.rows, args.seed)
            stamp.write_text(wanted)
            print(f"generated {args.rows:,} sessions, {source.stat().st_size / 1e6:,.0f} MB, "
                  f"in {time.perf_counter() - started:.1f} s")
        for stale in work.glob("*.db*"):
            stale.unlink()
        calltui_exe = Path(sys.executable).with_name("calltui")
        runs = [
            run_child("reference", [sys.executable, __file__, "--reference", str(source),
                                    str(work / "reference.db")], args.rows),
            run_child("calltui", [str(calltui_exe), "--db", str(work / "calltui.db"),
                                  "import", "--no-match", str(source)], args.rows),
        ]
        stored = _count(work / "calltui.db", "sessions")
        ref_stored = _count(work / "reference.db", "sessions")
    return report(runs, args.rows, stored, ref_stored)


def _count(db_path: Path, table: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def report(runs: list[Run], rows: int, stored: int, ref_stored: int) -> int:
    reference, calltui = runs
    for run in runs:
        print(f"{run.name:>9}: {run.rows:,} rows in {run.seconds:.1f} s = "
              f"{run.rate:,.0f} rows/s, peak memory {run.peak_mb:,.0f} MB "
              f"(CPU {run.cpu:.1f} s)")
    ratio = calltui.rate / reference.rate if reference.rate else 0.0
    checks = [
        (f"rows stored: calltui {stored:,}, reference {ref_stored:,} (of {rows:,})",
         stored == rows and ref_stored == rows),
        (f"speed: calltui / reference = {ratio:.2f}x (target >= {RATIO_TARGET}x)",
         ratio >= RATIO_TARGET),
        (f"memory: calltui peak {calltui.peak_mb:,.0f} MB (target < {MEMORY_TARGET_MB} MB)",
         calltui.peak_mb < MEMORY_TARGET_MB),
    ]
    for text, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
