"""Normal forms of SPEC §3: UTC timestamps, BizibleIds, booleans and blanks.

Everything that reaches the database passes through here, so that text order
is time order and the matcher compares like with like.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

__all__ = [
    "BizibleState",
    "canonical_zone",
    "format_ts",
    "is_blank",
    "localize",
    "normalize_bizible_id",
    "parse_bool",
    "parse_date",
    "parse_moment",
    "parse_ts",
    "to_ts",
]

_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_PLACEHOLDERS = frozenset({"undefined", "null", "none", "0"})
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n", ""})


def is_blank(value: object) -> bool:
    """True for None and for strings that are empty or only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def _offset(text: str | None) -> timedelta | None:
    if text is None:
        return None
    if text in ("Z", "z"):
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:  # no place on Earth is further from UTC than +14:00
        raise ValueError(f"no time zone is {text} from UTC")
    return sign * timedelta(hours=hours, minutes=minutes)


def parse_ts(value: object, naive_tz: tzinfo = UTC) -> datetime:
    """Parse a timestamp in any of the forms calltui reads into an aware UTC datetime.

    Accepts Salesforce ``2026-01-05T13:05:00.000+0000``, Data Loader ``...Z``,
    warehouse ``2026-01-05 13:05:00.000`` (naive: read in ``naive_tz``), offsets
    with or without a colon, and epoch milliseconds (Bulk API 1). Fractions
    beyond milliseconds are truncated. Raises ``ValueError`` naming the value.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}")
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str):
        raise ValueError(f"bad timestamp {value!r}")
    text = value.strip()
    if len(text) == 24 and text[10] == "T" and text[19] == "." and text[23] == "Z":
        try:  # the stored form, read back by the matcher and the screens: the C parser
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # the general path below names the fault
    m = _TS.match(text)
    if not m:
        raise ValueError(f"bad timestamp {value!r} ({TS_EXPECTED})")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    micro = int((m.group(7) or "0")[:3].ljust(3, "0")) * 1000
    try:
        naive = datetime(year, month, day, hour, minute, second, micro)  # noqa: DTZ001
    except ValueError as exc:
        raise ValueError(f"bad timestamp {value!r}: {exc}") from None
    try:
        offset = _offset(m.group(8))
    except ValueError as exc:
        raise ValueError(f"bad timestamp {value!r}: {exc}") from None
    if offset is None:
        return localize(naive, naive_tz)
    return (naive - offset).replace(tzinfo=UTC)


TS_EXPECTED = "expected a date and time, e.g. 2026-03-02 13:05:00 or 2026-03-02T13:05:00Z"

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "Universal",
                        "Etc/Universal", "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0",
                        "GMT0", "GMT+0", "GMT-0", "Greenwich", "Etc/Greenwich"})


def canonical_zone(zone: tzinfo) -> tzinfo:
    """``datetime.UTC`` for any spelling of UTC (``ZoneInfo("UTC")``, ``Etc/UTC``...), so the
    fast paths, which test ``zone is UTC``, apply; any other zone unchanged."""
    if zone is UTC or getattr(zone, "key", None) in _UTC_NAMES:
        return UTC
    return zone


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """A naive local time in ``zone`` as aware UTC; ``ValueError`` when the zone makes it
    non-existent (the hour skipped when clocks go forward) or ambiguous (the hour that
    happens twice when they go back).

    ``replace(tzinfo=zone)`` alone would silently pick one reading (``fold=0``). Both
    readings are computed; they differ only around a transition, and a reading that
    does not survive the round trip back to local time lies in a gap.
    """
    if zone is UTC:
        return naive.replace(tzinfo=UTC)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    name = getattr(zone, "key", None) or str(zone)
    shown = naive.isoformat(sep=" ")
    if first.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(
            f"local time {shown} does not exist in {name} (clocks went forward); "
            "check the export's time zone")
    raise ValueError(
        f"local time {shown} is ambiguous in {name} (clocks went back, it happened twice: "
        f"{format_ts(first)} or {format_ts(second)}); export in UTC to avoid this")


def format_ts(moment: datetime) -> str:
    """The stored form: ``YYYY-MM-DDTHH:MM:SS.fffZ``, fixed width, UTC."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


# The two forms Salesforce sends, ``2026-03-02T13:05:00.000+0000`` (REST) and
# ``2026-03-02T13:05:00.000Z`` (Bulk API 2.0): ASCII digits, time fields in range.
# Their first 23 characters already are the stored form; only the date needs a
# calendar check, which is cached per date (a sync sees few distinct days).
# Salesforce's UTC timestamps: ``2026-01-05T13:05:00.000+0000`` (REST) or ``...Z`` (Bulk)
SF_TS_PATTERN = (r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
                 r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}(?:Z|\+0000)")
_SF_TS = re.compile(SF_TS_PATTERN).fullmatch
_DATE_OK: dict[str, bool] = {}
_DATE_OK_MAX = 50_000


def _date_ok(text: str) -> bool:
    """Whether ``YYYY-MM-DD`` (ASCII digits, month and day already in 01..12/01..31) exists."""
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        ok = True
    except ValueError:
        ok = False
    if len(_DATE_OK) >= _DATE_OK_MAX:
        _DATE_OK.clear()
    _DATE_OK[text] = ok
    return ok


# The warehouse's naive UTC form, ``2026-03-02 13:05:00.000`` or without milliseconds.
_WH_TS = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{3})?"
).fullmatch


# For code that inlines the fast paths (records.values_plan, task_values_plan): the
# Salesforce and warehouse forms' matchers, the per-date calendar check (True/False;
# absent until ``to_ts`` or ``date_ok`` saw the date) and the clean-BizibleId matcher.
SF_TS = _SF_TS
WAREHOUSE_TS = _WH_TS
DATE_OK = _DATE_OK
date_ok = _date_ok
HEX32 = _HEX32.match


def to_ts(value: object, naive_tz: tzinfo = UTC) -> str | None:
    """Normalise a timestamp to the stored form; blank gives None."""
    if value.__class__ is str:
        if _SF_TS(value) is not None:
            day = value[:10]
            ok = _DATE_OK.get(day)
            if ok or (ok is None and _date_ok(day)):
                return value if len(value) == 24 else value[:23] + "Z"
        elif naive_tz is UTC and _WH_TS(value) is not None:
            day = value[:10]
            ok = _DATE_OK.get(day)
            if ok or (ok is None and _date_ok(day)):
                if len(value) == 23:
                    return f"{day}T{value[11:]}Z"
                return f"{day}T{value[11:]}.000Z"
    if is_blank(value):
        return None
    if isinstance(value, str):
        fast = _fast_utc(value.strip(), naive_tz)
        if fast is not None:
            return fast
    return format_ts(parse_ts(value, naive_tz))


def _fast_utc(text: str, naive_tz: tzinfo) -> str | None:
    """The common case without datetime arithmetic: already UTC (``Z``, ``+0000`` or naive UTC)."""
    m = _TS.match(text)
    if m is None or m.group(8) not in (None, "Z", "z", "+0000", "+00:00", "+00"):
        return None
    if m.group(8) is None and naive_tz is not UTC:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    try:
        datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - range check only
    except ValueError:
        return None  # parse_ts raises with the message
    millis = (m.group(7) or "0")[:3].ljust(3, "0")
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis}Z"


def parse_date(value: object) -> str | None:
    """A date-only field (``ActivityDate``) kept as ``YYYY-MM-DD``; never used for matching."""
    if is_blank(value):
        return None
    text = str(value).strip()
    if _DATE.match(text):
        return text
    return format_ts(parse_ts(text))[:10]


# Salesforce's date and time fields hold 1700-01-01 to 4000-12-31.
MOMENT_YEARS = (1700, 4000)


def parse_moment(text: str) -> datetime:
    """A command-line date or time (``--since``, ``--until``): a date alone is midnight UTC,
    a time without an offset is UTC. Raises ``ValueError`` with one line saying what is
    expected."""
    value = text.strip()
    if not value:
        raise ValueError("empty: give a date or a date and time, e.g. 2026-03-01 or "
                         "2026-03-01T13:05:00Z")
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{text!r} is not a date in the calendar") from None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    else:
        try:
            moment = parse_ts(value)
        except ValueError:
            raise ValueError(f"not a date or ISO time: {text!r} (e.g. 2026-03-01 or "
                             "2026-03-01T13:05:00Z)") from None
    if not MOMENT_YEARS[0] <= moment.year <= MOMENT_YEARS[1]:
        raise ValueError(f"{text!r} is outside the years Salesforce keeps dates for "
                         f"({MOMENT_YEARS[0]} to {MOMENT_YEARS[1]}): is the year mistyped?")
    return moment


def parse_bool(value: object) -> bool:
    """Warehouse and Salesforce booleans: ``true``/``false`` in any case, 1/0, blank = false."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"bad boolean {value!r}")


class BizibleState(StrEnum):
    """What a raw BizibleId turned out to be."""

    OK = "ok"
    MISSING = "missing"
    PLACEHOLDER = "placeholder"
    MALFORMED = "malformed"


def normalize_bizible_id(raw: object) -> tuple[str | None, BizibleState]:
    """Normalise a BizibleId or COOKIE_ID (SPEC §3).

    Strips white space and surrounding quotes, takes VALUE out of a whole
    cookie string (``_biz_uid=VALUE; other=...``) and lower-cases. Blank is
    missing; ``undefined``, ``null``, ``none`` and ``0`` are placeholders (also
    missing); anything that is not 32 hex characters is kept but malformed.
    """
    if raw.__class__ is str and len(raw) == 32 and _HEX32.match(raw):
        return raw, BizibleState.OK
    if raw is None:
        return None, BizibleState.MISSING
    text = _unquote(str(raw))
    marker = text.lower().find("_biz_uid=")
    if marker >= 0:
        text = _unquote(text[marker + len("_biz_uid=") :].split(";", 1)[0])
    value = text.lower()
    if not value:
        return None, BizibleState.MISSING
    if value in _PLACEHOLDERS:
        return None, BizibleState.PLACEHOLDER
    if _HEX32.match(value):
        return value, BizibleState.OK
    return value, BizibleState.MALFORMED


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text
