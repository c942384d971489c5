"""A realistic, seeded demo: call Tasks in Salesforce's REST format and a warehouse export.

Every status and flag of SPEC §4 occurs at believable rates. The files are
written to a folder beside the demo database and imported through the same
code an admin's files go through.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from calltui import store
from calltui.importer import import_file
from calltui.match import MatchSummary, run_match
from calltui.models import MatchOptions
from calltui.vendors import DEFAULT_RULES

if TYPE_CHECKING:
    from calltui.fakeorg import FakeOrg

__all__ = ["DemoError", "build_demo", "write_demo_files"]

DEMO_END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
DEMO_DAYS = 90

# (CHANNEL, WEB_SOURCE, MEDIUM, AD_PROVIDER, campaign names, landing paths, referrer), weight
CHANNELS: list[tuple[tuple[str, str, str, str, tuple[str, ...], str], int]] = [
    (("Paid Search.AdWords", "Google AdWords", "cpc", "Google",
      ("Implants - Spring", "Invisalign - Brand", "Emergency Dentist"),
      "https://www.google.com/"), 30),
    (("Paid Search.Bing", "Bing Ads", "cpc", "Bing", ("Implants - Bing",),
      "https://www.bing.com/"), 6),
    (("Organic Search.Google", "Google", "organic", "", (), "https://www.google.com/"), 22),
    (("Social.Facebook", "facebook", "paid-social", "Facebook", ("Smile Makeover - FB",),
      "https://www.facebook.com/"), 9),
    (("Social.LinkedIn", "linkedin", "social", "", ("spring-hiring",), "https://www.linkedin.com/"),
     3),
    (("Email", "newsletter", "email", "", ("November Newsletter",), ""), 7),
    (("Display.Google", "Google Display", "display", "Google", ("Retargeting - All",),
      "https://googleads.g.doubleclick.net/"), 5),
    (("Referral", "yelp.com", "referral", "", (), "https://www.yelp.com/"), 6),
    (("Direct", "Web Direct", "", "", (), ""), 12),
]
PAGES = ["/", "/implants", "/invisalign", "/emergency", "/pricing", "/contact", "/careers"]
FIRST = ["ALEX", "MARIA", "JAMES", "PRIYA", "CHEN", "SOFIA", "OMAR", "EMMA", "LUCA", "AIKO"]
LAST = ["ROSSI", "SMITH", "GARCIA", "KIM", "MÜLLER", "NGUYEN", "BROWN", "DUBOIS", "SATO"]
VENDOR_NOTES = ["Call via CallTrackingMetrics", "CallRail inbound call", "Invoca Call Log",
                "DialogTech call"]

# What happens to a call, with weights; flags are drawn independently below.
SCENARIOS = [("matched", 56), ("outside_window", 12), ("call_before_session", 4),
             ("unknown", 6), ("missing", 12), ("placeholder", 4), ("malformed", 2),
             ("deleted", 2), ("cookie_string", 2)]


class DemoError(Exception):
    """The demo cannot run (e.g. the database holds real data)."""


@dataclass
class DemoData:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    forms: list[dict[str, Any]] = field(default_factory=list)


def _sf_ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _wh_ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class _Maker:
    """Draws the demo data from one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.data = DemoData()
        self.counter = 0
        self.start = DEMO_END - timedelta(days=DEMO_DAYS)

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:06d}AAA"

    def cookie(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def moment(self) -> datetime:
        seconds = self.rng.uniform(0, DEMO_DAYS * 86400)
        return (self.start + timedelta(seconds=seconds)).replace(microsecond=0)

    def session(self, cookie: str, at: datetime, first: bool) -> dict[str, Any]:
        (channel, source, medium, provider, campaigns, referrer) = self.rng.choices(
            [c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        page = self.rng.choice(PAGES)
        row = {
            "ID": f"{at:%Y-%m-%d:%H-%M-%S}-{self.rng.randrange(10**7):07d}.{cookie[:16]}",
            "VISITOR_ID": f"v_{cookie}", "COOKIE_ID": cookie, "EVENT_DATE": _wh_ts(at),
            "MODIFIED_DATE": _wh_ts(at + timedelta(minutes=20)),
            "IS_FIRST_SESSION": str(first).lower(), "CHANNEL": channel,
            "LANDING_PAGE": f"https://www.example-dental.test{page}",
            "REFERRER_PAGE": referrer, "WEB_SOURCE": source, "HAS_FORM": "false",
            "AD_PROVIDER": provider,
            "CAMPAIGN_NAME": self.rng.choice(campaigns) if campaigns else "",
            "MEDIUM": medium, "IS_DELETED": "false",
        }
        self.data.sessions.append(row)
        return row

    def visitor(self, n_sessions: int) -> tuple[str, list[datetime]]:
        """A cookie with sessions spread over the period, sorted by start."""
        cookie = self.cookie()
        starts = sorted(self.moment() for _ in range(n_sessions))
        for i, at in enumerate(starts):
            self.session(cookie, at, i == 0)
        return cookie, starts

    def task(self, cookie_value: str | None, call_at: datetime, scenario: str) -> dict[str, Any]:
        rng = self.rng
        task_id = self._id("00T5g0000")
        written = call_at + timedelta(seconds=rng.randint(20, 400))
        task_type = None if rng.random() < 0.08 else "Call"
        who = None if rng.random() < 0.10 else self._id("00Q5g0000")
        fallback = rng.random() < 0.25
        record = {
            "attributes": {"type": "Task", "url": f"/services/data/v59.0/sobjects/Task/{task_id}"},
            "Id": task_id,
            "Subject": f"Inbound call with {rng.choice(LAST)}, {rng.choice(FIRST)}",
            "Type": task_type, "TaskSubtype": "Call", "CallType": "Inbound",
            "CallDurationInSeconds": rng.randint(15, 900), "Status": "Completed",
            "WhoId": who, "WhatId": None, "OwnerId": "0055g00000Own01AAA",
            "Description": rng.choice(VENDOR_NOTES),
            "ActivityDate": call_at.date().isoformat(),
            "CreatedDate": _sf_ts(written),
            "CompletedDateTime": _sf_ts(call_at),
            "SystemModstamp": _sf_ts(written),
            "IsDeleted": scenario == "deleted",
            "bizible2__BizibleId__c": cookie_value,
            "bizible2__Bizible_Touchpoint_Date__c": None if fallback else _sf_ts(call_at),
        }
        self.data.tasks.append(record)
        return record

    def call_for(self, scenario: str) -> None:
        rng = self.rng
        if scenario in ("missing", "placeholder"):
            value = "" if scenario == "missing" and rng.random() < 0.5 else None
            if scenario == "placeholder":
                value = rng.choice(["undefined", "null", "None", "0"])
            self.task(value, self.moment(), scenario)
            return
        if scenario == "unknown":
            self.task(self.cookie(), self.moment(), scenario)
            return
        if scenario == "malformed":
            ga = f"GA1.2.{rng.randrange(10**9)}.{rng.randrange(10**9)}"
            bad = rng.choice([self.cookie()[:24], ga])
            self.task(bad, self.moment(), scenario)
            return
        cookie, starts = self.visitor(rng.choice([1, 1, 2, 2, 3, 4]))
        anchor = rng.choice(starts)
        if scenario == "call_before_session":
            shift = timedelta(hours=rng.choice([1, 5, 6, 8]), minutes=rng.randint(0, 50))
            call_at = starts[0] - shift
        elif scenario == "outside_window":
            call_at = starts[-1] + timedelta(minutes=rng.uniform(31, 600))
        else:
            call_at = anchor + timedelta(seconds=rng.uniform(30, 1790))
            nxt = [s for s in starts if s > anchor]
            if nxt and call_at >= nxt[0]:
                call_at = nxt[0] + timedelta(seconds=rng.uniform(30, 600))
        value = cookie
        if scenario == "cookie_string":
            value = f"_biz_uid={cookie}; _biz_flagsA=%7B%22Version%22%3A1%7D"
        elif rng.random() < 0.1:
            value = f"  {cookie.upper()} "
        task = self.task(value, call_at.replace(microsecond=0), scenario)
        if rng.random() < 0.05:
            self.duplicate(task)
        if rng.random() < 0.15:
            self.form(cookie, starts)

    def duplicate(self, task: dict[str, Any]) -> None:
        """The vendor logs one call twice, seconds apart (legacy mode plus a trigger)."""
        twin = dict(task)
        twin["Id"] = self._id("00T5g0000")
        twin["attributes"] = {"type": "Task",
                              "url": f"/services/data/v59.0/sobjects/Task/{twin['Id']}"}
        at = datetime.fromisoformat(task["CompletedDateTime"]) + timedelta(
            seconds=self.rng.randint(2, 90))
        twin["CompletedDateTime"] = _sf_ts(at)
        if twin["bizible2__Bizible_Touchpoint_Date__c"]:
            twin["bizible2__Bizible_Touchpoint_Date__c"] = _sf_ts(at)
        self.data.tasks.append(twin)

    def form(self, cookie: str, starts: list[datetime]) -> None:
        at = self.rng.choice(starts) + timedelta(minutes=self.rng.uniform(1, 20))
        session = next(s for s in reversed(self.data.sessions) if s["COOKIE_ID"] == cookie)
        self.data.forms.append({
            "ID": f"fs-{self.counter}-{cookie[:8]}", "COOKIE_ID": cookie,
            "VISITOR_ID": f"v_{cookie}", "SESSION_ID": session["ID"], "EVENT_DATE": _wh_ts(at),
            "FORM_TYPE": "Contact Us", "CURRENT_PAGE": "https://www.example-dental.test/contact",
            "IS_DELETED": "false",
        })


def make_demo_data(calls: int = 3000, seed: int = 7) -> DemoData:
    """The demo's Tasks, sessions and form submits, the same for the same seed."""
    maker = _Maker(seed)
    names, weights = zip(*SCENARIOS, strict=True)
    while len(maker.data.tasks) < calls:
        maker.call_for(maker.rng.choices(names, weights)[0])
    del maker.data.tasks[calls:]  # a duplicate-call scenario adds two: exactly ``calls``
    background = max(0, calls * 10 - len(maker.data.sessions))
    while background > 0:  # web-only visitors: most sessions never lead to a call
        _, starts = maker.visitor(maker.rng.choice([1, 1, 1, 2, 3]))
        background -= len(starts)
    maker.data.tasks.sort(key=lambda t: t["SystemModstamp"])
    return maker.data


def write_demo_files(folder: Path, data: DemoData) -> list[Path]:
    """REST query pages of 2000 Tasks, BIZ_SESSIONS.csv.gz and BIZ_FORM_SUBMITS.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = [data.tasks[i : i + 2000] for i in range(0, len(data.tasks), 2000)]
    tasks_path = folder / "sf_tasks.json"
    body = [{"totalSize": len(data.tasks), "done": i == len(pages) - 1, "records": page}
            for i, page in enumerate(pages)]
    tasks_path.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
    sessions_path = folder / "BIZ_SESSIONS.csv.gz"
    with gzip.open(sessions_path, "wt", encoding="utf-8", newline="") as out:
        _write_csv(out, data.sessions)
    forms_path = folder / "BIZ_FORM_SUBMITS.csv"
    with forms_path.open("w", encoding="utf-8", newline="") as out:
        _write_csv(out, data.forms)
    return [tasks_path, sessions_path, forms_path]


def _write_csv(out: Any, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows[:1000]:
        columns.extend(k for k in row if k not in columns)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


StepFn = Callable[[str, int, int], None]


def build_demo(
    db_path: Path, *, calls: int = 3000, seed: int = 7, on_progress: StepFn | None = None,
    options: MatchOptions = MatchOptions(),
) -> MatchSummary:
    """Make the demo database at ``db_path`` from scratch: sync, import, match.

    The Tasks are served by a local fake org and synced through the real
    Salesforce client; the warehouse files are imported like an admin's.
    """
    _reset(db_path)
    step: StepFn = on_progress or _no_progress
    step("making demo data", 0, 3)
    data = make_demo_data(calls, seed)
    files = write_demo_files(db_path.parent / "demo-files", data)
    db = store.open_db(db_path)
    db.execute("CREATE TABLE IF NOT EXISTS demo_marker (made_at TEXT)")
    db.execute("INSERT INTO demo_marker VALUES (?)", [store.now_ts()])
    sync_from_demo_org(db, data, functools.partial(step, "syncing Tasks from the demo org"))
    for path in files[1:]:
        import_file(db, path, on_progress=functools.partial(step, f"importing {path.name}"))
    step("matching", 0, 1)
    return run_match(db, options, DEFAULT_RULES)


def demo_org(data: DemoData, as_of: datetime | None = None) -> FakeOrg:
    """A fake org (not started yet) holding the demo's Tasks, as of the day after them.

    With ``as_of`` (``calltui demo-org`` gives the wall clock) the Tasks move forward by
    whole days to end the day before it, and the org's clock runs from ``as_of``, as a
    real org's does: ``doctor`` finds calls in the last 30 days, and writes through it
    (``fix-type --apply``) are stamped where the next incremental ``sync`` reads them.
    """
    from calltui.fakeorg import FakeOrg  # noqa: PLC0415 - only the demo serves one

    org = FakeOrg()
    start = DEMO_END + timedelta(days=1)
    # by calendar days: the demo's last day moves to the day before as_of, whatever the
    # hour (counted in whole 24-hour periods, a morning as_of left it two days before)
    days = (as_of.date() - DEMO_END.date()).days - 1 if as_of else 0
    shift = timedelta(days=max(0, days))
    org.set_now(as_of or start, running=as_of is not None)
    org.add_tasks(_moved(t, shift) for t in data.tasks)
    return org


_TASK_TIMES = ("CreatedDate", "CompletedDateTime", "SystemModstamp", "LastModifiedDate",
               "bizible2__Bizible_Touchpoint_Date__c")


def _moved(task: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    """The Task in wire form, without ``attributes``, its dates ``shift`` later."""
    moved = {k: v for k, v in task.items() if k != "attributes"}
    if not shift:
        return moved
    for key in _TASK_TIMES:
        if moved.get(key):
            moved[key] = _sf_ts(datetime.fromisoformat(moved[key]) + shift)
    if moved.get("ActivityDate"):
        day = datetime.fromisoformat(moved["ActivityDate"]).date() + shift
        moved["ActivityDate"] = day.isoformat()
    return moved


def sync_from_demo_org(db: Database, data: DemoData, on_progress: Callable[[int, int], None]
                       ) -> None:
    """Serve the demo Tasks from a fake org on 127.0.0.1 and run the real sync against it."""
    from calltui.sf.auth import Credentials
    from calltui.sf.client import SalesforceClient
    from calltui.sync import SyncOptions, run_sync

    with demo_org(data) as org:
        creds = Credentials("password", login_url=org.url, username=org.username,
                            password=org.password, security_token=org.security_token)
        run_sync(db, SalesforceClient(creds), SyncOptions(), now=DEMO_END + timedelta(days=1),
                 on_progress=on_progress)


def _no_progress(description: str, done: int, total: int) -> None:
    """Progress goes nowhere."""


def _reset(db_path: Path) -> None:
    """Delete an earlier demo database; refuse to touch one that holds real data."""
    if not db_path.exists():
        return
    try:
        db = store.open_db(db_path)
    except store.StoreError as exc:
        raise DemoError(str(exc)) from None
    is_demo = db.table("demo_marker").exists() or (
        store.count_rows(db, "tasks") == 0 and store.count_rows(db, "sessions") == 0
    )
    db.close()
    if not is_demo:
        raise DemoError(f"{db_path} holds data that is not the demo's; pass another --db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
