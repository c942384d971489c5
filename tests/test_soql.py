"""calltui.sf.soql: the SOQL the sync sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from calltui.sf.soql import TaskQuery, call_filter_problem, soql_datetime


@pytest.mark.parametrize(("moment", "literal"), [
    (datetime(2026, 3, 1, 13, 5, 0, 123_999, tzinfo=UTC), "2026-03-01T13:05:00.123Z"),
    (datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), "2026-02-28T23:00:00.000Z"),
    # strftime's %Y writes year 226 as '226', which Salesforce refuses as MALFORMED_QUERY
    (datetime(226, 11, 1, tzinfo=UTC), "0226-11-01T00:00:00.000Z"),
])
def test_soql_datetime_is_utc_with_four_digit_years(moment: datetime, literal: str) -> None:
    assert soql_datetime(moment) == literal


def test_soql_datetime_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        soql_datetime(datetime(2026, 3, 1))  # noqa: DTZ001


def test_the_call_filter_is_bracketed_before_the_window() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    query = TaskQuery(call_filter="Type = 'Call' OR {bizible_id} != null")
    assert query.where(start, start + timedelta(days=1), deleted=True) == (
        "(Type = 'Call' OR bizible2__BizibleId__c != null) AND IsDeleted = true AND "
        "SystemModstamp >= 2026-03-01T00:00:00.000Z AND SystemModstamp < "
        "2026-03-02T00:00:00.000Z")


@pytest.mark.parametrize(("condition", "problem"), [
    ("Type = 'Call') OR (Id != null", "a ')' closes a parenthesis that was not opened"),
    ("((Type = 'Call')", "a '(' is not closed"),
    ("Subject = 'open", "a quote (') is not closed"),
    ("Subject = 'ends in a backslash\\'", "a quote (') is not closed"),
    ("Type = 'Call' ORDER  BY Subject", "ORDER BY ends a WHERE clause"),
    ("Type = 'Call' all rows", "ALL ROWS ends a WHERE clause"),
    ("Type = 'Call'", None),
    ("Subject LIKE '%)%' AND (Type = 'Call')", None),
    ("Subject = 'limit \\'offset\\''", None),
    ("Deal_With__c = true", None),  # a word inside a field name is not a clause
])
def test_call_filter_problem(condition: str, problem: str | None) -> None:
    assert call_filter_problem(condition) == problem
