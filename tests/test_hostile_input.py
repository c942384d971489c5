"""Hostile input: whatever bytes a vendor's file holds, the importer answers calmly.

Never a traceback, never a hang; good rows kept, bad rows rejected with a
reason, or the whole file refused with one line — and nothing stored before is lost.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from calltui import store
from calltui.importer import FileRefused, import_file
from tests.conftest import SAMPLE_SESSIONS, SAMPLE_TASKS

GOOD = SAMPLE_SESSIONS.read_bytes()
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def import_calmly(db: Database, path: Path, kind: str | None = None) -> None:
    """The contract: a result or FileRefused, and the earlier rows still there."""
    before = store.count_rows(db, "tasks")
    try:
        import_file(db, path, kind)
    except FileRefused as exc:
        assert "\n" not in str(exc)
    assert store.count_rows(db, "tasks") >= before


@pytest.fixture
def seeded(db: Database) -> Database:
    import_file(db, SAMPLE_TASKS)
    return db


@FUZZ
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".csv", ".json", ".gz", ".jsonl"]))
def test_random_bytes(seeded: Database, tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    import_calmly(seeded, path)
    assert store.count_rows(seeded, "tasks") == 4


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(GOOD)),
       flips=st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)),
                      max_size=8))
def test_mutated_sessions_csv(seeded: Database, tmp_path: Path, cut: int,
                              flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD[:cut])
    for index, value in flips:
        if index < len(data):
            data[index] = value
    path = tmp_path / "BIZ_SESSIONS.csv"
    path.write_bytes(bytes(data))
    import_calmly(seeded, path)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(SAMPLE_TASKS.read_bytes())))
def test_truncated_task_json(seeded: Database, tmp_path: Path, cut: int) -> None:
    path = tmp_path / "tasks.json"
    path.write_bytes(SAMPLE_TASKS.read_bytes()[:cut])
    import_calmly(seeded, path)


def test_nul_bytes_are_data_not_a_crash(db: Database, tmp_path: Path) -> None:
    lines = GOOD.split(b"\n")
    lines[2] = lines[2].replace(b"Social", b"Soc\x00ial")
    path = tmp_path / "nul.csv"
    path.write_bytes(b"\n".join(lines))
    import_calmly(db, path)
    assert store.count_rows(db, "sessions") == 3  # Python 3.11's csv reads NUL as a character


def test_utf16_file_is_refused_or_read(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(GOOD.decode().encode("utf-16"))
    import_calmly(db, path)


def test_enormous_field_is_rejected_not_fatal(db: Database, tmp_path: Path) -> None:
    header, first, *_ = GOOD.decode().split("\n")
    huge = first.replace("Paid Search.AdWords", "x" * 5_000_000)
    path = tmp_path / "huge.csv"
    path.write_text("\n".join([header, huge, first]) + "\n")
    import_calmly(db, path)
    assert store.count_rows(db, "sessions") >= 1


def test_a_hundred_thousand_columns(db: Database, tmp_path: Path) -> None:
    header = "ID,COOKIE_ID,EVENT_DATE," + ",".join(f"C{i}" for i in range(100_000))
    row = "S1,a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,2026-03-02 12:00:00," + ",".join(
        "v" for _ in range(100_000))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + row + "\n")
    import_calmly(db, path)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json(db: Database, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    import_calmly(db, path)
    lines = tmp_path / "deep.jsonl"
    nested = '{"ID": "S1", "COOKIE_ID": "' + "a" * 32 + '", "EVENT_DATE": "2026-03-02", "X": '
    lines.write_text(nested + "[" * depth + "]" * depth + "}\n")
    import_calmly(db, lines, "sessions")


def test_gzip_that_is_not_gzip(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "s.csv.gz"
    path.write_bytes(gzip.compress(GOOD)[:40])
    import_calmly(db, path)


def test_json_of_the_wrong_shapes(db: Database, tmp_path: Path) -> None:
    for body in (42, "text", {"records": "nope"}, [1, 2, 3], [{"records": [1]}], None):
        path = tmp_path / "shape.json"
        path.write_text(json.dumps(body))
        import_calmly(db, path)
