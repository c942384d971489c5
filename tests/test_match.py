"""calltui.match: incremental re-match gives what a full re-match gives."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from calltui import match, store
from calltui.importer import import_file
from calltui.match import run_match
from calltui.models import MatchOptions
from tests.conftest import SAMPLE_SESSIONS, SAMPLE_TASKS

COOKIES = ["a3f9c2d417e84b0c9d1e5f6a7b8c9d0e", "5be07d1c2a9f4e61b3c8d0a2f4e6a8c1",
           "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]
WHOS = ["00Q5g00000XyZ12EAF", "00Q5g00000XyZ13EAF", "0035g00000Abc01AAA", None]
TASK_IDS = [f"00T5g00000000{n:02d}EAA" for n in range(1, 9)]
SESSION_IDS = [f"s{n}" for n in range(1, 8)]
EVENT_IDS = [f"e{n}" for n in range(1, 6)]


def _at(minute: int, task: bool) -> str:
    hour, minute = divmod(minute, 60)
    if task:
        return f"2026-03-02T{9 + hour:02d}:{minute:02d}:00.000+0000"
    return f"2026-03-02 {9 + hour:02d}:{minute:02d}:00.000"


# coarse times within an hour: ties, duplicates and matches are all common
minutes = st.integers(min_value=0, max_value=12).map(lambda n: n * 5)


@st.composite
def task_batch(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    records = []
    for task_id in draw(st.lists(st.sampled_from(TASK_IDS), min_size=1, max_size=3,
                                 unique=True)):
        at = _at(draw(minutes), task=True)
        records.append({
            "Id": task_id, "Subject": "Inbound call", "Status": "Completed",
            "Type": draw(st.sampled_from(["Call", None])), "TaskSubtype": "Call",
            "WhoId": draw(st.sampled_from(WHOS)), "CreatedDate": at,
            "CompletedDateTime": at, "SystemModstamp": at,
            "IsDeleted": draw(st.booleans()) and draw(st.booleans()),
            "bizible2__BizibleId__c": draw(st.sampled_from([*COOKIES, None])),
        })
    return "tasks", records


@st.composite
def session_batch(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    records = [{
        "ID": session_id, "COOKIE_ID": draw(st.sampled_from(COOKIES)),
        "EVENT_DATE": _at(draw(minutes), task=False),
        "CHANNEL": draw(st.sampled_from(["Paid Search.AdWords", "Direct", "Social"])),
        "IS_DELETED": "true" if draw(st.booleans()) and draw(st.booleans()) else "false",
    } for session_id in draw(st.lists(st.sampled_from(SESSION_IDS), min_size=1, max_size=3,
                                      unique=True))]
    return "sessions", records


@st.composite
def event_batch(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    kind = draw(st.sampled_from(["page-views", "form-submits"]))
    records = []
    for event_id in draw(st.lists(st.sampled_from(EVENT_IDS), min_size=1, max_size=2,
                                  unique=True)):
        record = {"ID": f"{kind}-{event_id}", "COOKIE_ID": draw(st.sampled_from(COOKIES)),
                  "SESSION_ID": draw(st.sampled_from(SESSION_IDS)),
                  "EVENT_DATE": _at(draw(minutes), task=False), "IS_DELETED": "false"}
        record["FORM_TYPE" if kind == "form-submits" else "CURRENT_PAGE"] = "/contact"
        records.append(record)
    return kind, records


batches = st.lists(st.one_of(task_batch(), session_batch(), event_batch()), min_size=2,
                   max_size=8)


def _write(folder: Path, step: int, kind: str, records: list[dict[str, Any]]) -> Path:
    if kind == "tasks":
        path = folder / f"tasks-{step}.json"
        path.write_text(json.dumps({"totalSize": len(records), "done": True,
                                    "records": records}))
        return path
    path = folder / f"{kind}-{step}.csv"
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def _results(db: Database) -> tuple[list[Any], ...]:
    return tuple(
        [tuple(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()]
        for table, key in (("call_outcomes", "task_id"), ("call_flags", "task_id, flag"),
                           ("touchpoints", "touchpoint_id"))
    )


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=batches, anchor=st.sampled_from(["start", "activity"]))
def test_incremental_equals_full(tmp_path_factory: pytest.TempPathFactory,
                                 steps: list[tuple[str, list[dict[str, Any]]]],
                                 anchor: str) -> None:
    folder = tmp_path_factory.mktemp("imports")
    options = MatchOptions(anchor=anchor)  # type: ignore[arg-type]
    incremental = store.open_db(folder / "incremental.db")
    full = store.open_db(folder / "full.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(match, "FULL_MATCH_SHARE", 2.0)  # never fall back to a full match
        for step, (kind, records) in enumerate(steps):
            path = _write(folder, step, kind, records)
            for db in (incremental, full):
                import_file(db, path)
            summary = run_match(incremental, options)
            assert summary.mode == ("full" if step == 0 else "incremental")
            expected = run_match(full, options, full=True)
            assert (summary.calls, summary.by_status, summary.touchpoints) == (
                expected.calls, expected.by_status, expected.touchpoints)
            assert _results(incremental) == _results(full)
            assert store.last_match(incremental)["calls"] == expected.calls  # all, not recomputed
        # a full match a group at a time (the smallest batches) gives the same rows too
        patch.setattr(match, "BATCH_KEYS", 1)
        run_match(incremental, options, full=True)
        assert _results(incremental) == _results(full)


def _schema(db: Database, kind: str) -> set[str]:
    return {r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = ? AND tbl_name = 'sessions'", [kind])}


def test_a_big_first_load_sets_triggers_aside_and_the_next_match_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.importer as importer

    db = store.open_db(tmp_path / "calltui.db")
    triggers, indexes = _schema(db, "trigger"), _schema(db, "index")
    import_file(db, SAMPLE_TASKS)
    assert run_match(db).mode == "full"
    monkeypatch.setattr(importer, "BULK_BYTES", 0)  # the sessions file counts as big
    seen: list[set[str]] = []
    monkeypatch.setattr(importer, "_csv_rows", lambda *a, _real=importer._csv_rows: (
        seen.append(_schema(db, "trigger")), _real(*a))[1])
    import_file(db, SAMPLE_SESSIONS)
    assert seen == [set()]  # no trigger noted the rows while they were loaded...
    assert (_schema(db, "trigger"), _schema(db, "index")) == (triggers, indexes)
    summary = run_match(db)  # ...so the match after the load is a full one
    assert summary.mode == "full"
    assert summary.by_status["matched"] > 0
    expected = store.open_db(tmp_path / "expected.db")
    for path in (SAMPLE_TASKS, SAMPLE_SESSIONS):
        import_file(expected, path)
    run_match(expected, full=True)
    assert _results(db) == _results(expected)


def test_while_triggers_are_set_aside_every_match_is_full(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "calltui.db")
    import_file(db, SAMPLE_TASKS)  # no sessions yet: unknown cookies
    run_match(db)
    assert store.stored_statuses(db)["00T5g00000AbCdFAAV"] == "unknown_bizible_id"
    store.set_indexes_aside(db, "sessions")  # as a bulk load killed half-way leaves it
    [(cookie, call_at)] = db.execute(
        "SELECT bizible_id, call_at FROM tasks WHERE id = '00T5g00000AbCdFAAV'").fetchall()
    with db.atomic():  # written with no trigger to note it
        db.execute("INSERT INTO sessions (id, cookie_id, started_at, is_deleted) "
                   "VALUES ('S-new', ?, ?, 0)", [cookie, call_at])
    assert store.pending_changes(db).everything
    assert run_match(db).mode == "full"
    [outcome] = db.query("SELECT status, session_id FROM call_outcomes "
                         "WHERE task_id = '00T5g00000AbCdFAAV'")
    assert outcome == {"status": "matched", "session_id": "S-new"}


def test_a_task_moved_between_batches_of_a_full_match_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = store.open_db(tmp_path / "calltui.db")
    for path in (SAMPLE_TASKS, SAMPLE_SESSIONS):
        import_file(db, path)
    monkeypatch.setattr(match, "BATCH_KEYS", 1)  # every group a batch of its own
    monkeypatch.setattr(match, "FULL_MATCH_SHARE", 2.0)  # never fall back to a full match
    real_fill, fills = store.fill_scope, []

    def fill_then_move(*args: Any) -> None:
        if len(fills) == 1:  # batch 1 is read: move one of its Tasks to a later cookie
            [task_id] = fills[0][:1]
            [(cookie,)] = db.execute(
                "SELECT bizible_id FROM tasks WHERE bizible_id IS NOT NULL AND bizible_id "
                "NOT IN (SELECT key FROM temp.scope_cookies) LIMIT 1").fetchall()
            with db.atomic():
                db.execute("UPDATE tasks SET bizible_id = ?, bizible_id_raw = ? WHERE id = ?",
                           [cookie, cookie, task_id])
        real_fill(*args)
        fills.append([r[0] for r in db.execute("SELECT key FROM temp.scope_tasks")])

    monkeypatch.setattr(store, "fill_scope", fill_then_move)
    run_match(db, full=True)
    assert len(fills) > 2 and fills[0][0] in sum(fills[1:], [])  # it was staged twice
    monkeypatch.setattr(store, "fill_scope", real_fill)
    assert run_match(db).mode == "incremental"  # the move was noted: the next match mends it
    expected = store.open_db(tmp_path / "expected.db")
    expected.execute("ATTACH DATABASE ? AS src", [str(tmp_path / "calltui.db")])
    with expected.atomic():
        expected.execute("DELETE FROM tasks")
        expected.execute("INSERT INTO tasks SELECT * FROM src.tasks")
        expected.execute("INSERT INTO sessions SELECT * FROM src.sessions")
    expected.execute("DETACH DATABASE src")
    run_match(expected, full=True)
    assert _results(db) == _results(expected)


def test_a_match_does_not_hold_the_write_lock_while_it_computes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    import threading

    path = tmp_path / "calltui.db"
    db = store.open_db(path)
    for sample in (SAMPLE_TASKS, SAMPLE_SESSIONS):
        import_file(db, sample)
    computing, written = threading.Event(), threading.Event()
    real_load = match.load_inputs

    def slow_load(*args: Any) -> Any:
        computing.set()
        assert written.wait(10), "the other writer never got in"
        return real_load(*args)

    monkeypatch.setattr(match, "load_inputs", slow_load)
    worker = threading.Thread(target=lambda: run_match(store.open_db(path), full=True))
    worker.start()
    assert computing.wait(10)
    other = sqlite3.connect(path, timeout=0)  # fails at once if the match held the lock
    with other:
        other.execute("UPDATE tasks SET subject = 'written meanwhile'")
    other.close()
    written.set()
    worker.join(10)
    assert not worker.is_alive()
    assert store.count_rows(db, "call_outcomes") == 4
