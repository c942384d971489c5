"""``calltui sync`` and ``calltui doctor`` from the command line, against the fake org."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Self

import pytest
from click.testing import CliRunner, Result
from rich.progress import ProgressColumn

from calltui import fixtype, store
from calltui.cli import cli
from calltui.fakeorg import FakeOrg
from tests.conftest import SAMPLE_SESSIONS
from tests.test_sync import call_task, sample_tasks


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as fake:
        fake.set_now(datetime(2026, 3, 10, tzinfo=UTC))
        fake.add_tasks(sample_tasks())
        fake.set_now(datetime.now(UTC))
        yield fake


def env_for(org: FakeOrg) -> dict[str, str]:
    return {"SF_LOGIN_URL": org.url, "SF_USERNAME": org.username, "SF_PASSWORD": org.password,
            "SF_SECURITY_TOKEN": org.security_token}


def invoke(db: Path, env: dict[str, str], *args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200", **env}).invoke(cli, ["--db", str(db), *args])


def test_sync_then_match(org: FakeOrg, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert invoke(db, {}, "import", str(SAMPLE_SESSIONS)).exit_code == 0
    result = invoke(db, env_for(org), "sync")
    assert result.exit_code == 0, result.output
    assert "Synced 4 Tasks: 4 stored, 0 deleted, 0 rejected; 4 API calls" in result.stdout
    assert "No web sessions" not in result.stderr
    report = CliRunner().invoke(cli, ["--db", str(db), "report", "calls", "--format", "json"])
    assert {r["status"] for r in json.loads(report.stdout)} == {
        "matched", "outside_window", "missing_bizible_id"}


def test_dry_run_prints_soql_and_counts(org: FakeOrg, tmp_path: Path) -> None:
    result = invoke(tmp_path / "c.db", env_for(org), "sync", "--dry-run")
    out = result.stdout
    assert out.count("SELECT Id, Subject") == 2
    assert "4 call Tasks in the window (full; the deleted ones are read apart); nothing " \
        "written" in out
    assert list(tmp_path.iterdir()) == []  # not even a new database


def test_failing_sync_is_one_line_and_leaks_no_secret(org: FakeOrg, tmp_path: Path) -> None:
    org.faults.request_limit_exceeded_after = org.api_calls + 2
    db = tmp_path / "c.db"
    store.open_db(db).close()  # the admin's database: it keeps the failed run in its log
    result = invoke(db, env_for(org), "sync")
    assert result.exit_code == 1
    stderr = result.stderr
    assert stderr.strip().splitlines()[-1].startswith("error: query: Salesforce API request "
                                                      "limit exceeded")
    everything = result.output + stderr + db.read_bytes().decode("latin-1")
    for secret in (org.password, org.security_token):
        assert secret not in everything


def test_missing_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SF_USERNAME", "SF_PASSWORD", "SF_SESSION_ID", "SF_CONSUMER_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = invoke(tmp_path / "c.db", {}, "sync")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no Salesforce credentials")


_TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
_TOO_LATE = (r"--since (?P<since>" + _TS + r") is not before the window's end " + _TS +
             r" \(now minus the 2-minute lag\): nothing to read yet")


@pytest.mark.parametrize(("args", "pattern"), [
    (["--since", "last tuesday"], re.escape(
        "--since: not a date or ISO time: 'last tuesday' (e.g. 2026-03-01 or "
        "2026-03-01T13:05:00Z)")),
    (["--since", ""], re.escape(
        "--since: empty: give a date or a date and time, e.g. 2026-03-01 or "
        "2026-03-01T13:05:00Z")),
    (["--since", "2026-02-30"], re.escape("--since: '2026-02-30' is not a date in the calendar")),
    (["--since", "0226-11-01"], re.escape(  # 2026 mistyped: SOQL got '226-11-01T...'
        "--since: '0226-11-01' is outside the years Salesforce keeps dates for (1700 to "
        "4000): is the year mistyped?")),
    (["--since", "1699-12-31T23:59:59Z"], re.escape(
        "--since: '1699-12-31T23:59:59Z' is outside the years Salesforce keeps dates for "
        "(1700 to 4000): is the year mistyped?")),
    (["--all-sessions", "--since", "2026-03-01", "--until", "4001-01-01"], re.escape(
        "--until: '4001-01-01' is outside the years Salesforce keeps dates for (1700 to "
        "4000): is the year mistyped?")),
    (["--since", "2999-01-01"], _TOO_LATE.replace("(?P<since>" + _TS + ")",
                                                  re.escape("2999-01-01T00:00:00.000Z"))),
    (["--since", (datetime.now(UTC) - timedelta(minutes=1)).isoformat()],
     _TOO_LATE),  # inside the lag: the same refusal (the time is the test's own)
    (["--full", "--since", "2026-03-01"], re.escape(
        "--full and --since do not go together: --full re-reads every call Task, --since "
        "those modified since a time")),
    (["--all-sessions", "--since", "2026-03-01", "--until", "soon"], re.escape(
        "--until: not a date or ISO time: 'soon' (e.g. 2026-03-01 or 2026-03-01T13:05:00Z)")),
])
def test_bad_since(org: FakeOrg, tmp_path: Path, args: list[str], pattern: str) -> None:
    result = invoke(tmp_path / "c.db", env_for(org), "sync", *args)
    assert result.exit_code == 2
    assert re.fullmatch(f"error: {pattern}\n", result.stderr), result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before the database was opened


def test_since_takes_a_date_and_a_first_sync_names_its_new_database(
    org: FakeOrg, tmp_path: Path
) -> None:
    db = tmp_path / "typo" / "c.db"
    result = invoke(db, env_for(org), "sync", "--since", "2026-03-01")
    assert result.exit_code == 0, result.output
    assert "Synced 4 Tasks: 4 stored" in result.stdout
    assert ("No sync watermark is set yet: this --since run read only its window, so the "
            "next plain sync reads every call Task.") in result.stdout
    assert f"New database: {db}" in result.stderr
    assert "(`calltui import FILE`) or set up [warehouse]." in " ".join(result.stderr.split())
    again = invoke(db, env_for(org), "sync")
    assert "New database" not in again.stderr and "Synced 4 Tasks" in again.stdout


def test_doctor_reports_fields_and_usage(org: FakeOrg, tmp_path: Path) -> None:
    result = invoke(tmp_path / "c.db", env_for(org), "doctor")
    out = result.stdout
    assert "field bizible2__BizibleId__c" in out and "API usage" in out
    assert "call Tasks created, last 30 days" in out


def test_doctor_names_a_missing_field(org: FakeOrg, tmp_path: Path) -> None:
    org.faults.hide_field = "bizible2__BizibleId__c"
    result = invoke(tmp_path / "c.db", env_for(org), "doctor")
    assert result.exit_code == 1
    assert "older than 6.7" in result.stdout


def test_doctor_counts_with_the_config_s_call_filter_and_names_it_when_refused(
    org: FakeOrg, tmp_path: Path
) -> None:
    org.add_tasks([call_task(i, datetime.now(UTC) - timedelta(days=1)) for i in (1, 2, 3)])
    config = tmp_path / "config.toml"
    config.write_text("[salesforce]\ncall_filter = \"Subject = 'Call 2'\"\n")
    good = CliRunner(env={"COLUMNS": "300", **env_for(org)}).invoke(
        cli, ["--config", str(config), "--db", str(tmp_path / "c.db"), "doctor"])
    counted = re.search(r"call Tasks created, last 30 days\W+(\w+)\W+(\d+)", good.stdout)
    assert counted and counted.groups() == ("ok", "1"), good.stdout  # 3 without the filter

    config.write_text("[salesforce]\ncall_filter = \"Subjct LIKE 'Call%'\"\n")
    bad = CliRunner(env={"COLUMNS": "300", **env_for(org)}).invoke(
        cli, ["--config", str(config), "--db", str(tmp_path / "c.db"), "doctor"])
    assert bad.exit_code == 1
    assert ("query: Salesforce has no field Task.Subjct that this user can read (API v59.0): "
            "it is named in call_filter from the config's [salesforce] section (\"Subjct LIKE "
            "'Call%'\"): check its spelling") in " ".join(bad.stdout.split())


def test_a_sync_that_fails_part_way_says_what_it_kept_and_where_the_next_goes_on(
    tmp_path: Path
) -> None:
    db = tmp_path / "new" / "c.db"
    with FakeOrg(page_size=200) as org:
        org.add_tasks([call_task(i, datetime.now(UTC) - timedelta(hours=1, seconds=i))
                       for i in range(500)])
        org.faults.rest_html_page_at = 400  # the third page: a proxy's HTML page
        result = invoke(db, env_for(org), "sync")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-2:] == [
        f"New database: {db}",
        "error: query: Salesforce answered a page that is not JSON (Expecting value: line 1 "
        "column 1 (char 0)); 400 Tasks stored and 0 deleted are kept; the next sync goes on "
        "after them"]
    report = invoke(db, {}, "report", "calls")  # the sync stopped before its match
    assert report.exit_code == 1
    assert report.stderr == ("error: nothing matched yet: the Tasks stored here were not "
                             "matched (an import with --no-match, or a sync or import that "
                             "stopped first); run `calltui match`\n")


def test_what_a_failed_sync_kept_is_its_own_row_not_the_newest(tmp_path: Path) -> None:
    """A second sync refused while the first ran logged the newest row; the first then
    failed and said nothing of the 54,023 Tasks it had kept (it read that row's 0)."""
    db = tmp_path / "c.db"
    store.open_db(db).close()

    def another_sync_is_refused(_: FakeOrg) -> None:
        other = store.open_db(db)
        store.log_failed_sync(other, "incremental", "another calltui sync is running")
        other.close()

    with FakeOrg(page_size=200) as org:
        org.add_tasks([call_task(i, datetime.now(UTC) - timedelta(hours=1, seconds=i))
                       for i in range(500)])
        org.faults.modify_during_query = another_sync_is_refused
        org.faults.rest_html_page_at = 400
        result = invoke(db, env_for(org), "sync")
    assert result.stderr.splitlines()[-1].endswith(
        "; 400 Tasks stored and 0 deleted are kept; the next sync goes on after them")
    assert [row["status"] for row in store.recent_syncs(store.open_db(db))] == [
        "failed", "failed"]


def test_a_sync_that_fails_before_storing_says_only_why(org: FakeOrg, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert invoke(db, env_for(org), "sync").exit_code == 0
    org.faults.fail_5xx = [503] * 4
    result = invoke(db, env_for(org), "sync")
    assert result.exit_code == 1
    assert result.stderr == ("error: describe Task: Salesforce kept failing (HTTP 503) "
                             "after 3 retries\n")


def test_refused_login_is_in_the_sync_log(org: FakeOrg, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    result = invoke(db, {**env_for(org), "SF_PASSWORD": "wrong"}, "sync")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: login refused by {org.url}: INVALID_LOGIN")
    assert len(result.stderr.splitlines()) == 1
    assert not db.exists()  # a first sync that fails leaves no database (a mistyped --db)
    typo = tmp_path / "new" / "folder" / "c.db"
    assert invoke(typo, {**env_for(org), "SF_PASSWORD": "wrong"}, "sync").exit_code == 1
    assert not (tmp_path / "new").exists()  # nor the folders made for it
    store.open_db(db).close()  # the admin's database
    result = invoke(db, {**env_for(org), "SF_PASSWORD": "wrong"}, "sync")
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1

    [log] = store.recent_syncs(store.open_db(db))
    assert (log["mode"], log["status"]) == ("login", "failed")
    assert log["error"].startswith("login refused by")
    assert "wrong" not in log["error"]


SF_REFUSAL = "Invalid username, password, security token; or user locked out."


@pytest.mark.parametrize(("token", "shown"), [
    ("y", SF_REFUSAL), ("on", SF_REFUSAL), ("ser", SF_REFUSAL),  # inside words: kept
    ("user", SF_REFUSAL.replace("or user", "or ***")),  # a word of its own: masked
    ("Invalid", SF_REFUSAL.replace("Invalid", "***")),
])
def test_a_short_secret_does_not_mangle_salesforce_s_message(
        org: FakeOrg, tmp_path: Path, token: str, shown: str) -> None:
    env = {**env_for(org), "SF_PASSWORD": "wrong", "SF_SECURITY_TOKEN": token}
    result = invoke(tmp_path / "c.db", env, "sync")
    assert result.exit_code == 1
    assert result.stderr.split(": INVALID_LOGIN: ", 1)[1].strip() == shown


def test_errors_name_the_host_the_login_really_goes_to() -> None:
    from calltui.sf.auth import Credentials, login_host

    salesforce = "https://login.salesforce.com"
    assert login_host(Credentials("password", salesforce, domain="test")) == (
        "https://test.salesforce.com")
    assert login_host(Credentials("password", salesforce, domain="acme.my")) == (
        "https://acme.my.salesforce.com")
    assert login_host(Credentials("password", "http://127.0.0.1:9", domain="acme.my")) == (
        "http://127.0.0.1:9")


def test_refused_connection_is_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"SF_USERNAME": "a@b.c", "SF_PASSWORD": "x", "SF_LOGIN_URL": f"http://127.0.0.1:{port}"}
    result = invoke(tmp_path / "c.db", env, "doctor")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: cannot reach http://127.0.0.1:{port}: "
                                     "connection refused")


def test_missing_jwt_key_file_is_named(tmp_path: Path) -> None:
    env = {"SF_USERNAME": "a@b.c", "SF_CONSUMER_KEY": "CK",
           "SF_PRIVATE_KEY_FILE": str(tmp_path / "nope.key")}
    result = invoke(tmp_path / "c.db", env, "sync")
    assert result.stderr.strip() == f"error: SF_PRIVATE_KEY_FILE: no such file {tmp_path}/nope.key"


def test_session_id_with_a_local_http_instance(org: FakeOrg, tmp_path: Path) -> None:
    env = {"SF_SESSION_ID": org.issue_session_id(), "SF_INSTANCE_URL": org.url}
    result = invoke(tmp_path / "c.db", env, "sync", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "4 call Tasks in the window" in result.stdout


def test_session_id_with_a_remote_http_instance_is_refused(tmp_path: Path) -> None:
    env = {"SF_SESSION_ID": "00D!x", "SF_INSTANCE_URL": "http://acme.my.salesforce.com"}
    result = invoke(tmp_path / "c.db", env, "sync")
    assert "SF_INSTANCE_URL must use https" in result.stderr


def test_demo_org_serves_the_demo_tasks_to_sync_and_doctor(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    server = subprocess.Popen(
        [sys.executable, "-m", "calltui", "demo-org", "--calls", "40", "--seconds", "60"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("A stand-in org serves ") and "Tasks on http://127.0.0.1:" in first
        exports = server.stdout.readline().split()
        assert exports[0] == "export"
        env = dict(pair.split("=", 1) for pair in exports[1:])
        assert set(env) == {"SF_LOGIN_URL", "SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"}
        tasks = int(first.split()[4].replace(",", ""))
        db = tmp_path / "demo-sync.db"
        doctor = invoke(db, env, "doctor")
        assert doctor.exit_code == 0, doctor.output
        synced = invoke(db, env, "sync")
        assert synced.exit_code == 0, synced.output
        counts = re.search(r"Synced ([\d,]+) Tasks: ", synced.stdout)
        assert counts is not None and int(counts[1].replace(",", "")) == tasks
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("hours", [3, -8])  # evening and morning (18:00 + 3 h, - 8 h)
def test_the_demo_org_moves_its_tasks_to_end_the_day_before_its_running_clock(
    hours: int
) -> None:
    """A morning clock moved them to end two days before (a trial at 17:46 UTC saw
    2026-12-02 on 2026-12-04)."""
    from calltui.demo import DEMO_END, demo_org, make_demo_data

    data = make_demo_data(10)
    stamps = sorted(t["SystemModstamp"] for t in data.tasks)
    fixed = demo_org(data)  # the embedded demo: its own dates, its clock frozen after them
    assert fixed.now() == DEMO_END + timedelta(days=1)
    assert sorted(t["SystemModstamp"] for t in fixed.tasks.values()) == stamps
    as_of = DEMO_END + timedelta(days=40, hours=hours)
    org = demo_org(data, as_of=as_of)
    assert as_of <= org.now() < as_of + timedelta(seconds=30)
    moved = sorted(org.tasks.values(), key=lambda t: t["SystemModstamp"])
    assert [t["SystemModstamp"][:10] for t in (moved[0], moved[-1])] == [
        (datetime.fromisoformat(s) + timedelta(days=39)).date().isoformat()
        for s in (stamps[0], stamps[-1])]
    assert moved[-1]["ActivityDate"] <= as_of.date().isoformat()


@contextmanager
def demo_org_env(seconds: int) -> Iterator[dict[str, str]]:
    """``calltui demo-org`` in a subprocess; yields the SF_* variables it prints."""
    server = subprocess.Popen(
        [sys.executable, "-m", "calltui", "demo-org", "--calls", "40", "--seconds",
         str(seconds)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("A stand-in org serves ")
        exports = server.stdout.readline().split()
        assert exports[0] == "export"
        yield dict(pair.split("=", 1) for pair in exports[1:])
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ctrl_c_stops_the_demo_org_with_one_line(tmp_path: Path) -> None:
    """It stopped without a word."""
    server = subprocess.Popen(
        [sys.executable, "-m", "calltui", "demo-org", "--calls", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_default_sigint)
    assert server.stdout is not None
    assert server.stdout.readline().startswith("A stand-in org serves ")
    server.send_signal(signal.SIGINT)
    _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0
    assert stderr.splitlines()[-1] == "The stand-in org stopped (Ctrl-C)."


class _ThreeMinutesLater(datetime):
    """The sync's clock, three minutes ahead: past its two-minute lag behind a write."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Self:
        return super().now(tz) + timedelta(minutes=3)


def blank_call_ids(db: Path) -> list[str]:
    database = store.open_db(db)
    try:
        return [r["id"] for r in fixtype.plan(database)]
    finally:
        database.close()


def test_demo_org_fix_type_then_an_incremental_sync_reads_the_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import calltui.sync as sync_module

    fixer, other = tmp_path / "fixer.db", tmp_path / "other.db"
    with demo_org_env(120) as env:
        for db in (fixer, other):
            synced = invoke(db, env, "sync")
            assert synced.exit_code == 0, synced.output
        blank = blank_call_ids(other)
        assert blank and blank_call_ids(fixer) == blank
        fixed = invoke(fixer, env, "fix-type", "--set", "Call", "--apply", "--backup",
                       str(tmp_path / "backup.jsonl"))
        assert fixed.exit_code == 0, fixed.output
        monkeypatch.setattr(sync_module, "datetime", _ThreeMinutesLater)
        again = invoke(other, env, "sync")
        assert again.exit_code == 0, again.output
    database = store.open_db(other)
    try:
        last = store.recent_syncs(database)[0]
        assert (last["mode"], last["status"], last["rows_upserted"]) == (
            "incremental", "ok", len(blank))
    finally:
        database.close()
    assert blank_call_ids(other) == []


def test_ctrl_c_while_logging_in_is_one_line_exit_130_and_logged(tmp_path: Path) -> None:
    """A login URL that takes the connection and never answers; the admin presses Ctrl-C
    (click said 'Aborted!', exited 1 and logged nothing)."""
    db = tmp_path / "c.db"
    store.open_db(db).close()  # the admin's database
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {**os.environ, "SF_LOGIN_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "SF_USERNAME": "a@b.c", "SF_PASSWORD": "pw"}
        process = subprocess.Popen(
            [sys.executable, "-m", "calltui", "--db", str(db), "sync"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=_default_sigint)
        silent.settimeout(60)
        connection, _ = silent.accept()  # the login has begun, and waits for its answer
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        connection.close()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == (
        "error: interrupted while logging in: nothing was read")
    [log] = store.recent_syncs(store.open_db(db))
    assert (log["mode"], log["status"], log["error"]) == (
        "login", "interrupted", "interrupted (Ctrl-C) while logging in")


def test_a_session_id_without_its_instance_beside_a_password_is_named_as_unused(
    org: FakeOrg, tmp_path: Path
) -> None:
    result = invoke(tmp_path / "c.db", {**env_for(org), "SF_SESSION_ID": "00D!s3cr3t"}, "sync")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "note: SF_SESSION_ID is set without SF_INSTANCE_URL, so it is not used; logging in "
        "with password")
    assert "s3cr3t" not in result.output + result.stderr


def test_db_and_config_after_the_command_say_where_they_go(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: --db goes before the command: calltui --db PATH sync ...")
    nested = CliRunner().invoke(cli, ["report", "calls", "--config", "c.toml"])
    assert nested.stderr.splitlines()[-1] == (
        "Error: --config goes before the command: calltui --config FILE report calls ...")
    other = CliRunner().invoke(cli, ["sync", "--dbb", "x"])
    assert other.stderr.splitlines()[-1] == "Error: No such option '--dbb'."


def test_ctrl_c_is_one_line_and_the_next_sync_goes_on(tmp_path: Path) -> None:
    """A real SIGINT to a real ``calltui sync`` once its first 20,000 Tasks are committed."""
    db = tmp_path / "c.db"
    with FakeOrg(page_size=2000) as org:
        org.set_now(datetime(2026, 3, 10, tzinfo=UTC))
        org.add_tasks([call_task(i, datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i))
                       for i in range(24_000)])
        org.set_now(datetime.now(UTC))
        org.faults.delay_seconds = [0.0] * 13 + [5.0] * 2  # pages 11 and 12 come slowly
        process = subprocess.Popen(
            [sys.executable, "-m", "calltui", "--db", str(db), "sync"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **env_for(org)}, preexec_fn=_default_sigint)
        deadline = time.monotonic() + 60
        while not _watermark(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert stderr.strip().splitlines()[-1] == (
            "error: interrupted: 20,000 Tasks stored and 0 deleted are kept; the next sync "
            "goes on after them")
        with sqlite3.connect(db) as conn:
            log = conn.execute("SELECT status, rows_upserted FROM sync_log").fetchall()
            assert log == [("interrupted", 20_000)]
        org.faults.delay_seconds = []
        resumed = invoke(db, env_for(org), "sync")
        assert resumed.exit_code == 0, resumed.output
        # the 4,000 left, and the 10-minute overlap before the watermark (a Task a second)
        assert "Synced 4,601 Tasks: 4,601 stored" in resumed.stdout
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone() == (24_000,)


def _default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal, even when the tests run where it is ignored
    (a job started with ``&`` by a shell without job control inherits SIGINT ignored, and
    Python then never turns it into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _watermark(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.01) as conn:
            return conn.execute("SELECT 1 FROM sync_state").fetchone() is not None
    except sqlite3.Error:
        return False


def test_ctrl_c_during_a_bulk_read_says_the_window_is_read_again(tmp_path: Path) -> None:
    from calltui.cli import _kept

    db = store.open_db(tmp_path / "c.db")
    log_id = store.start_sync_log(db, "full bulk", None, "2026-03-10T11:58:00.000Z")
    store.finish_sync_log(db, log_id, status="interrupted", error="interrupted (Ctrl-C)",
                          rows_upserted=42_359, rows_deleted=4_023)
    assert _kept(db, log_id, always=True) == (
        "42,359 Tasks stored and 4,023 deleted are kept; a Bulk API read moves "
        "the watermark only when it ends, so the next sync reads this window again")
    log_id = store.start_sync_log(db, "incremental", None, "2026-03-10T11:58:00.000Z")
    store.finish_sync_log(db, log_id, status="interrupted", rows_upserted=0)
    assert _kept(db, log_id, always=True) == (
        "0 Tasks stored and 0 deleted are kept; the next sync reads this window again")
    assert _kept(db, log_id) is None  # a failure that kept nothing says only why


def test_report_syncs_shows_the_sync_log(org: FakeOrg, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert invoke(db, env_for(org), "sync").exit_code == 0
    refused = invoke(db, {**env_for(org), "SF_PASSWORD": "wrong"}, "sync")
    assert refused.exit_code == 1
    result = invoke(db, {}, "report", "syncs", "--format", "json")
    assert result.exit_code == 0, result.output
    newest, first = json.loads(result.stdout)
    assert (newest["mode"], newest["status"]) == ("login", "failed")
    assert (first["mode"], first["status"], first["rows_upserted"], first["api_calls"]) == (
        "full", "ok", 4, 4)
    assert first["usage_after"] == "4/100000" and first["error"] is None
    table = invoke(db, {}, "report", "syncs")
    assert "Sync log" in table.stdout and "login refused" in table.stdout
    missing = invoke(tmp_path / "none.db", {}, "report", "syncs")
    assert missing.exit_code == 1 and not (tmp_path / "none.db").exists()
    assert missing.stderr == (
        f"error: no database at {tmp_path / 'none.db'}: run `calltui demo`, `calltui import "
        "FILE...` or `calltui sync` first, or pass --db\n")



def test_ctrl_c_during_the_match_after_a_sync_says_the_tasks_are_kept(
    org: FakeOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.cli as cli_module

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "run_match", interrupted)
    db = tmp_path / "c.db"
    result = invoke(db, env_for(org), "sync")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        "error: interrupted during the match: the synced Tasks are kept; run `calltui match` "
        "to finish it")
    assert store.count_rows(store.open_db(db), "tasks") == 4


def test_the_sync_progress_counts_tasks_and_an_import_s_counts_bytes() -> None:
    """A Bulk read of 293,933 Tasks showed '150.0/293.9 kB'."""
    import io

    from rich.console import Console

    from calltui.cli import _progress

    progress = _progress(Console(file=io.StringIO(), force_terminal=True))
    tasks = progress.add_task("syncing Tasks", total=293_933, completed=150_000, unit="Tasks")
    read = progress.add_task("importing", total=10_000_000, completed=5_000_000)
    amount = progress.columns[2]
    assert isinstance(amount, ProgressColumn)
    assert amount.render(progress.tasks[tasks]).plain == "150,000/293,933 Tasks"
    assert amount.render(progress.tasks[read]).plain == "5.0/10.0 MB"
