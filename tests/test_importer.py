"""``calltui import`` on every input shape, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from calltui import store
from calltui.importer import AllRejected, FileRefused, FileStopped, import_file
from calltui.match import run_match
from calltui.records import TaskFields
from tests.conftest import SAMPLE_SESSIONS, SAMPLE_TASKS

EXPECTED = {  # shared/samples/README.md
    "00T5g00000AbCdEAAV": ("outside_window", ["duplicate_call"]),
    "00T5g00000AbCdFAAV": ("matched", ["call_time_fallback", "type_blank"]),
    "00T5g00000AbCdGAAV": ("missing_bizible_id", ["call_time_fallback", "no_person"]),
    "00T5g00000AbCdHAAV": ("outside_window", ["duplicate_call"]),
}
SESSION_HEADER = "ID,COOKIE_ID,EVENT_DATE,CHANNEL,MEDIUM,IS_DELETED"
COOKIE = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"


def outcomes(db: Database) -> dict[str, tuple[str, list[str]]]:
    return {r["task_id"]: (r["status"], [f for f in r["flags"].split(",") if f])
            for r in db.query("SELECT task_id, status, flags FROM call_outcomes")}


def snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    return {t: list(db.query(f"SELECT * FROM {t} ORDER BY 1")) for t in
            ("tasks", "sessions", "rejects")}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sample_records() -> list[dict[str, Any]]:
    return list(json.loads(SAMPLE_TASKS.read_text())["records"])


def test_samples_give_the_documented_statuses_and_flags(db: Database) -> None:
    assert import_file(db, SAMPLE_TASKS).stored == 4
    assert import_file(db, SAMPLE_SESSIONS).stored == 3
    run_match(db)
    assert outcomes(db) == EXPECTED


def test_reimport_changes_nothing(db: Database) -> None:
    import_file(db, SAMPLE_TASKS)
    import_file(db, SAMPLE_SESSIONS)
    before = snapshot(db)
    import_file(db, SAMPLE_TASKS)
    import_file(db, SAMPLE_SESSIONS)
    assert snapshot(db) == before


def test_task_json_shapes_all_read_the_same(db: Database, tmp_path: Path) -> None:
    records = sample_records()
    page = {"totalSize": 4, "done": True, "records": records}
    pages = [{"totalSize": 4, "done": False, "records": records[:2]},
             {"totalSize": 4, "done": True, "records": records[2:]}]
    for name, body in (("page.json", page), ("pages.json", pages), ("list.json", records)):
        result = import_file(db, write(tmp_path / name, json.dumps(body)))
        assert (result.kind, result.read, result.stored) == ("tasks", 4, 4)


def test_data_loader_csv_with_capital_headers(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "extract.csv", (
        '"ID","TYPE","WHOID","CREATEDDATE","COMPLETEDDATETIME","ISDELETED",'
        '"BIZIBLE2__BIZIBLEID__C","BIZIBLE2__BIZIBLE_TOUCHPOINT_DATE__C"\n'
        f'"00T5g00000AbCdEAAV","Call","00Q5g00000XyZ12EAF","2026-03-02T13:06:10.000Z",'
        f'"2026-03-02T13:05:00.000Z","false","{COOKIE.upper()}",""\n'))
    result = import_file(db, path)
    assert (result.kind, result.stored, result.rejected) == ("tasks", 1, 0)
    row = db.table("tasks").get("00T5g00000AbCdEAAV")
    assert row["bizible_id"] == COOKIE
    assert (row["call_at"], row["call_at_field"]) == ("2026-03-02T13:05:00.000Z",
                                                      "CompletedDateTime")
    assert row["is_deleted"] == 0


def test_sessions_csv_gz_and_json_lines(db: Database, tmp_path: Path) -> None:
    gz = tmp_path / "BIZ_SESSIONS.csv.gz"
    gz.write_bytes(gzip.compress(SAMPLE_SESSIONS.read_bytes()))
    assert import_file(db, gz).stored == 3
    lines = tmp_path / "sessions.jsonl"
    lines.write_text("\n".join(json.dumps(
        {"id": f"S{i}", "cookie_id": COOKIE, "event_date": "2026-03-02 12:00:00.000",
         "channel": "Direct"}) for i in range(3)) + "\n")
    result = import_file(db, lines)
    assert (result.kind, result.stored) == ("sessions", 3)
    assert db.table("sessions").get("S1")["started_at"] == "2026-03-02T12:00:00.000Z"


def test_headers_are_case_insensitive_and_modified_date_may_have_a_space(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path / "s.csv", "id,Cookie_Id,event_date,MODIFIED DATE\n"
                 f"S1,{COOKIE},2026-03-02 12:00:00.000,2026-03-02 12:30:00.000\n")
    import_file(db, path)
    assert db.table("sessions").get("S1")["modified_date"] == "2026-03-02T12:30:00.000Z"


def test_page_views_and_form_submits(db: Database, tmp_path: Path) -> None:
    pv = write(tmp_path / "pv.csv", "ID,COOKIE_ID,SESSION_ID,EVENT_DATE,CURRENT_PAGE\n"
               f"P1,{COOKIE},S1,2026-03-02 12:20:00.000,https://x.test/\n")
    fs = write(tmp_path / "fs.csv", "ID,COOKIE_ID,SESSION_ID,EVENT_DATE,FORM_TYPE,EMAIL\n"
               f"F1,{COOKIE},S1,2026-03-02 12:21:00.000,Contact,a@b.test\n")
    assert import_file(db, pv).kind == "page-views"
    assert import_file(db, fs).kind == "form-submits"
    assert db.table("form_submits").get("F1")["event_at"] == "2026-03-02T12:21:00.000Z"


def test_deleted_sessions_take_no_part(db: Database, tmp_path: Path) -> None:
    import_file(db, SAMPLE_TASKS)
    lines = SAMPLE_SESSIONS.read_text().splitlines()
    lines[2] = lines[2][: -len("false")] + "true"  # the LinkedIn session of the matched call
    import_file(db, write(tmp_path / "s.csv", "\n".join(lines) + "\n"))
    run_match(db)
    assert outcomes(db)["00T5g00000AbCdFAAV"][0] == "call_before_session"


def test_bad_timestamp_row_is_rejected_with_file_line_and_reason(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\n"
                 f"S1,{COOKIE},2026-03-02 12:00:00.000,Direct,,false\n"
                 f"S2,{COOKIE},yesterday at noon,Direct,,false\n"
                 f"S3,{COOKIE},2026-03-02 13:00:00.000,Direct,,false\n")
    result = import_file(db, path)
    assert (result.read, result.stored, result.rejected) == (3, 2, 1)
    [reject] = store.page_rejects(db)
    assert reject == {"file": str(path), "line": 3, "kind": "sessions", "column": "EVENT_DATE",
                      "reason": "EVENT_DATE: bad timestamp 'yesterday at noon'"
        " (expected a date and time, e.g. 2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)"}


def test_a_task_time_with_an_offset_no_zone_has_is_rejected(db: Database,
                                                            tmp_path: Path) -> None:
    records = [{"Id": f"00T5g00000AbCd{n}EAA", "Type": "Call",
                "bizible2__BizibleId__c": COOKIE, "CreatedDate": f"2026-03-02T13:05:00.000{tz}"}
               for n, tz in ((1, "+2500"), (2, "+1400"))]
    path = write(tmp_path / "t.json", json.dumps({"records": records}))
    result = import_file(db, path)
    assert (result.stored, result.rejected) == (1, 1)
    [reject] = store.page_rejects(db)
    assert (reject["line"], reject["reason"]) == (
        1, "created_date: bad timestamp '2026-03-02T13:05:00.000+2500': no time zone is +2500 "
        "from UTC")
    assert db.table("tasks").get("00T5g00000AbCd2EAA")["call_at"] == "2026-03-01T23:05:00.000Z"


def test_rejected_rows_keep_their_line_across_embedded_newlines(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path / "t.csv", "Id,Description,CreatedDate,bizible2__BizibleId__c\n"
                 f'00T5g00000AbCdEAAV,"two\nlines",2026-03-02T13:06:10.000Z,{COOKIE}\n'
                 "00T5g00000AbCdFAAV,x,not a date,\n")
    import_file(db, path)
    assert [(r["line"], r["reason"]) for r in store.page_rejects(db)] == [
        (4, "created_date: bad timestamp 'not a date'"
        " (expected a date and time, e.g. 2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)")]


def test_task_rows_without_id_or_call_time_are_rejected(db: Database, tmp_path: Path) -> None:
    records = sample_records()
    records[0]["Id"] = ""
    records[1]["Id"] = "not-an-id!"
    for field in ("CreatedDate", "CompletedDateTime", "bizible2__Bizible_Touchpoint_Date__c"):
        records[2][field] = None
    result = import_file(db, write(tmp_path / "t.json", json.dumps(records)))
    assert (result.stored, result.rejected) == (1, 3)
    reasons = sorted(r["reason"] for r in store.page_rejects(db))
    assert reasons[0] == "Id 'not-an-id!' is not a Salesforce Id"
    assert reasons[1] == "missing Id"
    assert reasons[2].startswith("no call time:")


def test_rejects_are_replaced_when_the_file_is_fixed(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,{COOKIE},bad,Direct,,false\n")
    for _ in range(2):
        with pytest.raises(AllRejected):
            import_file(db, path)
        assert len(store.page_rejects(db)) == 1
    write(path, f"{SESSION_HEADER}\nS1,{COOKIE},2026-03-02 12:00:00,Direct,,false\n")
    import_file(db, path)
    assert store.page_rejects(db) == []


def test_missing_required_column_refuses_the_file(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", f"ID,COOKIE_ID,CHANNEL\nS1,{COOKIE},Direct\n")
    with pytest.raises(FileRefused) as info:
        import_file(db, path, "sessions")
    assert str(info.value) == f"{path}: missing required column EVENT_DATE for sessions"


def test_unknown_file_kind_is_refused_naming_the_file(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", "order_id,amount\n1,20\n")
    with pytest.raises(FileRefused, match=r"orders\.csv: not a calltui input"):
        import_file(db, path)
    assert store.count_rows(db, "tasks") == 0


def test_empty_file_is_refused(db: Database, tmp_path: Path) -> None:
    for name, text in (("empty.csv", ""), ("blank.json", "  \n\n")):
        with pytest.raises(FileRefused, match=f"{name}: empty file"):
            import_file(db, write(tmp_path / name, text))


def test_header_only_csv_imports_nothing(db: Database, tmp_path: Path) -> None:
    result = import_file(db, write(tmp_path / "s.csv", SESSION_HEADER + "\n"))
    assert (result.read, result.stored) == (0, 0)


def test_truncated_json_is_refused_and_stored_rows_are_kept(
    db: Database, tmp_path: Path
) -> None:
    import_file(db, SAMPLE_TASKS)
    before = snapshot(db)
    text = SAMPLE_TASKS.read_text()
    path = write(tmp_path / "cut.json", text[: len(text) // 2])
    with pytest.raises(FileRefused, match=r"cut\.json: not valid JSON \(truncated\?\) at line"):
        import_file(db, path)
    assert snapshot(db) == before
    [run] = [r for r in store.recent_imports(db) if r["file"] == str(path)]
    assert run["status"] == "refused"


def test_truncated_json_lines_keep_the_good_lines(db: Database, tmp_path: Path) -> None:
    good = json.dumps({"ID": "S1", "COOKIE_ID": COOKIE, "EVENT_DATE": "2026-03-02 12:00:00"})
    path = write(tmp_path / "s.jsonl", good + "\n" + good.replace("S1", "S2")[:30])
    result = import_file(db, path)
    assert (result.stored, result.rejected) == (1, 1)
    [reject] = store.page_rejects(db)
    assert reject["line"] == 2 and reject["reason"].startswith("not valid JSON")


def test_wrong_field_count_row_is_rejected(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,{COOKIE}\n")
    with pytest.raises(AllRejected, match=r"every row was rejected \(1\); the first, line 2: "
                       "2 fields, header has 6"):
        import_file(db, path)
    assert store.page_rejects(db)[0]["reason"] == "2 fields, header has 6"


def test_placeholder_cookie_session_is_rejected(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,undefined,2026-03-02 12:00,,,false\n")
    with pytest.raises(AllRejected):
        import_file(db, path)
    assert store.page_rejects(db)[0]["reason"] == "COOKIE_ID is a placeholder ('undefined')"


def test_partial_task_update_keeps_stored_columns(db: Database, tmp_path: Path) -> None:
    """Field report 6: upserting {Id, Status} must not erase the stored BizibleId."""
    import_file(db, SAMPLE_TASKS)
    update = [{"Id": "00T5g00000AbCdEAAV", "Status": "Closed"},
              {**sample_records()[1], "Id": "00T5g00000AbCdXAAV"}]
    import_file(db, write(tmp_path / "u.json", json.dumps(update)))
    row = db.table("tasks").get("00T5g00000AbCdEAAV")
    assert (row["status"], row["bizible_id"]) == ("Closed", COOKIE)
    assert row["call_at"] == "2026-03-02T13:05:00.000Z"


def test_source_tz_reads_naive_warehouse_times(db: Database, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,{COOKIE},2026-03-02 13:00,,,false\n")
    import_file(db, path, naive_tz=ZoneInfo("America/New_York"))
    assert db.table("sessions").get("S1")["started_at"] == "2026-03-02T18:00:00.000Z"


def test_task_export_without_the_bizible_field_is_refused(db: Database, tmp_path: Path) -> None:
    records = [{k: v for k, v in r.items() if k != "bizible2__BizibleId__c"}
               for r in sample_records()]
    path = write(tmp_path / "t.json", json.dumps(records))
    with pytest.raises(FileRefused, match=r"t\.json: no bizible2__BizibleId__c column"):
        import_file(db, path)
    assert store.count_rows(db, "tasks") == 0


@pytest.mark.parametrize(("source", "kind", "detected"), [
    (SAMPLE_TASKS, "sessions", "tasks"),
    (SAMPLE_SESSIONS, "tasks", "sessions"),
])
def test_a_forced_kind_that_does_not_fit_is_refused(
    db: Database, source: Path, kind: str, detected: str
) -> None:
    with pytest.raises(FileRefused, match=f"--kind {kind} does not fit: the file looks like "
                       f"{detected}"):
        import_file(db, source, kind)
    assert store.page_rejects(db) == []


def test_a_forced_kind_among_warehouse_tables_is_honoured(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "pv.csv", "ID,COOKIE_ID,SESSION_ID,EVENT_DATE,CHANNEL\n"
                 f"P1,{COOKIE},S1,2026-03-02 12:20:00.000,Direct\n")
    assert import_file(db, path).kind == "sessions"
    assert import_file(db, path, "page-views").kind == "page-views"


@pytest.mark.parametrize(("header", "missing", "kind"), [
    ("ID,EVENT_DATE,CHANNEL,LANDING_PAGE", "COOKIE_ID", "sessions"),
    ("Subject,Type,WhoId,CreatedDate,bizible2__BizibleId__c", "Id", "tasks"),
])
def test_missing_key_columns_are_named(
    db: Database, tmp_path: Path, header: str, missing: str, kind: str
) -> None:
    path = write(tmp_path / "f.csv", header + "\n")
    with pytest.raises(FileRefused, match=f"missing required column {missing} for {kind}"):
        import_file(db, path)


# --- issue 4: warehouse imports at scale ----------------------------------------------


def test_every_export_kind_with_lower_case_spaced_headers_bom_and_crlf(
    db: Database, tmp_path: Path
) -> None:
    bom = "\ufeff"
    files = {
        "s.csv": "id,cookie id,event date,channel,modified date\r\n"
                 f"S1,{COOKIE},2026-03-02 12:00:00.000,Direct,2026-03-02 12:30:00\r\n",
        "pv.csv": "Id,Cookie_Id,Session_Id,Event_Date,Current_Page\r\n"
                  f"P1,{COOKIE},S1,2026-03-02 12:20:00,https://x.test/\r\n",
        "fs.csv": "ID,COOKIE_ID,SESSION_ID,EVENT_DATE,FORM_TYPE,EMAIL\r\n"
                  f"F1,{COOKIE},S1,2026-03-02 12:21:00.5,Contact,a@b.test\r\n",
    }
    kinds = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_bytes((bom + text).encode("utf-8"))
        kinds.append(import_file(db, path).kind)
    assert kinds == ["sessions", "page-views", "form-submits"]
    session = db.table("sessions").get("S1")
    assert (session["started_at"], session["modified_date"], session["channel"]) == (
        "2026-03-02T12:00:00.000Z", "2026-03-02T12:30:00.000Z", "Direct")
    assert db.table("page_views").get("P1")["event_at"] == "2026-03-02T12:20:00.000Z"
    assert db.table("form_submits").get("F1")["event_at"] == "2026-03-02T12:21:00.500Z"


def test_quoted_fields_with_commas_and_newlines(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "ID,COOKIE_ID,EVENT_DATE,LANDING_PAGE,CAMPAIGN_NAME\n"
                 f'S1,{COOKIE},2026-03-02 12:00:00,"https://x.test/?a=1,2","Spring,\n""B"""\n'
                 f"S2,{COOKIE},bad,,\n")
    result = import_file(db, path)
    assert (result.stored, result.rejected) == (1, 1)
    row = db.table("sessions").get("S1")
    assert (row["landing_page"], row["campaign_name"]) == ("https://x.test/?a=1,2",
                                                           'Spring,\n"B"')
    assert store.page_rejects(db)[0]["line"] == 4  # S2 starts on line 4, after the newline


@pytest.mark.parametrize(("text", "value"), [
    ("true", 1), ("TRUE", 1), ("True", 1), ("tRuE", 1), (" true ", 1), ("1", 1),
    ("false", 0), ("FALSE", 0), ("False", 0), ("fAlSe", 0), ("", 0), ("0", 0),
])
def test_booleans_in_every_casing(db: Database, tmp_path: Path, text: str, value: int) -> None:
    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,{COOKIE},2026-03-02 12:00,,,{text}\n")
    import_file(db, path)
    assert db.table("sessions").get("S1")["is_deleted"] == value


@pytest.mark.parametrize(("text", "stored"), [
    ("2026-03-02 12:00:00.000", "2026-03-02T12:00:00.000Z"),
    ("2026-03-02 12:00:00.123", "2026-03-02T12:00:00.123Z"),
    ("2026-03-02 12:00:00", "2026-03-02T12:00:00.000Z"),
    ("2026-03-02 12:00", "2026-03-02T12:00:00.000Z"),
    ("2026-03-02T12:00:00.123456", "2026-03-02T12:00:00.123Z"),
    ("2026-03-02T12:00:00.000Z", "2026-03-02T12:00:00.000Z"),
    ("2026-03-02T13:00:00+01:00", "2026-03-02T12:00:00.000Z"),
])
def test_timestamps_with_and_without_milliseconds(
    db: Database, tmp_path: Path, text: str, stored: str
) -> None:
    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,{COOKIE},{text},,,false\n")
    import_file(db, path)
    assert db.table("sessions").get("S1")["started_at"] == stored


def test_source_tz_across_dst_changes(db: Database, tmp_path: Path) -> None:
    """Europe/Rome: 2026-03-29 02:00-03:00 does not exist; 2026-10-25 02:00-03:00 happens twice."""
    from zoneinfo import ZoneInfo

    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\n"
                 f"W1,{COOKIE},2026-03-29 01:59:59,,,false\n"  # CET, +01:00
                 f"GAP,{COOKIE},2026-03-29 02:30:00,,,false\n"
                 f"S1,{COOKIE},2026-03-29 03:00:00,,,false\n"  # CEST, +02:00
                 f"S2,{COOKIE},2026-10-25 01:59:59,,,false\n"  # CEST
                 f"AMB,{COOKIE},2026-10-25 02:30:00,,,false\n"
                 f"W2,{COOKIE},2026-10-25 03:00:00,,,false\n")  # CET
    result = import_file(db, path, naive_tz=ZoneInfo("Europe/Rome"))
    assert (result.stored, result.rejected) == (4, 2)
    started = {r["id"]: r["started_at"] for r in db.query("SELECT * FROM sessions")}
    assert started == {"W1": "2026-03-29T00:59:59.000Z", "S1": "2026-03-29T01:00:00.000Z",
                       "S2": "2026-10-24T23:59:59.000Z", "W2": "2026-10-25T02:00:00.000Z"}
    gap, amb = store.page_rejects(db)
    assert (gap["line"], gap["column"]) == (3, "EVENT_DATE")
    assert "does not exist in Europe/Rome" in gap["reason"]
    assert (amb["line"], amb["column"]) == (6, "EVENT_DATE")
    assert "is ambiguous in Europe/Rome" in amb["reason"]
    assert "2026-10-25T00:30:00.000Z or 2026-10-25T01:30:00.000Z" in amb["reason"]


def test_a_zone_without_dst_rejects_nothing(db: Database, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    path = write(tmp_path / "s.csv", f"{SESSION_HEADER}\nS1,{COOKIE},2026-03-29 02:30,,,false\n")
    import_file(db, path, naive_tz=ZoneInfo("Asia/Tokyo"))
    assert db.table("sessions").get("S1")["started_at"] == "2026-03-28T17:30:00.000Z"


@pytest.mark.parametrize(("line", "reason", "column"), [
    (f"S1,{COOKIE},,,,false", "EVENT_DATE is empty", "EVENT_DATE"),
    (f",{COOKIE},2026-03-02 12:00,,,false", "ID is empty", "ID"),
    ("S1,,2026-03-02 12:00,,,false", "COOKIE_ID is empty", "COOKIE_ID"),
    ("S1,null,2026-03-02 12:00,,,false", "COOKIE_ID is a placeholder ('null')", "COOKIE_ID"),
    (f"S1,{COOKIE},2026-02-30 12:00,,,false",
     "EVENT_DATE: bad timestamp '2026-02-30 12:00': day is out of range for month", "EVENT_DATE"),
    (f"S1,{COOKIE},2026-03-02 12:00,,,maybe", "IS_DELETED: bad boolean 'maybe'", "IS_DELETED"),
    (f"S1,{COOKIE},2026-03-02 12:00,,,false,extra", "7 fields, header has 6", None),
    (f'S1,"{COOKIE},2026-03-02 12:00,,,false\nS2,{COOKIE},2026-03-02 12:00,,,false',
     "2 fields, header has 6; a quoted field runs on from line 2 to line 3: is a quote "
     "left open?", None),
])
def test_each_kind_of_bad_row_keeps_what_was_imported_before(
    db: Database, tmp_path: Path, line: str, reason: str, column: str | None
) -> None:
    import_file(db, SAMPLE_SESSIONS)
    before = {t: list(db.query(f"SELECT * FROM {t} ORDER BY 1")) for t in ("sessions", "tasks")}
    path = write(tmp_path / "bad.csv", f"{SESSION_HEADER}\n{line}\n")
    with pytest.raises(AllRejected):
        import_file(db, path)
    [reject] = store.page_rejects(db)
    assert (reject["line"], reject["reason"], reject["column"]) == (2, reason, column)
    assert {t: list(db.query(f"SELECT * FROM {t} ORDER BY 1"))
            for t in ("sessions", "tasks")} == before


def test_truncated_gzip_keeps_committed_rows_and_says_where_it_stopped(
    db: Database, tmp_path: Path
) -> None:
    body = f"{SESSION_HEADER}\n" + "".join(
        f"S{i:06d},{COOKIE},2026-03-02 12:00:00.000,Direct,,false\n" for i in range(20_000))
    data = gzip.compress(body.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    with pytest.raises(FileStopped) as stopped:
        import_file(db, path)
    result = stopped.value.result
    assert 0 < result.stored < 20_000
    [reject] = store.page_rejects(db)
    assert reject["line"] == result.stored + 2
    reason = ("unreadable from this line on (Compressed file ended before the end-of-stream "
              "marker was reached); the rows before it are stored: fix the file and import it "
              "again")
    assert reject["reason"] == reason
    assert str(stopped.value) == (f"{path}: stopped at line {reject['line']}: {reason} "
                                  f"({result.stored:,} rows stored, 1 rejected)")
    [log] = store.recent_imports(db, 1)
    assert (log["status"], log["rows_stored"], log["error"]) == (
        "stopped", result.stored, f"line {reject['line']}: {reason}")
    path.write_bytes(data)  # the whole file again: nothing doubled, nothing lost
    assert import_file(db, path).stored == 20_000
    assert store.count_rows(db, "sessions") == 20_000
    assert store.page_rejects(db) == []


def test_big_first_load_builds_the_indexes_at_the_end(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.importer as importer

    monkeypatch.setattr(importer, "BULK_BYTES", 0)
    monkeypatch.setattr(importer, "WAREHOUSE_BATCH", 2)
    indexes = {r["name"] for r in db.query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'")}
    assert import_file(db, SAMPLE_SESSIONS).stored == 3
    assert {r["name"] for r in db.query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'")
    } == indexes
    assert store.count_rows(db, "pending_indexes") == 0


def test_indexes_set_aside_by_a_killed_import_come_back(db: Database) -> None:
    store.set_indexes_aside(db, "sessions")
    assert store.count_rows(db, "pending_indexes") >= 2
    import_file(db, SAMPLE_SESSIONS)
    names = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"sessions_cookie", "sessions_started"} <= names


def test_json_lines_gz_and_many_batches(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.importer as importer

    monkeypatch.setattr(importer, "WAREHOUSE_BATCH", 7)
    lines = "".join(json.dumps({"ID": f"P{i}", "COOKIE_ID": COOKIE, "SESSION_ID": "S1",
                                "EVENT_DATE": "2026-03-02 12:20:00", "IS_DELETED": i == 3})
                    + "\n" for i in range(30))
    path = tmp_path / "pv.jsonl.gz"
    path.write_bytes(gzip.compress(lines.encode()))
    result = import_file(db, path)
    assert (result.kind, result.stored) == ("page-views", 30)
    assert db.table("page_views").get("P3")["is_deleted"] == 1


def test_directory_and_glob_import_every_file_sorted_skipping_hidden(tmp_path: Path) -> None:
    from calltui.sources.files import expand_inputs

    folder = tmp_path / "exports"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.csv", "a.csv.gz", ".DS_Store"):
        (folder / name).write_text("x")
    files, notes, refused = expand_inputs([folder, tmp_path / "exports" / "*.csv",
                                           tmp_path / "nothing" / "*.csv"])
    assert files == [folder / "a.csv.gz", folder / "b.csv", folder / "b.csv"]
    assert notes[0] == (f"{folder}/: 2 files (a.csv.gz, b.csv); skipped hidden: .DS_Store; "
                        "skipped folders: sub")
    assert refused == [f"{tmp_path / 'nothing' / '*.csv'}: 0 files: nothing to import"]


def test_a_warehouse_file_is_stored_with_fewer_collections(db: Database) -> None:
    """Rows a batch holds are freed by reference counting: the cycle collector waits for
    50,000 new objects meanwhile (import bench: 33 s down to 27 s), then is as it was."""
    import gc

    from calltui import heap

    saved = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    import_file(db, SAMPLE_SESSIONS, on_progress=lambda done, total: seen.append(
        gc.get_threshold()))
    assert seen[0] == (max(saved[0], heap.YOUNG_OBJECTS), *saved[1:])  # while it stores
    assert gc.get_threshold() == saved


# --- a column given twice ---------------------------------------------------------------

TASK_CSV_HEADER = "Id,Type,CreatedDate,bizible2__BizibleId__c"
TASK_CSV_ROW = f"00T5g00000AbCdEAAV,Call,2026-03-02T13:05:00.000Z,{COOKIE}"


@pytest.mark.parametrize(("header", "extra", "named"), [
    (SESSION_HEADER, ",ID", "duplicated column ID (columns 1 and 7)"),
    (SESSION_HEADER, ",cookie id", "duplicated column COOKIE_ID (columns 2 and 7)"),
    (SESSION_HEADER, ",Id,Channel",
     "duplicated columns ID (columns 1 and 7), CHANNEL (columns 4 and 8)"),
    (TASK_CSV_HEADER, ",ID", "duplicated column Id (columns 1 and 5)"),
    (TASK_CSV_HEADER, ",BIZIBLE2__BIZIBLEID__C",
     "duplicated column bizible2__BizibleId__c (columns 4 and 5)"),
])
def test_a_column_given_twice_refuses_the_file_and_stores_nothing(
    db: Database, tmp_path: Path, header: str, extra: str, named: str
) -> None:
    import_file(db, SAMPLE_TASKS)
    import_file(db, SAMPLE_SESSIONS)
    before = snapshot(db)
    row = TASK_CSV_ROW if header == TASK_CSV_HEADER else f"S9,{COOKIE},2026-03-02 12:00,,,false"
    values = ",x" * extra.count(",")
    path = write(tmp_path / "dup.csv", f"{header}{extra}\n{row}{values}\n")
    with pytest.raises(FileRefused) as refused:
        import_file(db, path)
    assert str(refused.value) == (f"{path}: {named}: calltui cannot tell which to read; "
                                  "remove the extra one and import again")
    assert snapshot(db) == before


def test_the_configured_bizible_field_given_twice_is_refused(db: Database,
                                                             tmp_path: Path) -> None:
    fields = TaskFields(bizible_id="Cookie__c")
    path = write(tmp_path / "dup.csv", f"Id,CreatedDate,Cookie__c,COOKIE__C\n"
                 f"00T5g00000AbCdEAAV,2026-03-02T13:05:00.000Z,{COOKIE},x\n")
    with pytest.raises(FileRefused, match=r"duplicated column Cookie__c \(columns 3 and 4\)"):
        import_file(db, path, fields=fields)
    assert store.count_rows(db, "tasks") == 0


def test_a_column_calltui_does_not_read_may_be_given_twice(db: Database,
                                                           tmp_path: Path) -> None:
    path = write(tmp_path / "notes.csv", f"{SESSION_HEADER},NOTE,note\n"
                 f"S1,{COOKIE},2026-03-02 12:00,,,false,a,b\n")
    assert import_file(db, path).stored == 1


def test_json_records_with_two_keys_for_one_column_are_rejected(db: Database,
                                                                tmp_path: Path) -> None:
    sessions = write(tmp_path / "s.jsonl", json.dumps(
        {"ID": "S1", "id": "S2", "COOKIE_ID": COOKIE, "EVENT_DATE": "2026-03-02 12:00"}) + "\n"
        + json.dumps({"ID": "S3", "COOKIE_ID": COOKIE, "EVENT_DATE": "2026-03-02 12:00"}) + "\n")
    assert import_file(db, sessions).stored == 1
    task = {**sample_records()[0], "ID": "00T5g00000AbCdXAAV"}
    tasks = write(tmp_path / "t.json", json.dumps([task, sample_records()[1]]))
    assert import_file(db, tasks).stored == 1
    assert [(r["file"], r["line"], r["column"], r["reason"])
            for r in store.page_rejects(db)] == [
        (str(sessions), 1, "ID", "fields 'ID' and 'id' fill one column: calltui cannot tell "
         "which to read"),
        (str(tasks), 1, "Id", "fields 'Id' and 'ID' fill one column: calltui cannot tell "
         "which to read"),
    ]
    assert db.table("sessions").count == 1


# --- a number where a timestamp belongs; every bad field named ---------------------------

NUMBER_REASON = ("a number (12345) where a timestamp belongs (expected a date and time, e.g. "
                 "2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)")
JUNK_REASON = ("bad timestamp 'junk' (expected a date and time, e.g. 2026-03-02 13:05:00 or "
               "2026-03-02T13:05:00Z)")


@pytest.mark.parametrize("number", [12345, 12345.0])
def test_a_number_for_a_task_time_is_rejected_and_the_stored_time_kept(
    db: Database, tmp_path: Path, number: float
) -> None:
    import_file(db, SAMPLE_TASKS)
    before = db.table("tasks").get("00T5g00000AbCdEAAV")
    records = sample_records()
    records[0]["CreatedDate"] = number
    result = import_file(db, write(tmp_path / "t.json", json.dumps(records)))
    assert (result.stored, result.rejected) == (3, 1)
    [reject] = store.page_rejects(db)
    assert (reject["line"], reject["column"], reject["reason"]) == (
        1, "CreatedDate", "created_date: " + NUMBER_REASON.replace("12345", repr(number)))
    assert db.table("tasks").get("00T5g00000AbCdEAAV") == before


def test_a_number_for_a_session_start_is_rejected(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", json.dumps(
        {"ID": "S1", "COOKIE_ID": COOKIE, "EVENT_DATE": 12345}) + "\n" + json.dumps(
        {"ID": "S2", "COOKIE_ID": COOKIE, "EVENT_DATE": "2026-03-02 12:00"}) + "\n")
    assert import_file(db, path).stored == 1
    [reject] = store.page_rejects(db)
    assert (reject["line"], reject["column"], reject["reason"]) == (
        1, "EVENT_DATE", "EVENT_DATE: " + NUMBER_REASON)


def test_every_bad_field_of_a_row_is_named(db: Database, tmp_path: Path) -> None:
    records = sample_records()
    records[0].update(CreatedDate="junk", CompletedDateTime=12345)
    tasks = write(tmp_path / "t.json", json.dumps(records))
    sessions = write(tmp_path / "s.csv", f"{SESSION_HEADER},MODIFIED_DATE\n"
                     f"S1,undefined,junk,,,maybe,12345\nS2,{COOKIE},2026-03-02 12:00,,,,\n")
    import_file(db, tasks)
    import_file(db, sessions)
    assert [(r["column"], r["reason"]) for r in store.page_rejects(db)] == [
        ("COOKIE_ID, EVENT_DATE, IS_DELETED, MODIFIED_DATE",
         "COOKIE_ID is a placeholder ('undefined'); EVENT_DATE: " + JUNK_REASON
         + "; IS_DELETED: bad boolean 'maybe'; MODIFIED_DATE: bad timestamp '12345' "
         "(expected a date and time, e.g. 2026-03-02 13:05:00 or 2026-03-02T13:05:00Z)"),
        ("CreatedDate, CompletedDateTime",
         f"created_date: {JUNK_REASON}; completed_datetime: {NUMBER_REASON}"),
    ]


def test_a_cancel_logs_what_the_import_kept(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's x during a big import logged 'cancelled, read 0, stored 0' while 355,000
    sessions were kept."""
    from calltui import importer
    from calltui.sources.files import Cancelled

    monkeypatch.setattr(importer, "WAREHOUSE_BATCH", 5)
    path = tmp_path / "BIZ_SESSIONS.csv"
    path.write_text("ID,COOKIE_ID,EVENT_DATE\n" + "".join(
        f"s{i},{i:032x},2026-03-02T13:{i:02d}:00Z\n" for i in range(12)))
    db = store.open_db(tmp_path / "c.db")
    calls = []

    def cancel_at_the_second_batch(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        import_file(db, path, on_progress=cancel_at_the_second_batch)
    last = store.last_import(db)
    assert last is not None
    assert (last["status"], last["rows_stored"], last["error"]) == (
        "cancelled", 10, "cancelled by the user")
    assert last["rows_read"] >= 10
    assert store.count_rows(db, "sessions") == 10
