"""The command line: output contracts (SPEC §4 keys) and one-line errors."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from calltui import cli as cli_module
from calltui import store
from calltui.cli import cli
from tests.conftest import SAMPLE_SESSIONS, SAMPLE_TASKS

CALL_KEYS = {"task_id", "call_at", "bizible_id", "status", "flags", "session_id",
             "compared_session_id", "gap_seconds", "touchpoint_type", "medium", "channel"}
TOUCHPOINT_KEYS = {"touchpoint_id", "kind", "task_id", "session_id", "person_key",
                   "touchpoint_date", "touchpoint_type", "medium", "channel", "source",
                   "campaign", "landing_page", "referrer_page", "position", "u_shaped_credit"}


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


@pytest.fixture
def matched_db(tmp_path: Path) -> Path:
    db = tmp_path / "c.db"
    assert run(db, "import", str(SAMPLE_TASKS), str(SAMPLE_SESSIONS)).exit_code == 0
    assert run(db, "match").exit_code == 0
    return db


def test_report_calls_json_has_exactly_the_spec_keys(matched_db: Path) -> None:
    result = run(matched_db, "report", "calls", "--format", "json")
    rows = json.loads(result.stdout)
    assert [set(r) for r in rows] == [CALL_KEYS] * 4
    first = next(r for r in rows if r["task_id"] == "00T5g00000AbCdEAAV")
    assert first == {
        "task_id": "00T5g00000AbCdEAAV", "call_at": "2026-03-02T13:05:00.000Z",
        "bizible_id": "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e", "status": "outside_window",
        "flags": ["duplicate_call"], "session_id": None,
        "compared_session_id": "2026-03-02:12-17-04-1180220.a3f9c2d417e84b0c",
        "gap_seconds": 2876.0, "touchpoint_type": "Call", "medium": "Call", "channel": None,
    }


def test_report_calls_csv_has_the_same_columns(matched_db: Path) -> None:
    lines = run(matched_db, "report", "calls", "--format", "csv").stdout.splitlines()
    assert lines[0].split(",") == ["task_id", "call_at", "bizible_id", "status", "flags",
                                   "session_id", "compared_session_id", "gap_seconds",
                                   "touchpoint_type", "medium", "channel"]
    assert len(lines) == 5
    assert "call_time_fallback;type_blank" in lines[1]


def test_report_filters_by_status_and_flag(matched_db: Path) -> None:
    rows = json.loads(run(matched_db, "report", "calls", "--format", "json", "--status",
                          "missing_bizible_id").stdout)
    assert [r["task_id"] for r in rows] == ["00T5g00000AbCdGAAV"]
    rows = json.loads(run(matched_db, "report", "calls", "--format", "json", "--flag",
                          "duplicate_call").stdout)
    assert {r["task_id"] for r in rows} == {"00T5g00000AbCdEAAV", "00T5g00000AbCdHAAV"}
    rows = json.loads(run(matched_db, "report", "calls", "--format", "json", "--flag",
                          "duplicate_call", "--flag", "type_blank").stdout)
    assert {r["task_id"] for r in rows} == {"00T5g00000AbCdEAAV", "00T5g00000AbCdHAAV",
                                            "00T5g00000AbCdFAAV"}


def test_report_touchpoints_json(matched_db: Path) -> None:
    rows = json.loads(run(matched_db, "report", "touchpoints", "--format", "json").stdout)
    assert all(set(r) == TOUCHPOINT_KEYS for r in rows)
    by_id = {r["touchpoint_id"]: r for r in rows}
    call = by_id["call-00T5g00000AbCdFAAV"]
    assert (call["kind"], call["touchpoint_type"], call["medium"], call["channel"],
            call["position"], call["u_shaped_credit"]) == (
        "call_session", "Web Visit", "social", "Social.LinkedIn", "FT, LC", 1.0)


def test_report_table_is_the_default(matched_db: Path) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["--db", str(matched_db), "report",
                                                            "calls"])
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "00T5g00000AbCdEAAV" in line)
    assert "outside_window" in row and "duplicate_call" in row


def test_explain_json(matched_db: Path) -> None:
    doc = json.loads(run(matched_db, "explain", "00T5g00000AbCdEAAV", "--format",
                         "json").stdout)
    assert set(doc) == {"task_id", "status", "flags", "explanation", "evidence"}
    assert doc["status"] == "outside_window"
    assert "47 min 56 s" in doc["explanation"]
    ev = doc["evidence"]
    assert ev["nearest_before"] == {"session_id": "2026-03-02:12-17-04-1180220.a3f9c2d417e84b0c",
                                    "started_at": "2026-03-02T12:17:04.000Z",
                                    "gap_seconds": 2876.0}
    assert ev["nearest_after"] is None
    assert [c["id"] for c in ev["cookie_calls"]] == ["00T5g00000AbCdEAAV", "00T5g00000AbCdHAAV"]


def test_explain_missing_names_the_vendor(matched_db: Path) -> None:
    result = run(matched_db, "explain", "00T5g00000AbCdGAAV")
    assert "Escalate to the call-tracking vendor" in result.stdout


def test_explain_unknown_task_is_one_line_error(matched_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(matched_db), "explain", "00TNOPE"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no call Task '00TNOPE' in {matched_db} (is it a call, and was it imported?)"]


def test_report_before_match_is_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run(db, "import", "--no-match", str(SAMPLE_SESSIONS))
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "calls"])
    assert result.exit_code == 1
    assert result.stderr == ("error: nothing matched yet: no call Tasks here; run `calltui "
                             "sync` or `calltui import FILE...` first (both match what they "
                             "store)\n")


def test_import_refuses_unknown_file_but_imports_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text("order_id,amount\n1,2\n")
    db = tmp_path / "c.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", str(bad), str(SAMPLE_TASKS)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: {bad}: not a calltui input")
    assert "Traceback" not in result.output
    assert run(db, "match").exit_code == 0


def test_import_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "import",
                                      str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


def test_bad_source_tz(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "import", "--source-tz",
                                      "Mars/Olympus", str(SAMPLE_TASKS)])
    assert result.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


def test_config_file_sets_the_window(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[match]\nwindow_minutes = 60\n")
    db = tmp_path / "c.db"
    run(db, "import", str(SAMPLE_TASKS), str(SAMPLE_SESSIONS))
    CliRunner().invoke(cli, ["--db", str(db), "--config", str(config), "match"])
    rows = json.loads(run(db, "report", "calls", "--format", "json").stdout)
    assert {r["status"] for r in rows} == {"matched", "missing_bizible_id"}


@pytest.mark.parametrize(("text", "message"), [
    ("[match\n", "config file"),
    ("[match]\nanchor = 'end'\n", "anchor must be 'start' or 'activity', not 'end'"),
    ("[match]\nwindow_minutes = -5\n", "[match] window_minutes must be more than 0 and at "
                                        "most 10,080 minutes (a week), not -5"),
    ("[match]\nwindow_minutes = nan\n", "at most 10,080 minutes (a week), not nan"),
    ("[match]\nwindow_minutes = inf\n", "at most 10,080 minutes (a week), not inf"),
    ("[match]\nwindow_minutes = 1e300\n", "at most 10,080 minutes (a week), not 1e+300"),
    ("[match]\nwindow_minutes = 'thirty'\n",
     "[match] window_minutes must be a number of minutes, not 'thirty'"),
    ("[match]\nwindow_minutes = true\n", "window_minutes must be a number of minutes, not True"),
    ("[salesforce]\npassword = 'x'\n", "secrets do not belong in the config file"),
    ("[matc]\nwindow_minutes = 60\n", "unknown section [matc]"),
    ("[match]\nwindow_minute = 60\n", "unknown key 'window_minute' in [match]"),
    ("[salesforce]\ncall_time_fields = 'CreatedDate'\n", "call_time_fields must be a list"),
    ("[salesforce]\ncall_time_fields = ['Subject']\n", "'Subject' is not a datetime field"),
    ("[salesforce]\nbizible_id_field = \"Id FROM Task WHERE Id != null --\"\n",
     "is not a Salesforce field API name"),
])
def test_bad_config_is_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    result = CliRunner().invoke(cli, ["--config", str(config), "match"])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_db_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("CALLTUI_DB", str(db))
    result = CliRunner().invoke(cli, ["import", str(SAMPLE_TASKS)])
    assert result.exit_code == 0 and db.exists()


def test_main_turns_unexpected_errors_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli_module, "cli", boom)
    monkeypatch.setattr(sys, "argv", ["calltui", "match"])
    with pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith("error: RuntimeError: disk on fire")


def test_demo_without_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run(db, "demo", "--no-tui", "--calls", "300")
    assert result.exit_code == 0, result.output
    rows = json.loads(run(db, "report", "calls", "--format", "json").stdout)
    assert len(rows) >= 300
    assert {r["status"] for r in rows} == {"matched", "outside_window", "call_before_session",
                                           "unknown_bizible_id", "missing_bizible_id",
                                           "deleted"}
    flags = {f for r in rows for f in r["flags"]}
    assert flags == {"type_blank", "placeholder_bizible_id", "malformed_bizible_id",
                     "duplicate_call", "no_person", "call_time_fallback"}


def test_demo_refuses_a_database_with_real_data(matched_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(matched_db), "demo", "--no-tui"])
    assert result.exit_code == 1
    assert "holds data that is not the demo's" in result.stderr


def test_every_command_has_help() -> None:
    for name, command in cli.commands.items():
        assert command.help, name


def test_app_without_a_terminal_says_so(tmp_path: Path) -> None:
    store.open_db(tmp_path / "c.db").close()
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the app needs a terminal")


@pytest.mark.parametrize("args", [[], ["tui"], ["tui", "--screen", "log"], ["--screen", "log"]])
def test_app_on_a_missing_database_refuses_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    typo = tmp_path / "typo" / "typo.db"
    result = CliRunner().invoke(cli, ["--db", str(typo), *args])
    assert result.exit_code == 1
    assert result.stderr == (f"error: no database at {typo}: run `calltui demo`, "
                             "`calltui import FILE...` or `calltui sync` first, or pass --db\n")
    assert not typo.parent.exists()


def test_import_reruns_the_match(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run(db, "import", str(SAMPLE_TASKS))
    assert {r["status"] for r in json.loads(run(db, "report", "calls", "--format",
                                                "json").stdout)} == {"unknown_bizible_id",
                                                                      "missing_bizible_id"}
    run(db, "import", str(SAMPLE_SESSIONS))
    rows = json.loads(run(db, "report", "calls", "--format", "json").stdout)
    assert {r["status"] for r in rows} == {"matched", "outside_window", "missing_bizible_id"}


def test_import_no_match_leaves_outcomes_alone(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run(db, "import", "--no-match", str(SAMPLE_TASKS))
    result = CliRunner().invoke(cli, ["--db", str(db), "report", "calls"])
    assert result.stderr == ("error: nothing matched yet: the Tasks stored here were not "
                             "matched (an import with --no-match, or a sync or import that "
                             "stopped first); run `calltui match`\n")


def test_all_rejected_file_exits_1_and_rejects_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "excel.csv"
    bad.write_text("ID,COOKIE_ID,EVENT_DATE\nS1,a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,3/2/2026 12:17\n")
    db = tmp_path / "c.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {bad}: every row was rejected (1); the first, line 2: "
        "EVENT_DATE: bad timestamp '3/2/2026 12:17'"
        " (expected a date and time, e.g. 2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)")
    rows = json.loads(run(db, "report", "rejects", "--format", "json").stdout)
    assert rows == [{"file": str(bad), "line": 2, "kind": "sessions", "column": "EVENT_DATE",
                     "reason": "EVENT_DATE: bad timestamp '3/2/2026 12:17'"
        " (expected a date and time, e.g. 2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)"}]


HINT = "Rejected rows are kept with file, line and reason"


def test_the_rejects_hint_follows_this_import_not_earlier_ones(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("ID,COOKIE_ID,EVENT_DATE\nS1,a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,3/2/2026\n"
                     "S2,a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,2026-03-02 12:17:00\n")
    db = tmp_path / "c.db"
    first = CliRunner().invoke(cli, ["--db", str(db), "import", str(mixed)])
    assert first.exit_code == 0 and HINT in first.stderr
    later = CliRunner().invoke(cli, ["--db", str(db), "import", str(SAMPLE_TASKS)])
    assert later.exit_code == 0 and HINT not in later.stderr
    assert len(json.loads(run(db, "report", "rejects", "--format", "json").stdout)) == 1


READ_COMMANDS = [["report", "calls"], ["explain", "00T5g00000AbCdEAAV"], ["report", "rejects"],
                 ["report", "touchpoints"], ["report", "channels"], ["match"],
                 ["match", "--what-if"]]


@pytest.mark.parametrize("args", READ_COMMANDS)
def test_read_commands_do_not_create_a_database(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "typo.db"
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: no database at {db}")
    assert not db.exists()


def test_after_the_demo_a_read_without_db_names_the_demo_database() -> None:
    demo = store.default_db_path().with_name("demo.db")
    store.open_db(demo).close()  # what `calltui demo` leaves behind
    result = CliRunner().invoke(cli, ["report", "calls"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: no database at {store.default_db_path()}: the "
                                    f"demo's is {demo}; pass --db {demo} (or set CALLTUI_DB)")
    assert not store.default_db_path().exists()


@pytest.mark.parametrize("args", READ_COMMANDS)
def test_read_commands_leave_an_empty_file_alone(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert result.exit_code == 1
    assert result.stderr == (f"error: {db} is an empty file, not a calltui database: run "
                             "`calltui import FILE...` or `calltui sync` to fill it, or pass "
                             "another --db\n")
    assert db.stat().st_size == 0 and not Path(f"{db}-wal").exists()


@pytest.mark.parametrize("typed", ["00T5g00000AbCdE", "00t5g00000abcdeaav", " 00T5g00000AbCdEAAV "])
def test_explain_finds_ids_as_admins_paste_them(matched_db: Path, typed: str) -> None:
    doc = json.loads(run(matched_db, "explain", typed, "--format", "json").stdout)
    assert doc["task_id"] == "00T5g00000AbCdEAAV"


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for name, command in cli.commands.items():
        assert f"calltui {name}" in readme, name
        for sub in getattr(command, "commands", {}):
            assert sub in readme, f"{name} {sub}"


def test_match_options_on_the_command_line(matched_db: Path) -> None:
    assert run(matched_db, "match", "--window-minutes", "60").exit_code == 0
    rows = json.loads(run(matched_db, "report", "calls", "--format", "json").stdout)
    assert {r["status"] for r in rows} == {"matched", "missing_bizible_id"}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "0", "-5", "10081", "x"])
def test_a_window_that_is_no_window_is_one_line_and_changes_nothing(
        matched_db: Path, value: str) -> None:
    before = run(matched_db, "report", "calls", "--format", "json").stdout
    for what_if in (["--what-if"], []):
        result = run(matched_db, "match", *what_if, "--window-minutes", value)
        assert result.exit_code == 2
        [line] = result.stderr.strip().splitlines()[-1:]
        assert "Invalid value for '--window-minutes'" in line and "Traceback" not in (
            result.stderr), result.stderr
    assert run(matched_db, "report", "calls", "--format", "json").stdout == before


def test_a_window_of_a_week_is_the_longest(matched_db: Path) -> None:
    assert run(matched_db, "match", "--what-if", "--window-minutes", "10080").exit_code == 0


def test_what_if_lists_changes_and_writes_nothing(matched_db: Path) -> None:
    before = run(matched_db, "report", "calls", "--format", "json").stdout
    result = run(matched_db, "match", "--what-if", "--window-minutes", "48", "--format", "json")
    changes = json.loads(result.stdout)
    assert changes == [
        {"task_id": "00T5g00000AbCdEAAV", "call_at": "2026-03-02T13:05:00.000Z",
         "before": "outside_window", "after": "matched"},
        {"task_id": "00T5g00000AbCdHAAV", "call_at": "2026-03-02T13:05:04.000Z",
         "before": "outside_window", "after": "matched"},
    ]
    assert run(matched_db, "report", "calls", "--format", "json").stdout == before
    table = CliRunner(env={"COLUMNS": "200"}).invoke(
        cli, ["--db", str(matched_db), "match", "--what-if", "--window-minutes", "48"])
    assert "2 call(s) would change; nothing written" in table.stdout
    assert "outside_window" in table.stdout


def test_what_if_with_no_change(matched_db: Path) -> None:
    result = run(matched_db, "match", "--what-if", "--format", "json")
    assert json.loads(result.stdout) == []


def test_explain_text_carries_the_timeline(matched_db: Path) -> None:
    out = CliRunner(env={"COLUMNS": "200"}).invoke(
        cli, ["--db", str(matched_db), "explain", "00T5g00000AbCdEAAV"]).stdout
    lines = [line.strip() for line in out.splitlines()]
    assert "cookie    1 session(s), 2 call(s):" in lines
    assert ("2026-03-02T12:17:04.000Z  session 2026-03-02:12-17-04-1180220.a3f9c2d417e84b0c  "
            "Paid Search.AdWords  47 min 56 s before") in lines
    assert "2026-03-02T13:05:00.000Z  call    00T5g00000AbCdEAAV  outside_window <- this call" \
        in lines
    assert "2026-03-02T13:05:04.000Z  call    00T5g00000AbCdHAAV  outside_window  4 s after" \
        in lines


def test_explain_into_a_pipe_keeps_each_line_whole(matched_db: Path) -> None:
    out = CliRunner().invoke(  # no COLUMNS: Rich alone would fold at 80
        cli, ["--db", str(matched_db), "explain", "00T5g00000AbCdEAAV"]).stdout
    lines = [line.strip() for line in out.splitlines()]
    assert "2026-03-02T13:05:00.000Z  call    00T5g00000AbCdEAAV  outside_window <- this call" \
        in lines
    assert any(line.startswith("matched at ") and line.endswith(
        "with a 30-minute window from the session start") for line in lines)


def test_an_empty_report_says_so(matched_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(matched_db), "report", "rejects"])
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "Rejected rows: none.\n")
    as_json = CliRunner().invoke(cli, ["--db", str(matched_db), "report", "rejects",
                                       "--format", "json"])
    assert json.loads(as_json.stdout) == []  # machine formats stay as they were


def test_import_a_folder_names_its_files_and_skips_hidden(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "BIZ_SESSIONS.csv").write_bytes((Path(__file__).parent / "data" /
                                               "biz_sessions.csv").read_bytes())
    (folder / ".~lock.BIZ_SESSIONS.csv#").write_text("lock")
    result = run(tmp_path / "c.db", "import", "--no-match", str(folder))
    assert result.exit_code == 0, result.output
    assert "1 file (BIZ_SESSIONS.csv); skipped hidden: .~lock.BIZ_SESSIONS.csv#" in result.output
    assert result.output.count("sessions") >= 1


def test_match_brings_vendors_up_to_date(matched_db: Path) -> None:
    from calltui import store

    db = store.open_db(matched_db)
    vendors = dict(db.execute("SELECT task_id, vendor FROM task_vendors").fetchall())
    assert set(vendors) == {"00T5g00000AbCdEAAV", "00T5g00000AbCdFAAV", "00T5g00000AbCdGAAV",
                            "00T5g00000AbCdHAAV"}


def test_tui_screen_choices_are_the_apps_screens() -> None:
    from calltui.tui.app import SCREEN_NAMES

    option = next(p for p in cli.commands["tui"].params if p.name == "screen")
    assert tuple(option.type.choices) == SCREEN_NAMES  # type: ignore[attr-defined]
    root = next(p for p in cli.params if p.name == "screen")
    assert tuple(root.type.choices) == SCREEN_NAMES  # type: ignore[attr-defined]


def test_screen_before_a_command_says_it_is_for_the_app(tmp_path: Path) -> None:
    """`calltui --db X --screen log` said 'No such option'; with a command it is an error."""
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "--screen", "log",
                                      "report", "calls"])
    assert result.exit_code == 2
    assert result.stderr == ("error: --screen is for the app: calltui --screen log, with no "
                             "command\n")


def test_a_table_into_a_pipe_keeps_each_value_on_one_line(
    matched_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = run(matched_db, "report", "calls").stdout
    row = next(line for line in out.splitlines() if "00T5g00000AbCdFAAV" in line)
    for value in ("2026-03-02T09:19:30.000Z", "matched", "call_time_fallback, type_blank",
                  "Web Visit", "Social.LinkedIn"):
        assert value in row


def test_an_import_into_a_new_database_says_where_it_is(tmp_path: Path) -> None:
    db = tmp_path / "typo" / "x.db"
    first = CliRunner(env={"COLUMNS": "300"}).invoke(
        cli, ["--db", str(db), "import", "--no-match", str(SAMPLE_TASKS)])
    assert first.exit_code == 0
    assert f"New database: {db} (in {db.parent}, a new folder)" in first.stderr
    again = CliRunner().invoke(cli, ["--db", str(db), "import", "--no-match", str(SAMPLE_TASKS)])
    assert again.exit_code == 0 and "New database" not in again.stderr


def test_an_import_that_refuses_every_file_leaves_no_new_database(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("just some words\n")
    db = tmp_path / "new" / "calltui.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", str(junk)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {junk}: ")
    assert not db.exists() and not Path(f"{db}-wal").exists()


def test_an_import_that_refuses_every_file_keeps_an_existing_database(
    matched_db: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("just some words\n")
    before = json.loads(run(matched_db, "report", "calls", "--format", "json").stdout)
    assert CliRunner().invoke(cli, ["--db", str(matched_db), "import", str(junk)]).exit_code == 1
    assert json.loads(run(matched_db, "report", "calls", "--format", "json").stdout) == before


def test_an_import_of_missing_files_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "new" / "calltui.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert not db.parent.exists()


def test_the_import_table_keeps_a_long_path_on_its_line_in_a_pipe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    folder = tmp_path / "exports from the call tracking vendor, december"
    folder.mkdir()
    tasks = folder / "sf_tasks_page_with_a_long_name.json"
    tasks.write_bytes(SAMPLE_TASKS.read_bytes())
    result = run(tmp_path / "c.db", "import", "--no-match", str(tasks))
    assert result.exit_code == 0
    [line] = [line for line in result.stdout.splitlines() if line.startswith("│ tasks ")]
    cells = [cell.strip() for cell in line.strip("│").split("│")]
    assert cells == ["tasks", "4", "4", "0", str(tasks)]  # one line, not folded at 80


def test_anchor_activity_without_page_views_or_form_submits_says_it_changes_nothing(
        matched_db: Path) -> None:
    result = run(matched_db, "match", "--what-if", "--anchor", "activity")
    assert result.exit_code == 0
    assert result.stderr.startswith("No page views or form submits are stored")
    assert "No page views" not in run(matched_db, "match", "--what-if").stderr


# --- tables at the widths of real terminals (a new-user trial at 80 columns saw `┃┃┃` and
# statuses folded into 'out|sid|e_w|ind|ow') ---

NOTE = re.compile(r"(\d+) columns? left out at (\d+) columns \((.*?)\): ")


def at_width(db: Path, width: int, *args: str) -> tuple[list[str], list[str], list[str]]:
    """The table's lines (none wider than ``width``), its headers as shown, and the
    columns the note on stderr says were left out."""
    result = CliRunner(env={"COLUMNS": str(width)}).invoke(
        cli, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    rule = next(i for i, line in enumerate(lines) if re.search(r"[─━]", line))
    header = rule + 1 if lines[rule].startswith("┏") else rule - 1  # boxed, or compact
    shown = [word for word in re.split(r"[\s┃│]+", lines[header]) if word]
    note = NOTE.search(" ".join(result.stderr.split()))
    left_out = [] if note is None else note.group(3).replace(" (empty)", "").split(", ")
    if note:
        assert (int(note.group(1)), int(note.group(2))) == (len(left_out), width)
    return lines, shown, left_out


def line_of(lines: list[str], key: str) -> str:
    return next(line for line in lines if key in line)


CALLS_SHOWN = ["task_id", "call_at", "status", "flags", "gap_seconds", "touchpoint_type",
               "channel"]


@pytest.mark.parametrize(("width", "left_out"), [
    (80, ["call_at", "touchpoint_type", "channel"]), (100, ["touchpoint_type", "channel"]),
    (120, ["channel"]), (200, [])])
def test_report_calls_at_terminal_widths(matched_db: Path, width: int,
                                         left_out: list[str]) -> None:
    lines, shown, dropped = at_width(matched_db, width, "report", "calls")
    assert dropped == left_out
    assert shown == [c for c in CALLS_SHOWN if c not in left_out]
    row = line_of(lines, "00T5g00000AbCdEAAV")
    assert "outside_window" in row and "duplicate_call" in row
    if "gap_seconds" in shown:
        assert "2876.0" in row
    if "call_at" in shown:
        assert "2026-03-02T13:05:00.000Z" in row
    if "touchpoint_type" in shown:
        assert "Web Visit" in line_of(lines, "00T5g00000AbCdFAAV")
    assert "missing_bizible_id" in line_of(lines, "00T5g00000AbCdGAAV")


TOUCHPOINTS_SHOWN = ["touchpoint_id", "kind", "person_key", "touchpoint_date",
                     "touchpoint_type", "channel", "position", "u_shaped_credit"]


@pytest.mark.parametrize(("width", "left_out"), [
    (80, ["kind", "touchpoint_date", "touchpoint_type", "channel"]),
    (100, ["touchpoint_date", "touchpoint_type", "channel"]), (120, ["touchpoint_date"]),
    (200, [])])
def test_report_touchpoints_at_terminal_widths(matched_db: Path, width: int,
                                               left_out: list[str]) -> None:
    lines, shown, dropped = at_width(matched_db, width, "report", "touchpoints")
    assert dropped == left_out
    assert shown == [c for c in TOUCHPOINTS_SHOWN if c not in left_out]
    cells = {"call-00T5g00000AbCdFAAV": ("call_session", "FT, LC", "1.0"),
             "call-00T5g00000AbCdEAAV": ("call_task", "LC", "0.5"),
             "call-00T5g00000AbCdHAAV": ("call_task", "PostLC", "0.0")}
    for touchpoint_id, (kind, position, credit) in cells.items():
        row = " ".join(word for word in re.split(r"[\s│]+", line_of(lines, touchpoint_id))
                       if word)
        assert row.endswith(f" {position} {credit}")  # neither cut nor wrapped
        assert "00Q5g00000XyZ1" in row  # the person, an 18-character WhoId, whole
        assert (f" {kind} " in row) == ("kind" in shown)
    visit = line_of(lines, "visit-2026-03-02:12-17-")  # folded, not cut, when narrow
    assert [w for w in re.split(r"[\s│]+", visit) if w][-2:] == ["FT", "0.5"]


def test_report_syncs_at_80_columns_wraps_the_error_and_keeps_the_counts(
        matched_db: Path) -> None:
    from calltui import store

    db = store.open_db(matched_db)
    store.log_failed_sync(db, "login", "INVALID_LOGIN: Invalid username, password, security "
                                       "token; or user locked out.")
    db.close()
    lines, shown, left_out = at_width(matched_db, 80, "report", "syncs")
    assert shown == ["id", "started_at", "mode", "status", "rows_upserted", "error"]
    assert left_out == ["window_start", "window_end", "rows_deleted", "api_calls",
                        "usage_before", "usage_after"]
    row = line_of(lines, "INVALID_LOGIN:").split()
    assert row[0] == "1" and row[2:] == ["login", "failed", "0", "INVALID_LOGIN:"]
    assert "locked out." in "\n".join(lines)  # wrapped between words, kept whole
    _, shown, left_out = at_width(matched_db, 120, "report", "syncs")
    assert left_out == ["window_start", "window_end", "usage_before", "usage_after"]  # empty


def test_report_rejects_at_80_columns_keeps_file_line_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "excel.csv"
    bad.write_text("ID,COOKIE_ID,EVENT_DATE\nS1,a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,3/2/2026 12:17\n")
    db = tmp_path / "c.db"
    CliRunner().invoke(cli, ["--db", str(db), "import", str(bad)])
    lines, shown, left_out = at_width(db, 80, "report", "rejects")
    assert shown == ["file", "line", "kind", "column", "reason"] and left_out == []
    text = "".join(line.split("│")[1].strip() for line in lines if line.startswith("│"))
    assert text == str(bad)  # folded onto lines, every character kept
    assert "│    2 │ sessions │ EVENT_DATE │ EVENT_DATE: bad" in line_of(lines, "EVENT_DATE │")


def test_the_import_summary_at_80_columns_folds_only_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "exports from the call tracking vendor, december"
    folder.mkdir()
    tasks = folder / "sf_tasks_page_with_a_long_name.json"
    tasks.write_bytes(SAMPLE_TASKS.read_bytes())
    lines, shown, left_out = at_width(tmp_path / "c.db", 80, "import", "--no-match", str(tasks))
    assert shown == ["kind", "rows", "stored", "rejected", "file"] and left_out == []
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines
            if line.startswith("│")]
    assert rows[0][:4] == ["tasks", "4", "4", "0"]
    assert "".join(row[4] for row in rows).replace(" ", "") == str(tasks).replace(" ", "")


def test_what_if_at_80_columns_keeps_both_statuses_whole(matched_db: Path) -> None:
    lines, _, left_out = at_width(matched_db, 80, "match", "--what-if", "--window-minutes",
                                  "50")
    assert left_out == []
    assert line_of(lines, "┃ task_id").split() == [
        "┃", "task_id", "┃", "call_at", "┃", "before", "┃", "after", "┃"]
    assert line_of(lines, "00T5g00000AbCdEAAV").split("│")[3:5] == [" outside_window ",
                                                                     " matched "]


def test_report_channels_at_80_columns_leaves_out_deleted_not_the_rate(matched_db: Path) -> None:
    lines, shown, left_out = at_width(matched_db, 80, "report", "channels")
    assert shown == ["channel", "matched", "outside", "before", "unknown", "missing", "calls",
                     "rate"]
    assert left_out == ["deleted"]
    assert line_of(lines, "Paid Search.AdWords").split() == [
        "Paid", "Search.AdWords", "0", "2", "0", "0", "0", "2", "0.0%"]
    assert line_of(lines, "total").split() == ["total", "1", "2", "0", "0", "1", "4", "25.0%"]
    _, _, left_out = at_width(matched_db, 100, "report", "channels")
    assert left_out == []


def test_fix_type_dry_run_at_80_columns_cuts_only_the_subject(matched_db: Path) -> None:
    lines, shown, left_out = at_width(matched_db, 80, "fix-type", "--set", "Call")
    assert shown == ["task_id", "call_at", "vendor", "subject"] and left_out == []
    row = line_of(lines, "00T5g00000AbCdFAAV").split()
    assert row[:2] == ["00T5g00000AbCdFAAV", "2026-03-02T09:19:30.000Z"]


def _interrupt_on_call(monkeypatch: pytest.MonkeyPatch, module: object, name: str,
                       after: int) -> None:
    """``module.name`` works ``after`` times, then raises KeyboardInterrupt (Ctrl-C)."""
    real, calls = getattr(module, name), [0]

    def step(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] > after:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, step)


def interrupted(db: Path, *args: str) -> str:
    """The last line of a command stopped by Ctrl-C, which exits 130."""
    result = run(db, *args)
    assert result.exit_code == 130
    return result.stderr.splitlines()[-1]


def test_ctrl_c_during_an_import_says_what_is_kept_and_logs_the_true_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.importer as importer

    monkeypatch.setattr(importer, "WAREHOUSE_BATCH", 2)
    _interrupt_on_call(monkeypatch, store, "upsert_values", 2)
    big = tmp_path / "big.csv"
    big.write_text("ID,COOKIE_ID,EVENT_DATE\n" + "".join(
        f"S{i},a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,2026-03-02 12:00:00.000\n" for i in range(9)))
    db = tmp_path / "c.db"
    assert interrupted(db, "import", "--no-match", str(SAMPLE_TASKS), str(big)) == (
        f"error: interrupted while importing {big}: 1 file before it imported whole; "
        "4 sessions stored and 0 rejected rows are kept; rows are upserted by ID, so run the "
        "same import again to finish it")
    [log, _] = store.recent_imports(store.open_db(db))
    assert (log["status"], log["rows_read"], log["rows_stored"], log["rows_rejected"],
            log["error"]) == ("interrupted", 6, 4, 0, "interrupted (Ctrl-C)")
    assert store.count_rows(store.open_db(db), "sessions") == 4


def test_ctrl_c_during_a_task_import_says_none_of_its_tasks_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.importer as importer

    _interrupt_on_call(monkeypatch, importer, "store_tasks", 0)
    db = tmp_path / "c.db"
    assert interrupted(db, "import", str(SAMPLE_TASKS)) == (
        f"error: interrupted while importing {SAMPLE_TASKS}: a Task file is stored whole or "
        "not at all, so none of its Tasks are kept; rows are upserted by ID, so run the same "
        "import again to finish it")
    [log] = store.recent_imports(store.open_db(db))
    assert (log["status"], log["rows_read"], log["rows_stored"]) == ("interrupted", 4, 0)


def test_ctrl_c_during_the_match_after_an_import_says_the_rows_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_on_call(monkeypatch, cli_module, "run_match", 0)
    db = tmp_path / "c.db"
    assert interrupted(db, "import", str(SAMPLE_SESSIONS)) == (
        "error: interrupted during the match: the imported rows are kept; run `calltui match` "
        "to finish it")
    assert store.count_rows(store.open_db(db), "sessions") == 3


def test_a_file_cut_short_is_shown_matched_and_exits_1(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv"
    cut.write_bytes(SAMPLE_SESSIONS.read_bytes()[:-40])
    db = tmp_path / "c.db"
    result = run(db, "import", str(SAMPLE_TASKS), str(cut))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {cut}: stopped at line 4: the file ends in the middle of a row (9 fields, "
        "header has 23): is it cut short? (2 rows stored, 1 rejected)")
    assert f"│ sessions │    3 │      2 │        1 │ {cut} " in result.stdout
    assert "│ missing_bizible_id          │ 1     │" in result.stdout  # the match ran
    assert store.count_rows(store.open_db(db), "sessions") == 2
