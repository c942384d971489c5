"""A small org's worth of call Tasks and sessions for escalate, vendors, channels, fix-type."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from calltui.cli import cli

C1 = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"  # session at 12:00, calls at 12:10 (matched)
C2 = "5be07d1c2a9f4e61b3c8d0a2f4e6a8c1"  # session at 15:00, call at 13:00 (before session)
C3 = "0123456789abcdef0123456789abcdef"  # session at 08:00, call at 10:00 (outside window)

SESSIONS = [
    {"ID": "s1", "COOKIE_ID": C1, "EVENT_DATE": "2026-03-02 12:00:00.000",
     "CHANNEL": "Paid Search.AdWords"},
    {"ID": "s2", "COOKIE_ID": C2, "EVENT_DATE": "2026-03-02 15:00:00.000", "CHANNEL": "Direct"},
    {"ID": "s3", "COOKIE_ID": C3, "EVENT_DATE": "2026-03-09 08:00:00.000", "CHANNEL": ""},
]


def task(task_id: str, at: str, bizible: str | None, **extra: Any) -> dict[str, Any]:
    return {"Id": task_id, "Subject": "Inbound call", "Type": "Call", "TaskSubtype": "Call",
            "CallType": "Inbound", "Status": "Completed", "WhoId": "00Q5g00000XyZ12EAF",
            "OwnerId": "0055g00000Own01AAA", "Description": None,
            "CreatedDate": at, "CompletedDateTime": at, "SystemModstamp": at,
            "IsDeleted": False, "bizible2__BizibleId__c": bizible,
            "bizible2__Bizible_Touchpoint_Date__c": at, **extra}


TASKS = [
    task("00T5g0000000001EAA", "2026-03-02T12:10:00.000+0000", C1,
         Description="Call via CallTrackingMetrics"),
    task("00T5g0000000002EAA", "2026-03-02T12:20:00.000+0000", None,
         Subject='=HYPERLINK("http://evil.test","x")',
         Description="CallRail inbound call from +1 (415) 555-0132, jane.doe@example.com"),
    task("00T5g0000000003EAA", "2026-03-02T13:00:00.000+0000", C2, Type=None,
         Subject="Call from 415.555.0132", Description="Invoca Call Log"),
    task("00T5g0000000004EAA", "2026-03-03T09:00:00.000+0000", "undefined", Type=" ",
         Description="DialogTech call; callback +44 20 7946 0958 or ops+calls@acme.co.uk"),
    task("00T5g0000000005EAA", "2026-03-09T10:00:00.000+0000", "@SUM(1+1)*cmd",
         Subject="-2+3", Description="\tcall at 2026-03-09 10:00, caller (415)555-0199"),
    task("00T5g0000000006EAA", "2026-03-09T10:00:00.000+0000", C3, Type=None,
         Subject="CTM call +14155550132"),
    task("00T5g0000000007EAA", "2026-03-10T10:00:00.000+0000", None, IsDeleted=True),
]

AFFECTED = ["00T5g0000000002EAA", "00T5g0000000003EAA", "00T5g0000000004EAA",
            "00T5g0000000005EAA"]


def run(db: Path, *args: str, config: Path | None = None) -> Result:
    pre = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, [*pre, "--db", str(db), *args], catch_exceptions=False)


def write_files(folder: Path, tasks: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    tasks_file = folder / "tasks.json"
    tasks_file.write_text(json.dumps({"totalSize": len(TASKS), "done": True,
                                      "records": tasks if tasks is not None else TASKS}))
    sessions_file = folder / "BIZ_SESSIONS.csv"
    with open(sessions_file, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(SESSIONS[0]))
        writer.writeheader()
        writer.writerows(SESSIONS)
    return tasks_file, sessions_file


def matched_db(folder: Path) -> Path:
    db = folder / "actions.db"
    tasks_file, sessions_file = write_files(folder)
    result = run(db, "import", str(tasks_file), str(sessions_file))
    assert result.exit_code == 0, result.output
    return db
