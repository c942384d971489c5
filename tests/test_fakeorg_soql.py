"""Unit tests for the fake org's SOQL parser and evaluator (no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from calltui.fakeorg import soql
from calltui.fakeorg.wire import TASK_FIELDS

SCHEMA = {f.name: f.type for f in TASK_FIELDS}

RECORDS: list[dict[str, Any]] = [
    {"Id": "T1", "Subject": "Inbound call", "Type": "Call", "CallDurationInSeconds": 30,
     "SystemModstamp": "2026-01-05T13:05:00.000+0000", "ActivityDate": "2026-01-05",
     "IsDeleted": False, "bizible2__BizibleId__c": "abc"},
    {"Id": "T2", "Subject": "It's 50% off", "Type": None, "CallDurationInSeconds": 95,
     "SystemModstamp": "2026-01-05T12:00:00.000+0000", "ActivityDate": "2026-01-04",
     "IsDeleted": False, "bizible2__BizibleId__c": None},
    {"Id": "T3", "Subject": "Email", "Type": "Email", "CallDurationInSeconds": None,
     "SystemModstamp": "2026-01-05T14:00:00.000+0000", "ActivityDate": None,
     "IsDeleted": True, "bizible2__BizibleId__c": "DEF"},
]


def run(text: str) -> list[str]:
    query = soql.resolve(soql.parse(text), SCHEMA)
    return [row["Id"] for row in soql.execute(query, RECORDS, SCHEMA)]


def test_parse_select_list_and_clauses() -> None:
    query = soql.parse("select Id, subject from Task where Type = 'Call' "
                       "order by SystemModstamp desc, Id limit 10 offset 2")
    assert query.fields == ("Id", "subject")
    assert query.sobject == "Task"
    assert query.order_by == (soql.OrderItem("SystemModstamp", True), soql.OrderItem("Id"))
    assert (query.limit, query.offset) == (10, 2)
    assert isinstance(query.where, soql.Comparison)


def test_count_query() -> None:
    query = soql.parse("SELECT COUNT() FROM Task WHERE IsDeleted = false")
    assert query.is_count and query.fields == ()


def test_resolve_makes_field_names_canonical() -> None:
    query = soql.resolve(soql.parse("SELECT id, SUBJECT FROM Task ORDER BY systemmodstamp"),
                         SCHEMA)
    assert query.fields == ("Id", "Subject")
    assert query.order_by[0].field == "SystemModstamp"


@pytest.mark.parametrize("literal", [
    "2026-01-05T13:05:00Z", "2026-01-05T13:05:00.000+0000", "2026-01-05T13:05:00+00:00",
    "2026-01-05T14:05:00+01:00", "2026-01-05T12:35:00.000-0030",
])
def test_datetime_literals_are_instants(literal: str) -> None:
    assert run(f"SELECT Id FROM Task WHERE SystemModstamp = {literal}") == ["T1"]


def test_half_open_datetime_window() -> None:
    text = ("SELECT Id FROM Task WHERE SystemModstamp >= 2026-01-05T12:00:00Z "
            "AND SystemModstamp < 2026-01-05T14:00:00Z ORDER BY SystemModstamp, Id")
    assert run(text) == ["T2", "T1"]


def test_date_literal_and_null_date() -> None:
    assert run("SELECT Id FROM Task WHERE ActivityDate >= 2026-01-05") == ["T1"]
    assert run("SELECT Id FROM Task WHERE ActivityDate = null") == ["T3"]


def test_and_or_not_and_parentheses() -> None:
    assert run("SELECT Id FROM Task WHERE Type = 'Call' OR (Type = null AND NOT "
               "CallDurationInSeconds < 90)") == ["T1", "T2"]
    assert run("SELECT Id FROM Task WHERE NOT (Type = 'Call' OR Type = 'Email')") == ["T2"]
    # AND binds tighter than OR
    assert run("SELECT Id FROM Task WHERE Type = 'Email' OR Type = 'Call' AND "
               "CallDurationInSeconds > 100") == ["T3"]


def test_null_comparisons_follow_soql() -> None:
    assert run("SELECT Id FROM Task WHERE bizible2__BizibleId__c != null") == ["T1", "T3"]
    assert run("SELECT Id FROM Task WHERE bizible2__BizibleId__c = null") == ["T2"]
    # != on a value also matches null rows; < never does
    assert run("SELECT Id FROM Task WHERE Type != 'Call'") == ["T2", "T3"]
    assert run("SELECT Id FROM Task WHERE CallDurationInSeconds < 1000") == ["T1", "T2"]
    assert run("SELECT Id FROM Task WHERE Type <> 'Call'") == ["T2", "T3"]


def test_strings_compare_case_insensitively() -> None:
    assert run("SELECT Id FROM Task WHERE bizible2__BizibleId__c = 'def'") == ["T3"]
    assert run("SELECT Id FROM Task WHERE Type IN ('call', 'EMAIL')") == ["T1", "T3"]
    assert run("SELECT Id FROM Task WHERE Type NOT IN ('Call')") == ["T3"]


def test_like_and_escapes() -> None:
    assert run("SELECT Id FROM Task WHERE Subject LIKE 'in%'") == ["T1"]
    assert run("SELECT Id FROM Task WHERE Subject LIKE 'E_ail'") == ["T3"]
    assert run("SELECT Id FROM Task WHERE Subject LIKE '%50\\% off'") == ["T2"]
    assert run("SELECT Id FROM Task WHERE Subject = 'It\\'s 50% off'") == ["T2"]


def test_boolean_literals() -> None:
    assert run("SELECT Id FROM Task WHERE IsDeleted = true") == ["T3"]
    assert run("SELECT Id FROM Task WHERE IsDeleted = FALSE") == ["T1", "T2"]


def test_order_by_with_nulls_and_desc() -> None:
    assert run("SELECT Id FROM Task ORDER BY CallDurationInSeconds") == ["T3", "T1", "T2"]
    assert run("SELECT Id FROM Task ORDER BY CallDurationInSeconds DESC") == ["T2", "T1", "T3"]
    assert run("SELECT Id FROM Task ORDER BY CallDurationInSeconds NULLS LAST") == [
        "T1", "T2", "T3"]
    assert run("SELECT Id FROM Task ORDER BY SystemModstamp DESC LIMIT 2") == ["T3", "T1"]
    assert run("SELECT Id FROM Task ORDER BY Type, Id") == ["T2", "T1", "T3"]


def test_limit_and_offset() -> None:
    assert run("SELECT Id FROM Task ORDER BY Id LIMIT 1 OFFSET 1") == ["T2"]


@pytest.mark.parametrize("text", [
    "", "SELECT FROM Task", "SELECT Id Task", "SELECT Id FROM Task WHERE",
    "SELECT Id FROM Task WHERE Type = ", "SELECT Id FROM Task WHERE (Type = 'a'",
    "SELECT Id FROM Task WHERE Type = 'unterminated", "SELECT Id, FROM Task",
    "SELECT Id FROM Task LIMIT x", "SELECT Id FROM Task ORDER Id", "SELECT Id FROM Task extra",
    "SELECT Id FROM Task WHERE Type # 'a'", "SELECT Id FROM Task WHERE Type > null",
])
def test_malformed_queries(text: str) -> None:
    with pytest.raises(soql.SoqlError) as info:
        soql.resolve(soql.parse(text), SCHEMA)
    assert info.value.code == "MALFORMED_QUERY"


@pytest.mark.parametrize("text, bad", [
    ("SELECT Id, Nope__c FROM Task", "Nope__c"),
    ("SELECT Id FROM Task WHERE BizibleId__c = 'x'", "BizibleId__c"),
    ("SELECT Id FROM Task ORDER BY Missing", "Missing"),
])
def test_unknown_field_is_invalid_field(text: str, bad: str) -> None:
    with pytest.raises(soql.SoqlError) as info:
        soql.resolve(soql.parse(text), SCHEMA)
    assert info.value.code == "INVALID_FIELD"
    assert info.value.message.startswith(f"No such column '{bad}' on entity 'Task'.")
    assert "append the '__c'" in info.value.message


@pytest.mark.parametrize("text", [
    "SELECT Id FROM Task WHERE SystemModstamp > '2026-01-05T13:05:00Z'",
    "SELECT Id FROM Task WHERE ActivityDate = 2026-01-05T00:00:00Z",
    "SELECT Id FROM Task WHERE CallDurationInSeconds = '5'",
    "SELECT Id FROM Task WHERE IsDeleted = 'true'",
    "SELECT Id FROM Task WHERE Subject = 5",
    "SELECT Id FROM Task WHERE CallDurationInSeconds LIKE '5%'",
])
def test_wrong_literal_type_is_rejected(text: str) -> None:
    with pytest.raises(soql.SoqlError) as info:
        soql.resolve(soql.parse(text), SCHEMA)
    assert info.value.code == "INVALID_QUERY_FILTER_OPERATOR"


def test_datetime_helpers_round_trip() -> None:
    moment = datetime(2026, 1, 5, 13, 5, 0, 123456, tzinfo=UTC)
    assert soql.format_datetime(moment) == "2026-01-05T13:05:00.123+0000"
    assert soql.parse_datetime("2026-01-05T13:05:00.123+0000") == moment.replace(
        microsecond=123000)
    assert soql.parse_datetime("2026-01-05T14:05:00+01:00") == datetime(
        2026, 1, 5, 13, 5, tzinfo=UTC)


def test_tokenizer_reads_literals() -> None:
    kinds = [(t.kind, t.text) for t in soql.tokenize("x >= 2026-01-05 AND y<-1.5")]
    assert kinds == [("IDENT", "x"), ("OP", ">="), ("DATE", "2026-01-05"), ("IDENT", "AND"),
                     ("IDENT", "y"), ("OP", "<"), ("NUMBER", "-1.5"), ("END", "")]
    literal = soql.parse("SELECT Id FROM Task WHERE ActivityDate = 2026-01-05").where
    assert isinstance(literal, soql.Comparison)
    assert literal.values[0] == soql.Literal("DATE", date(2026, 1, 5))
