"""``calltui sync``: Salesforce call Tasks into the store, incrementally and crash-safe.

Windows are half-open on ``SystemModstamp``: ``[watermark - overlap, now - lag)``.
Rows are upserted by Id, and the watermark is written in the same transaction
as the rows it covers, so a failed run resumes from the last committed page.
Deletions come through ``queryAll`` with ``IsDeleted = true``. Above
``bulk_threshold`` records the window is read with Bulk API 2.0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from calltui import store
from calltui.heap import fewer_collections, kept_heap
from calltui.importer import store_tasks
from calltui.normalize import format_ts, parse_ts
from calltui.records import RowError, TaskFields, TaskValuesPlan, task_row, task_values_plan
from calltui.sf.client import ApiLimitError, FieldError, Page, SalesforceClient, SyncError
from calltui.sf.soql import DEFAULT_CALL_FILTER, TaskQuery
from calltui.sources.files import Cancelled
from calltui.typed_records import CsvTasks, TypedPage, TypedTasks, typed_tasks

__all__ = ["SyncOptions", "SyncResult", "check_fields", "field_cause", "run_sync", "since_problem"]

ProgressFn = Callable[[int, int], None]
ORIGIN = "salesforce"
# A first sync of at least this many Tasks builds the indexes once, at the end.
BULK_LOAD_ROWS = 20_000
# Pages are committed together until they hold this many rows: each commit writes every
# index page it touched to the WAL, and Tasks in SystemModstamp order touch most of them.
COMMIT_ROWS = 20_000


@dataclass(frozen=True)
class SyncOptions:
    """What to sync and how."""

    full: bool = False
    since: datetime | None = None
    dry_run: bool = False
    lag: timedelta = timedelta(minutes=2)
    overlap: timedelta = timedelta(minutes=10)
    bulk_threshold: int = 50_000
    fields: TaskFields = TaskFields()
    call_filter: str = DEFAULT_CALL_FILTER
    bulk_poll_seconds: float = 1.0


def options_from_config(salesforce: Mapping[str, Any], fields: TaskFields,
                        **overrides: Any) -> SyncOptions:
    """SyncOptions from the config's ``[salesforce]`` (call_filter, bulk_threshold)."""
    extra: dict[str, Any] = {}
    if "call_filter" in salesforce:
        extra["call_filter"] = str(salesforce["call_filter"])
    if "bulk_threshold" in salesforce:
        extra["bulk_threshold"] = int(salesforce["bulk_threshold"])
    return SyncOptions(fields=fields, **extra, **overrides)


@dataclass
class SyncResult:
    """What one run did (also written to the sync log)."""

    mode: str
    window_start: str | None
    window_end: str
    count: int = 0
    upserted: int = 0
    deleted: int = 0
    rejected: int = 0
    api_calls: int = 0
    usage_before: str | None = None
    usage_after: str | None = None
    soql: list[str] = field(default_factory=list)
    moves_watermark: bool = True  # False: a --since run that starts after the watermark
    log_id: int = 0  # this run's sync log row

    def summary(self) -> str:
        """One line for the admin: every Task read, then what became of them."""
        total = self.upserted + self.deleted + self.rejected
        return (f"Synced {total:,} Tasks: {self.upserted:,} stored, {self.deleted:,} deleted, "
                f"{self.rejected:,} rejected; {self.api_calls} API calls")


def check_fields(client: SalesforceClient, fields: TaskFields) -> TaskFields:
    """Describe Task and make sure the BizibleId and call-time fields are there
    (``field_cause`` says why one is not). Returns them spelt as Salesforce spells them:
    a query may name a field in any case, but its records carry the field's own name,
    and a setting in another case sent every page the slow way (not typed)."""
    described = {f["name"].lower(): f["name"]
                 for f in client.describe_task().get("fields", [])}
    for name in (fields.bizible_id, *fields.call_time):
        if name.lower() not in described:
            raise FieldError(f"Task has no field {name} visible to this user "
                             f"(API v{client.creds.api_version})", field=name)
    return TaskFields(bizible_id=described[fields.bizible_id.lower()],
                      call_time=tuple(described[name.lower()] for name in fields.call_time))


def field_cause(name: str, fields: TaskFields, call_filter: str) -> str:
    """Why the Task field ``name`` that a query names cannot be read, and what to check:
    the Marketo Measure package for the BizibleId, or the setting that named the field."""
    lower = name.lower()
    if lower == fields.bizible_id.lower():
        why = ("the Marketo Measure package is missing or older than 6.7 (BizibleId came in "
               "6.7), or the API user lacks field-level read access to it")
        if lower != TaskFields.bizible_id.lower():
            why += (f"; or [salesforce] bizible_id_field is mistyped (the package's field is "
                    f"{TaskFields.bizible_id})")
        return why
    if lower in (f.lower() for f in fields.call_time) and fields.call_time != TaskFields.call_time:
        return "check [salesforce] call_time_fields, or the API user's field-level read access"
    if call_filter != DEFAULT_CALL_FILTER and re.search(
            rf"(?<![\w.]){re.escape(name)}(?!\w)", call_filter, re.IGNORECASE):
        return (f"it is named in call_filter from the config's [salesforce] section "
                f"({call_filter!r}): check its spelling")
    return "the API user may lack field-level read access to it"


def _explained(exc: SyncError, options: SyncOptions) -> SyncError:
    """A missing field with its likely cause; any other error as it is."""
    if isinstance(exc, FieldError) and exc.field:
        return FieldError(f"{exc}: {field_cause(exc.field, options.fields, options.call_filter)}",
                          field=exc.field)
    return exc


def since_problem(options: SyncOptions, now: datetime) -> str | None:
    """Why ``options.since`` leaves nothing to read at ``now``: the window ends at now
    minus the lag, and a ``since`` at or after that end is refused."""
    end = now - options.lag
    if options.since is None or options.since < end:
        return None
    return (f"--since {format_ts(options.since)} is not before the window's end "
            f"{format_ts(end)} (now minus the {options.lag.seconds // 60}-minute lag): "
            "nothing to read yet")


def _window(db: Database, options: SyncOptions) -> tuple[datetime | None, str, bool]:
    """The window's start, the mode, and whether the run may move the watermark.

    A ``--since`` run moves it only when it starts at or before the watermark (so it
    reads everything an incremental run would); otherwise the changes between the
    watermark and ``since`` would never be read.
    """
    watermark = store.get_watermark(db)
    if options.since is not None:
        covers = watermark is not None and options.since <= parse_ts(watermark)
        return options.since, "since", covers
    if options.full or watermark is None:
        return None, "full", True
    return parse_ts(watermark) - options.overlap, "incremental", True


def run_sync(db: Database, client: SalesforceClient, options: SyncOptions = SyncOptions(),
             now: datetime | None = None, on_progress: ProgressFn | None = None,
             on_log: Callable[[int], None] | None = None) -> SyncResult:
    """One sync run; raises ``SyncError`` after logging it, with every committed page kept.
    Only one runs at a time on a database (a dry run, which writes nothing, any time).
    ``on_log`` gets the run's sync log row id once it has one (what a failure kept is
    read there)."""
    if options.dry_run:
        return _sync(db, client, options, now, on_progress, on_log)
    try:
        with store.sync_lock(db):
            return _sync(db, client, options, now, on_progress, on_log)
    except store.SyncBusy as exc:
        store.log_failed_sync(db, _window(db, options)[1], str(exc))
        raise SyncError(str(exc)) from None


def _sync(db: Database, client: SalesforceClient, options: SyncOptions, now: datetime | None,
          on_progress: ProgressFn | None, on_log: Callable[[int], None] | None) -> SyncResult:
    now = now or datetime.now(UTC)
    end = now - options.lag
    problem = since_problem(options, now)
    if problem:
        raise SyncError(problem)
    start, mode, moves_watermark = _window(db, options)
    calls_before = client.api_calls
    result = SyncResult(mode, format_ts(start) if start else None, format_ts(end),
                        moves_watermark=moves_watermark)
    options, query = _prepare(db, client, options, start, end, result)
    use_bulk = result.count > options.bulk_threshold
    result.soql = [query.select(start, end, deleted=True),
                   query.select(start, end, ordered=not use_bulk)]
    if options.dry_run:
        result.api_calls = client.api_calls - calls_before
        return result
    log_id = result.log_id = store.start_sync_log(db, mode + (" bulk" if use_bulk else ""),
                                                  result.window_start, result.window_end)
    if on_log:
        on_log(log_id)
    typed = typed_tasks(options.fields, query.field_names())
    try:
        _sync_deleted(db, client, result.soql[0], options.fields, result, typed)
        pages: Iterator[Page] = (
            client.bulk_query(result.soql[1], poll=options.bulk_poll_seconds,
                              rows=CsvTasks(options.fields))
            if use_bulk else client.iter_query(result.soql[1], typed=typed))
        with kept_heap(), fewer_collections(), store.bulk_load(
                db, "tasks", big=result.count >= BULK_LOAD_ROWS, checkpoints="writer"):
            _sync_pages(db, pages, options.fields, result,
                        watermarks=moves_watermark and not use_bulk, on_progress=on_progress)
        if moves_watermark:
            with store.atomic(db):
                store.set_watermark(db, result.window_end)
    except BaseException as exc:  # Ctrl-C included: the log keeps what was committed
        result.upserted, result.deleted, result.rejected = store.sync_rows(db, log_id)
        failure = _explained(exc, options) if isinstance(exc, SyncError) else exc
        _finish(db, log_id, client, calls_before, result,
                "interrupted" if isinstance(exc, KeyboardInterrupt | Cancelled) else "failed",
                "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else str(failure))
        if failure is not exc:
            raise failure from None
        raise
    _finish(db, log_id, client, calls_before, result, "ok", None)
    return result


def _prepare(db: Database, client: SalesforceClient, options: SyncOptions,
             start: datetime | None, end: datetime, result: SyncResult
             ) -> tuple[SyncOptions, TaskQuery]:
    """Check the fields, then count the window's call Tasks into ``result``; the options
    with the fields spelt as Salesforce spells them, and the query. A failure here is
    logged (not a dry run's) and raised with its likely cause."""
    try:
        options = replace(options, fields=check_fields(client, options.fields))
        query = TaskQuery(options.fields, options.call_filter)
        result.usage_before = client.usage  # the first answer's Sforce-Limit-Info
        result.count = _count(client, query.count(start, end), options)
    except SyncError as exc:  # in the sync log too, as every run is
        error = _explained(exc, options)
        if not options.dry_run:
            store.log_failed_sync(db, result.mode, str(error))
        if error is exc:
            raise
        raise error from None
    return options, query


def _count(client: SalesforceClient, soql: str, options: SyncOptions) -> int:
    """The window's call Tasks; a refused query names the config's call filter, if set."""
    try:
        return client.count(soql)
    except (ApiLimitError, FieldError):
        raise
    except SyncError as exc:
        if options.call_filter == DEFAULT_CALL_FILTER:
            raise
        raise SyncError(f"{exc} (the query carries call_filter from the config's "
                        "[salesforce] section: check it)") from None


def _finish(db: Database, log_id: int, client: SalesforceClient, calls_before: int,
            result: SyncResult, status: str, error: str | None) -> None:
    result.api_calls = client.api_calls - calls_before
    result.usage_after = client.usage
    store.finish_sync_log(
        db, log_id, status=status, error=error, rows_upserted=result.upserted,
        rows_deleted=result.deleted, rows_rejected=result.rejected, api_calls=result.api_calls,
        usage_before=result.usage_before, usage_after=result.usage_after)


def _rows(records: Iterable[tuple[int, dict[str, Any]]], fields: TaskFields
          ) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    rows, rejects = [], []
    for position, record in records:
        try:
            row = task_row(record, fields)  # a new dict, ours to extend
            row["origin"] = ORIGIN
            rows.append((position, row))
        except RowError as exc:
            rejects.append(_reject(position, str(exc), record))
    return rows, rejects


def _planned(records: Page, fields: TaskFields, first: int
             ) -> tuple[TaskValuesPlan | None, list[list[Any]], list[tuple[int, dict[str, Any]]]]:
    """The page's records of the usual shape as value lists, by the page's plan; the
    others, with their positions, for ``task_row`` and ``derive_task``."""
    if isinstance(records, TypedPage):
        return records.plan, *records.convert(ORIGIN, first)
    plan = task_values_plan(fields, tuple(records[0])) if records else None
    if plan is None:
        return None, [], list(enumerate(records, start=first))
    convert, values, rest = plan.convert, [], []
    for position, record in enumerate(records, start=first):
        try:
            values.append(convert(record, ORIGIN))
        except (ValueError, KeyError):
            rest.append((position, record))
    return plan, values, rest


def _reject(position: int, reason: str, record: dict[str, Any] | None) -> dict[str, Any]:
    return {"file": "salesforce:Task", "line": position, "kind": "tasks", "reason": reason,
            "raw": str((record or {}).get("Id", ""))}


def _store_page(db: Database, records: Page, fields: TaskFields,
                result: SyncResult, first: int) -> int:
    plan, values, rest = _planned(records, fields, first)
    if plan is not None and values:
        store.upsert_values(db, "tasks", plan.columns, values)
    rows, rejects = _rows(rest, fields)
    stored, bad = store_tasks(db, rows, fields)
    rejects.extend(_reject(position, reason, None) for position, reason in bad)
    store.add_rejects(db, 0, rejects)
    result.rejected += len(rejects)
    return len(values) + stored


def _sync_deleted(db: Database, client: SalesforceClient, soql: str, fields: TaskFields,
                  result: SyncResult, typed: TypedTasks | None) -> None:
    for records in client.iter_query(soql, include_deleted=True, typed=typed):
        with store.atomic(db):
            result.deleted += _store_page(db, records, fields, result, 0)
            _note_rows(db, result)


def _note_rows(db: Database, result: SyncResult) -> None:
    """The counts so far into the sync log, in the transaction of the rows they count."""
    store.note_sync_rows(db, result.log_id, result.upserted, result.deleted, result.rejected)


def _sync_pages(db: Database, pages: Iterator[Page], fields: TaskFields,
                result: SyncResult, watermarks: bool, on_progress: ProgressFn | None) -> None:
    """Store the pages, committing them with their watermark every ``COMMIT_ROWS`` rows.

    A page's rows, its rejects and the watermark after it always commit together. When
    fetching a page fails, the pages already stored are committed before the error
    goes on, so the next run resumes after them.
    """
    seen, done = 0, False
    failure: BaseException | None = None
    while not done:
        seen, failure, done = _store_batch(db, pages, fields, result, watermarks,
                                           on_progress, seen)
    if failure is not None:
        raise failure


def _store_batch(db: Database, pages: Iterator[Page], fields: TaskFields,
                 result: SyncResult, watermarks: bool, on_progress: ProgressFn | None,
                 seen: int) -> tuple[int, BaseException | None, bool]:
    """Store pages in one transaction until it holds ``COMMIT_ROWS`` rows or they run
    out; (records seen, the fetch failure if any, whether the pages ended)."""
    failure: BaseException | None = None
    done = False
    with store.atomic(db):
        pending = 0
        while pending < COMMIT_ROWS:
            try:
                records = next(pages)
            except StopIteration:
                done = True
                break
            except Exception as exc:  # noqa: BLE001 - raised again once the rest is kept
                failure, done = exc, True
                break
            result.upserted += _store_page(db, records, fields, result, seen + 1)
            if watermarks and records:
                last = _last_modstamp(records)
                if last:
                    store.set_watermark(db, format_ts(parse_ts(last)))
            seen += len(records)
            pending += len(records)
            if on_progress:
                try:
                    on_progress(seen, result.count)
                except BaseException as exc:  # a cancel (or Ctrl-C) here: keep the pages
                    failure, done = exc, True
                    break
        _note_rows(db, result)
    return seen, failure, done


def _last_modstamp(records: Page) -> Any:
    """The last record's SystemModstamp, as Salesforce sent it (None if it has none)."""
    if isinstance(records, TypedPage):
        return records.value(-1, "SystemModstamp")
    return records[-1].get("SystemModstamp")
