"""``calltui sync --warehouse`` and ``calltui match --in-warehouse`` end to end (fakesnow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from calltui import store
from calltui.cli import cli
from calltui.demo import make_demo_data, write_demo_files

pytest.importorskip("snowflake.connector")
pytest.importorskip("fakesnow")

from tests.warehouse_fake import (  # noqa: E402
    FakeWarehouse,
    create_tables,
    fake_warehouse,
    insert_rows,
)

SECRET = "cli-snow-secret"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWarehouse]:
    with fake_warehouse() as server:
        yield server


def config(tmp_path: Path, fake: FakeWarehouse, database: str, **extra: object) -> Path:
    settings = {**fake.settings(database), **extra}
    lines = ["[warehouse]"] + [
        f"{k} = {v}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in settings.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(db: Path, cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), "--config", str(cfg), *args],
                              env={"SNOWFLAKE_PASSWORD": SECRET})


def test_sync_then_match_in_the_warehouse(fake: FakeWarehouse, tmp_path: Path) -> None:
    data = make_demo_data(calls=120, seed=5)
    create_tables(fake, "CLI1")
    insert_rows(fake, "CLI1", "BIZ_SESSIONS", data.sessions)
    insert_rows(fake, "CLI1", "BIZ_FORM_SUBMITS", data.forms)
    db = tmp_path / "c.db"
    cfg = config(tmp_path, fake, "CLI1")
    tasks = write_demo_files(tmp_path / "files", data)[0]
    assert run(db, cfg, "import", "--no-match", str(tasks)).exit_code == 0
    synced = run(db, cfg, "sync", "--warehouse")
    assert synced.exit_code == 0, synced.output
    assert "Synced from the warehouse" in synced.output
    local = store.counts_by_status(store.open_db(db))
    remote = run(db, cfg, "match", "--in-warehouse")
    assert remote.exit_code == 0, remote.output
    assert store.counts_by_status(store.open_db(db)) == local
    assert SECRET not in synced.output + remote.output


def test_errors_are_one_line(fake: FakeWarehouse, tmp_path: Path) -> None:
    create_tables(fake, "CLI2", ("BIZ_SESSIONS",))
    db = tmp_path / "c.db"
    result = run(db, config(tmp_path, fake, "CLI2"), "sync", "--warehouse")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "BIZ_PAGE_VIEWS" in lines[0]
    bad_role = run(db, config(tmp_path, fake, "CLI2", role="NOBODY"), "sync", "--warehouse")
    assert bad_role.exit_code == 1 and "role 'NOBODY'" in bad_role.output
    assert SECRET not in result.output + bad_role.output
    logged = store.recent_syncs(store.open_db(db))
    assert [r["status"] for r in logged[:2]] == ["failed", "failed"]


def test_secrets_in_the_config_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[warehouse]\naccount = "acme"\npassword = "hunter2"\n')
    result = CliRunner().invoke(cli, ["--config", str(cfg), "sync", "--warehouse"])
    assert result.exit_code == 2 and "secrets do not belong" in result.output
    assert "hunter2" not in result.output


def test_all_sessions_needs_since(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "sync", "--all-sessions"])
    assert result.exit_code == 2 and "--since" in result.output


def test_plain_sync_includes_the_configured_warehouse(fake: FakeWarehouse, tmp_path: Path
                                                      ) -> None:
    """Salesforce Tasks first (their cookies decide what to read), then the warehouse."""
    from datetime import UTC, datetime

    from calltui.fakeorg import FakeOrg

    data = make_demo_data(calls=60, seed=9)
    create_tables(fake, "CLI3")
    insert_rows(fake, "CLI3", "BIZ_SESSIONS", data.sessions)
    db = tmp_path / "c.db"
    cfg = config(tmp_path, fake, "CLI3")
    with FakeOrg() as org:
        org.set_now(datetime(2026, 12, 2, tzinfo=UTC))
        org.add_tasks({k: v for k, v in t.items() if k != "attributes"} for t in data.tasks)
        org.set_now(datetime.now(UTC))
        env = {"SF_LOGIN_URL": org.url, "SF_USERNAME": org.username,
               "SF_PASSWORD": org.password, "SF_SECURITY_TOKEN": org.security_token,
               "SNOWFLAKE_PASSWORD": SECRET}
        result = CliRunner().invoke(cli, ["--db", str(db), "--config", str(cfg), "sync"],
                                    env=env)
    assert result.exit_code == 0, result.output
    assert "Synced 60 Tasks: 57 stored, 3 deleted" in result.output
    assert "Synced from the warehouse" in result.output
    counts = store.counts_by_status(store.open_db(db))
    assert counts.get("matched", 0) > 0
    modes = [r["mode"] for r in store.recent_syncs(store.open_db(db))]
    assert modes[0] == "warehouse" and modes[1].startswith("full")
