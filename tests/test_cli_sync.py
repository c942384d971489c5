"""``calltui sync`` and ``calltui doctor`` from the command line, against the fake org."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from calltui.cli import cli
from calltui.fakeorg import FakeOrg
from tests.conftest import SAMPLE_SESSIONS
from tests.test_sync import sample_tasks


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
    assert "Synced 4 Tasks (0 deleted, 0 rejected)" in result.stdout
    report = CliRunner().invoke(cli, ["--db", str(db), "report", "calls", "--format", "json"])
    assert {r["status"] for r in json.loads(report.stdout)} == {
        "matched", "outside_window", "missing_bizible_id"}


def test_dry_run_prints_soql_and_counts(org: FakeOrg, tmp_path: Path) -> None:
    result = invoke(tmp_path / "c.db", env_for(org), "sync", "--dry-run")
    out = result.stdout
    assert out.count("SELECT Id, Subject") == 2
    assert "4 call Tasks in the window (full); nothing written" in out


def test_failing_sync_is_one_line_and_leaks_no_secret(org: FakeOrg, tmp_path: Path) -> None:
    org.faults.request_limit_exceeded_after = org.api_calls + 2
    db = tmp_path / "c.db"
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


def test_bad_since(org: FakeOrg, tmp_path: Path) -> None:
    result = invoke(tmp_path / "c.db", env_for(org), "sync", "--since", "last tuesday")
    assert result.exit_code == 2
    assert ("--since: bad timestamp 'last tuesday' (expected a date and time, e.g. "
            "2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)") in result.stderr


def test_doctor_reports_fields_and_usage(org: FakeOrg, tmp_path: Path) -> None:
    result = invoke(tmp_path / "c.db", env_for(org), "doctor")
    out = result.stdout
    assert "field bizible2__BizibleId__c" in out and "API usage" in out
    assert "call Tasks, last 30 days" in out


def test_doctor_names_a_missing_field(org: FakeOrg, tmp_path: Path) -> None:
    org.faults.hide_field = "bizible2__BizibleId__c"
    result = invoke(tmp_path / "c.db", env_for(org), "doctor")
    assert result.exit_code == 1
    assert "older than 6.7" in result.stdout


def test_refused_login_is_in_the_sync_log(org: FakeOrg, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    result = invoke(db, {**env_for(org), "SF_PASSWORD": "wrong"}, "sync")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: login refused by {org.url}: INVALID_LOGIN")
    from calltui import store

    [log] = store.recent_syncs(store.open_db(db))
    assert (log["mode"], log["status"]) == ("login", "failed")
    assert log["error"].startswith("login refused by")
    assert "wrong" not in log["error"]


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
        counts = re.search(r"Synced (\d+) Tasks \((\d+) deleted, 0 rejected\)", synced.stdout)
        assert counts is not None and int(counts[1]) + int(counts[2]) == tasks
    finally:
        server.terminate()
        server.wait(timeout=10)
