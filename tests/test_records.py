"""Fast paths of the sync pipeline give what the general paths give.

``task_row`` takes a per-key-set plan for the usual value shapes and the long way
(``_task_row``) for everything else; ``_csv_rows`` and ``csv_record`` stand in for
``csv.DictReader``; ``store.upsert`` groups rows by key set and binds them with ``itemgetter``.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from calltui import records, store
from calltui.records import RowError, TaskFields, _task_row, derive_task, task_row
from calltui.sf.client import _csv_rows, _decode_json, _plain
from calltui.typed_records import csv_record

HEX = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"
REST = {  # a REST query record, attributes already stripped
    "Id": "00T5g00000AbCdEAAV", "Subject": "Call", "Type": "Call", "TaskSubtype": "Call",
    "CallType": "Inbound", "CallDurationInSeconds": 120, "Status": "Completed",
    "WhoId": "00Q5g00000XyZ12EAF", "WhatId": None, "OwnerId": "0055g00000ApiUsAAA",
    "Description": None, "ActivityDate": "2026-03-02",
    "CreatedDate": "2026-03-02T13:05:00.000+0000", "CompletedDateTime": None,
    "SystemModstamp": "2026-03-02T13:06:00.000+0000", "IsDeleted": False,
    "bizible2__Bizible_Touchpoint_Date__c": "2026-03-02T13:05:30.000+0000",
    "bizible2__BizibleId__c": HEX,
}
BULK = {k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in REST.items()} | {"CreatedDate": "2026-03-02T13:05:00.000Z"}

ODD_VALUES: dict[str, list[Any]] = {
    "Id": ["00T5g00000AbCdE", "00T5g00000AbCdEAAV\n", " 00T5g00000AbCdEAAV", "", None, "short",
           12345, "00T5g00000AbCdEAA!"],
    "Subject": ["", "  ", 12, 1.5, True, ["a"], {"a": 1}, "Call, \"quoted\"\nline"],
    "CallDurationInSeconds": [0, -3, 2**60 + 1, 12.7, "12", " 12 ", "12.5", "1e3", "", " ",
                              "x", "\u0661\u0662", True, None],
    "IsDeleted": [True, False, "true", "FALSE", "1", 0, 1, "", None, "yes", "maybe", " true"],
    "ActivityDate": ["2026-03-02", " 2026-03-02", "2026-03-02\n", "2026-02-31", "",
                     "2026-03-02T13:05:00Z", "\u0662\u0660\u0662\u0666-03-02", "March 2", None],
    "CreatedDate": ["2026-03-02T13:05:00.000Z", "2026-02-31T13:05:00.000Z", "", " ", None,
                    "2026-03-02 13:05:00", "2026-03-02T15:05:00+02:00", 1772456700000,
                    "yesterday", "2026-03-02T24:00:00.000+0000", ["x"]],
    "bizible2__BizibleId__c": [HEX.upper(), f" {HEX} ", "undefined", "", None, "abc",
                               f"_biz_uid={HEX}; x=1"],
}


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except (RowError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        return type(exc).__name__, str(exc)


def both_ways(record: dict[str, Any], fields: TaskFields = TaskFields(),
              naive_tz: tzinfo = UTC) -> tuple[str, Any]:
    fast = outcome(task_row, record, fields, naive_tz)
    assert fast == outcome(_task_row, record, fields, naive_tz), record
    return fast


@pytest.mark.parametrize("base", [REST, BULK], ids=["rest", "bulk"])
def test_planned_rows_equal_the_long_way_field_by_field(base: dict[str, Any]) -> None:
    assert both_ways(base)[0] == "ok"
    for key, values in ODD_VALUES.items():
        for value in values:
            both_ways({**base, key: value})


def test_planned_rows_equal_the_long_way_on_random_records() -> None:
    rng = random.Random(7)
    zones: list[tzinfo] = [UTC, timezone(timedelta(hours=2)), ZoneInfo("Europe/Rome")]
    shapes = [REST, BULK, {k.upper(): v for k, v in BULK.items()},  # Data Loader headers
              {k: v for k, v in REST.items() if k not in ("Subject", "IsDeleted")}]
    for _ in range(3000):
        record = dict(rng.choice(shapes))
        for _ in range(rng.randrange(3)):
            name = rng.choice(list(ODD_VALUES))
            key = name.upper() if rng.random() < 0.2 else name  # maybe a second key for it
            record[key] = rng.choice(ODD_VALUES[name])
        both_ways(record, TaskFields(), rng.choice(zones))


@pytest.mark.parametrize("base", [REST, BULK], ids=["rest", "bulk"])
def test_usual_records_take_the_plan(base: dict[str, Any]) -> None:
    plan = records._plan(TaskFields(), UTC, tuple(base))
    assert plan is not None
    assert records._planned_row(base, plan, UTC) == task_row(base)


def test_two_keys_for_one_column_and_odd_keys_go_the_long_way() -> None:
    refused = ("RowError", "fields 'Id' and 'ID' fill one column: calltui cannot tell which "
               "to read")
    assert both_ways({**REST, "ID": "00T5g00000ZZZZZAAA"}) == refused  # neither wins unseen
    assert both_ways({"ID": "00T5g00000ZZZZZAAA", **REST}) == (
        "RowError", "fields 'ID' and 'Id' fill one column: calltui cannot tell which to read")
    assert both_ways({**REST, "Unknown__c": "x"})[1] == task_row(REST)
    assert both_ways({**REST, 7: "x"})[0] == "AttributeError"  # type: ignore[dict-item]


def test_plans_follow_the_key_set_and_the_options() -> None:
    vendor = TaskFields(bizible_id="Vendor_Cookie__c", call_time=("CompletedDateTime",))
    vendor_record = {**REST, "Vendor_Cookie__c": HEX.upper(), "CompletedDateTime":
                     "2026-03-02T14:00:00.000+0000"}
    rome = ZoneInfo("Europe/Rome")
    naive = {**REST, "CreatedDate": "2026-07-01 09:00:00"}
    for _ in range(3):  # alternate, so that every plan is reused after another one
        assert both_ways(REST)[1]["bizible_id_raw"] == HEX
        assert both_ways(vendor_record, vendor)[1]["bizible_id_raw"] == HEX.upper()
        assert both_ways(BULK)[1]["is_deleted"] == 0
        assert both_ways(naive, TaskFields(), rome)[1]["created_date"] == \
            "2026-07-01T07:00:00.000Z"
        assert both_ways(naive)[1]["created_date"] == "2026-07-01T09:00:00.000Z"


def test_rows_are_new_dicts() -> None:
    row = task_row(REST)
    row["origin"] = "x"
    assert "origin" not in task_row(REST)


def test_task_fields_answers_are_fresh_and_bad_call_time_keeps_failing() -> None:
    fields = TaskFields()
    fields.field_map()["id"] = "oops"
    fields.call_time_columns().append(("x", "y"))
    assert fields.field_map()["id"] == "id"
    assert fields.call_time_columns()[-1] == ("CreatedDate", "created_date")
    bad = TaskFields(call_time=("Subject",))
    for _ in range(2):
        with pytest.raises(ValueError, match="not a datetime field"):
            bad.call_time_columns()
    unhashable = TaskFields(call_time=(["CreatedDate"],))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):  # what it always raised: a list has no lower()
        unhashable.call_time_columns()


def test_derive_task_after_a_planned_row() -> None:
    derived = derive_task({**task_row(REST), "origin": "salesforce"})
    assert derived["bizible_id"] == HEX and derived["bizible_state"] == "ok"
    assert derived["call_at"] == "2026-03-02T13:05:30.000Z"
    assert (derived["call_at_field"], derived["call_time_fallback"]) == (
        "bizible2__Bizible_Touchpoint_Date__c", 0)
    assert derive_task(task_row({**BULK, "bizible2__BizibleId__c": HEX.upper()}))[
        "bizible_id"] == HEX


def long_way_values(record: dict[str, Any], fields: TaskFields) -> dict[str, Any] | None:
    """``task_row`` then ``derive_task``, as the sync stored every record before plans."""
    try:
        return derive_task({**task_row(record, fields), "origin": "salesforce"}, fields)
    except (RowError, ValueError, TypeError, AttributeError, OverflowError):
        return None


def planned_values(record: dict[str, Any], fields: TaskFields = TaskFields(),
                   keys: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """The values plan's row for ``record``, checked against the long way."""
    plan = records.task_values_plan(fields, keys or tuple(record))
    values = records.task_values(plan, record, "salesforce") if plan else None
    row = None if values is None else dict(zip(plan.columns, values, strict=True))  # type: ignore[union-attr]
    if row is not None:  # never a row the long way would refuse or store otherwise
        assert row == long_way_values(record, fields), record
    return row


@pytest.mark.parametrize("base", [REST, BULK], ids=["rest", "bulk"])
def test_values_plans_give_the_long_ways_row(base: dict[str, Any]) -> None:
    assert planned_values(base) is not None  # the usual shape takes the plan
    for key, values in ODD_VALUES.items():
        for value in values:
            planned_values({**base, key: value})


def test_values_plans_on_random_records_and_fields() -> None:
    rng = random.Random(11)
    vendor = TaskFields(bizible_id="Vendor_Cookie__c", call_time=("CompletedDateTime",
                                                                  "CreatedDate"))
    shapes = [(REST, TaskFields()), (BULK, TaskFields()),
              ({k.upper(): v for k, v in BULK.items()}, TaskFields()),
              ({**{k: v for k, v in REST.items() if k != "bizible2__BizibleId__c"},
                "Vendor_Cookie__c": HEX.upper()}, vendor)]
    planned = 0
    for _ in range(3000):
        base, fields = rng.choice(shapes)
        record = dict(base)
        for _ in range(rng.randrange(4)):
            name = rng.choice(list(ODD_VALUES))
            key = next((k for k in record if k.lower() == name.lower()), name)
            record[key] = rng.choice(ODD_VALUES[name])
        for name in rng.sample(["CompletedDateTime", "CreatedDate",
                                "bizible2__Bizible_Touchpoint_Date__c"], rng.randrange(3)):
            key = next((k for k in record if k.lower() == name.lower()), name)
            record[key] = rng.choice([None, "", "2026-03-02T13:05:00.000+0000"])
        planned += planned_values(record, fields, tuple(base)) is not None
    assert planned > 1000  # most records take the plan; the rest are odd on purpose


def test_values_plans_refuse_partial_and_doubled_keys_and_odd_records() -> None:
    partial = {k: v for k, v in REST.items() if k != "IsDeleted"}
    assert records.task_values_plan(TaskFields(), tuple(partial)) is None  # merged first
    assert records.task_values_plan(TaskFields(), (*REST, "ID")) is None
    plan = records.task_values_plan(TaskFields(), tuple(REST))
    assert plan is not None and plan.columns[-7:] == (
        "bizible_id", "bizible_state", "call_at", "call_at_field", "call_time_fallback",
        "is_call", "origin")
    assert records.task_values(plan, {**REST, "Extra__c": 1}) is None  # other keys
    assert records.task_values(plan, partial | {"Other": False}) is None
    no_time = {**REST, "CreatedDate": None, "bizible2__Bizible_Touchpoint_Date__c": ""}
    assert records.task_values(plan, no_time) is None  # the long way gives the reason
    values = records.task_values(plan, {**REST, "CallType": " ", "Type": "Email",
                                        "TaskSubtype": "Task", "bizible2__BizibleId__c": None})
    assert values is not None and values[-2] == 0  # not a call
    cookie = records.task_values(plan, {**REST, "bizible2__BizibleId__c": "undefined"})
    assert cookie is not None and cookie[-7:-5] == [None, "placeholder"]


# --- Salesforce client parsing -------------------------------------------------------

CSV_TEXTS = [
    "",
    '"Id","Subject"\n',
    '"Id","Subject"\n"00T1","a"\n"00T2",""\n',
    '"Id","Subject"\n"00T1","a, b"\n\n"00T2","line\nbreak"\n',
    '"Id","Subject"\n"00T1"\n"00T2","a","extra","more"\n',
    '"Id","Id"\n"1","2"\n"3"\n',
    '\ufeff"Id","Subject"\r\n"00T1","a ""quoted"" word"\r\n',
    "\n\"Id\"\n\"1\"\n",
    '"Id","Subject"\n"00T1","no newline at the end"',
    'Id,Subject\n00T1,a\rb\n00T2,"c\rd"\n',  # a carriage return: the StringIO way
    '"Id","Subject"\n"00T1","\u2028 \x0c \x1c"\n',  # not line ends for csv
]


@pytest.mark.parametrize("text", CSV_TEXTS)
def test_parse_csv_matches_dictreader(text: str) -> None:
    expected = [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
    header, rows = _csv_rows(text)  # as bulk_query reads a page, without DictReader's cost
    assert [csv_record(header, row) for row in rows] == expected


@pytest.mark.parametrize("body", [
    b'{"totalSize": 1, "done": true, "records": [{"Id": "00T1", "Subject": "caf\xc3\xa9"}]}',
    b'{"a": NaN, "b": -Infinity}',  # json reads these; orjson does not
    b'{"big": 123456789012345678901234567890, "f": 1e400}',
    b'{"lone": "\\ud800", "pair": "\\ud83d\\ude00"}',
    b'{"k": 1, "k": 2}',
    b'\xef\xbb\xbf{"bom": 1}',
])
def test_query_pages_decode_as_json_does(body: bytes) -> None:
    try:
        expected = json.loads(body)
    except ValueError:
        with pytest.raises(ValueError):  # what json refuses stays refused
            _decode_json(body)
        return
    got = _decode_json(body)
    assert json.dumps(got) == json.dumps(expected)  # NaN != NaN, so compare the text


@pytest.mark.parametrize("body", [b"", b"<html>proxy</html>", b'{"a": ', b'\xff\xfe'])
def test_what_is_not_json_is_refused_by_both(body: bytes) -> None:
    with pytest.raises(ValueError):
        _decode_json(body)


def test_plain_drops_attributes_only() -> None:
    record = json.loads('{"attributes": {"type": "Task"}, "Id": "1", "Who": {"attributes": 1}}')
    assert _plain(record) == {"Id": "1", "Who": {"attributes": 1}}


# --- store.upsert -----------------------------------------------------------------------


def old_upsert(db: Database, table: str, rows: list[dict[str, Any]]) -> int:
    """``store.upsert`` as it was: group by sorted keys, bind lists."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for keys, group in groups.items():
        cols = ", ".join(f'"{k}"' for k in keys)
        marks = ", ".join("?" for _ in keys)
        updates = ", ".join(f'"{k}" = excluded."{k}"' for k in keys if k != "id")
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        db.conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks}) '
                            f"ON CONFLICT (id) {action}", ([r[k] for k in keys] for r in group))
    return len(rows)


def test_upsert_groups_and_binds_as_before(tmp_path: Any) -> None:
    batches = [
        [{"id": "1", "a": "a1", "b": "b1"}, {"b": "b2", "id": "2", "a": "a2"},
         {"id": "1", "a": "a1-later"}, {"a": "a2-later", "b": "b2-later", "id": "2"},
         {"id": "3"}, {"id": "1", "b": "b1-last", "a": "a1-last"}],
        [{"id": "3"}, {"id": "4"}],  # one key: nothing to update
        [{"id": "1", "a": None}, {"id": "5", "b": "x"}, {"b": "y", "id": "5"}],
    ]
    tables = []
    for name, upsert in (("new", store.upsert), ("old", old_upsert)):
        db = store.open_db(tmp_path / f"{name}.db")
        db.execute("CREATE TABLE things (id TEXT PRIMARY KEY, a TEXT, b TEXT)")
        for batch in batches:
            with db.atomic():
                assert upsert(db, "things", iter(batch) if name == "new" else batch) == len(batch)
        tables.append(list(db.query("SELECT * FROM things ORDER BY id")))
        db.close()
    assert tables[0] == tables[1]
    assert tables[0][0] == {"id": "1", "a": None, "b": "b1-last"}


def test_an_id_with_a_final_newline_is_refused_both_ways() -> None:
    record = {**REST, "Id": "00T5g00000AbCdEAAV\n"}
    with pytest.raises(RowError) as caught:
        task_row(record)
    assert str(caught.value) == "Id '00T5g00000AbCdEAAV\\n' is not a Salesforce Id"
    assert caught.value.column == "Id"
    assert planned_values(record) is None  # the values plan leaves it to the long way
