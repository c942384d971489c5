"""Turn one input record (a Salesforce Task, a warehouse row) into a database row.

Shared by the file importer and the Salesforce sync, so a Task reads the same
whichever way it arrived. Field names are matched case-insensitively (Data
Loader writes them in capitals). A record that cannot be used raises
``RowError`` with the reason; the caller keeps it in the rejects table.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, Literal, TypeVar

from msgspec.structs import astuple

from calltui.normalize import (
    DATE_OK,
    HEX32,
    SF_TS,
    TS_EXPECTED,
    WAREHOUSE_TS,
    BizibleState,
    date_ok,
    is_blank,
    normalize_bizible_id,
    parse_bool,
    parse_date,
    to_ts,
)

__all__ = [
    "TASK_FIELDS",
    "WAREHOUSE_TABLES",
    "RowError",
    "TaskFields",
    "derive_task",
    "duplicated_columns",
    "task_row",
    "task_values",
    "task_values_plan",
    "values_plan",
    "warehouse_row",
    "warehouse_values",
]

SF_ID_PATTERN = r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?"  # a Salesforce Id, 15 or 18 characters
_SF_ID = re.compile(SF_ID_PATTERN)  # used with fullmatch: no final newline slips through


class RowError(ValueError):
    """A record that cannot be stored; the message is the reason shown to the admin.

    ``column`` names the field at fault, as the admin knows it, when there is one.
    """

    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.column = column


# Salesforce API name -> column in the tasks table.
TASK_FIELDS: dict[str, str] = {
    "Id": "id",
    "Subject": "subject",
    "Type": "type",
    "TaskSubtype": "task_subtype",
    "CallType": "call_type",
    "CallDurationInSeconds": "call_duration_seconds",
    "Status": "status",
    "WhoId": "who_id",
    "WhatId": "what_id",
    "OwnerId": "owner_id",
    "Description": "description",
    "ActivityDate": "activity_date",
    "CreatedDate": "created_date",
    "CompletedDateTime": "completed_datetime",
    "SystemModstamp": "system_modstamp",
    "IsDeleted": "is_deleted",
    "bizible2__BizibleId__c": "bizible_id_raw",
    "bizible2__Bizible_Touchpoint_Date__c": "bizible_touchpoint_date",
}
TS_COLUMNS = frozenset(
    {"created_date", "completed_datetime", "system_modstamp", "bizible_touchpoint_date"}
)
# Columns derive_task reads; a record lacking any of them is merged with the stored row first.
DERIVE_INPUTS = frozenset(
    {"type", "task_subtype", "call_type", "bizible_id_raw", "is_deleted"} | TS_COLUMNS
)


@dataclass(frozen=True)
class TaskFields:
    """Which Salesforce fields hold the BizibleId and the call time (orgs differ)."""

    bizible_id: str = "bizible2__BizibleId__c"
    call_time: tuple[str, ...] = (
        "bizible2__Bizible_Touchpoint_Date__c",
        "CompletedDateTime",
        "CreatedDate",
    )

    def field_map(self) -> dict[str, str]:
        """Lower-cased API name -> column, with the configured BizibleId field."""
        return dict(_field_map(self))

    def call_time_columns(self) -> list[tuple[str, str]]:
        """(API name, column) for each call-time field, in order of preference."""
        return list(_call_time_columns(self))


_T = TypeVar("_T")


def _per_fields(build: Callable[[TaskFields], _T]) -> Callable[[TaskFields], _T]:
    """Memoise ``build(fields)``: a sync asks for the same answer once per record.

    The last TaskFields is recognised by identity (hashing a dataclass costs as much
    as a small build); others come from a cache. Unhashable field names (a bad config)
    are built afresh, giving the result or error they always gave.
    """
    cached = functools.lru_cache(maxsize=64)(build)
    last: list[tuple[Any, Any]] = [(None, None)]

    def get(fields: TaskFields) -> _T:
        memo_fields, memo = last[0]
        if fields is memo_fields:
            return memo  # type: ignore[no-any-return]
        try:
            result = cached(fields)
        except TypeError:
            return build(fields)
        last[0] = (fields, result)
        return result

    return get


@_per_fields
def _field_map(fields: TaskFields) -> dict[str, str]:
    """``TaskFields.field_map``, built once per TaskFields (callers must not change it)."""
    names = {k: v for k, v in TASK_FIELDS.items() if v != "bizible_id_raw"}
    names[fields.bizible_id] = "bizible_id_raw"
    return {name.lower(): column for name, column in names.items()}


@_per_fields
def _call_time_columns(fields: TaskFields) -> tuple[tuple[str, str], ...]:
    fmap = _field_map(fields)
    out = []
    for name in fields.call_time:
        column = fmap.get(name.lower())
        if column not in TS_COLUMNS:
            raise ValueError(f"call-time field {name!r} is not a datetime field calltui reads")
        out.append((name, column))
    return tuple(out)


def duplicated_columns(kind: str, names: Sequence[str], fields: TaskFields = TaskFields()
                       ) -> list[list[int]]:
    """The positions of the names that fill one column calltui reads, for each column
    named more than once (``ID`` twice, or ``Id`` and ``ID``): the last would win unseen."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        column = _column_of(kind, name, fields)
        if column is not None:
            positions.setdefault(column, []).append(position)
    return [group for group in positions.values() if len(group) > 1]


def _column_of(kind: str, name: Any, fields: TaskFields) -> str | None:
    if not isinstance(name, str):
        return None
    if kind == "tasks":
        return _field_map(fields).get(name.lower())
    known = WAREHOUSE_TABLES[kind].columns.get(header_key(name))
    return None if known is None else known[0]


def _refuse_duplicated_keys(kind: str, record: Mapping[str, Any], fields: TaskFields) -> None:
    """``RowError`` for a record with two keys for one column (``ID`` and ``id``)."""
    keys = list(record)
    groups = duplicated_columns(kind, keys, fields)
    if groups:
        named = "; ".join(" and ".join(repr(keys[i]) for i in group) for group in groups)
        raise RowError(f"fields {named} fill one column: calltui cannot tell which to read",
                       column=", ".join(keys[group[0]] for group in groups))


def task_row(
    record: Mapping[str, Any], fields: TaskFields = TaskFields(), naive_tz: tzinfo = UTC
) -> dict[str, Any]:
    """The stored columns of a Task record; only the fields the record carries."""
    plan = _plan(fields, naive_tz, tuple(record))
    if plan is not None:
        row = _planned_row(record, plan, naive_tz)
        if row is not None:
            task_id = row.get("id")
            if task_id.__class__ is str and _SF_ID.fullmatch(task_id):
                return row
    return _task_row(record, fields, naive_tz)


# A plan says, for one ordered set of record keys, which column each key fills and
# how its value converts. Records of one page share their keys, so a sync builds
# one or two plans in all. ``_planned_row`` handles the usual value shapes and
# returns None for anything else; ``_task_row`` then gives the result or the error.
_Convert = Callable[[Any, tzinfo], Any]
_BAIL = object()  # a converter's "not the usual shape: take the general path"


_Plan = tuple[tuple[str, str, "_Convert | None"], ...]  # (key, column, convert; None = text)
_PLANS: dict[tuple[TaskFields, tzinfo, tuple[str, ...]], _Plan | None] = {}
_PLANS_MAX = 256
_last_plan: tuple[Any, Any, Any, _Plan | None] = (None, None, None, None)


def _plan(fields: TaskFields, naive_tz: tzinfo, keys: tuple[str, ...]) -> _Plan | None:
    global _last_plan
    last_fields, last_tz, last_keys, plan = _last_plan
    if keys == last_keys and fields is last_fields and naive_tz is last_tz:
        return plan
    cache_key = (fields, naive_tz, keys)
    try:
        known = cache_key in _PLANS
    except TypeError:  # an unhashable tzinfo
        return None
    if known:
        plan = _PLANS[cache_key]
    else:
        plan = _make_plan(fields, keys)
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        _PLANS[cache_key] = plan
    _last_plan = (fields, naive_tz, keys, plan)
    return plan


def _make_plan(fields: TaskFields, keys: tuple[str, ...]) -> _Plan | None:
    if not all(isinstance(key, str) for key in keys):
        return None  # the general path fails on such a key as it always did
    fmap = _field_map(fields)
    steps: list[tuple[str, str, _Convert | None]] = []
    for key in keys:
        column = fmap.get(key.lower())
        if column is not None:
            steps.append((key, column, _CONVERTERS.get(column)))
    if len({column for _, column, _ in steps}) < len(steps):
        return None  # two keys for one column (``Id`` and ``ID``): the general path decides
    return tuple(steps)


def _planned_row(record: Mapping[str, Any], plan: _Plan, naive_tz: tzinfo
                 ) -> dict[str, Any] | None:
    row: dict[str, Any] = {}
    try:
        for key, column, convert in plan:
            value = record[key]
            if convert is None:  # text
                if value.__class__ is str:
                    row[column] = value or None
                elif value is None:
                    row[column] = None
                else:
                    return None  # numbers, lists...: the general path converts or refuses
            else:
                value = convert(value, naive_tz)
                if value is _BAIL:
                    return None
                row[column] = value
    except ValueError:  # from to_ts; the general path words the reason
        return None
    return row


def _ts_value(value: Any, naive_tz: tzinfo) -> Any:
    """The planned path's timestamp: text or null; anything else takes the long way."""
    if value.__class__ is str or value is None:
        return to_ts(value, naive_tz)
    return _BAIL


def _date_value(value: Any, naive_tz: tzinfo) -> Any:
    if value is None or value == "":
        return None
    if value.__class__ is str and _ASCII_DATE(value) is not None:
        return value
    return _BAIL


def _bool_value(value: Any, naive_tz: tzinfo) -> Any:
    if value is False or value is None or value == "false":
        return 0
    if value is True or value == "true":
        return 1
    return _BAIL


def _int_value(value: Any, naive_tz: tzinfo) -> Any:
    if value is None or value == "":
        return None
    if value.__class__ is int and -EXACT_INT <= value <= EXACT_INT:
        return value
    if value.__class__ is str and value.isascii() and value.isdigit():
        return int(float(value))
    return _BAIL


ASCII_DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # an ActivityDate as stored
_ASCII_DATE = re.compile(ASCII_DATE_PATTERN).fullmatch
EXACT_INT = 2**53  # ints up to this size survive the float in int(float(value)) unchanged
_CONVERTERS: dict[str, _Convert] = {
    **{column: _ts_value for column in TS_COLUMNS},  # to_ts("") is None, as the long way
    "activity_date": _date_value,
    "is_deleted": _bool_value,
    "call_duration_seconds": _int_value,
}


def _task_row(record: Mapping[str, Any], fields: TaskFields, naive_tz: tzinfo
              ) -> dict[str, Any]:
    """``task_row`` the long way: any record, and the reason when it cannot be stored."""
    _refuse_duplicated_keys("tasks", record, fields)
    fmap = _field_map(fields)
    row: dict[str, Any] = {}
    errors: list[RowError] = []
    for key, value in record.items():
        column = fmap.get(key.lower())
        if column is None:
            continue
        try:
            row[column] = _task_value(column, value, naive_tz)
        except RowError as exc:
            exc.column = key
            errors.append(exc)
    if errors:
        raise _all_of(errors)
    task_id = row.get("id")
    if is_blank(task_id):
        raise RowError("missing Id", column="Id")
    if not _SF_ID.fullmatch(str(task_id)):
        raise RowError(f"Id {task_id!r} is not a Salesforce Id", column="Id")
    return row


def _all_of(errors: list[RowError]) -> RowError:
    """One ``RowError`` naming every bad field of a record, so one fix is not followed
    by another reject of the same row."""
    if len(errors) == 1:
        return errors[0]
    return RowError("; ".join(map(str, errors)),
                    column=", ".join(e.column for e in errors if e.column))


def _timestamp(value: Any, naive_tz: tzinfo) -> str | None:
    """A timestamp field's stored form (SPEC §3). A number is refused: no export calltui
    reads writes one, and as epoch milliseconds 12345 would be a time in 1970."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"a number ({value!r}) where a timestamp belongs ({TS_EXPECTED})")
    return to_ts(value, naive_tz)



def _task_value(column: str, value: Any, naive_tz: tzinfo) -> Any:
    if isinstance(value, str) and value == "":
        value = None
    try:
        if column in TS_COLUMNS:
            return _timestamp(value, naive_tz)
        if column == "activity_date":
            return parse_date(value)
        if column == "is_deleted":
            return int(parse_bool(value))
        if column == "call_duration_seconds":
            return None if is_blank(value) else int(float(value))
    except ValueError as exc:
        raise RowError(f"{column}: {exc}") from None
    if isinstance(value, dict | list):
        raise RowError(f"{column}: expected a value, got {type(value).__name__}")
    return value if value is None or isinstance(value, str) else str(value)


def derive_task(row: dict[str, Any], fields: TaskFields = TaskFields()) -> dict[str, Any]:
    """Add the normalised BizibleId, the call time and whether the Task is a call."""
    bizible_id, state = normalize_bizible_id(row.get("bizible_id_raw"))
    call_at, call_field = None, None
    for name, column in _call_time_columns(fields):
        if row.get(column):
            call_at, call_field = row[column], name
            break
    if call_at is None:
        names = ", ".join(fields.call_time)
        raise RowError(f"no call time: {names} are all empty")
    is_call = (
        row.get("task_subtype") == "Call"
        or row.get("type") == "Call"
        or not is_blank(row.get("call_type"))
        or not is_blank(row.get("bizible_id_raw"))
    )
    return {
        **row,
        "is_deleted": row.get("is_deleted") or 0,
        "bizible_id": bizible_id,
        "bizible_state": str(state),
        "call_at": call_at,
        "call_at_field": call_field,
        "call_time_fallback": int(call_field != fields.call_time[0]),
        "is_call": int(is_call),
    }


@dataclass(frozen=True)
class TaskValuesPlan:
    """How records with one set of keys fill the tasks table, derived columns included:
    the columns, in the order ``task_values`` gives them, and a converter written for
    those keys (as ``values_plan`` does for the warehouse tables)."""

    columns: tuple[str, ...]
    # (record, origin) -> the columns' values; ValueError or KeyError: the long way
    convert: Callable[[Mapping[str, Any], str | None], list[Any]]


# What a converter takes: a record as a dict; a msgspec struct of ``typed_records``, its
# values in the keys' order and of the usual types; a Bulk API CSV row, all text.
Shape = Literal["dict", "struct", "csv"]
_TASK_VALUE_PLANS: dict[tuple[TaskFields, tuple[str, ...], Shape], TaskValuesPlan | None] = {}
_DERIVED = ("bizible_id", "bizible_state", "call_at", "call_at_field", "call_time_fallback",
            "is_call", "origin")


def task_values_plan(fields: TaskFields, keys: Sequence[str], shape: Shape = "dict"
                     ) -> TaskValuesPlan | None:
    """The plan for Task records with these keys, or None when the records lack a column
    ``derive_task`` reads (they are merged with the stored row first) or name one column
    twice: then each record takes ``task_row`` and ``derive_task``.

    The converter is straight-line code for the usual shapes (text, Salesforce's UTC
    timestamps, 32-hex BizibleIds); it raises ``ValueError`` for anything else, and the
    record then takes the long way, which gives the same row or the reason.

    ``shape``: what the converter takes. A ``"struct"`` of ``typed_records`` has its
    values in ``keys`` order and of the usual types (msgspec checked them), so the
    converter does only what msgspec does not: the Id's and the timestamps' forms,
    calendar dates, the derived columns. A ``"csv"`` row is a list of text in ``keys``
    order, '' for null. For both, every key must name a column.
    """
    cache_key = (fields, tuple(keys), shape)
    try:
        return _TASK_VALUE_PLANS[cache_key]
    except KeyError:
        pass
    except TypeError:  # unhashable field names (a bad config): the long way
        return None
    plan = _make_task_values_plan(fields, cache_key[1], shape)
    if len(_TASK_VALUE_PLANS) >= _PLANS_MAX:
        _TASK_VALUE_PLANS.clear()
    _TASK_VALUE_PLANS[cache_key] = plan
    return plan


def _make_task_values_plan(fields: TaskFields, keys: tuple[str, ...], shape: Shape
                           ) -> TaskValuesPlan | None:
    steps = _make_plan(fields, keys)
    if steps is None or (shape != "dict" and len(steps) != len(keys)):
        return None
    local = {column: f"c{n}" for n, (_, column, _) in enumerate(steps)}
    if not local.keys() >= DERIVE_INPUTS | {"id"}:
        return None
    try:
        derive = _derive_code(fields, local)
    except ValueError:  # a call-time field calltui cannot read: derive_task says so
        return None
    names = [local[column] for _, column, _ in steps]
    if shape == "struct":  # the struct's values, then its ``attributes``
        body = [f"    {', '.join(names)}, _ = astuple(r)"]
    elif shape == "csv":  # a row of another length: ValueError, the long way
        body = [f"    {', '.join(names)}, = r"]
    if shape != "dict":
        for _, column, _ in steps:
            body += _typed_value_code(column, local[column], shape)
    else:
        body = [f"    if len(r) != {len(keys)}: raise ValueError"]
        for key, column, _ in steps:
            body += _task_value_code(repr(key), column, local[column])
        task_id = local["id"]
        body.append(f"    if {task_id} is None or sfid({task_id}) is None: raise ValueError")
    body += derive
    source = ("def convert(r, origin):\n" + "\n".join(body)
              + f"\n    return [{', '.join(names)}, bid, state, call_at, call_field, fallback,"
              " is_call, origin]\n")
    scope: dict[str, Any] = {
        "UTC": UTC, "BAIL": _BAIL, "sfid": _SF_ID.fullmatch, "sf_ts": SF_TS, "date_ok": DATE_OK,
        "date_check": date_ok, "hex32": HEX32, "norm": normalize_bizible_id,
        "ascii_date": _ASCII_DATE, "convert_int": _int_value, "astuple": astuple,
    }
    exec(compile(source, "<calltui values plan for tasks>", "exec"), scope)  # noqa: S102
    columns = (*(column for _, column, _ in steps), *_DERIVED)
    return TaskValuesPlan(columns, scope["convert"])


def _task_value_code(key: str, column: str, name: str) -> list[str]:
    """One key's conversion: text, a timestamp, or one of ``_CONVERTERS``' values."""
    lines = [f"    {name} = r[{key}]"]
    if column in TS_COLUMNS:
        return [*lines,
                f"    if {name} == '': {name} = None",
                f"    elif {name} is not None:",
                f"        if {name}.__class__ is not str or sf_ts({name}) is None:"
                " raise ValueError",
                f"        if not (date_ok.get({name}[:10]) or date_check({name}[:10])):"
                " raise ValueError",
                f"        if len({name}) != 24: {name} = {name}[:23] + 'Z'"]
    if column == "activity_date":
        return [*lines,
                f"    if {name} == '': {name} = None",
                f"    elif {name} is not None and ({name}.__class__ is not str"
                f" or ascii_date({name}) is None): raise ValueError"]
    if column == "is_deleted":
        return [*lines,
                f"    if {name} is False or {name} is None or {name} == 'false': {name} = 0",
                f"    elif {name} is True or {name} == 'true': {name} = 1",
                "    else: raise ValueError"]
    if column in _CONVERTERS:
        return [*lines, f"    {name} = convert_int({name}, UTC)",
                f"    if {name} is BAIL: raise ValueError"]
    return [*lines,
            f"    if {name}.__class__ is str:",
            f"        if not {name}: {name} = None",
            f"    elif {name} is not None: raise ValueError"]


def _typed_value_code(column: str, name: str, shape: Shape) -> list[str]:
    """One value of a struct or a CSV row, already text or None (a struct's types were
    checked by msgspec, ``typed_records``): what the dict converter does beyond that.
    A struct's Id and timestamps are matched here, not by msgspec, whose patterns cost
    twice what ``re`` does called here."""
    if column in TS_COLUMNS:
        return [f"    if not {name}: {name} = None",  # '' is stored as NULL
                f"    elif sf_ts({name}) is None or not (date_ok.get({name}[:10])"
                f" or date_check({name}[:10])): raise ValueError",
                f"    elif len({name}) != 24: {name} = {name}[:23] + 'Z'"]
    if column == "id":
        return [f"    if sfid({name}) is None: raise ValueError"]
    if column == "activity_date":
        return [f"    if not {name}: {name} = None",
                f"    elif ascii_date({name}) is None: raise ValueError"]
    if shape == "struct" and column == "is_deleted":  # a bool
        return [f"    {name} = 1 if {name} else 0"]
    if shape == "struct" and column in _CONVERTERS:  # an int within range, or None
        return []
    if column in _CONVERTERS:  # from text, as the dict converter does
        return _task_value_code("", column, name)[1:]
    return [f"    if not {name}: {name} = None"]  # text: '' is stored as NULL


def _derive_code(fields: TaskFields, local: Mapping[str, str]) -> list[str]:
    """``derive_task``'s columns from the converted values."""
    raw, call_type = local["bizible_id_raw"], local["call_type"]
    lines = [
        f"    if {raw} is None: bid, state = None, 'missing'",
        f"    elif len({raw}) == 32 and hex32({raw}) is not None: bid, state = {raw}, 'ok'",
        "    else:",
        f"        bid, state = norm({raw})",
        "        state = state.value",
    ]
    for n, (name, column) in enumerate(_call_time_columns(fields)):
        fallback = int(name != fields.call_time[0])
        lines += [f"    {'if' if n == 0 else 'elif'} {local[column]}:",
                  f"        call_at, call_field, fallback = {local[column]}, {name!r}, {fallback}"]
    lines += [
        "    else: raise ValueError",  # no call time: the long way gives the reason
        f"    is_call = int({local['task_subtype']} == 'Call' or {local['type']} == 'Call'"
        f" or ({call_type} is not None and {call_type}.strip() != '')"
        f" or ({raw} is not None and {raw}.strip() != ''))",
    ]
    return lines


def task_values(plan: TaskValuesPlan, record: Mapping[str, Any], origin: str | None = None
                ) -> list[Any] | None:
    """One record's values in ``plan.columns`` order, or None when the record is not of
    the usual shape: then ``task_row`` and ``derive_task`` give its row or the reason."""
    try:
        return plan.convert(record, origin)
    except (ValueError, KeyError):
        return None


ColumnKind = Literal["text", "ts", "bool", "cookie"]


@dataclass(frozen=True)
class WarehouseTable:
    """One Marketo Measure data-warehouse table: its columns and which are needed."""

    table: str
    required: tuple[str, ...]
    columns: Mapping[str, tuple[str, ColumnKind]]  # warehouse name (lower) -> (column, kind)


ColumnSpec = tuple[str, ColumnKind]


def _wh(pairs: str, overrides: Mapping[str, ColumnSpec]) -> dict[str, ColumnSpec]:
    out: dict[str, tuple[str, ColumnKind]] = {n: (n, "text") for n in pairs.split()}
    out.update(overrides)
    return out


_COMMON: dict[str, ColumnSpec] = {
    "id": ("id", "text"),
    "cookie_id": ("cookie_id", "cookie"),
    "event_date": ("event_at", "ts"),
    "is_deleted": ("is_deleted", "bool"),
    "modified_date": ("modified_date", "ts"),
}
WAREHOUSE_TABLES: dict[str, WarehouseTable] = {
    "sessions": WarehouseTable(
        "sessions",
        ("id", "cookie_id", "event_date"),
        _wh(
            "visitor_id channel landing_page referrer_page web_source source medium campaign "
            "term content ad_provider campaign_name ad_group_name ad_name keyword_name "
            "search_phrase",
            {**_COMMON, "event_date": ("started_at", "ts"), "has_form": ("has_form", "bool")},
        ),
    ),
    "page-views": WarehouseTable(
        "page_views",
        ("id", "cookie_id", "session_id", "event_date"),
        _wh("visitor_id session_id current_page referrer_page", _COMMON),
    ),
    "form-submits": WarehouseTable(
        "form_submits",
        ("id", "cookie_id", "session_id", "event_date"),
        _wh("visitor_id session_id current_page form_type", _COMMON),
    ),
}


def header_key(name: str) -> str:
    """Warehouse headers match case-insensitively; ``MODIFIED DATE`` equals ``MODIFIED_DATE``."""
    return name.strip().strip('"').lower().replace(" ", "_")


def warehouse_row(
    kind: str, record: Mapping[str, Any], naive_tz: tzinfo = UTC
) -> dict[str, Any]:
    """The stored columns of a warehouse row (sessions, page views, form submits).

    Rows of one file share their keys, so each key set gets a plan once (which key
    fills which column, converted how) and a row is filled by it; anything the plan
    does not expect takes the long way, which gives the same row or the reason.
    """
    plan = _wh_plan(kind, tuple(record))
    if plan is not None:
        row = _planned_wh_row(record, plan, naive_tz)
        if row is not None:
            return row
    return _warehouse_row(kind, record, naive_tz)


_WhPlan = tuple[tuple[tuple[str, str, int], ...], tuple[str, ...]]  # steps, required columns
_TEXT, _TS, _BOOL, _COOKIE = range(4)
_KIND_CODE = {"text": _TEXT, "ts": _TS, "bool": _BOOL, "cookie": _COOKIE}
_WH_PLANS: dict[tuple[str, tuple[str, ...]], _WhPlan | None] = {}
_last_wh: list[Any] = [None, None, None]  # kind, keys, plan


def _wh_plan(kind: str, keys: tuple[str, ...]) -> _WhPlan | None:
    last_kind, last_keys, plan = _last_wh
    if kind is last_kind and keys == last_keys:
        return plan  # type: ignore[no-any-return]
    cache_key = (kind, keys)
    if cache_key in _WH_PLANS:
        plan = _WH_PLANS[cache_key]
    else:
        plan = _make_wh_plan(kind, keys)
        if len(_WH_PLANS) >= _PLANS_MAX:
            _WH_PLANS.clear()
        _WH_PLANS[cache_key] = plan
    _last_wh[:] = [kind, keys, plan]
    return plan


def _make_wh_plan(kind: str, keys: tuple[str, ...]) -> _WhPlan | None:
    if not all(isinstance(key, str) for key in keys):
        return None
    spec = WAREHOUSE_TABLES[kind]
    steps = []
    for key in keys:
        known = spec.columns.get(header_key(key))
        if known is not None:
            steps.append((key, known[0], _KIND_CODE[known[1]]))
    if len({column for _, column, _ in steps}) < len(steps):
        return None  # ``MODIFIED_DATE`` and ``MODIFIED DATE`` both: the long way decides
    return tuple(steps), tuple(spec.columns[name][0] for name in spec.required)


_WH_BOOLS = {"false": 0, "true": 1, "": 0, "FALSE": 0, "TRUE": 1, "False": 0, "True": 1,
             "0": 0, "1": 1}


def _planned_wh_row(record: Mapping[str, Any], plan: _WhPlan, naive_tz: tzinfo
                    ) -> dict[str, Any] | None:
    steps, required = plan
    row: dict[str, Any] = {}
    try:
        for key, column, code in steps:
            value = record[key]
            if value.__class__ is not str:
                if value is None and code != _BOOL:
                    row[column] = None
                    continue
                return None  # numbers, booleans, lists from JSON lines: the long way
            if code == _TEXT:
                row[column] = value or None
            elif code == _TS:
                row[column] = to_ts(value, naive_tz) if value else None
            elif code == _BOOL:
                flag = _WH_BOOLS.get(value)
                if flag is None:
                    return None
                row[column] = flag
            else:
                cookie, state = normalize_bizible_id(value)
                if state is BizibleState.PLACEHOLDER:
                    return None
                row[column] = cookie
    except ValueError:
        return None
    for column in required:
        if row.get(column) is None:
            return None
    return row


@dataclass(frozen=True)
class ValuesPlan:
    """How one CSV header fills a warehouse table: the columns, in the order
    ``warehouse_values`` gives them, and a converter written for that header."""

    kind: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    # (values, naive_tz, origin) -> the columns' values and origin; ValueError: the long way
    convert: Callable[[Sequence[str], tzinfo, str], list[Any]]


def values_plan(kind: str, header: Sequence[str]) -> ValuesPlan | None:
    """The plan for a CSV header, or None when the header is unusual (two fields for one
    column): then each row takes ``warehouse_row``.

    The converter is straight-line code generated for the header (as ``dataclasses`` and
    ``namedtuple`` do): a loop over the columns with a branch per kind costs about as
    much again as the conversions themselves, on millions of rows. It handles the usual
    shapes (clean 32-hex cookies, the warehouse's UTC timestamps, ``true``/``false``) and
    raises ``ValueError`` for anything else; ``warehouse_values`` then asks the long way,
    which gives the same row or the reason.
    """
    spec = WAREHOUSE_TABLES[kind]
    found: list[tuple[int, str, int]] = []
    for index, name in enumerate(header):
        known = spec.columns.get(header_key(name))
        if known is not None:
            found.append((index, known[0], _KIND_CODE[known[1]]))
    columns = tuple(column for _, column, _ in found)
    if len(set(columns)) < len(columns):
        return None
    required = {spec.columns[name][0] for name in spec.required}
    body: list[str] = []
    out: list[str] = []
    for n, (index, column, code) in enumerate(found):
        local = f"c{n}"
        if code == _TEXT:
            body.append(f"    {local} = v[{index}] or None")
            if column in required:
                body.append(f"    if {local} is None: raise ValueError")
        elif code == _TS:
            body += [
                f"    x = v[{index}]",
                f"    if not x: {local} = None",
                "    elif utc and len(x) == 23 and wh_ts(x) is not None and date_ok.get(x[:10]):",
                f"        {local} = x[:10] + 'T' + x[11:] + 'Z'",
                f"    else: {local} = to_ts(x, tz)",
            ]
        elif code == _BOOL:
            body += [f"    {local} = bools.get(v[{index}])",
                     f"    if {local} is None: raise ValueError"]
        else:
            body += [
                f"    {local} = v[{index}]",
                f"    if len({local}) != 32 or hex32({local}) is None:",
                f"        {local}, state = norm({local})",
                "        if state is placeholder: raise ValueError",
            ]
        if code != _TEXT and column in required:
            body.append(f"    if {local} is None: raise ValueError")
        out.append(local)
    source = ("def convert(v, tz, origin):\n    utc = tz is UTC\n" + "\n".join(body)
              + f"\n    return [{', '.join(out)}, origin]\n")
    scope: dict[str, Any] = {
        "UTC": UTC, "to_ts": to_ts, "wh_ts": WAREHOUSE_TS, "date_ok": DATE_OK,
        "bools": _WH_BOOLS, "hex32": HEX32, "norm": normalize_bizible_id,
        "placeholder": BizibleState.PLACEHOLDER,
    }
    exec(compile(source, f"<calltui values plan for {kind}>", "exec"), scope)  # noqa: S102
    return ValuesPlan(kind, tuple(header), columns, scope["convert"])


def warehouse_values(plan: ValuesPlan, values: Sequence[str], naive_tz: tzinfo = UTC,
                     origin: str | None = None) -> list[Any]:
    """One CSV row's values in ``plan.columns`` order, then ``origin``; ``RowError`` with
    the reason, as ``warehouse_row`` gives it, when the row cannot be stored."""
    try:
        return plan.convert(values, naive_tz, origin)  # type: ignore[arg-type]
    except ValueError:  # the long way words the reason (or reads what the plan would not)
        row = _warehouse_row(plan.kind, dict(zip(plan.header, values, strict=True)), naive_tz)
        return [*(row.get(column) for column in plan.columns), origin]


def _warehouse_row(kind: str, record: Mapping[str, Any], naive_tz: tzinfo) -> dict[str, Any]:
    """``warehouse_row`` the long way: any record, and the reason when it cannot be stored."""
    _refuse_duplicated_keys(kind, record, TaskFields())
    spec = WAREHOUSE_TABLES[kind]
    values = {header_key(k): v for k, v in record.items()}
    row: dict[str, Any] = {}
    errors: list[RowError] = []
    for name, (column, kind_) in spec.columns.items():
        if name in values:
            try:
                row[column] = _warehouse_value(name, kind_, values[name], naive_tz)
            except RowError as exc:
                errors.append(exc)
    bad = {exc.column for exc in errors}
    errors += [RowError(f"{name.upper()} is empty", column=name.upper())
               for name in spec.required
               if row.get(spec.columns[name][0]) is None and name.upper() not in bad]
    if errors:
        raise _all_of(errors)
    return row


def _warehouse_value(name: str, kind: ColumnKind, value: Any, naive_tz: tzinfo) -> Any:
    if isinstance(value, str) and value == "":
        value = None
    try:
        if kind == "ts":
            return _timestamp(value, naive_tz)
        if kind == "bool":
            return int(parse_bool(value))
    except ValueError as exc:
        raise RowError(f"{name.upper()}: {exc}", column=name.upper()) from None
    if kind == "cookie":
        cookie, state = normalize_bizible_id(value)
        if state is BizibleState.PLACEHOLDER:
            raise RowError(f"{name.upper()} is a placeholder ({str(value).strip()!r})",
                           column=name.upper())
        return cookie
    if isinstance(value, dict | list):
        raise RowError(f"{name.upper()}: expected a value, got {type(value).__name__}",
                       column=name.upper())
    return value if value is None or isinstance(value, str) else str(value)
