"""SPEC §3 normal forms."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from calltui.normalize import (
    BizibleState,
    format_ts,
    normalize_bizible_id,
    parse_bool,
    parse_date,
    to_ts,
)

HEX = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-03-02T13:05:00.000+0000", "2026-03-02T13:05:00.000Z"),  # Salesforce REST
        ("2026-03-02T13:05:00.000Z", "2026-03-02T13:05:00.000Z"),  # Data Loader
        ("2026-03-02 13:05:00.000", "2026-03-02T13:05:00.000Z"),  # warehouse timestamp_ntz
        ("2026-03-02T13:05:00Z", "2026-03-02T13:05:00.000Z"),
        ("2026-03-02T15:05:00+02:00", "2026-03-02T13:05:00.000Z"),
        ("2026-03-02T08:05:00.5-0500", "2026-03-02T13:05:00.500Z"),
        ("2026-03-02 13:05", "2026-03-02T13:05:00.000Z"),
        ("2026-03-02T13:05:00.1234567Z", "2026-03-02T13:05:00.123Z"),
        ("2026-03-02T00:30:00.000+0100", "2026-03-01T23:30:00.000Z"),
        (1772456700000, "2026-03-02T13:05:00.000Z"),  # Bulk API 1 epoch milliseconds
    ],
)
def test_timestamps_land_in_one_utc_form(raw: object, stored: str) -> None:
    assert to_ts(raw) == stored


def test_naive_timestamps_are_read_in_the_source_time_zone() -> None:
    assert to_ts("2026-07-01 09:00:00", ZoneInfo("Europe/Rome")) == "2026-07-01T07:00:00.000Z"


def test_stored_form_sorts_as_time() -> None:
    values = ["2026-03-02 13:05:00.000", "2026-03-02T13:04:59.999+0000",
              "2026-03-02T14:00:00+01:00"]
    stored = sorted(to_ts(v) for v in values)
    assert stored == [
        "2026-03-02T13:00:00.000Z",
        "2026-03-02T13:04:59.999Z",
        "2026-03-02T13:05:00.000Z",
    ]


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-02 10:00:00", "2026-03-02T25:00:00Z",
                                 "02/03/2026 13:05", "2026-03-02T13:05:00+0000junk"])
def test_bad_timestamps_are_refused_with_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="bad timestamp"):
        to_ts(bad)


def test_blank_timestamp_is_none() -> None:
    assert to_ts("") is None
    assert to_ts("   ") is None
    assert to_ts(None) is None


def test_format_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_ts(datetime(2026, 1, 1))  # noqa: DTZ001
    assert format_ts(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


def test_dates_stay_dates() -> None:
    assert parse_date("2026-03-02") == "2026-03-02"
    assert parse_date("") is None
    with pytest.raises(ValueError):
        parse_date("March 2")


@pytest.mark.parametrize(
    ("raw", "value", "state"),
    [
        (HEX, HEX, BizibleState.OK),
        (f"  {HEX.upper()} ", HEX, BizibleState.OK),
        (f'"{HEX}"', HEX, BizibleState.OK),
        (f"'{HEX}'", HEX, BizibleState.OK),
        (f"_biz_uid={HEX}", HEX, BizibleState.OK),
        (f"_biz_uid={HEX.upper()}; _biz_flagsA=%7B%7D", HEX, BizibleState.OK),
        (f"_ga=GA1.2.3; _biz_uid={HEX}", HEX, BizibleState.OK),
        (None, None, BizibleState.MISSING),
        ("", None, BizibleState.MISSING),
        ("   ", None, BizibleState.MISSING),
        ('""', None, BizibleState.MISSING),
        ("undefined", None, BizibleState.PLACEHOLDER),
        ("NULL", None, BizibleState.PLACEHOLDER),
        ("None", None, BizibleState.PLACEHOLDER),
        ("0", None, BizibleState.PLACEHOLDER),
        (" 'null' ", None, BizibleState.PLACEHOLDER),
        ("abc123", "abc123", BizibleState.MALFORMED),
        (HEX + "0", HEX + "0", BizibleState.MALFORMED),
        ("GA1.2.1234.5678", "ga1.2.1234.5678", BizibleState.MALFORMED),
    ],
)
def test_bizible_ids(raw: str | None, value: str | None, state: BizibleState) -> None:
    assert normalize_bizible_id(raw) == (value, state)


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("FALSE", False), ("1", True),
                                            ("", False), (None, False), (True, True)])
def test_booleans(raw: object, value: bool) -> None:
    assert parse_bool(raw) is value


def test_bad_boolean() -> None:
    with pytest.raises(ValueError, match="bad boolean"):
        parse_bool("maybe")
