"""The Textual app, driven with Pilot over databases built through the real core."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.widgets import DataTable, Input, Label, ProgressBar, Static
from textual.worker import WorkerCancelled

from calltui import store
from calltui.config import Config
from calltui.importer import import_file
from calltui.match import run_match
from calltui.models import Flag, MatchOptions, Status
from calltui.sf.auth import AuthError, credentials_from_env
from calltui.sfid import to_18
from calltui.sync import SyncResult
from calltui.tui import app as app_module
from calltui.tui.app import SCREENS, TOAST_CHARS, CalltuiApp, toast_text
from calltui.tui.format import human_gap, short_ts
from calltui.tui.screens import (
    CallsScreen,
    DetailScreen,
    LogScreen,
    OverviewScreen,
    TouchpointsScreen,
)
from calltui.tui.screens import detail as detail_module
from calltui.tui.screens.help import HELP_TEXT, HelpScreen
from calltui.tui.screens.lists import FilterInput, ListScreen
from calltui.tui.screens.log import run_detail
from calltui.tui.screens.overview import STATUS_MODE, row_target
from calltui.tui.widgets import BusyBar, PagedTable
from tests.conftest import SAMPLE_SESSIONS

DATA = Path(__file__).parent / "data"
SIZE = (140, 40)
MISSING_TASK = "00T5g00000AbCdGAAV"
OUTSIDE_TASKS = ["00T5g00000AbCdEAAV", "00T5g00000AbCdHAAV"]


def _build(db_path: Path, files: list[Path]) -> Path:
    db = store.open_db(db_path)
    for path in files:
        import_file(db, path)
    run_match(db)
    db.close()
    return db_path


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """The four sample calls: matched 1, outside_window 2, missing_bizible_id 1."""
    return _build(tmp_path / "samples.db",
                  [DATA / "sf_tasks_page.json", DATA / "biz_sessions.csv"])


@pytest.fixture
def many_db(tmp_path: Path) -> Path:
    """450 calls without a BizibleId (all missing_bizible_id) and 2 bad rows, as a REST page."""
    records: list[dict[str, Any]] = [
        {"attributes": {"type": "Task"}, "Id": f"00T00000000{i:04d}AAA", "Type": "Call",
         "TaskSubtype": "Call", "WhoId": "00Q000000000001AAA", "IsDeleted": False,
         "CreatedDate": f"2026-03-{1 + i // 100:02d}T{(i % 100) // 10 + 8:02d}:{i % 10:02d}:00"
                        ".000+0000",
         "bizible2__BizibleId__c": None}
        for i in range(450)
    ]
    records[10:10] = [{"Id": "not-an-id", "CreatedDate": "2026-03-01T08:00:00.000+0000"},
                      {"Id": "also-bad", "CreatedDate": "2026-03-01T08:00:00.000+0000"}]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"totalSize": 450, "done": True, "records": records}))
    return _build(tmp_path / "many.db", [path])


def _rows(table: DataTable[Any]) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def _cell(table: DataTable[Any], key: str, column: int = 1) -> str:
    if isinstance(table, PagedTable):
        return table.values(key)[column]
    value = table.get_row(key)[column]
    return value.plain if isinstance(value, Text) else str(value)


def _last_message(app: CalltuiApp) -> str:
    return list(app._notifications)[-1].message


def _text(static: Static) -> str:
    return str(static.content)


async def _settle(app: CalltuiApp, pilot: Any) -> None:
    """Wait for every worker (an exclusive worker replaced by a newer one counts as done)."""
    for _ in range(10):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        break
    await pilot.pause()


# --- formatting ---------------------------------------------------------------------


def test_human_gap_and_timestamps() -> None:
    assert human_gap(2876) == "47 min 56 s"
    assert human_gap(1800.001) == "30 min 0.001 s"
    assert human_gap(-3700) == "-1 h 1 min"
    assert human_gap(90061) == "1 d 1 h"
    assert human_gap(None) == "—"
    assert short_ts("2026-01-05T13:05:00.000Z") == "2026-01-05 13:05:00"
    assert short_ts("2026-01-05T13:05:00.120Z") == "2026-01-05 13:05:00.120"


# --- screens ------------------------------------------------------------------------------


async def test_overview_shows_counts_and_match_rate(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        assert app.title == "calltui" and app.sub_title == str(sample_db)
        status = screen.query_one("#by-status", DataTable)
        assert _cell(status, "matched") == "1"
        assert _cell(status, "outside_window") == "2"
        assert _cell(status, "missing_bizible_id") == "1"
        assert _cell(status, "deleted") == "0"
        flags = screen.query_one("#by-flag", DataTable)
        assert _cell(flags, "duplicate_call") == "2"
        assert _cell(flags, "type_blank") == "1"
        channels = screen.query_one("#by-channel", DataTable)
        assert _cell(channels, "Social.LinkedIn") == "1"
        summary = _text(screen.query_one("#summary", Static))
        assert "25.0% (1 of 4)" in summary
        assert "biz_sessions.csv" in summary
        assert "window 30 min from start" in summary


async def test_key_2_lists_exactly_the_call_missing_its_bizible_id(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        assert isinstance(app.screen, CallsScreen)
        table = app.screen.query_one(PagedTable)
        assert _rows(table) == [MISSING_TASK]
        assert table.total == 1
        assert table.border_subtitle == "1 of 1"


async def test_unmatched_list_and_detail_modal(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.pause()
        calls_screen = app.screen
        assert isinstance(calls_screen, CallsScreen)
        table = calls_screen.query_one(PagedTable)
        assert _rows(table) == OUTSIDE_TASKS
        assert _cell(table, OUTSIDE_TASKS[0], 3) == "47 min 56 s"
        assert _cell(table, OUTSIDE_TASKS[0], 4) == "47 min 56 s before"

        table.focus()
        await pilot.press("enter")
        await _settle(app, pilot)
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.task_id == OUTSIDE_TASKS[0]
        outcome = store.get_outcome(app.state.db, OUTSIDE_TASKS[0])
        assert outcome is not None
        assert _text(detail.query_one("#explanation", Static)) == outcome["explanation"]
        head = _text(detail.query_one("#detail-head", Static))
        assert "outside_window" in head and "duplicate_call" in head
        evidence = _text(detail.query_one("#evidence", Static))
        assert "bizible2__Bizible_Touchpoint_Date__c" in evidence
        assert "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e" in evidence
        assert "47 min 56 s before the call" in evidence
        timeline = detail.query_one("#timeline", DataTable)
        kinds = [str(timeline.get_row_at(i)[1]) for i in range(timeline.row_count)]
        assert kinds == ["session", "▶ this call", "call"]

        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is calls_screen


async def test_keys_switch_between_all_screens(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        assert isinstance(app.screen, TouchpointsScreen)
        db = app.state.db
        assert app.screen.query_one(PagedTable).total == store.count_rows(db, "touchpoints")
        await pilot.press("6")
        await pilot.pause()
        assert isinstance(app.screen, LogScreen)
        assert app.screen.query_one("#imports", DataTable).row_count == 2
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]  # type: ignore[arg-type]
        for key, _, title in SCREENS:
            assert f"Show {title}" in titles, key
        for action in ("Sync from Salesforce", "Import files", "Re-run match", "Cancel work",
                       "Help"):
            assert action in titles


async def test_log_shows_rejected_rows_with_file_line_and_reason(many_db: Path) -> None:
    app = CalltuiApp(many_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await _settle(app, pilot)
        rejects = app.screen.query_one("#rejects", PagedTable)
        assert rejects.total == 2
        rows = [list(rejects.values_at(i)) for i in range(rejects.row_count)]
        assert [r[:3] for r in rows] == [["tasks.json", "11", "tasks"],
                                         ["tasks.json", "12", "tasks"]]
        assert rows[0][3] == "Id"  # the column at fault
        assert "not a Salesforce Id" in rows[0][4]
        imports = app.screen.query_one("#imports", DataTable)
        assert [str(c) for c in imports.get_row_at(0)][4:8] == ["ok", "452", "450", "2"]


async def test_rejected_rows_arriving_in_an_empty_table_get_room(
    sample_db: Path, tmp_path: Path
) -> None:
    """With no rejected rows at first, the columns kept their headers' widths: an import's
    rows then showed as 'bad…  21  ses…  LANDI…'."""
    app = CalltuiApp(sample_db, Config(), screen="log")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        rejects = app.screen.query_one("#rejects", PagedTable)
        assert rejects.row_count == 0
        bad = tmp_path / "broken_sessions.csv"
        bad.write_text("ID,COOKIE_ID,EVENT_DATE\ns1,abc,not a time\n"
                       "s2,abc,2026-03-02T13:00:00Z\n")
        db = store.open_db(sample_db)
        import_file(db, bad)
        db.close()
        app.data_changed()
        await _settle(app, pilot)
        assert rejects.row_count == 1
        shown = _on_screen(rejects)
        assert "broken_sessions.csv 2 sessions EVENT_DATE" in shown, shown


def _on_screen(widget: Any) -> str:
    """The text a widget shows, its lines joined and spaces collapsed."""
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return " ".join(" ".join(strip.text.split()) for strip in lines).strip()


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
@pytest.mark.parametrize("table_id", ["syncs", "imports", "rejects"])
async def test_the_log_shows_the_whole_error_of_the_highlighted_row(
    many_db: Path, size: tuple[int, int], table_id: str
) -> None:
    try:
        credentials_from_env({}, Config().salesforce)
    except AuthError as exc:
        no_login = str(exc)
    db = store.open_db(many_db)
    store.log_failed_sync(db, "login", no_login)
    refused = store.start_import(db, "/exports/a/very/long/folder/name/BIZ_SESSIONS.csv", None)
    store.finish_import(db, refused, status="refused",
                        error="BIZ_SESSIONS.csv: missing required column EVENT_DATE (the "
                              "header has ID, COOKIE_ID, CHANNEL, LANDING_PAGE, REFERRER_PAGE)")
    db.close()
    app = CalltuiApp(many_db, Config(), screen="log")
    async with app.run_test(size=size) as pilot:
        await _settle(app, pilot)
        table = app.screen.query_one(f"#{table_id}", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        if table_id == "rejects":
            file, line, _, column, reason = table.values_at(0)  # type: ignore[attr-defined]
            assert len(reason) > PagedTable.MAX_WIDTH  # the column cuts it
            whole = f"Rejected tasks row, {file} line {line}, column {column}: {reason}"
        else:
            what = "Sync" if table_id == "syncs" else "Import"
            [row] = (store.recent_syncs if what == "Sync" else store.recent_imports)(
                app.state.db, 1)
            assert len(row["error"]) > 100
            whole = run_detail(what, row)
            assert whole.endswith(f"failed: {no_login}" if what == "Sync"
                                  else f"refused: {row['error']}")
        detail = app.screen.query_one("#log-detail", Static)
        assert _on_screen(detail) == " ".join(whole.split())
        footer = app.screen.query_one("Footer")
        assert detail.region.x >= 0 and detail.region.right <= size[0]
        assert detail.region.bottom <= footer.region.y  # above the footer, all of it


async def test_enter_on_a_status_opens_its_list(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = app.screen.query_one("#by-status", DataTable)
        status.focus()
        status.move_cursor(row=status.get_row_index("missing_bizible_id"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CallsScreen)
        assert _rows(app.screen.query_one(PagedTable)) == [MISSING_TASK]


async def test_an_empty_database_opens_with_zeros(db_path: Path) -> None:
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert _cell(app.screen.query_one("#by-status", DataTable), "matched") == "0"
        assert "press r" in _text(app.screen.query_one("#summary", Static))
        await pilot.press("3")
        await _settle(app, pilot)
        assert app.screen.query_one(PagedTable).border_subtitle == "0 of 0"


# --- paging -------------------------------------------------------------------------------


async def test_list_pages_from_sqlite_as_the_cursor_nears_the_end(many_db: Path) -> None:
    app = CalltuiApp(many_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        table = app.screen.query_one(PagedTable)
        page = table.page_size
        assert page < 450 // 2
        assert (table.loaded, table.total) == (page, 450)
        assert table.border_subtitle == f"{page} of 450 (↓ more)"
        table.focus()
        await pilot.press("ctrl+end")  # to the last loaded row: one more page, no more
        await pilot.pause()
        assert table.loaded == 2 * page
        for _ in range(450 // page):
            await pilot.press("pagedown")
            await pilot.press("ctrl+end")
            await pilot.pause()
        assert table.loaded == 450
        assert table.border_subtitle == "450 of 450"
        keys = _rows(table)
        assert len(set(keys)) == 450 and keys == sorted(keys)


async def test_reload_keeps_the_cursor_on_the_same_task(many_db: Path) -> None:
    app = CalltuiApp(many_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one(PagedTable)
        while table.loaded < 260:
            assert table.load_more()
        loaded = table.loaded
        table.move_cursor(row=250)
        key = table.current_key
        assert key is not None
        earlier = _rows(table)[:10]
        # Rows before the cursor disappear; the same Ids come back on each reload.
        app.state.db.execute(
            f"DELETE FROM call_outcomes WHERE task_id IN ({', '.join('?' * len(earlier))})",
            earlier)
        for _ in range(10):
            table.reload()
        await _settle(app, pilot)
        assert table.current_key == key
        assert table.cursor_row == 240
        assert table.loaded == loaded and table.total == 440
        assert len(set(_rows(table))) == table.loaded


@pytest.fixture
def deleted_db(tmp_path: Path) -> Path:
    """The four sample calls and a fifth, deleted in Salesforce: every status but two has
    calls (call_before_session and unknown_bizible_id have none)."""
    page = json.loads((DATA / "sf_tasks_page.json").read_text())
    gone = {**page["records"][0], "Id": to_18("00T5g00000AbCdJ"), "IsDeleted": True}
    page["records"].append(gone)
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(page))
    return _build(tmp_path / "deleted.db", [path, DATA / "biz_sessions.csv"])


@pytest.mark.parametrize(("table_id", "name", "mode"), [
    *(("by-status", status.value, mode) for status, mode in STATUS_MODE.items()),
    *(("by-flag", flag.value, "calls") for flag in Flag),
])
async def test_enter_on_every_status_and_flag_opens_its_calls(
    deleted_db: Path, table_id: str, name: str, mode: str
) -> None:
    key = "status" if table_id == "by-status" else "flag"
    where = ("SELECT task_id FROM call_outcomes WHERE status = ?" if key == "status"
             else "SELECT task_id FROM call_flags WHERE flag = ?")
    want = sorted(r["task_id"] for r in store.open_db(deleted_db).query(where, [name]))
    app = CalltuiApp(deleted_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        rows = app.screen.query_one(f"#{table_id}", DataTable)
        assert _cell(rows, name) == str(len(want))  # the count the list will show
        for leftover in ("missing", "unmatched-calls", "calls"):  # replaced, not narrowed
            await app.switch_mode(leftover)
            assert app.screen.apply_filter("status:call_before_session")  # type: ignore[attr-defined]
        await pilot.press("1")
        await pilot.pause()
        rows.focus()
        rows.move_cursor(row=rows.get_row_index(name))
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.current_mode == mode
        screen = app.screen
        assert isinstance(screen, ListScreen) and screen.filter_text == f"{key}:{name}"
        table = screen.query_one(PagedTable)
        assert sorted(_rows(table)) == want and table.total == len(want)


def test_every_status_opens_a_screen_that_lists_it() -> None:
    assert set(STATUS_MODE) == set(Status)
    assert row_target("by-channel", "Paid Search") is None
    assert row_target("by-flag", "no_person") == ("calls", "flag:no_person")


# --- workers --------------------------------------------------------------------------------


async def test_r_reruns_the_match_in_a_worker_and_refreshes(sample_db: Path) -> None:
    wide = Config(match=MatchOptions(window_minutes=60))
    app = CalltuiApp(sample_db, wide)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = app.screen.query_one("#by-status", DataTable)
        assert _cell(status, "matched") == "1"
        await pilot.press("r")
        await _settle(app, pilot)
        assert app.busy == ""
        assert _cell(status, "matched") == "3"
        assert _cell(status, "outside_window") == "0"
        assert "window 60 min" in _text(app.screen.query_one("#summary", Static))
        # A screen not shown during the match reloads when it is shown again.
        await pilot.press("3")
        await pilot.pause()
        assert _rows(app.screen.query_one(PagedTable)) == []


async def test_busy_bar_shows_while_matching_and_r_is_not_run_twice(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    calls: list[float] = []

    def held(db: Any, options: MatchOptions, vendor_rules: Any = None) -> Any:
        calls.append(options.window_minutes)
        release.wait(5)
        return run_match(db, options, vendor_rules)

    monkeypatch.setattr(app_module, "run_match", held)
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        bar = app.screen.query_one(BusyBar)
        assert bar.has_class("-busy") and app.busy
        await pilot.press("r")
        release.set()
        await _settle(app, pilot)
        assert calls == [30.0]
        assert not bar.has_class("-busy")
        messages = [n.message for n in app._notifications]
        assert messages[0].startswith("Busy: ") and messages[1].startswith("Matched 1 of 4")


async def test_lists_refresh_while_the_match_worker_writes(many_db: Path) -> None:
    """Field report 8: each thread its own connection; counts stay consistent."""
    app = CalltuiApp(many_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one(PagedTable)
        await pilot.press("r")
        totals: set[int | None] = set()
        for _ in range(6):
            table.reload()
            await pilot.pause(0.02)
            totals.add(table.total)
        await _settle(app, pilot)
        totals.discard(None)  # still counting on the count worker's own connection
        assert totals == {450} and table.total == 450
        assert [n.message for n in app._notifications] == [
            "Matched 0 of 450 calls (not counting deleted Tasks); 0 touchpoints"]


async def test_a_failing_worker_is_one_notification_not_a_crash(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("database disk image is malformed\nsecond line")

    monkeypatch.setattr(app_module, "run_match", broken)
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await _settle(app, pilot)
        messages = [n.message for n in app._notifications]
        assert messages == ["match failed: database disk image is malformed"]
        assert app.busy == "" and app.is_running


async def test_detail_closed_while_its_worker_runs_raises_nothing(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = detail_module.read_document
    release = threading.Event()
    finished = threading.Event()

    def held(db_path: Path, task_id: str) -> dict[str, Any] | None:
        release.wait(5)
        try:
            return real(db_path, task_id)
        finally:
            finished.set()

    monkeypatch.setattr(detail_module, "read_document", held)
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one(PagedTable).focus()
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CallsScreen)
        release.set()  # the worker reads only now, after its screen is gone
        assert finished.wait(5)
        await _settle(app, pilot)
        await pilot.pause(0.1)
        assert app.is_running
        assert not app._notifications
    assert app.return_code in (0, None)


async def test_log_and_overview_show_the_sync_log(db_path: Path) -> None:
    db = store.open_db(db_path)
    log_id = store.start_sync_log(db, "incremental", "2026-03-01T00:00:00.000Z",
                                  "2026-03-02T00:00:00.000Z")
    store.finish_sync_log(db, log_id, status="failed", rows_upserted=400, rows_deleted=3,
                          api_calls=7, usage_before="10/100000", usage_after="17/100000",
                          error="query: Salesforce API request limit exceeded")
    db.close()
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        summary = _text(app.screen.query_one("#summary", Static))
        assert "incremental, failed, 400 upserted, 7 API calls" in summary
        await pilot.press("6")
        await pilot.pause()
        syncs = app.screen.query_one("#syncs", DataTable)
        cells = syncs.get_row_at(0)
        row = [str(c) for c in cells]
        assert row[2:8] == ["failed", "incremental", "400", "3", "0", "7"]  # in view at once
        assert row[11:] == ["10/100000", "17/100000",
                            "query: Salesforce API request limit exceeded"]
        assert cells[2].spans[0].style == "red"


# --- the admin app: every screen, working a list, actions, keyboard ----------------------


async def test_the_overview_follows_work_another_process_finished(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`calltui fix-type --undo` in a terminal re-matched, and the open app went on
    showing the old type_blank count and last match until `r`."""
    monkeypatch.setattr(app_module, "WATCH_SECONDS", 0.1)
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        flags = app.screen.query_one("#by-flag", DataTable)
        assert _cell(flags, "type_blank") == "1"
        other = store.open_db(sample_db)  # another process's connection
        other.execute("UPDATE tasks SET type = '' WHERE type = 'Call'")
        other.conn.commit()
        await pilot.pause(0.4)
        assert _cell(flags, "type_blank") == "1"  # a write alone: nothing has finished yet
        run_match(other)
        other.close()
        await pilot.pause(0.4)
        assert _cell(app.screen.query_one("#by-flag", DataTable), "type_blank") == "4"


async def test_q_while_work_runs_asks_first(sample_db: Path) -> None:
    """q during a sync quit at once, with no word of what was kept."""
    from calltui.tui.screens.confirm import QuitConfirm

    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.busy = "Syncing call Tasks from Salesforce…"
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm) and app.is_running
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen) and app.is_running
        await pilot.press("q", "y")
        await pilot.pause()
        assert not app.is_running
    idle = CalltuiApp(sample_db, Config())
    async with idle.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not idle.is_running


@pytest.mark.parametrize("screen", app_module.SCREEN_NAMES)
async def test_every_screen_opens_directly_at_80x24(sample_db: Path, screen: str) -> None:
    app = CalltuiApp(sample_db, Config(), screen=screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        assert app.current_mode == screen
        footer = app.screen.query_one("Footer")
        assert footer.region.width == 80 and footer.region.y == 23
        if screen == "overview":  # the count columns fit
            status = app.screen.query_one("#by-status", DataTable)
            assert status.region.right <= 80 and status.virtual_size.width <= status.size.width


async def test_unmatched_sessions_show_the_nearest_call_and_open_it(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await _settle(app, pilot)
        table = app.screen.query_one(PagedTable)
        db = app.state.db
        assert table.total == store.count_unmatched_sessions(db) == table.loaded > 0
        merged = {r["session_id"] for r in db.query(
            "SELECT session_id FROM call_outcomes WHERE session_id IS NOT NULL")}
        assert not merged & set(_rows(table))
        first = _rows(table)[0]
        nearest = _cell(table, first, 2)
        assert nearest in OUTSIDE_TASKS
        assert _cell(table, first, 3).endswith("the session")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.task_id == nearest


async def test_filter_sort_and_search_in_sql(many_db: Path) -> None:
    app = CalltuiApp(many_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CallsScreen)
        table = screen.query_one(PagedTable)
        await pilot.press("slash", *"from:2026-03-02 to:2026-03-02", "enter")
        await _settle(app, pilot)
        assert table.total == 100 and table.loaded == 100
        assert all(_cell(table, k).startswith("2026-03-02") for k in _rows(table))
        assert "filter: from:2026-03-02" in str(table.border_title)
        assert screen.apply_filter("00T000000000123")  # search by part of a Task Id
        await _settle(app, pilot)
        await pilot.pause(0.2)  # the explanation follows the resting cursor
        assert _rows(table) == ["00T000000000123AAA"]
        preview = screen.query_one("#preview", Static)
        assert _text(preview).startswith("missing_bizible_id: ")
        assert not screen.apply_filter("flag:nonsense")  # a readable error, view kept
        await pilot.pause()
        assert _rows(table) == ["00T000000000123AAA"]
        assert "flag: 'nonsense' is not one of" in _last_message(app)
        screen.apply_filter("status:matched")  # not on this screen: nothing
        await _settle(app, pilot)
        assert table.total == 0
        assert _text(preview) == ""  # not the last call's explanation under an empty list
        screen.apply_filter("")
        await _settle(app, pilot)
        table.move_cursor(row=150)
        key = table.current_key
        screen.sort_by("task_id", descending=True)  # the cursor follows its Task
        assert table.current_key == key
        keys = _rows(table)
        assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("screen", ["missing", "unmatched-calls", "unmatched-sessions",
                                    "touchpoints"])
async def test_a_filter_line_never_disagrees_with_its_list_unseen(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: str
) -> None:
    monkeypatch.chdir(tmp_path)
    app = CalltuiApp(sample_db, Config(), screen=screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        list_screen = app.screen
        assert isinstance(list_screen, ListScreen)
        line = list_screen.query_one(FilterInput)
        note = list_screen.query_one("#filter-note", Static)
        table = list_screen.query_one(PagedTable)
        assert list_screen.apply_filter("from:2026-03-01")
        await _settle(app, pilot)
        shown = _rows(table)
        assert shown
        # Enter on a bad line: the text stays for editing, red, the reason under it
        await pilot.press("slash", "end", *" to:2026-13-01", "enter")
        await _settle(app, pilot)
        assert line.value == "from:2026-03-01 to:2026-13-01" and line.has_focus
        assert line.has_class("-invalid") and note.has_class("-error")
        assert _text(note) == ("Not applied: to: '2026-13-01' is not a day like 2026-01-31. "
                               "The list shows its filter 'from:2026-03-01'; fix and press "
                               "Enter, or Esc to put it back.")
        assert note.region.height >= 2 and note.region.y == line.region.y + 1  # under it
        assert _rows(table) == shown and "filter: from:2026-03-01" in str(table.border_title)
        # the list's keys while the line is not applied: export refuses, saying why
        table.focus()
        await pilot.press("e")
        await _settle(app, pilot)
        assert _last_message(app).startswith("Nothing exported: the filter line is not "
                                              "applied; the list shows its filter "
                                              "'from:2026-03-01'.")
        assert not list(tmp_path.glob("calltui-*.csv"))
        # Esc puts back the filter in force
        line.focus()
        await pilot.press("escape")
        await pilot.pause()
        assert line.value == "from:2026-03-01" and table.has_focus
        assert not line.has_class("-invalid") and not note.has_class("-shown")
        # a line left without Enter says it is not applied
        await pilot.press("slash", "end", "space", "x")
        table.focus()
        await pilot.pause()
        assert note.has_class("-shown") and not note.has_class("-error")
        assert _text(note).startswith("Not applied (no Enter yet). The list shows its "
                                      "filter 'from:2026-03-01';")
        line.focus()
        await pilot.press("escape")
        await pilot.press("e")  # applied again: the export names the filter it used
        await _settle(app, pilot)
        [path] = tmp_path.glob("calltui-*.csv")
        assert len(path.read_text().splitlines()) == len(shown) + 1
        assert _last_message(app) == (f"Exported {len(shown)} rows (filter: from:2026-03-01) "
                                      f"to {path}")


async def test_sort_puts_empty_values_last_both_ways(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CallsScreen)
        screen.apply_filter("")
        screen.filter = store.ListFilter()
        for descending in (False, True):
            rows = store.page_calls(app.state.db, store.ListFilter(), sort="task_type",
                                    descending=descending, limit=10)
            types = [r["task_type"] for r in rows]
            empty = [t in (None, "") for t in types]
            assert empty == sorted(empty), types
            # keyset paging, one row at a time, gives the same order
            paged, last = [], None
            while page := store.page_calls(app.state.db, sort="task_type",
                                           descending=descending, after=last, limit=1):
                paged.append(page[0]["task_id"])
                last = page[0]
            assert paged == [r["task_id"] for r in rows]
        await pilot.press("s")
        assert screen.sort == "task_id"
        await pilot.press("S")
        assert screen.sort == "task_id" and screen.descending


async def test_export_writes_the_current_view(
    many_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = CalltuiApp(many_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CallsScreen)
        screen.apply_filter("from:2026-03-05")
        await pilot.press("e")
        await _settle(app, pilot)
        files = list(tmp_path.glob("calltui-missing-*.csv"))
        assert len(files) == 1
        lines = files[0].read_text().splitlines()
        assert lines[0].startswith("Task Id,Call (UTC)") and len(lines) == 51
        assert "Exported 50 rows (filter: from:2026-03-05) to" in _last_message(app)


async def test_import_files_from_the_app_runs_to_completion(db_path: Path) -> None:
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        paths = f"{DATA / 'sf_tasks_page.json'} {DATA / 'biz_sessions.csv'}"
        app.screen.query_one(Input).value = paths
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, OverviewScreen) and app.busy == ""
        assert _cell(app.screen.query_one("#by-status", DataTable), "outside_window") == "2"
        message = _last_message(app)
        assert "sf_tasks_page.json: 4 stored" in message and "Matched 1 of 4" in message


async def test_a_file_cut_short_is_matched_on_what_was_stored(db_path: Path,
                                                             tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv"
    cut.write_bytes((DATA / "biz_sessions.csv").read_bytes()[:-40])
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one(Input).value = f"{DATA / 'sf_tasks_page.json'} {cut}"
        await pilot.press("enter")
        await _settle(app, pilot)
        message = _last_message(app)
        assert "cut.csv: 2 stored, 1 rejected" in message and "Matched 1 of 4" in message


async def test_a_missing_path_is_said_in_the_import_dialog_which_stays_open(
        sample_db: Path, tmp_path: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one(Input).value = f"{tmp_path / 'nope.csv'}"
        await pilot.press("enter")
        await pilot.pause()
        error = _text(app.screen.query_one("#prompt-error", Label))
        assert error == f"no such file: {tmp_path / 'nope.csv'}; fix the path, or Esc to cancel"
        app.screen.query_one(Input).value = "'unclosed"
        await pilot.press("enter")
        await pilot.pause()
        assert _text(app.screen.query_one("#prompt-error", Label)) == (
            "paths: No closing quotation")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_sync_worker_shows_progress_and_is_cancelled_between_pages(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = threading.Event()
    seen: list[int] = []

    def fake_sync(db: Any, client: Any, options: Any, on_progress: Any) -> Any:
        for done in (100, 200, 300):
            on_progress(done, 300)
            seen.append(done)
            page.wait(5)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(app_module, "make_client", lambda config: object())
    monkeypatch.setattr(app_module, "run_sync", fake_sync)
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await pilot.pause(0.2)
        bar = app.screen.query_one(BusyBar)
        assert bar.has_class("-busy") and "Syncing" in app.busy
        assert app.screen.query_one(ProgressBar).total == 300
        await pilot.press("x")
        page.set()
        await _settle(app, pilot)
        assert seen == [100] and app.busy == "" and app.is_running
        assert [n.message for n in app._notifications] == [
            "Cancelled; what was committed is kept."]


async def test_sync_failure_is_one_line_and_a_finished_sync_reloads(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_login(config: Config) -> Any:
        raise ValueError("SF_USERNAME is not set\nmore")

    monkeypatch.setattr(app_module, "make_client", no_login)
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await _settle(app, pilot)
        assert [n.message for n in app._notifications] == [
            "sync failed: SF_USERNAME is not set"]
        result = SyncResult("full", None, "2026-03-10T12:00:00.000Z", upserted=3, api_calls=2)
        monkeypatch.setattr(app_module, "make_client", lambda config: object())
        monkeypatch.setattr(app_module, "run_sync", lambda *a, **k: result)
        await pilot.press("y")
        await _settle(app, pilot)
        assert _last_message(app).startswith(
            "Synced 3 Tasks: 3 stored, 0 deleted, 0 rejected; 2 API calls. Matched 0 of 0")


async def test_sync_without_credentials_is_in_the_sync_log(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SF_USERNAME", "SF_PASSWORD", "SF_SESSION_ID", "SF_CONSUMER_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = CalltuiApp(db_path, Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await _settle(app, pilot)
        toast = _last_message(app)
        assert toast.startswith("sync failed: no Salesforce credentials")
        assert toast.endswith("… (all of it: Sync & import log, key 6)")  # a toast cuts more
        assert len(toast) <= TOAST_CHARS + 45
    [logged] = store.recent_syncs(store.open_db(db_path), 1)
    assert (logged["mode"], logged["status"]) == ("login", "failed")
    assert logged["error"].startswith("no Salesforce credentials: set SF_USERNAME")
    assert logged["error"].endswith("SF_SESSION_ID + SF_INSTANCE_URL")  # the whole message


def test_a_long_message_is_cut_at_a_word_to_fit_a_toast() -> None:
    message = "import failed: " + "word " * 60
    cut = toast_text(message, logged=False)
    assert cut.endswith("word…") and len(cut) <= TOAST_CHARS + 1
    assert toast_text("sync failed: short", logged=True) == "sync failed: short"


async def test_help_screen_lists_the_keys(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "export the current view" in HELP_TEXT
        text = app.screen.query_one("#help Static", Static)
        widest = max(len(line) for line in HELP_TEXT.splitlines())
        assert text.content_region.width >= widest  # no line wraps, even at 80 columns
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_touchpoints_filter_and_open_the_call(sample_db: Path) -> None:
    app = CalltuiApp(sample_db, Config(), screen="touchpoints")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TouchpointsScreen)
        table = screen.query_one(PagedTable)
        assert screen.apply_filter("channel:LinkedIn")
        await _settle(app, pilot)
        want = [r["touchpoint_id"] for r in app.state.db.query(
            "SELECT touchpoint_id FROM touchpoints WHERE channel LIKE '%LinkedIn%' "
            "ORDER BY touchpoint_date, touchpoint_id")]
        assert _rows(table) == want and table.total == len(want) > 0
        calls = [k for k in want if _cell(table, k, 10)]
        table.move_cursor(row=want.index(calls[0]))
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.task_id == _cell(table, calls[0], 10)


async def test_vendor_filter_reads_task_vendors(sample_db: Path) -> None:
    db = store.open_db(sample_db)
    db.execute("INSERT OR REPLACE INTO task_vendors (task_id, vendor, rules_key) "
                   "VALUES (?, ?, '')",
               [OUTSIDE_TASKS[1], "CallRail"])
    db.close()
    app = CalltuiApp(sample_db, Config(), screen="unmatched-calls")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CallsScreen)
        assert screen.apply_filter("vendor:callrail")
        await _settle(app, pilot)
        assert _rows(screen.query_one(PagedTable)) == [OUTSIDE_TASKS[1]]


async def test_fix_type_asks_first_then_writes_through_the_api(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calltui.fakeorg import FakeOrg
    from tests.test_sync import sample_tasks

    with FakeOrg() as org:
        org.add_tasks(sample_tasks())
        for name, value in (("SF_LOGIN_URL", org.url), ("SF_USERNAME", org.username),
                            ("SF_PASSWORD", org.password),
                            ("SF_SECURITY_TOKEN", org.security_token)):
            monkeypatch.setenv(name, value)
        app = CalltuiApp(sample_db, Config())
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            await pilot.pause()
            assert type(app.screen).__name__ == "FixTypeConfirm"
            await pilot.press("escape")  # cancelling writes nothing
            await pilot.pause()
            assert org.task("00T5g00000AbCdFAAV")["Type"] is None
            await pilot.press("t")
            await pilot.pause()
            await pilot.press("enter")  # the proposed value, Call
            await _settle(app, pilot)
            assert org.task("00T5g00000AbCdFAAV")["Type"] == "Call"
            message = app._notifications and list(app._notifications)[-1].message
            assert message and message.startswith("Type set to 'Call' on 1 Task(s); old values in")
        db = store.open_db(sample_db)
        assert db.table("tasks").get("00T5g00000AbCdFAAV")["type"] == "Call"
        assert store.get_outcome(db, "00T5g00000AbCdFAAV")["flags"] == "call_time_fallback"
        backups = list((sample_db.parent / "backups").glob("fix-type-*.jsonl"))
        assert len(backups) == 1


def test_a_cancelled_import_is_logged_as_cancelled_not_refused(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "c.db")

    def cancel(done: int, total: int) -> None:
        raise app_module.Cancelled()

    with pytest.raises(app_module.Cancelled):
        import_file(db, SAMPLE_SESSIONS, on_progress=cancel)
    last = store.last_import(db)
    assert last is not None
    assert (last["status"], last["error"]) == ("cancelled", "cancelled by the user")


@pytest.mark.parametrize(("value", "shown"), [(None, "(none)"), ("", "''"), ("  ", "'  '"),
                                              ("Call", "'Call'")])
def test_evidence_shows_a_field_as_the_task_holds_it(value: str | None, shown: str) -> None:
    evidence = {"call_at": "2026-03-02T13:05:00.000Z", "call_at_field": "CreatedDate",
                "bizible_id_raw": value, "bizible_id": None, "task_type": value,
                "who_id": None, "compared_session_id": None, "gap_seconds": None,
                "window_ends_at": None, "nearest_before": None, "nearest_after": None,
                "touchpoint": None}
    lines = detail_module.evidence_text({"evidence": evidence}).splitlines()
    assert lines[1] == f"BizibleId as stored: {shown}"
    assert lines[3] == f"Task.Type: {shown}   WhoId: none"


def test_the_last_import_line_names_its_kind_unless_the_file_was_refused() -> None:
    from calltui.tui.screens.overview import _last_import

    row = {"file": "x.csv", "kind": "sessions", "status": "ok", "rows_stored": 5,
           "rows_rejected": 1, "started_at": "2026-03-02T13:05:00.000Z", "finished_at": None}
    assert _last_import(row).startswith("x.csv (sessions, ok, 5 stored, 1 rejected) at ")
    refused = {**row, "kind": None, "status": "refused", "rows_stored": 0, "rows_rejected": 0}
    assert _last_import(refused).startswith("x.csv (refused, 0 stored, 0 rejected) at ")
