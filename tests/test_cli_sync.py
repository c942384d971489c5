"""``calltui sync`` and ``calltui doctor`` from the command line, against the fake org."""

from __future__ import annotations

import json
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
    assert "--since: bad timestamp 'last tuesday'" in result.stderr


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
