"""The warehouse sync and the in-warehouse match, through the real Snowflake connector
over HTTP against fakesnow's server mode (see tests/warehouse_fake.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from calltui import store
from calltui.demo import DemoData, make_demo_data, write_demo_files
from calltui.importer import import_file
from calltui.match import run_match
from calltui.models import MatchOptions
from calltui.warehouse.settings import (
    WarehouseError,
    check_section,
    connect,
    settings_from,
)

pytest.importorskip("snowflake.connector")
pytest.importorskip("fakesnow")

from tests.warehouse_fake import (  # noqa: E402
    ROLE,
    FakeWarehouse,
    create_tables,
    execute,
    fake_warehouse,
    insert_rows,
    page_views_for,
)

ENV = {"SNOWFLAKE_PASSWORD": "snow-secret-value"}
_names = (f"MM{i}" for i in itertools.count(1))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWarehouse]:
    with fake_warehouse() as server:
        yield server


@pytest.fixture
def database(fake: FakeWarehouse) -> Iterator[str]:
    fake.app.faults.__init__()  # type: ignore[misc]
    yield next(_names)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    data = make_demo_data(calls=240, seed=11)
    data.tasks[3]["IsDeleted"] = True  # at this size the demo may draw no deleted Task
    # some sessions deleted, one way or the other
    for i, s in enumerate(data.sessions):
        if i % 37 == 5:
            s["IS_DELETED"] = "true"
        elif i % 41 == 7:
            s["_DELETED_DATE"] = "2026-12-01 08:00:00.000"
    return data


def settings(fake: FakeWarehouse, database: str, **extra: Any) -> Any:
    return settings_from(fake.settings(database, **extra), env={})


def connection(fake: FakeWarehouse, database: str, **extra: Any) -> Any:
    return connect(settings(fake, database, **extra), env=ENV)


def seed(fake: FakeWarehouse, database: str, data: DemoData, page_views: bool = True) -> None:
    create_tables(fake, database)
    insert_rows(fake, database, "BIZ_SESSIONS", data.sessions)
    insert_rows(fake, database, "BIZ_FORM_SUBMITS", data.forms)
    if page_views:
        insert_rows(fake, database, "BIZ_PAGE_VIEWS", page_views_for(data.sessions))


def with_tasks(db: Database, tmp_path: Path, data: DemoData) -> None:
    paths = write_demo_files(tmp_path / "files", data)
    import_file(db, paths[0])


def wh_sync(db: Database, fake: FakeWarehouse, database: str, **options: Any) -> Any:
    from calltui.warehouse.sync import WarehouseSyncOptions, run_warehouse_sync

    sett = settings(fake, database)
    conn = connect(sett, env=ENV)
    try:
        return run_warehouse_sync(db, conn, sett, WarehouseSyncOptions(**options))
    finally:
        conn.close()


def call_cookies(db: Database) -> set[str]:
    return {r[0] for r in db.execute(
        "SELECT DISTINCT bizible_id FROM tasks WHERE is_call = 1 AND bizible_id IS NOT NULL")}


# --- settings --------------------------------------------------------------------


def test_settings_follow_the_connector_conventions(tmp_path: Path) -> None:
    section = {"account": "acme-xy12345", "user": "ADMIN", "role": "MM_READER",
               "warehouse": "REPORTING", "database": "MARKETO_MEASURE", "schema": "BIZIBLE",
               "authenticator": "SNOWFLAKE_JWT", "private_key_file": str(tmp_path / "k.p8")}
    env = {"SNOWFLAKE_ROLE": "OTHER", "SNOWFLAKE_PRIVATE_KEY_FILE_PWD": "pass-phrase",
           "SNOWFLAKE_PASSWORD": "pw"}
    sett = settings_from(section, env=env)
    kwargs = sett.connect_kwargs(env)
    assert kwargs["role"] == "OTHER"  # the environment wins over the config
    assert kwargs["private_key_file"] == section["private_key_file"]
    assert kwargs["private_key_file_pwd"] == "pass-phrase"
    assert kwargs["paramstyle"] == "qmark"
    assert "pass-phrase" not in sett.label() and "pass-phrase" not in repr(sett)
    browser = settings_from({"account": "acme", "user": "me@acme.com",
                             "authenticator": "externalbrowser"}, env={})
    assert browser.connect_kwargs({})["authenticator"] == "externalbrowser"
    named = settings_from({}, env={"SNOWFLAKE_DEFAULT_CONNECTION_NAME": "mm"})
    assert named.connect_kwargs({})["connection_name"] == "mm"


@pytest.mark.parametrize("section", [{"password": "x"}, {"private_key_file_pwd": "x"},
                                     {"token": "x"}])
def test_secrets_are_refused_in_the_config(section: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="secrets do not belong"):
        check_section(section)


def test_identifiers_must_be_plain() -> None:
    with pytest.raises(ValueError, match="identifier"):
        check_section({"database": "MM; DROP TABLE X"})
    with pytest.raises(ValueError, match="unknown key"):
        check_section({"acount": "typo"})


def test_connections_toml_by_name(fake: FakeWarehouse, database: str, tmp_path: Path) -> None:
    create_tables(fake, database, ("BIZ_SESSIONS",))
    toml = tmp_path / "connections.toml"
    toml.write_text(
        f'[calltui_test]\naccount = "fakesnow"\nuser = "fake"\npassword = "snow"\n'
        f'host = "127.0.0.1"\nport = {fake.port}\nprotocol = "http"\n'
        f'database = "{database}"\nschema = "PUB"\n')
    toml.chmod(0o600)
    sett = settings_from({"connection_name": "calltui_test"},
                         env={"SNOWFLAKE_CONNECTIONS_FILE": str(toml)})
    conn = connect(sett, env={})
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM BIZ_SESSIONS")
        assert cur.fetchone()[0] == 0
    finally:
        conn.close()


# --- sync ------------------------------------------------------------------------


def test_sync_reads_only_the_call_cookies_through_bindings(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    seed(fake, database, demo)
    with_tasks(db, tmp_path, demo)
    result = wh_sync(db, fake, database, batch_size=50)
    cookies = call_cookies(db)
    stored = {r[0] for r in db.execute("SELECT DISTINCT cookie_id FROM sessions")}
    assert stored and stored <= cookies
    expected = {s["ID"] for s in demo.sessions if s["COOKIE_ID"] in cookies}
    assert {r[0] for r in db.execute("SELECT id FROM sessions")} == expected
    assert len(expected) < len(demo.sessions) / 2  # the web-only visitors stayed in Snowflake
    assert store.count_rows(db, "form_submits") == sum(
        1 for f in demo.forms if f["COOKIE_ID"] in cookies)
    assert store.count_rows(db, "page_views") > 0
    assert result.rows["BIZ_SESSIONS"] == len(expected)
    # no cookie in any SQL text: they travelled as bindings
    text = "\n".join(fake.app.faults.statements)
    assert not any(cookie in text for cookie in cookies)
    assert any(b for b in fake.app.faults.bindings)
    log = store.recent_syncs(db)[0]
    assert log["mode"] == "warehouse" and log["status"] == "ok"
    assert log["rows_upserted"] == result.upserted
    for table in ("BIZ_SESSIONS", "BIZ_PAGE_VIEWS", "BIZ_FORM_SUBMITS"):
        assert store.get_watermark(db, f"warehouse:{table}") is not None


def test_synced_rows_equal_file_imports(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    seed(fake, database, demo, page_views=False)
    with_tasks(db, tmp_path, demo)
    wh_sync(db, fake, database)
    other = store.open_db(tmp_path / "files.db")
    paths = write_demo_files(tmp_path / "files2", demo)
    import_file(other, paths[0])
    import_file(other, paths[1])
    cookies = call_cookies(db)
    cols = ("id, cookie_id, visitor_id, started_at, channel, landing_page, referrer_page, "
            "web_source, medium, ad_provider, campaign_name, has_form, modified_date")
    synced = {r[0]: r for r in db.execute(f"SELECT {cols} FROM sessions")}
    imported = {r[0]: r for r in other.execute(f"SELECT {cols} FROM sessions")
                if r[1] in cookies}
    assert synced == imported


def test_incremental_run_reads_changes_and_new_cookies(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    seed(fake, database, demo)
    with_tasks(db, tmp_path, demo)
    first = wh_sync(db, fake, database)
    assert first.new_cookies == first.cookies > 0
    again = wh_sync(db, fake, database)
    assert again.new_cookies == 0
    # rows far older than the watermark are not read again
    assert again.rows["BIZ_SESSIONS"] < first.rows["BIZ_SESSIONS"]
    # a changed session of a known cookie arrives; so does a deletion
    cookie = next(iter(sorted(call_cookies(db) & {s["COOKIE_ID"] for s in demo.sessions})))
    changed = next(s for s in demo.sessions if s["COOKIE_ID"] == cookie)
    later = "2027-01-02 10:00:00"
    execute(fake, database, f"UPDATE BIZ_SESSIONS SET CHANNEL = 'Changed', "
            f"MODIFIED_DATE = '{later}' WHERE ID = '{changed['ID']}'")
    victim = next(s for s in demo.sessions if s["COOKIE_ID"] in call_cookies(db)
                  and s["ID"] != changed["ID"] and s.get("IS_DELETED") != "true"
                  and not s.get("_DELETED_DATE"))
    execute(fake, database, f"UPDATE BIZ_SESSIONS SET _DELETED_DATE = '{later}' "
            f"WHERE ID = '{victim['ID']}'")
    # a new call Task with a cookie never seen: its whole (old) history is read
    newcomer = next(s for s in demo.sessions if s["COOKIE_ID"] not in call_cookies(db))
    template = next(db.query("SELECT * FROM tasks WHERE is_call = 1 LIMIT 1"))
    db["tasks"].insert({**template, "id": "00T5g00000NEW01AAA",
                        "bizible_id": newcomer["COOKIE_ID"],
                        "bizible_id_raw": newcomer["COOKIE_ID"]})
    third = wh_sync(db, fake, database)
    assert third.new_cookies == 1
    row = next(db.query("SELECT channel FROM sessions WHERE id = ?", [changed["ID"]]))
    assert row["channel"] == "Changed"
    gone = next(db.query("SELECT is_deleted FROM sessions WHERE id = ?", [victim["ID"]]))
    assert gone["is_deleted"] == 1
    assert next(db.query("SELECT COUNT(*) AS n FROM sessions WHERE cookie_id = ?",
                         [newcomer["COOKIE_ID"]]))["n"] == sum(
        1 for s in demo.sessions if s["COOKIE_ID"] == newcomer["COOKIE_ID"])


def test_deleted_rows_take_no_part_in_matching(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    seed(fake, database, demo)
    with_tasks(db, tmp_path, demo)
    wh_sync(db, fake, database)
    deleted = {s["ID"] for s in demo.sessions
               if s.get("IS_DELETED") == "true" or s.get("_DELETED_DATE")}
    stored_deleted = {r[0] for r in db.execute("SELECT id FROM sessions WHERE is_deleted = 1")}
    assert stored_deleted and stored_deleted <= deleted
    run_match(db)
    used = {r[0] for r in db.execute(
        "SELECT compared_session_id FROM call_outcomes WHERE compared_session_id IS NOT NULL")}
    assert not used & deleted


def test_all_sessions_reads_a_date_range_of_everything(
        fake: FakeWarehouse, database: str, db: Database, demo: DemoData
) -> None:
    seed(fake, database, demo, page_views=False)
    since = datetime(2026, 10, 1, tzinfo=UTC)
    until = datetime(2026, 11, 1, tzinfo=UTC)
    result = wh_sync(db, fake, database, all_sessions=True, since=since, until=until)
    expected = {s["ID"] for s in demo.sessions
                if "2026-10-01" <= s["EVENT_DATE"] < "2026-11-01"}
    assert {r[0] for r in db.execute("SELECT id FROM sessions")} == expected
    assert result.rows["BIZ_SESSIONS"] == len(expected)
    assert store.get_watermark(db, "warehouse:BIZ_SESSIONS") is None
    assert store.recent_syncs(db)[0]["mode"] == "warehouse all-sessions"


# --- errors ----------------------------------------------------------------------


def _sync_error(db: Database, fake: FakeWarehouse, database: str, **extra: Any) -> str:
    from calltui.warehouse.sync import run_warehouse_sync

    with pytest.raises(WarehouseError) as info:
        sett = settings(fake, database, **extra)
        conn = connect(sett, env=ENV)
        run_warehouse_sync(db, conn, sett)
    message = str(info.value)
    assert "\n" not in message and ENV["SNOWFLAKE_PASSWORD"] not in message
    return message


def test_missing_share_or_table(fake: FakeWarehouse, database: str, db: Database) -> None:
    create_tables(fake, database, ("BIZ_SESSIONS", "BIZ_FORM_SUBMITS"))
    message = _sync_error(db, fake, database)
    assert "BIZ_PAGE_VIEWS" in message and "share" in message
    assert store.recent_syncs(db)[0]["status"] == "failed"
    message = _sync_error(db, fake, "NO_SUCH_SHARE_DB")
    assert "not found" in message


def test_missing_grant(fake: FakeWarehouse, database: str, db: Database) -> None:
    create_tables(fake, database)
    fake.app.faults.ungranted = {"BIZ_FORM_SUBMITS"}
    message = _sync_error(db, fake, database)
    assert "BIZ_FORM_SUBMITS" in message and ROLE in message and "SELECT" in message


def test_wrong_role(fake: FakeWarehouse, database: str, db: Database) -> None:
    create_tables(fake, database)
    message = _sync_error(db, fake, database, role="NOT_MINE")
    assert "role 'NOT_MINE' does not exist or is not granted" in message


def test_wrong_warehouse(fake: FakeWarehouse, database: str, db: Database) -> None:
    create_tables(fake, database)
    message = _sync_error(db, fake, database, warehouse="NO_WH")
    assert "no usable warehouse" in message and "NO_WH" in message


def test_temp_table_in_a_read_only_schema(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    from calltui.warehouse.match import run_match_in_warehouse

    seed(fake, database, demo, page_views=False)
    with_tasks(db, tmp_path, demo)
    fake.app.faults.read_only = True
    sett = settings(fake, database)
    with pytest.raises(WarehouseError, match="missing grant.*Insufficient privileges"):
        run_match_in_warehouse(db, connect(sett, env=ENV), sett)


def test_no_connector_settings_is_one_line() -> None:
    with pytest.raises(WarehouseError, match="no warehouse configured"):
        connect(settings_from({}, env={}), env={})


# --- the match inside the warehouse --------------------------------------------------


def _outcomes(db: Database) -> dict[str, dict[str, Any]]:
    return {r["task_id"]: r for r in db.query("SELECT * FROM call_outcomes")}


def _touchpoints(db: Database) -> dict[str, dict[str, Any]]:
    return {r["touchpoint_id"]: r for r in db.query("SELECT * FROM touchpoints")}


@pytest.mark.parametrize("options", [MatchOptions(), MatchOptions(anchor="activity"),
                                     MatchOptions(window_minutes=45.5)])
def test_in_warehouse_equals_the_local_matcher(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData,
        options: MatchOptions) -> None:
    from calltui.warehouse.match import run_match_in_warehouse

    seed(fake, database, demo)
    with_tasks(db, tmp_path, demo)
    wh_sync(db, fake, database)
    local = run_match(db, options)
    assert all(local.by_status.values()), local.by_status  # every status occurs
    expected, expected_tp = _outcomes(db), _touchpoints(db)
    fake.app.faults.statements.clear()
    sett = settings(fake, database)
    conn = connect(sett, env=ENV)
    try:
        remote = run_match_in_warehouse(db, conn, sett, options)
    finally:
        conn.close()
    assert remote.by_status == local.by_status
    assert _outcomes(db) == expected
    got_tp = _touchpoints(db)
    diff = [(c, got_tp[k][c], v[c]) for k, v in expected_tp.items() for c in v
            if got_tp.get(k, {}).get(c) != v[c]]
    assert diff == []
    assert got_tp == expected_tp
    text = "\n".join(fake.app.faults.statements)
    assert not any(c in text for c in call_cookies(db))  # calls uploaded as bindings


def test_in_warehouse_without_local_sessions(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    """The point of matching in Snowflake: the sessions need not be on this machine."""
    from calltui.warehouse.match import run_match_in_warehouse

    seed(fake, database, demo, page_views=False)
    with_tasks(db, tmp_path, demo)
    synced = store.open_db(tmp_path / "synced.db")
    with_tasks(synced, tmp_path / "s", demo)
    wh_sync(synced, fake, database)
    run_match(synced)
    sett = settings(fake, database)
    run_match_in_warehouse(db, connect(sett, env=ENV), sett)
    assert store.count_rows(db, "sessions") == 0
    keep = ("status", "flags", "session_id", "compared_session_id", "gap_seconds",
            "before_session_id", "after_session_id", "touchpoint_type", "medium", "channel",
            "source", "campaign", "explanation")
    got = {k: {c: v[c] for c in keep} for k, v in _outcomes(db).items()}
    want = {k: {c: v[c] for c in keep} for k, v in _outcomes(synced).items()}
    assert got == want


def test_a_failed_run_keeps_its_rows_and_the_next_one_finishes(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    from calltui.warehouse.sync import WarehouseSyncOptions, run_warehouse_sync

    seed(fake, database, demo)
    with_tasks(db, tmp_path, demo)
    fake.app.faults.ungranted = {"BIZ_FORM_SUBMITS"}
    sett = settings(fake, database)
    conn = connect(sett, env=ENV)
    fake.app.faults.ungranted = set()  # the describe passes; the grant goes mid-run
    original = conn.cursor

    class Revoking:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self) -> Any:
            self.calls += 1
            if self.calls == 12:  # after a few committed batches
                fake.app.faults.ungranted = {"BIZ_FORM_SUBMITS"}
            return original()

    conn.cursor = Revoking()
    with pytest.raises(WarehouseError, match="BIZ_FORM_SUBMITS"):
        run_warehouse_sync(db, conn, sett, WarehouseSyncOptions(batch_size=40))
    kept = store.count_rows(db, "sessions")
    assert kept > 0
    assert store.recent_syncs(db)[0]["status"] == "failed"
    fake.app.faults.ungranted = set()
    progress: list[tuple[int, int]] = []
    result = run_warehouse_sync(db, connect(sett, env=ENV), sett,
                                WarehouseSyncOptions(batch_size=40),
                                on_progress=lambda d, t: progress.append((d, t)))
    assert result.new_cookies > 0
    assert progress and progress[-1][0] == progress[-1][1]
    cookies = call_cookies(db)
    assert store.count_rows(db, "sessions") == sum(
        1 for s in demo.sessions if s["COOKIE_ID"] in cookies)
    assert {r[0] for r in db.execute("SELECT cookie_id FROM warehouse_cookies")} == cookies


def test_in_warehouse_with_a_work_schema(
        fake: FakeWarehouse, database: str, db: Database, tmp_path: Path, demo: DemoData
) -> None:
    """The share is read-only: the temporary table goes to work_schema."""
    from calltui.warehouse.match import run_match_in_warehouse

    seed(fake, database, demo, page_views=False)
    scratch = fake.fs.connect(f"{database}_SCRATCH", "WORK")
    scratch.close()
    with_tasks(db, tmp_path, demo)
    wh_sync(db, fake, database)
    expected = run_match(db).by_status
    fake.app.faults.statements.clear()
    sett = settings(fake, database, work_schema=f"{database}_SCRATCH.WORK")
    assert run_match_in_warehouse(db, connect(sett, env=ENV), sett).by_status == expected
    assert f"USE SCHEMA {database}_SCRATCH.WORK" in fake.app.faults.statements
    assert any(f"FROM {database}.PUB.BIZ_SESSIONS" in s for s in fake.app.faults.statements)
