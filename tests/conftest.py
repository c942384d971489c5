"""Shared fixtures: a fresh migrated database and the sample files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from calltui import store

DATA = Path(__file__).parent / "data"
SAMPLE_TASKS = DATA / "sf_tasks_page.json"
SAMPLE_SESSIONS = DATA / "biz_sessions.csv"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "calltui.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = store.open_db(db_path)
    yield database
    database.close()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user data or config directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.delenv("CALLTUI_DB", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
