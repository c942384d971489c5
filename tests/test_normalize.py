"""SPEC §3 normal forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from calltui import normalize
from calltui.normalize import (
    BizibleState,
    format_ts,
    normalize_bizible_id,
    parse_bool,
    parse_date,
    parse_ts,
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


# --- fast paths: the same answers as the general path ---------------------------------


def reference_ts(value: str, naive_tz: tzinfo = UTC) -> str | None:
    """``to_ts`` before its Salesforce fast path: the UTC shortcut, else parse and format."""
    if not value.strip():
        return None
    fast = normalize._fast_utc(value.strip(), naive_tz)
    return fast if fast is not None else format_ts(parse_ts(value, naive_tz))


def parsed_ts(value: str, naive_tz: tzinfo = UTC) -> str | None:
    """No shortcut at all. (``format_ts`` writes years before 1000 unpadded, so compare
    with this only from year 1000 on.)"""
    if not value.strip():
        return None
    return format_ts(parse_ts(value, naive_tz))


def outcome(fn: object, *args: object) -> tuple[str, object]:
    try:
        return "ok", fn(*args)  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc)


TRICKY_TIMESTAMPS = [
    "2026-03-02T13:05:00.000+0000", "2026-03-02T13:05:00.000Z",  # REST, Bulk 2.0
    "2024-02-29T23:59:59.999+0000", "2024-02-29T00:00:00.000Z",  # a leap day
    "2025-02-29T10:00:00.000+0000", "2026-02-31T10:00:00.000Z",  # no such day
    "2026-04-31T10:00:00.000+0000", "2026-13-01T10:00:00.000Z", "2026-00-10T10:00:00.000Z",
    "2026-01-00T10:00:00.000Z", "2026-01-32T10:00:00.000Z", "0000-01-01T00:00:00.000Z",
    "0001-01-01T00:00:00.000+0000", "9999-12-31T23:59:59.999Z",
    "2026-03-02T24:00:00.000+0000", "2026-03-02T23:60:00.000Z", "2026-03-02T23:59:60.000Z",
    "2026-03-02T13:05:00.000z", "2026-03-02T13:05:00.000+00:00", "2026-03-02T13:05:00.000+00",
    "2026-03-02T13:05:00.000-0000", "2026-03-02T13:05:00.000+0100",
    "2026-03-02T13:05:00Z", "2026-03-02T13:05:00.1Z", "2026-03-02T13:05:00.1234+0000",
    "2026-03-02 13:05:00.000Z", "2026-03-02 13:05:00.000", " 2026-03-02T13:05:00.000Z",
    "2026-03-02T13:05:00.000Z ", "2026-03-02T13:05:00.000Z\n", "2026-03-02T13:05:00.000+0000x",
    "\u0662\u0660\u0662\u0666-03-02T13:05:00.000Z",  # Arabic-Indic digits: the long way
    "2026-03-02T13:05:00.000\uff3a", "2026-3-2T13:05:00.000Z", "20260302T130500Z",
]


@pytest.mark.parametrize("value", TRICKY_TIMESTAMPS)
@pytest.mark.parametrize("naive_tz", [UTC, ZoneInfo("Europe/Rome")])
def test_timestamp_fast_paths_agree_with_the_general_path(value: str, naive_tz: tzinfo) -> None:
    assert outcome(to_ts, value, naive_tz) == outcome(reference_ts, value, naive_tz)
    if not value.startswith("0"):
        assert outcome(to_ts, value, naive_tz) == outcome(parsed_ts, value, naive_tz)


@pytest.mark.parametrize("bad", ["2026-02-31T10:00:00.000Z", "2025-02-29T10:00:00.000+0000",
                                 "2026-13-01T10:00:00.000Z", "2026-04-31T10:00:00.000+0000",
                                 "0000-01-01T00:00:00.000Z", "2026-03-02T24:00:00.000Z"])
def test_impossible_salesforce_timestamps_are_still_refused(bad: str) -> None:
    for _ in range(2):  # the second time the date's verdict comes from the cache
        with pytest.raises(ValueError, match="bad timestamp"):
            to_ts(bad)


def test_date_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalize, "_DATE_OK", {})
    monkeypatch.setattr(normalize, "_DATE_OK_MAX", 3)
    days = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(10)]
    for day in days:
        stamp = format_ts(day)
        assert to_ts(stamp) == stamp
        assert len(normalize._DATE_OK) <= 3
    with pytest.raises(ValueError, match="bad timestamp"):
        to_ts("2026-02-30T00:00:00.000Z")


def random_timestamp(rng: random.Random) -> str:
    """Timestamp-shaped text, mostly near the fast forms, often slightly wrong."""
    def two(top: int) -> str:
        return f"{rng.randrange(top):02d}"
    date = f"{rng.choice(['2024', '2025', '2026', '0000', '0090', '1999'])}-{two(14)}-{two(33)}"
    time = f"{two(26)}:{two(62)}:{two(62)}"
    fraction = rng.choice([".000", ".123", ".999", ".5", ".123456", "", ",250"])
    zone = rng.choice(["Z", "+0000", "Z", "+0000", "z", "+00:00", "-0500", "", " Z", "+0000 "])
    sep = rng.choice(["T", "T", "T", "T", " ", "t"])
    text = f"{date}{sep}{time}{fraction}{zone}"
    if rng.random() < 0.1:
        position = rng.randrange(len(text))
        text = text[:position] + rng.choice("x9-:. ") + text[position + 1:]
    return text


def test_timestamp_fast_paths_agree_on_random_inputs() -> None:
    rng = random.Random(3)
    zones: list[tzinfo] = [UTC, timezone(timedelta(hours=-3)), ZoneInfo("America/New_York")]
    fast = 0
    for _ in range(5000):
        value, naive_tz = random_timestamp(rng), rng.choice(zones)
        fast += normalize._SF_TS(value) is not None
        assert outcome(to_ts, value, naive_tz) == outcome(reference_ts, value, naive_tz), value
        if not value.startswith("0"):
            assert outcome(to_ts, value, naive_tz) == outcome(parsed_ts, value, naive_tz), value
    assert fast > 250  # the new fast path was tried, on good and on impossible dates


@pytest.mark.parametrize("raw", [HEX, HEX.upper(), f" {HEX}", f"{HEX}\n", HEX[:31], HEX + "a",
                                 "g" * 32, "0" * 32, f"_biz_uid={HEX}"[:32]])
def test_bizible_fast_path_agrees_with_the_general_path(raw: str) -> None:
    # A quoted copy never takes the fast path; unquoting gives back the same text.
    assert normalize_bizible_id(raw) == normalize_bizible_id(f'"{raw}"')


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-02T13:05:00+14:00", "2026-03-01T23:05:00.000Z"),
    ("2026-03-02T13:05:00-1200", "2026-03-03T01:05:00.000Z"),
    ("2026-03-02T13:05:00+05:30", "2026-03-02T07:35:00.000Z"),
])
def test_offsets_up_to_fourteen_hours_are_read(text: str, expected: str) -> None:
    assert format_ts(parse_ts(text)) == expected


@pytest.mark.parametrize("offset", ["+25:00", "-15:00", "+05:75", "+2500"])
def test_an_offset_no_time_zone_has_is_refused(offset: str) -> None:
    text = f"2026-03-02T13:05:00{offset}"
    with pytest.raises(ValueError) as refused:
        parse_ts(text)
    assert str(refused.value) == f"bad timestamp {text!r}: no time zone is {offset} from UTC"
