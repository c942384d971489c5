"""Pages of Task records in shapes a generated converter takes without a dict per record.

A sync's Python time goes mostly into two steps per Task record: decoding the page
into a dict and checking each value's type and shape before it is stored.

* REST pages (JSON): for a page whose records all have the usual types, msgspec does
  the decoding and the type checks at once, in C (``TypedTasks``). Each record becomes
  a struct whose fields are text or null, an integer duration within the exact range,
  a boolean IsDeleted.
* Bulk API pages (CSV): each row stays the list ``csv.reader`` gives (``CsvTasks``).

The converter of ``records.task_values_plan`` generated for the shape does the rest:
it matches the Id, the ActivityDate and the timestamps against their forms (``re``
called there costs half of what msgspec's own pattern check does), checks calendar
dates and derives the columns. What that saves is measured by ``bench/sync.py``
(README: Performance).

Nothing is read differently this way:

* a REST page with any record outside those types (a missing or extra field, a number
  where text belongs) does not decode; the client then reads the page into dicts as
  before, and each record takes the usual way; so does a CSV page whose header has
  no plan (a column calltui does not store);
* a record that has the types but breaks a rule the converter checks (an Id or a
  timestamp of another form, 30 February, no call time at all, a CSV row of another
  length) is turned back into the dict the page held, and takes the general way too,
  which stores it or gives the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from calltui.records import (
    EXACT_INT,
    TaskFields,
    TaskValuesPlan,
    task_values_plan,
)

__all__ = ["CsvTasks", "TypedPage", "TypedTasks", "csv_record", "typed_tasks"]


_COLUMN_TYPES: dict[str, Any] = {  # every other column: text or null
    "id": str,
    "call_duration_seconds": Annotated[int, msgspec.Meta(ge=-EXACT_INT, le=EXACT_INT)] | None,
    "is_deleted": bool,
}
_TEXT = str | None  # the Id, dates and timestamps too: the converter matches their forms


@dataclass(frozen=True)
class TypedTasks:
    """How pages of Task records with one set of fields decode and convert."""

    keys: tuple[str, ...]  # the Salesforce API names, in the struct's order
    plan: TaskValuesPlan  # its ``convert`` takes one struct
    decoder: msgspec.json.Decoder[Any]  # a whole query page: totalSize, done, records...

    def decode(self, body: bytes) -> Any | None:
        """The page as a struct, or None when any part of it is not of the usual shape."""
        try:
            return self.decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    def page(self, records: list[Any]) -> TypedPage:
        """A decoded page's records, for the sync."""
        return TypedPage(records, self.keys, self.plan, _struct_record)


class TypedPage:
    """One page's records in a shape ``plan`` converts: the structs of a REST page (see
    ``TypedTasks``) or the rows of a Bulk API CSV page (``CsvTasks``), in the order
    Salesforce sent them."""

    __slots__ = ("_as_record", "keys", "plan", "records")

    def __init__(self, records: list[Any], keys: tuple[str, ...], plan: TaskValuesPlan,
                 as_record: Callable[[tuple[str, ...], Any], dict[str, Any]]) -> None:
        self.records = records
        self.keys = keys  # the Salesforce API names, in the records' order
        self.plan = plan
        self._as_record = as_record

    def __len__(self) -> int:
        return len(self.records)

    def value(self, index: int, key: str) -> Any:
        """Field ``key`` of the record at ``index``, as ``dict.get`` gives it."""
        return self.as_record(self.records[index]).get(key)

    def as_record(self, record: Any) -> dict[str, Any]:
        """The record as the dict the page held (a REST record without ``attributes``)."""
        return self._as_record(self.keys, record)

    def convert(self, origin: str | None, first: int
                ) -> tuple[list[list[Any]], list[tuple[int, dict[str, Any]]]]:
        """The records' values in ``plan.columns`` order, and the others as dicts with
        their positions (counted from ``first``) for the general way."""
        convert, values, rest = self.plan.convert, [], []
        for position, record in enumerate(self.records, start=first):
            try:
                values.append(convert(record, origin))
            except ValueError:
                rest.append((position, self.as_record(record)))
        return values, rest


def _struct_record(keys: tuple[str, ...], struct: Any) -> dict[str, Any]:
    return dict(zip(keys, msgspec.structs.astuple(struct), strict=False))  # not attributes


def csv_record(header: Sequence[str], row: list[str]) -> dict[Any, Any]:
    """A CSV row as ``csv.DictReader`` gives it: a short row padded with None, a long
    one's extra values under the key None."""
    if len(row) == len(header):
        return dict(zip(header, row, strict=True))
    record: dict[Any, Any] = dict(zip(header, row, strict=False))
    if len(row) > len(header):
        record[None] = row[len(header):]
    else:
        record.update((key, None) for key in header[len(row):])
    return record


@dataclass(frozen=True)
class CsvTasks:
    """How rows of Bulk API CSV pages of Tasks convert, for the sync's fields."""

    fields: TaskFields

    def page(self, header: Sequence[str], rows: list[list[str]]
             ) -> TypedPage | list[dict[Any, Any]]:
        """The rows as a page the plan for ``header`` converts, or as dicts when records
        with that header could not take the fast way anyway."""
        keys = tuple(header)
        plan = task_values_plan(self.fields, keys, shape="csv")
        if plan is None:
            return [csv_record(keys, row) for row in rows]
        return TypedPage(rows, keys, plan, csv_record)


_TYPED: dict[tuple[TaskFields, tuple[str, ...]], TypedTasks | None] = {}


def typed_tasks(fields: TaskFields, keys: Sequence[str]) -> TypedTasks | None:
    """The typed decoding of query pages whose records carry exactly ``keys`` (and
    ``attributes``), or None when those records could not take the fast way anyway."""
    cache_key = (fields, tuple(keys))
    try:
        return _TYPED[cache_key]
    except KeyError:
        pass
    except TypeError:  # unhashable field names (a bad config)
        return None
    typed = _make_typed(fields, cache_key[1])
    _TYPED[cache_key] = typed
    return typed


def _make_typed(fields: TaskFields, keys: tuple[str, ...]) -> TypedTasks | None:
    plan = task_values_plan(fields, keys, shape="struct")
    if plan is None:
        return None
    columns = plan.columns[:len(keys)]  # the keys' own columns, then the derived ones
    struct_fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
        (f"f{n}", _type_of(column)) for n, column in enumerate(columns)]
    struct_fields.append(("attributes", msgspec.Raw, msgspec.Raw()))  # not decoded
    record = msgspec.defstruct(
        "TaskRecord", struct_fields, rename={f"f{n}": key for n, key in enumerate(keys)},
        forbid_unknown_fields=True, gc=False)
    page = msgspec.defstruct("TaskQueryPage", [
        ("totalSize", int, 0), ("done", bool, True), ("nextRecordsUrl", str | None, None),
        ("records", list[record], msgspec.field(default_factory=list))])  # type: ignore[valid-type]
    return TypedTasks(keys, plan, msgspec.json.Decoder(page))


def _type_of(column: str) -> Any:
    if column in _COLUMN_TYPES:
        return _COLUMN_TYPES[column]
    return _TEXT
