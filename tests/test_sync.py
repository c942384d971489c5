"""``calltui sync`` against the fake org over real HTTP: auth, incremental runs, Bulk 2.0, faults.

Nothing here patches simple-salesforce or requests: the client under test talks
to ``calltui.fakeorg`` on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlite_utils import Database

from calltui import store
from calltui.fakeorg import FakeOrg
from calltui.match import run_match
from calltui.records import TaskFields
from calltui.sf.auth import AuthError, Credentials, credentials_from_env
from calltui.sf.client import ApiLimitError, FieldError, SalesforceClient, SyncError
from calltui.sync import SyncOptions, run_sync
from tests.conftest import SAMPLE_TASKS

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
COOKIE = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"


def sample_tasks() -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "attributes"}
            for r in json.loads(SAMPLE_TASKS.read_text())["records"]]


def call_task(i: int, modstamp: datetime, **extra: Any) -> dict[str, Any]:
    stamp = modstamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {"Subject": f"Call {i}", "Type": "Call", "TaskSubtype": "Call",
            "WhoId": "00Q5g00000XyZ12EAF", "CreatedDate": stamp, "SystemModstamp": stamp,
            "bizible2__BizibleId__c": f"{i:032x}", **extra}


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg(page_size=200) as fake:
        fake.set_now(NOW)
        yield fake


def password_creds(org: FakeOrg, **kw: Any) -> Credentials:
    return Credentials("password", login_url=org.url, username=org.username,
                       password=org.password, security_token=org.security_token, **kw)


def client_for(org: FakeOrg, **kw: Any) -> SalesforceClient:
    return SalesforceClient(password_creds(org), backoff=0.0, **kw)


def sync(db: Database, client: SalesforceClient, **kw: Any) -> Any:
    return run_sync(db, client, SyncOptions(bulk_poll_seconds=0.0, **kw), now=NOW)


def statuses(db: Database) -> dict[str, str]:
    run_match(db)
    rows = db.query("SELECT task_id, status FROM call_outcomes")
    return {r["task_id"]: r["status"] for r in rows}


# --- auth ---------------------------------------------------------------------------


def test_password_login_and_sync_of_the_samples(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    result = sync(db, client_for(org))
    assert (result.mode, result.count, result.upserted) == ("full", 4, 4)
    row = db.table("tasks").get("00T5g00000AbCdFAAV")
    assert row["bizible_id"] == "5be07d1c2a9f4e61b3c8d0a2f4e6a8c1"
    assert row["call_at"] == "2026-03-02T09:19:30.000Z"
    assert row["origin"] == "salesforce"


def test_empty_security_token_is_allowed(db: Database) -> None:
    with FakeOrg(security_token="") as org:
        org.add_tasks(sample_tasks())
        creds = credentials_from_env({"SF_USERNAME": org.username, "SF_PASSWORD": org.password,
                                      "SF_LOGIN_URL": org.url})
        assert creds.mode == "password" and creds.security_token == ""
        assert sync(db, SalesforceClient(creds)).upserted == 4


def test_wrong_password_is_one_line_without_the_secret(org: FakeOrg) -> None:
    creds = Credentials("password", login_url=org.url, username=org.username,
                        password="hunter2-wrong", security_token="TOK-SECRET")
    with pytest.raises(AuthError) as info:
        SalesforceClient(creds)
    message = str(info.value)
    assert message.startswith(f"login refused by {org.url}: ")
    assert "INVALID_LOGIN" in message or "Invalid username" in message
    assert "hunter2" not in message and "TOK-SECRET" not in message
    assert "\n" not in message


def test_a_refused_password_with_a_space_at_an_end_says_so(org: FakeOrg) -> None:
    """A password keeps its own spaces; INVALID_LOGIN alone left a trailing one unseen."""
    creds = credentials_from_env({"SF_LOGIN_URL": org.url, "SF_USERNAME": org.username,
                                  "SF_PASSWORD": f"{org.password} ",
                                  "SF_SECURITY_TOKEN": org.security_token})
    with pytest.raises(AuthError) as info:
        SalesforceClient(creds)
    assert str(info.value).endswith(
        "(SF_PASSWORD begins or ends with a space, which calltui sends as it is)")


def test_jwt_bearer(tmp_path: Path, db: Database) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    key_file = tmp_path / "server.key"
    key_file.write_bytes(pem)
    with FakeOrg(public_key_pem=public) as org:
        org.add_tasks(sample_tasks())
        creds = credentials_from_env({"SF_USERNAME": org.username, "SF_CONSUMER_KEY": "CK",
                                      "SF_PRIVATE_KEY_FILE": str(key_file),
                                      "SF_LOGIN_URL": org.url})
        assert creds.mode == "jwt"
        assert sync(db, SalesforceClient(creds)).upserted == 4


def test_client_credentials_need_my_domain(org: FakeOrg, db: Database) -> None:
    env = {"SF_CONSUMER_KEY": "CK", "SF_CONSUMER_SECRET": "CS", "SF_LOGIN_URL": org.url}
    with pytest.raises(AuthError, match="SF_DOMAIN"):
        credentials_from_env(env)
    org.add_tasks(sample_tasks())
    creds = credentials_from_env({**env, "SF_DOMAIN": "acme.my"})
    assert sync(db, SalesforceClient(creds)).upserted == 4


def test_existing_session_id(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    creds = credentials_from_env({"SF_SESSION_ID": org.issue_session_id(),
                                  "SF_INSTANCE_URL": org.origin, "SF_LOGIN_URL": org.url})
    assert creds.mode == "session"
    assert sync(db, SalesforceClient(creds)).upserted == 4


def test_sandbox_and_my_domain_hosts_reach_the_endpoint(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    for domain in ("test", "acme.my"):
        client = SalesforceClient(password_creds(org, domain=domain))
        assert sync(db, client, full=True).count == 4
    paths = {r.path for r in org.requests}
    assert any(p.startswith("/services/Soap/u/") for p in paths)


def test_plain_http_only_for_loopback() -> None:
    with pytest.raises(AuthError, match="must use https"):
        credentials_from_env({"SF_USERNAME": "a", "SF_PASSWORD": "b",
                              "SF_LOGIN_URL": "http://login.example.com"})


def test_no_credentials_names_the_variables() -> None:
    with pytest.raises(AuthError, match="SF_USERNAME and SF_PASSWORD"):
        credentials_from_env({})


# --- incremental ----------------------------------------------------------------------


def test_incremental_runs_read_only_changes(org: FakeOrg, db: Database) -> None:
    ids = org.add_tasks([call_task(i, NOW - timedelta(days=3, minutes=i)) for i in range(30)])
    client = client_for(org)
    first = sync(db, client)
    assert (first.mode, first.upserted) == ("full", 30)
    assert store.get_watermark(db) == "2026-03-10T11:58:00.000Z"
    org.set_now(NOW - timedelta(minutes=5))  # inside [watermark - overlap, now - lag)
    org.update_task(ids[0], Type="Other")
    second = sync(db, client)
    assert (second.mode, second.window_start) == ("incremental", "2026-03-10T11:48:00.000Z")
    assert second.upserted == 1
    assert db.table("tasks").get(ids[0])["type"] == "Other"


def test_a_big_first_sync_builds_task_indexes_at_the_end_and_the_match_sees_all(
    org: FakeOrg, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.sync as sync_module

    def schema() -> set[tuple[str, str]]:
        return {(r[0], r[1]) for r in db.execute(
            "SELECT type, name FROM sqlite_master WHERE tbl_name = 'tasks' AND sql IS NOT NULL "
            "AND type IN ('index', 'trigger')")}

    before = schema()
    assert {("trigger", "tasks_changed_insert"), ("index", "tasks_bizible")} <= before
    monkeypatch.setattr(sync_module, "BULK_LOAD_ROWS", 1)  # 30 Tasks count as a big load
    seen: list[set[tuple[str, str]]] = []
    real = sync_module._store_page
    monkeypatch.setattr(sync_module, "_store_page",
                        lambda *a: (seen.append(schema()), real(*a))[1])
    org.add_tasks([call_task(i, NOW - timedelta(days=3, minutes=i)) for i in range(30)])
    assert sync(db, client_for(org)).upserted == 30
    assert seen[-1] == set()  # the pages went into a table without indexes or triggers
    assert schema() == before and store.count_rows(db, "pending_indexes") == 0
    assert list(statuses(db).values()) == ["unknown_bizible_id"] * 30


def test_record_deleted_between_syncs_becomes_deleted(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    client = client_for(org)
    sync(db, client)
    org.set_now(NOW - timedelta(minutes=5))
    org.delete_task("00T5g00000AbCdEAAV")
    result = sync(db, client)
    assert result.deleted == 1
    assert statuses(db)["00T5g00000AbCdEAAV"] == "deleted"


def test_record_modified_during_a_sync_arrives_with_the_next(org: FakeOrg, db: Database) -> None:
    org.set_now(NOW - timedelta(hours=1))
    ids = org.add_tasks([call_task(i, NOW - timedelta(days=1, minutes=i)) for i in range(450)])

    def modify(fake: FakeOrg) -> None:
        fake.set_now(NOW - timedelta(minutes=1))  # after the window's end (now - lag)
        fake.update_task(ids[10], Subject="changed mid-sync")

    org.faults.modify_during_query = modify
    client = client_for(org)
    first = sync(db, client)
    assert first.upserted == 449  # the changed record moved past this window's end
    assert store.get_watermark(db) == "2026-03-10T11:58:00.000Z"
    run_sync(db, client, SyncOptions(), now=NOW + timedelta(minutes=5))
    assert db.table("tasks").get(ids[10])["subject"] == "changed mid-sync"


def test_full_and_since(org: FakeOrg, db: Database) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(days=i + 1)) for i in range(5)])
    client = client_for(org)
    sync(db, client)
    assert sync(db, client, full=True).count == 5
    since = sync(db, client, since=NOW - timedelta(days=2, hours=12))
    assert (since.mode, since.count) == ("since", 2)


def test_dry_run_writes_nothing(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    result = sync(db, client_for(org), dry_run=True)
    assert result.count == 4
    assert "SystemModstamp < 2026-03-10T11:58:00.000Z" in result.soql[1]
    assert store.count_rows(db, "tasks") == 0 and store.recent_syncs(db) == []
    assert store.get_watermark(db) is None


def test_sync_log_records_the_run(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    sync(db, client_for(org))
    [log] = store.recent_syncs(db)
    assert (log["status"], log["mode"], log["rows_upserted"], log["error"]) == ("ok", "full", 4,
                                                                               None)
    assert log["api_calls"] == 4  # describe, count, deleted pass, one page
    assert log["usage_before"] == "1/100000" and log["usage_after"] == "4/100000"


def test_rest_spends_at_most_pages_plus_three_calls(org: FakeOrg, db: Database) -> None:
    with FakeOrg() as big:
        big.set_now(NOW)
        big.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(4500)])
        result = sync(db, SalesforceClient(password_creds(big)))
        assert result.upserted == 4500
        assert result.api_calls <= 3 + 3  # ceil(4500 / 2000) + 3


# --- Bulk 2.0 ---------------------------------------------------------------------------


def test_bulk_above_the_threshold(org: FakeOrg, db: Database) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(hours=2, seconds=i)) for i in range(25)])
    result = sync(db, client_for(org), bulk_threshold=10)
    assert result.upserted == 25
    assert any("/jobs/query" in r.path for r in org.requests)
    assert store.get_watermark(db) == "2026-03-10T11:58:00.000Z"
    assert store.recent_syncs(db)[0]["mode"] == "full bulk"


def test_bulk_pages_are_handed_on_in_slices_and_counted(
    org: FakeOrg, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.sf.client as client_module

    monkeypatch.setattr(client_module, "BULK_SLICE", 7)
    org.add_tasks([call_task(i, NOW - timedelta(hours=2, seconds=i)) for i in range(30)])
    client = client_for(org)
    pages = list(client.bulk_query("SELECT Id, Subject FROM Task", page_size=20, poll=0.0))
    assert [len(p) for p in pages] == [7, 7, 6, 7, 3]  # results pages of 20 and 10
    assert sorted(int(r["Subject"].split()[1]) for p in pages for r in p) == list(range(30))
    done: list[int] = []
    run_sync(db, client, SyncOptions(bulk_threshold=1, bulk_poll_seconds=0.0), now=NOW,
             on_progress=lambda seen, total: done.append(seen))
    assert done == [7, 14, 21, 28, 30] and store.count_rows(db, "tasks") == 30


def test_bulk_csv_quirks_round_trip(org: FakeOrg, db: Database) -> None:
    """Field reports 1 and 2: blanks, the text null, CR LF, doubled quotes, UTF-8."""
    org.add_tasks([
        call_task(1, NOW - timedelta(hours=3), Description='two\r\nlines "quoted"',
                  Subject='""VIP"" Müller'),
        call_task(2, NOW - timedelta(hours=3), **{"bizible2__BizibleId__c": "null"}),
        call_task(3, NOW - timedelta(hours=3), **{"bizible2__BizibleId__c": ""}),
    ])
    sync(db, client_for(org), bulk_threshold=1)
    rows = {r["subject"]: r for r in db.query("SELECT * FROM tasks")}
    first = rows['""VIP"" Müller']
    assert first["description"] == 'two\r\nlines "quoted"'
    placeholder = rows["Call 2"]
    assert (placeholder["bizible_id"], placeholder["bizible_state"]) == (None, "placeholder")
    assert (rows["Call 3"]["bizible_id"], rows["Call 3"]["bizible_state"]) == (None, "missing")


def test_bulk_page_without_locator_stops_without_moving_the_watermark(
    org: FakeOrg, db: Database
) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(hours=2)) for i in range(5)])
    org.faults.bulk_missing_locator = True
    with pytest.raises(SyncError, match="without a Sforce-Locator header"):
        sync(db, client_for(org), bulk_threshold=1)
    assert store.get_watermark(db) is None
    assert store.recent_syncs(db)[0]["status"] == "failed"


# --- faults --------------------------------------------------------------------------


def test_session_expiry_mid_paging_logs_in_once_and_goes_on(org: FakeOrg, db: Database) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(1000)])
    client = client_for(org)
    logins = org.logins
    org.faults.expire_session_after_queries = 4
    result = sync(db, client)
    assert result.upserted == 1000
    assert client.relogins >= 1 and org.logins - logins == client.relogins


def test_endless_invalid_session_is_bounded(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    client = client_for(org)
    logins = org.logins
    org.faults.always_invalid_session = True
    with pytest.raises(SyncError, match="session expired"):
        sync(db, client)
    assert org.logins - logins == 1


def test_server_errors_are_retried(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    client = client_for(org)
    org.faults.fail_5xx = [503, 500, 503]
    assert sync(db, client).upserted == 4


def test_server_errors_beyond_the_retries_fail_cleanly(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    client = client_for(org)
    org.faults.fail_5xx = [503] * 10
    with pytest.raises(SyncError, match=r"kept failing \(HTTP 503\) after 3 retries"):
        sync(db, client)


def test_timeouts_are_retried(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    client = SalesforceClient(password_creds(org), timeout=0.5, backoff=0.0)
    org.faults.delay_seconds = [1.5]
    assert sync(db, client).upserted == 4


def test_request_limit_stops_and_keeps_committed_pages(org: FakeOrg, db: Database) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(1000)])
    client = client_for(org)
    org.faults.request_limit_exceeded_after = org.api_calls + 5
    with pytest.raises(ApiLimitError, match="request limit exceeded"):
        sync(db, client)
    kept = store.count_rows(db, "tasks")
    assert kept == 400  # two pages of 200 committed before the limit
    watermark = store.get_watermark(db)
    assert watermark == max(r["system_modstamp"] for r in db.query("SELECT * FROM tasks"))
    org.faults.request_limit_exceeded_after = None
    resumed = sync(db, client)
    assert resumed.mode == "incremental" and store.count_rows(db, "tasks") == 1000


def test_pages_commit_together_every_commit_rows_and_a_failure_keeps_them(
    org: FakeOrg, db: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.sync as sync_module

    monkeypatch.setattr(sync_module, "COMMIT_ROWS", 500)  # pages of 200: commit after 3
    org.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(1000)])
    reader = store.open_db(db_path)  # sees only what is committed
    seen: list[tuple[int, int, str | None]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, store.count_rows(reader, "tasks"), store.get_watermark(reader)))

    client = client_for(org)
    run_sync(db, client, SyncOptions(bulk_poll_seconds=0.0), now=NOW, on_progress=progress)
    assert [(done, rows) for done, rows, _ in seen] == [
        (200, 0), (400, 0), (600, 0), (800, 600), (1000, 600)]
    # Committed with the first three pages: the 600th oldest SystemModstamp (i = 400).
    assert seen[3][2] == (NOW - timedelta(hours=1, seconds=400)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
    assert store.count_rows(reader, "tasks") == 1000

    # A failed fetch commits the pages already stored (fewer than COMMIT_ROWS rows) with
    # their watermark. 450 Tasks changed in the next window: pages of 200, 200 and 50.
    seen.clear()
    changed = NOW - timedelta(minutes=10)
    org.add_tasks([call_task(2000 + i, changed + timedelta(seconds=i)) for i in range(450)])
    org.faults.request_limit_exceeded_after = org.api_calls + 5  # the third page fails
    with pytest.raises(ApiLimitError):
        run_sync(db, client, SyncOptions(bulk_poll_seconds=0.0), now=NOW, on_progress=progress)
    assert [(done, rows) for done, rows, _ in seen] == [(200, 1000), (400, 1000)]
    assert store.count_rows(reader, "tasks") == 1400
    assert store.get_watermark(reader) == (changed + timedelta(seconds=399)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
    reader.close()


def test_missing_bizible_field_is_explained(org: FakeOrg, db: Database) -> None:
    org.faults.hide_field = "bizible2__BizibleId__c"
    with pytest.raises(FieldError) as info:
        sync(db, client_for(org))
    message = str(info.value)
    assert "bizible2__BizibleId__c" in message and "older than 6.7" in message
    assert "v59.0" in message
    [log] = store.recent_syncs(db)  # a run that stops before reading is logged too
    assert (log["mode"], log["status"], log["error"]) == ("full", "failed", message)


PACKAGE_CAUSE = ("the Marketo Measure package is missing or older than 6.7 (BizibleId came in "
                 "6.7), or the API user lacks field-level read access to it")


def test_unreadable_bizible_field_is_explained(org: FakeOrg, db: Database) -> None:
    """The org's INVALID_FIELD message starts with a newline and the query's text (as
    Salesforce's does): the error still names the field, on one line."""
    org.faults.unreadable_field = "bizible2__BizibleId__c"
    with pytest.raises(FieldError) as info:
        sync(db, client_for(org))
    assert str(info.value) == (
        "query: Salesforce has no field Task.bizible2__BizibleId__c that this user can read "
        f"(API v59.0): {PACKAGE_CAUSE}")
    assert store.recent_syncs(db)[0]["error"] == str(info.value)


def test_a_mistyped_bizible_id_field_setting_is_named(org: FakeOrg, db: Database) -> None:
    org.add_tasks(sample_tasks())
    with pytest.raises(FieldError) as info:
        sync(db, client_for(org), fields=TaskFields(bizible_id="bizible2__BizibleIdd__c"))
    assert str(info.value) == (
        f"Task has no field bizible2__BizibleIdd__c visible to this user (API v59.0): "
        f"{PACKAGE_CAUSE}; or [salesforce] bizible_id_field is mistyped (the package's field "
        "is bizible2__BizibleId__c)")


@pytest.mark.parametrize("bulk", [False, True])
def test_a_field_setting_in_another_case_reads_the_same_tasks(
    org: FakeOrg, db_path: Path, tmp_path: Path, bulk: bool
) -> None:
    """Salesforce takes field names in any case but answers with the field's own
    spelling: settings in another case read the same Tasks, a call only by its BizibleId
    included, by REST and by Bulk."""
    org.add_tasks([*sample_tasks(),
                   {**call_task(9, NOW - timedelta(hours=1)), "Type": None,
                    "TaskSubtype": "Task"}])  # a call only by its BizibleId
    threshold = {"bulk_threshold": 0} if bulk else {}
    plain = store.open_db(db_path)
    sync(plain, client_for(org), **threshold)
    shouted = store.open_db(tmp_path / "shouted.db")
    other_case = TaskFields(bizible_id="BIZIBLE2__BizibleID__C",
                            call_time=("bizible2__bizible_touchpoint_date__c",
                                       "completeddatetime", "CREATEDDATE"))
    sync(shouted, client_for(org), fields=other_case, **threshold)
    query = "SELECT id, bizible_id, call_at, is_call FROM tasks ORDER BY id"
    rows = [dict(r) for r in plain.query(query)]
    assert len(rows) == 5 and all(r["is_call"] for r in rows)
    assert [dict(r) for r in shouted.query(query)] == rows


def test_a_field_mistyped_in_the_call_filter_is_named_with_the_setting(
    org: FakeOrg, db: Database
) -> None:
    org.add_tasks(sample_tasks())
    with pytest.raises(FieldError) as info:
        sync(db, client_for(org), call_filter="Subjct LIKE 'Call%'")
    assert str(info.value) == (
        "query: Salesforce has no field Task.Subjct that this user can read (API v59.0): it "
        "is named in call_filter from the config's [salesforce] section (\"Subjct LIKE "
        "'Call%'\"): check its spelling")
    [log] = store.recent_syncs(db)
    assert (log["status"], log["error"]) == ("failed", str(info.value))
    assert store.count_rows(db, "tasks") == 0


def test_done_without_next_url_is_an_error(org: FakeOrg, db: Database) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(500)])
    org.faults.rest_done_without_next = True
    with pytest.raises(SyncError, match="gave no nextRecordsUrl"):
        sync(db, client_for(org))
    assert store.get_watermark(db) != "2026-03-10T11:58:00.000Z"


def test_a_page_that_is_not_json_stops_with_one_line_and_keeps_the_pages_before(
    org: FakeOrg, db: Database
) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(500)])
    org.faults.rest_html_page_at = 400  # the third page: a proxy's HTML, status 200
    with pytest.raises(SyncError, match=r"^query: Salesforce answered a page that is not JSON "
                                        r"\(Expecting value: line 1 column 1 \(char 0\)\)$"):
        sync(db, client_for(org))
    assert store.count_rows(db, "tasks") == 400
    assert store.recent_syncs(db)[0]["status"] == "failed"
    org.faults.rest_html_page_at = None
    assert sync(db, client_for(org)).mode == "incremental"
    assert store.count_rows(db, "tasks") == 500


def test_rest_pages_follow_next_records_url_only(db: Database) -> None:
    """Field report 4: totalSize 5 served as 2, 2 and 1."""
    with FakeOrg(page_size=2) as org:
        org.set_now(NOW)
        org.add_tasks([call_task(i, NOW - timedelta(hours=1, seconds=i)) for i in range(5)])
        assert sync(db, client_for(org)).upserted == 5


# --- secrets -----------------------------------------------------------------------------


def test_no_secret_reaches_the_database_logs_or_output(
    org: FakeOrg, db_path: Path, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    org.add_tasks(sample_tasks())
    db = store.open_db(db_path)
    client = client_for(org)
    session_id = client.sf.session_id
    org.faults.request_limit_exceeded_after = org.api_calls + 3
    with pytest.raises(SyncError) as info:
        sync(db, client)
    db.close()
    secrets = [org.password, org.security_token, org.password + org.security_token, session_id]
    haystacks = [db_path.read_bytes().decode("latin-1"), caplog.text, str(info.value),
                 "".join(capsys.readouterr()), repr(client.creds)]
    wal = Path(f"{db_path}-wal")
    if wal.exists():
        haystacks.append(wal.read_bytes().decode("latin-1"))
    for secret in secrets:
        assert all(secret not in text for text in haystacks), "a secret leaked"


def test_configurable_bizible_field_and_call_filter(org: FakeOrg, db: Database) -> None:
    org.add_field("Vendor_Cookie__c")
    org.add_tasks([
        {**call_task(1, NOW - timedelta(hours=1)), "Vendor_Cookie__c": COOKIE.upper()},
        {**call_task(2, NOW - timedelta(hours=1)), "Type": "Email", "TaskSubtype": "Task"},
    ])
    fields = TaskFields(bizible_id="Vendor_Cookie__c")
    result = sync(db, client_for(org), fields=fields, call_filter="Type = 'Call'")
    assert result.upserted == 1
    assert "WHERE (Type = 'Call') AND" in result.soql[1]
    [row] = list(db.query("SELECT bizible_id FROM tasks"))
    assert row["bizible_id"] == COOKIE
