"""REST pages decoded by msgspec store every record as the dict way does."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlite_utils import Database

from calltui import store, sync
from calltui.fakeorg import FakeOrg
from calltui.records import TaskFields
from calltui.sf.client import _csv_rows, _plain
from calltui.sf.soql import TaskQuery
from calltui.typed_records import CsvTasks, TypedPage, csv_record, typed_tasks
from tests.test_records import BULK, HEX, ODD_VALUES, REST, long_way_values
from tests.test_sync import NOW, client_for

KEYS = tuple(TaskQuery().field_names())
TYPED = typed_tasks(TaskFields(), KEYS)

# Values msgspec lets through that the converter or the general way still has to judge.
# The Id's, the ActivityDate's and the timestamps' forms are the converter's to match.
PASSING_ODDITIES: dict[str, list[Any]] = {
    "Id": ["00T5g00000AbCdFAAV\n", "00T5g00000AbC", "00T5g00000AbCdF!AV", "00T5g00000AbCdFAAé",
           "00T5g00000AbCdF"],
    "Subject": ["", " ", "é, \"quoted\"\nline"],
    "CreatedDate": ["2026-02-31T13:05:00.000+0000", "2025-02-29T00:00:00.000Z", None,
                    "2026-03-02T13:05:00+01:00", "", "2026-03-02T24:05:00.000+0000"],
    "CompletedDateTime": ["2026-03-02T13:05:00.000Z", "2026-04-31T01:00:00.000+0000", None,
                          "2026-03-02 13:05:00", "2026-03-02T13:05:00.000+0000\n"],
    "bizible2__Bizible_Touchpoint_Date__c": [None, "2026-03-02T23:59:59.999+0000",
                                             "2026-03-02T13:05:00.000-0500", "yesterday"],
    "bizible2__BizibleId__c": [HEX.upper(), f" {HEX} ", "undefined", "", None, "abc",
                               f"_biz_uid={HEX}; x=1", "  "],
    "CallType": ["", " ", None], "Type": [None, "Email"], "TaskSubtype": ["Task", None],
    "CallDurationInSeconds": [0, -3, 2**53, None], "IsDeleted": [True],
    "ActivityDate": ["2026-02-31", None, "", "2026/03/02", "2026-03-02T00:00:00"],
}


def page_body(records: list[dict[str, Any]], done: bool = True) -> bytes:
    """A REST query page as Salesforce writes it, ``attributes`` first in each record."""
    url = "/services/data/v59.0/sobjects/Task/"
    wire = [{"attributes": {"type": "Task", "url": f"{url}{r.get('Id')}"}, **r} for r in records]
    return json.dumps({"totalSize": len(wire), "done": done, "records": wire}).encode()


def dict_way(body: bytes) -> tuple[list[Any], list[tuple[int, str]]]:
    """Rows and rejects as the sync stores a page decoded into dicts."""
    return stored(sync._planned([_plain(r) for r in json.loads(body)["records"]],
                                TaskFields(), 1))


def typed_way(body: bytes) -> tuple[list[Any], list[tuple[int, str]]] | None:
    assert TYPED is not None
    page = TYPED.decode(body)
    if page is None:
        return None
    return stored(sync._planned(TYPED.page(page.records), TaskFields(), 1))


def stored(planned: Any) -> tuple[list[Any], list[tuple[int, str]]]:
    """The page's rows as column dicts (the fast ones and the general way's), and the
    reasons given for the rest, in the page's order."""
    plan, values, rest = planned
    rows = [dict(zip(plan.columns, v, strict=True)) for v in values] if plan else []
    rejects = []
    for position, record in rest:
        row = long_way_values(record, TaskFields())
        if row is None:
            rejects.append((position, str(record.get("Id"))))
        else:
            rows.append(row)
    return sorted(rows, key=lambda r: (str(r["id"]), str(r))), rejects


def test_the_usual_page_decodes_typed_and_stores_the_same() -> None:
    records = [{**REST, "Id": f"00T5g00000AbC{n:02d}AAV"} for n in range(5)]
    body = page_body(records)
    assert typed_way(body) == dict_way(body)
    assert len(dict_way(body)[0]) == 5


@pytest.mark.parametrize("key", sorted(PASSING_ODDITIES))
def test_values_msgspec_passes_are_judged_as_the_dict_way_judges_them(key: str) -> None:
    for value in PASSING_ODDITIES[key]:
        body = page_body([REST, {**REST, "Id": "00T5g00000AbCdFAAV", key: value}])
        typed = typed_way(body)
        assert typed is not None, (key, value)  # msgspec let it through...
        assert typed == dict_way(body), (key, value)  # ...and it is stored the same


def test_a_record_with_no_call_time_or_a_bad_date_takes_the_general_way() -> None:
    no_time = {**REST, "Id": "00T5g00000AbCdFAAV", "CreatedDate": None,
               "bizible2__Bizible_Touchpoint_Date__c": None}
    bad_day = {**REST, "Id": "00T5g00000AbCdGAAV",
               "bizible2__Bizible_Touchpoint_Date__c": "2026-02-30T10:00:00.000+0000"}
    body = page_body([REST, no_time, bad_day])
    rows, rejects = typed_way(body) or ([], [])
    assert [r["id"] for r in rows] == [REST["Id"]]
    assert rejects == [(2, "00T5g00000AbCdFAAV"), (3, "00T5g00000AbCdGAAV")]
    assert (rows, rejects) == dict_way(body)


def test_odd_shapes_leave_the_page_to_the_dict_way() -> None:
    for key, values in ODD_VALUES.items():
        for value in values:
            if value in PASSING_ODDITIES.get(key, []) or value == REST.get(key):
                continue
            record = {**REST, key: value}
            if typed_way(page_body([record])) is not None:  # only values like REST's pass
                assert dict_way(page_body([record])) == typed_way(page_body([record]))
    missing = {k: v for k, v in REST.items() if k != "Status"}
    extra = {**REST, "Extra__c": 1}
    other_case = {k.lower() if k == "Subject" else k: v for k, v in REST.items()}
    for record in (missing, extra, other_case):
        assert typed_way(page_body([REST, record])) is None


def test_random_pages_store_the_same_either_way() -> None:
    rng = random.Random(7)
    oddities = {**{k: v for k, v in ODD_VALUES.items()}, **PASSING_ODDITIES}
    typed_pages = 0
    for n in range(400):
        records = []
        for m in range(rng.randrange(1, 6)):
            record = {**REST, "Id": f"00T5g0000{n:04d}{m:02d}AAV"}
            for _ in range(rng.randrange(3)):
                key = rng.choice(sorted(oddities))
                pool = PASSING_ODDITIES.get(key) if rng.random() < 0.8 else None
                record[key] = rng.choice(pool or oddities[key])
            records.append(record)
        body = page_body(records)
        typed = typed_way(body)
        if typed is not None:
            typed_pages += 1
            assert typed == dict_way(body), records
    assert typed_pages > 150  # most pages take the typed way; the others are odd on purpose


def test_a_page_that_is_not_of_the_usual_envelope_is_left_to_the_dict_way() -> None:
    assert TYPED is not None
    assert TYPED.decode(b'{"totalSize": 1, "done": "yes", "records": []}') is None
    assert TYPED.decode(b'[]') is None
    assert TYPED.decode(b'{"a": NaN}') is None
    assert TYPED.decode(b'{"done": true, "records": [], "other": 1}') is not None
    surrogate = page_body([REST]).replace(HEX.encode(), b"\\ud800")
    assert TYPED.decode(surrogate) is None  # orjson refuses it too; json decides


def test_other_fields_and_keys_get_their_own_typed_decoding() -> None:
    vendor = TaskFields(bizible_id="Vendor_Cookie__c")
    keys = TaskQuery(vendor).field_names()
    typed = typed_tasks(vendor, keys)
    assert typed is not None and typed.keys[-1] == "Vendor_Cookie__c"
    assert typed_tasks(TaskFields(), [*KEYS, "Other__c"]) is None  # no column for it
    assert typed_tasks(TaskFields(), [k for k in KEYS if k != "IsDeleted"]) is None


def test_the_client_yields_typed_pages_from_the_org_and_dicts_for_odd_ones(
        db: Database) -> None:
    with FakeOrg(page_size=2) as org:
        org.set_now(NOW)
        org.add_tasks([{**REST, "Id": None, "Subject": f"Call {n}"} for n in range(4)])
        org.add_tasks([{**REST, "Id": None, "Subject": 42}])  # a number where text belongs
        client = client_for(org)
        soql = TaskQuery().select(None, NOW)
        kinds = [type(page).__name__ for page in client.iter_query(soql, typed=TYPED)]
        result = sync.run_sync(db, client, sync.SyncOptions(full=True), now=NOW)
    assert kinds == ["TypedPage", "TypedPage", "list"]
    assert result.upserted == 5 and store.count_rows(db, "tasks") == 5
    subjects = {r["subject"] for r in db.query("SELECT subject FROM tasks")}
    assert subjects == {"Call 0", "Call 1", "Call 2", "Call 3", "42"}


@pytest.fixture
def page_kinds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The type of every page the sync converts, in order."""
    kinds: list[str] = []
    real = sync._planned

    def planned(records: Any, fields: TaskFields, first: int) -> Any:
        kinds.append(type(records).__name__)
        return real(records, fields, first)

    monkeypatch.setattr(sync, "_planned", planned)
    return kinds


def test_a_sync_of_usual_tasks_reads_every_page_typed(db: Database, page_kinds: list[str]
                                                     ) -> None:
    with FakeOrg(page_size=3) as org:
        org.set_now(NOW)
        ids = org.add_tasks([{**REST, "Id": None, "Subject": f"Call {n}"} for n in range(7)])
        client = client_for(org)
        sync.run_sync(db, client, sync.SyncOptions(full=True), now=NOW)
        org.delete_task(ids[0])
        sync.run_sync(db, client, sync.SyncOptions(), now=NOW + timedelta(minutes=5))
    # first sync: no deleted Tasks (one empty page), three pages of Tasks; the next: the
    # deleted one, and no changed Tasks (an empty page)
    assert page_kinds == ["TypedPage"] * 6
    assert store.count_rows(db, "tasks") == 7
    assert db.execute("SELECT is_deleted FROM tasks WHERE id = ?", [ids[0]]).fetchone() == (1,)


# ------------------------------------------------------------ Bulk API CSV rows


def csv_text(records: list[dict[str, Any]]) -> str:
    """A Bulk API results page as Salesforce writes it: every value quoted, null as ''."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(records[0])
    for record in records:
        writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v
                         for v in record.values()])
    return buffer.getvalue()


def csv_dict_way(text: str) -> tuple[list[Any], list[tuple[int, str]]]:
    header, rows = _csv_rows(text)
    return stored(sync._planned([csv_record(header, row) for row in rows], TaskFields(), 1))


def csv_rows_way(text: str) -> tuple[list[Any], list[tuple[int, str]]]:
    header, rows = _csv_rows(text)
    page = CsvTasks(TaskFields()).page(header, list(rows))
    assert isinstance(page, TypedPage)
    return stored(sync._planned(page, TaskFields(), 1))


def test_a_usual_csv_page_converts_its_rows_and_stores_the_same() -> None:
    text = csv_text([{**BULK, "Id": f"00T5g00000AbC{n:02d}AAV"} for n in range(5)])
    assert csv_rows_way(text) == csv_dict_way(text)
    assert len(csv_rows_way(text)[0]) == 5 and csv_rows_way(text)[1] == []


@pytest.mark.parametrize("key", sorted(ODD_VALUES.keys() | PASSING_ODDITIES.keys()))
def test_every_odd_csv_value_is_judged_as_the_dict_way_judges_it(key: str) -> None:
    for value in [*ODD_VALUES.get(key, []), *PASSING_ODDITIES.get(key, [])]:
        text = csv_text([BULK, {**BULK, "Id": "00T5g00000AbCdFAAV", key: value}])
        assert csv_rows_way(text) == csv_dict_way(text), (key, value)


def test_ragged_csv_rows_take_the_general_way_at_their_line() -> None:
    text = csv_text([BULK, {**BULK, "Id": "00T5g00000AbCdFAAV"}])
    lines = text.splitlines(keepends=True)
    short = lines[1].rsplit(",", 1)[0] + "\n"  # the last field missing
    long = lines[1].rstrip("\n") + ',"extra"\n'
    blank = "\n"  # skipped, as csv.DictReader does: not a line of its own
    text = "".join([lines[0], short, blank, lines[2], long])
    header, lines_read = _csv_rows(text)
    page = CsvTasks(TaskFields()).page(header, list(lines_read))
    _, values, rest = sync._planned(page, TaskFields(), 1)
    assert len(values) == 1 and [position for position, _ in rest] == [1, 3]
    assert rest[0][1]["bizible2__BizibleId__c"] is None  # padded, as DictReader pads
    assert rest[1][1][None] == ["extra"]  # collected, as DictReader collects
    rows, rejects = csv_rows_way(text)
    assert (rows, rejects) == csv_dict_way(text)
    assert sorted(r["id"] for r in rows) == [BULK["Id"], "00T5g00000AbCdFAAV"]  # short: kept
    assert rejects == [(3, BULK["Id"])]  # the long row is refused


def test_random_csv_pages_store_the_same_either_way() -> None:
    rng = random.Random(11)
    oddities = {**ODD_VALUES, **PASSING_ODDITIES}
    for n in range(300):
        records = []
        for m in range(rng.randrange(1, 6)):
            record = {**BULK, "Id": f"00T5g0000{n:04d}{m:02d}AAV"}
            for _ in range(rng.randrange(3)):
                key = rng.choice(sorted(oddities))
                record[key] = rng.choice(oddities[key])
            records.append(record)
        text = csv_text(records)
        assert csv_rows_way(text) == csv_dict_way(text), records


def test_a_csv_header_without_a_plan_gives_dicts() -> None:
    no_cookie = [{k: v for k, v in BULK.items() if k != "bizible2__BizibleId__c"}]
    extra = [{**BULK, "Other__c": "x"}]
    for records in (no_cookie, extra):
        header, rows = _csv_rows(csv_text(records))
        page = CsvTasks(TaskFields()).page(header, list(rows))
        assert page == [csv_record(header, row) for row in _csv_rows(csv_text(records))[1]]


def test_a_csv_header_in_capitals_converts_its_rows_too() -> None:
    text = csv_text([{k.upper(): v for k, v in BULK.items()}])  # as Data Loader writes
    assert csv_rows_way(text) == csv_dict_way(text)
    assert len(csv_rows_way(text)[0]) == 1


def test_a_bulk_sync_reads_its_csv_pages_as_rows(db: Database, page_kinds: list[str]
                                                 ) -> None:
    with FakeOrg(page_size=3) as org:
        org.set_now(NOW)
        org.add_tasks([{**REST, "Id": None, "Subject": f"Call {n}"} for n in range(7)])
        org.add_tasks([{**REST, "Id": None, "CreatedDate": None, "CompletedDateTime": None,
                        "bizible2__Bizible_Touchpoint_Date__c": None}])  # no call time
        result = sync.run_sync(db, client_for(org), sync.SyncOptions(
            full=True, bulk_threshold=0, bulk_poll_seconds=0.0), now=NOW)
    assert page_kinds and set(page_kinds) == {"TypedPage"}  # deleted ones by REST, then CSV
    assert result.upserted == 7 and result.rejected == 1
    assert store.count_rows(db, "tasks") == 7


def test_field_settings_in_another_case_still_read_every_page_typed(
    db: Database, page_kinds: list[str]
) -> None:
    """Settings are spelt as Salesforce spells the fields before the query is built, so
    a bizible_id_field in another case no longer sends every page the slow dict way."""
    fields = TaskFields(bizible_id="BIZIBLE2__BizibleID__C",
                        call_time=("bizible2__bizible_touchpoint_date__c", "completeddatetime",
                                   "CREATEDDATE"))
    with FakeOrg(page_size=3) as org:
        org.set_now(NOW)
        org.add_tasks([{**REST, "Id": None, "Subject": f"Call {n}"} for n in range(7)])
        sync.run_sync(db, client_for(org), sync.SyncOptions(full=True, fields=fields), now=NOW)
    assert page_kinds == ["TypedPage"] * 4
    assert store.count_rows(db, "tasks") == 7
