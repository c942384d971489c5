"""Crash safety: import, sync and match killed with SIGKILL at random moments, then re-run.

After the re-run the database must hold exactly what an uninterrupted run
stores: the same rows and the same outcomes, every time. Slow: each kind runs
``CALLTUI_CRASH_RUNS`` (default 20) kills as real subprocesses.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calltui.demo import make_demo_data, write_demo_files
from calltui.fakeorg import FakeOrg

pytestmark = pytest.mark.slow
RUNS = int(os.environ.get("CALLTUI_CRASH_RUNS", "20"))
TABLES = {  # what an admin relies on; run logs and timestamps of runs are left out
    "tasks": "id", "sessions": "id", "form_submits": "id", "call_outcomes": "task_id",
    "call_flags": "task_id, flag", "touchpoints": "touchpoint_id",
}


def calltui(db: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "calltui", "--db", str(db), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def finish(db: Path, *args: str, env: dict[str, str] | None = None) -> float:
    """Run to completion; return how long it took."""
    started = time.monotonic()
    process = calltui(db, *args, env=env)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return time.monotonic() - started


def kill_at_random(db: Path, duration: float, rng: random.Random, *args: str,
                   env: dict[str, str] | None = None) -> None:
    process = calltui(db, *args, env=env)
    time.sleep(rng.uniform(0.0, duration))
    process.kill()
    process.wait(timeout=60)


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
                for table, order in TABLES.items()}


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("crash")
    data = make_demo_data(calls=600, seed=11)
    return folder, write_demo_files(folder / "files", data)


def test_import_killed_and_rerun_equals_an_uninterrupted_import(
    demo_files: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, files = demo_files
    args = ["import", *map(str, files)]
    reference = tmp_path / "reference.db"
    duration = finish(reference, *args)
    expected = dump(reference)
    rng = random.Random(1)
    for run in range(RUNS):
        db = tmp_path / f"killed-{run}.db"
        kill_at_random(db, duration, rng, *args)
        finish(db, *args)
        assert dump(db) == expected, f"run {run}"


def test_match_killed_and_rerun_equals_an_uninterrupted_match(
    demo_files: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, files = demo_files
    base = tmp_path / "base.db"
    finish(base, "import", "--no-match", *map(str, files))
    reference = tmp_path / "reference.db"
    shutil.copy(base, reference)
    duration = finish(reference, "match")
    expected = dump(reference)
    rng = random.Random(2)
    for run in range(RUNS):
        db = tmp_path / f"killed-{run}.db"
        shutil.copy(base, db)
        kill_at_random(db, duration, rng, "match")
        finish(db, "match")
        assert dump(db) == expected, f"run {run}"


@pytest.fixture
def org(demo_files: tuple[Path, list[Path]]) -> Iterator[FakeOrg]:
    _, files = demo_files
    records = json.loads(files[0].read_text())
    with FakeOrg(page_size=200) as fake:
        fake.add_tasks({k: v for k, v in r.items() if k != "attributes"}
                       for page in records for r in page["records"])
        yield fake


def test_sync_killed_and_rerun_equals_an_uninterrupted_sync(
    org: FakeOrg, tmp_path: Path
) -> None:
    env = {"SF_LOGIN_URL": org.url, "SF_USERNAME": org.username, "SF_PASSWORD": org.password,
           "SF_SECURITY_TOKEN": org.security_token}
    reference = tmp_path / "reference.db"
    duration = finish(reference, "sync", env=env)
    expected = dump(reference)
    assert len(expected["tasks"]) >= 600
    rng = random.Random(3)
    for run in range(RUNS):
        db = tmp_path / f"killed-{run}.db"
        kill_at_random(db, duration, rng, "sync", env=env)
        finish(db, "sync", env=env)
        assert dump(db) == expected, f"run {run}"
