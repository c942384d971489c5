"""``calltui fix-type`` against the fake org over real HTTP: dry run, apply, partial failure, undo.

Nothing here patches requests or simple-salesforce.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from calltui import fixtype, store
from calltui.cli import cli
from calltui.fakeorg import FakeOrg
from calltui.sf.auth import Credentials
from calltui.sf.client import SalesforceClient
from calltui.sfid import to_18
from calltui.sync import SyncOptions, run_sync
from tests.action_data import TASKS, task, write_files

BLANK = ["00T5g0000000003EAA", "00T5g0000000004EAA", "00T5g0000000006EAA"]
SYNCED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # after TASKS were last modified
REJECTED = "00T5g0000000004EAA"


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as fake:
        fake.add_tasks(TASKS)
        yield fake


def invoke(db: Path, org: FakeOrg, *args: str) -> Result:
    env = {"COLUMNS": "200", "SF_LOGIN_URL": org.url, "SF_USERNAME": org.username,
           "SF_PASSWORD": org.password, "SF_SECURITY_TOKEN": org.security_token}
    return CliRunner(env=env).invoke(cli, ["--db", str(db), *args])


@pytest.fixture
def synced(org: FakeOrg, tmp_path: Path) -> Path:
    db = tmp_path / "c.db"
    _, sessions = write_files(tmp_path)
    assert invoke(db, org, "import", str(sessions)).exit_code == 0
    result = invoke(db, org, "sync")
    assert result.exit_code == 0, result.output
    return db


def client_for(org: FakeOrg) -> SalesforceClient:
    return SalesforceClient(Credentials("password", login_url=org.url, username=org.username,
                                        password=org.password,
                                        security_token=org.security_token), backoff=0.0)


def blank_tasks(n: int) -> list[dict[str, Any]]:
    """Call Tasks with a blank Type, with Ids of their own (the org's would collide)."""
    return [task(to_18(f"00T5g{1000 + i:010d}"), "2026-03-04T10:00:00.000+0000", None,
                 Type=None) for i in range(n)]


def patches(org: FakeOrg) -> int:
    return sum(1 for r in org.requests if r.method == "PATCH")


def local_types(db: Path) -> dict[str, Any]:
    database = store.open_db(db)
    try:
        return {r["id"]: r["type"] for r in database.query("SELECT id, type FROM tasks")}
    finally:
        database.close()


def type_blank_calls(db: Path) -> list[str]:
    rows = json.loads(CliRunner().invoke(cli, ["--db", str(db), "report", "calls", "--format",
                                               "json", "--flag", "type_blank"]).stdout)
    return [r["task_id"] for r in rows]


def test_dry_run_lists_the_blank_types_and_writes_nothing(org: FakeOrg, synced: Path) -> None:
    before = len(org.requests)
    result = invoke(synced, org, "fix-type", "--set", "Call")
    assert result.exit_code == 0, result.output
    for task_id in BLANK:
        assert task_id in result.stdout
    assert "00T5g0000000001EAA" not in result.stdout  # has a Type
    assert "00T5g0000000007EAA" not in result.stdout  # deleted
    assert "Dry run: 3 call Tasks have a blank Type and would get Type = 'Call'" in \
        " ".join(result.stdout.split())
    assert len(org.requests) == before  # no login, no call
    assert org.task(BLANK[0])["Type"] is None


def test_apply_backs_up_then_updates_in_the_org_and_locally(org: FakeOrg, synced: Path,
                                                            tmp_path: Path) -> None:
    assert type_blank_calls(synced) == BLANK
    stamp = org.task(BLANK[0])["SystemModstamp"]
    org.set_now(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    backup = tmp_path / "backup.jsonl"
    result = invoke(synced, org, "fix-type", "--set", "Call", "--apply", "--backup", str(backup))
    assert result.exit_code == 0, result.output
    assert "Updated 3 Tasks, 0 rejected by the org, 0 skipped." in result.stdout
    for task_id in BLANK:
        assert org.task(task_id)["Type"] == "Call"
        assert org.task(task_id)["SystemModstamp"] == "2026-12-01T09:30:00.000+0000" != stamp
    assert org.task("00T5g0000000001EAA")["SystemModstamp"] != "2026-12-01T09:30:00.000+0000"
    lines = [json.loads(line) for line in backup.read_text().splitlines()]
    assert lines == [{"id": BLANK[0], "field": "Type", "old": None, "new": "Call"},
                     {"id": BLANK[1], "field": "Type", "old": " ", "new": "Call"},
                     {"id": BLANK[2], "field": "Type", "old": None, "new": "Call"}]
    assert all(local_types(synced)[i] == "Call" for i in BLANK)
    assert type_blank_calls(synced) == []  # re-matched
    again = invoke(synced, org, "fix-type", "--set", "Call", "--apply", "--backup",
                   str(tmp_path / "b2.jsonl"))
    assert "No call Task with a blank Type" in again.stdout


def test_partial_failure_is_reported_per_record_and_the_rest_applied(
        org: FakeOrg, synced: Path, tmp_path: Path) -> None:
    org.faults.reject_update_ids[REJECTED] = (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Calls need a Lead or Contact")
    backup = tmp_path / "backup.jsonl"
    result = invoke(synced, org, "fix-type", "--set", "Call", "--apply", "--backup", str(backup))
    assert result.exit_code == 1
    assert "Updated 2 Tasks, 1 rejected by the org" in result.stdout
    assert (f"rejected {REJECTED}  FIELD_CUSTOM_VALIDATION_EXCEPTION: Calls need a Lead or "
            "Contact") in result.stderr
    assert org.task(REJECTED)["Type"] == " "
    assert [org.task(i)["Type"] for i in BLANK if i != REJECTED] == ["Call", "Call"]
    types = local_types(synced)
    assert types[REJECTED] in (None, " ") and types[BLANK[0]] == "Call"
    assert type_blank_calls(synced) == [REJECTED]


def test_undo_restores_the_old_values(org: FakeOrg, synced: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.jsonl"
    assert invoke(synced, org, "fix-type", "--set", "Call", "--apply", "--backup",
                  str(backup)).exit_code == 0
    org.update_task(BLANK[2], Type="Meeting")  # someone changed it since: left alone
    result = invoke(synced, org, "fix-type", "--undo", str(backup))
    assert result.exit_code == 0, result.output
    assert "Restored 2 Tasks, 0 rejected by the org, 1 skipped." in result.stdout
    assert f"skipped  {BLANK[2]}  Type changed since to 'Meeting'" in result.stdout
    assert org.task(BLANK[0])["Type"] is None
    assert org.task(BLANK[1])["Type"] == " "
    assert org.task(BLANK[2])["Type"] == "Meeting"
    assert type_blank_calls(synced) == BLANK[:2]


def test_an_incremental_sync_after_apply_reads_the_changed_tasks(
        org: FakeOrg, synced: Path, tmp_path: Path) -> None:
    """Another database synced before the fix gets the new Type from its next incremental
    sync, because the write moved SystemModstamp (README, fix-type)."""
    other = store.open_db(tmp_path / "other.db")
    client = client_for(org)
    try:
        assert run_sync(other, client, SyncOptions(), now=SYNCED_AT).upserted == 6
        org.set_now(SYNCED_AT + timedelta(minutes=1))
        assert invoke(synced, org, "fix-type", "--set", "Call", "--apply", "--backup",
                      str(tmp_path / "b.jsonl")).exit_code == 0
        again = run_sync(other, client, SyncOptions(), now=SYNCED_AT + timedelta(minutes=5))
        assert (again.mode, again.upserted) == ("incremental", 3)
    finally:
        other.close()
    assert {i: local_types(tmp_path / "other.db")[i] for i in BLANK} == dict.fromkeys(
        BLANK, "Call")


def test_default_backup_goes_beside_the_database(org: FakeOrg, synced: Path) -> None:
    result = invoke(synced, org, "fix-type", "--set", "Call", "--apply")
    assert result.exit_code == 0, result.output
    [backup] = (synced.parent / "backups").glob("fix-type-*.jsonl")
    assert str(backup) in " ".join(result.stdout.split()).replace(" ", "") or \
        backup.name in result.stdout
    assert len(backup.read_text().splitlines()) == 3


def test_usage_errors(org: FakeOrg, synced: Path, tmp_path: Path) -> None:
    assert invoke(synced, org, "fix-type").exit_code == 2
    assert invoke(synced, org, "fix-type", "--set", "  ").exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    result = invoke(synced, org, "fix-type", "--undo", str(bad))
    assert result.exit_code == 2 and "not a fix-type backup line" in result.output
    both = invoke(synced, org, "fix-type", "--undo", str(bad), "--apply")
    assert both.exit_code == 2


# --- the client and the org: batches, retries, the wire ------------------------------------


def test_batches_of_200_with_retries_and_a_relogin(org: FakeOrg, tmp_path: Path) -> None:
    ids = org.add_tasks(blank_tasks(450))
    db = store.open_db(tmp_path / "x.db")
    client = client_for(org)
    org.faults.fail_5xx = [503]  # the next call (the first read) fails once and is retried
    before = patches(org)
    progress: list[tuple[int, int]] = []
    result = fixtype.apply_fix(client, db, ids, "Call", tmp_path / "b.jsonl",
                               on_progress=lambda d, t: progress.append((d, t)))
    assert len(result.updated) == 450 and not result.failed
    assert patches(org) - before == 3  # 200 + 200 + 50
    assert progress == [(200, 450), (400, 450), (450, 450)]
    org.expire_sessions()
    undone = fixtype.undo(client, db, tmp_path / "b.jsonl")
    assert len(undone.updated) == 450 and client.relogins == 1
    assert all(org.task(i)["Type"] is None for i in ids)


def test_update_records_maps_results_by_position(org: FakeOrg) -> None:
    client = client_for(org)
    org.faults.reject_update_ids[BLANK[0]] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "no")
    results = client.update_records("Task", [{"id": BLANK[0], "Type": "Call"},
                                             {"id": "00T5g9999999999AAA", "Type": "Call"},
                                             {"id": "00T5g0000000007EAA", "Type": "Call"},
                                             {"id": BLANK[1], "Type": "Call"}])
    assert [(r["id"], r["success"]) for r in results] == [
        (BLANK[0], False), ("00T5g9999999999AAA", False), ("00T5g0000000007EAA", False),
        (BLANK[1], True)]
    codes = [r["errors"][0]["statusCode"] for r in results[:3]]
    assert codes == ["FIELD_CUSTOM_VALIDATION_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY",
                     "ENTITY_IS_DELETED"]
    assert results[3]["errors"] == []


def test_an_update_through_the_client_moves_both_modification_stamps(org: FakeOrg) -> None:
    created = org.task(BLANK[0])["CreatedDate"]
    org.set_now(SYNCED_AT)
    client = client_for(org)
    for _ in range(2):  # the org's clock stands still: the second write still moves them
        [answer] = client.update_records("Task", [{"id": BLANK[0], "Type": "Call"}])
        assert answer["success"] is True
    task = org.task(BLANK[0])
    assert task["SystemModstamp"] == task["LastModifiedDate"] == "2026-12-01T09:00:00.001+0000"
    assert task["CreatedDate"] == created and task["Type"] == "Call"


def _patch(org: FakeOrg, body: Any) -> requests.Response:
    session = org.issue_session_id()
    return requests.patch(f"{org.url}{org.data_path}/composite/sobjects", json=body,
                          headers={"Authorization": f"Bearer {session}"}, timeout=10)


def test_fake_org_all_or_none_rolls_back(org: FakeOrg) -> None:
    org.faults.reject_update_ids[BLANK[0]] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "no")
    records = [{"attributes": {"type": "Task"}, "id": i, "Type": "Call"} for i in BLANK]
    answer = _patch(org, {"allOrNone": True, "records": records})
    assert answer.status_code == 200
    body = answer.json()
    assert [r["success"] for r in body] == [False, False, False]
    assert body[1]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert org.task(BLANK[1])["Type"] == " "


def test_fake_org_refuses_bad_requests(org: FakeOrg) -> None:
    record = {"attributes": {"type": "Task"}, "id": BLANK[0], "Type": "Call"}
    too_many = _patch(org, {"allOrNone": False, "records": [record] * 201})
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    unknown = _patch(org, {"records": [{**record, "Nope__c": 1}]})
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    read_only = _patch(org, {"records": [{**record, "SystemModstamp": "2026-01-01"}]})
    assert read_only.json()[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    session = org.issue_session_id()
    get = requests.get(f"{org.url}{org.data_path}/composite/sobjects", timeout=10,
                       headers={"Authorization": f"Bearer {session}"})
    assert get.status_code == 405


def test_a_failure_part_way_keeps_the_written_batches(org: FakeOrg, tmp_path: Path) -> None:
    ids = org.add_tasks(blank_tasks(250))
    db = tmp_path / "c.db"
    assert invoke(db, org, "sync").exit_code == 0
    org.faults.request_limit_exceeded_after = org.api_calls + 3  # 2 reads, 1 PATCH, then no
    backup = tmp_path / "b.jsonl"
    result = invoke(db, org, "fix-type", "--set", "Call", "--apply", "--backup", str(backup))
    assert result.exit_code == 1
    assert "request limit exceeded" in result.stderr
    assert f"undo: calltui fix-type --undo {backup}" in " ".join(result.stderr.split())
    written = [i for i in [*BLANK, *ids] if org.task(i)["Type"] == "Call"]
    assert len(written) == 200
    types = local_types(db)
    assert all(types[i] == "Call" for i in written)
    assert len(type_blank_calls(db)) == 253 - 200  # re-matched before exiting
