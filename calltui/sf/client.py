"""simple-salesforce with calltui's own, bounded policy for expiry, retries and limits.

The client logs in once and then talks in simple-salesforce's *direct* mode,
which never re-logs in by itself (its login modes re-login without bound on
some paths, ecosystem.md §0.2). calltui decides instead:

* 401 INVALID_SESSION_ID -> one new login, then the same call again;
* 500/502/503/504, timeouts and dropped connections -> a few retries with backoff;
* 403 REQUEST_LIMIT_EXCEEDED -> ``ApiLimitError`` at once;
* 400 INVALID_FIELD -> ``FieldError`` naming the field (``sync.field_cause`` says why).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

import orjson
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import exception_handler

from calltui.sf.auth import AuthError, Credentials, login, unreachable
from calltui.sf.transport import EndpointSession
from calltui.typed_records import CsvTasks, TypedPage, TypedTasks, csv_record

__all__ = ["ApiLimitError", "ApiVersionError", "FieldError", "Page", "SalesforceClient",
           "SyncError"]

T = TypeVar("T")
Page = list[dict[str, Any]] | TypedPage  # one page of records, as a query yields it
BULK_SLICE = 2_000  # Bulk records handed on at a time (a REST page's worth)
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class SyncError(Exception):
    """A Salesforce call failed for good; the message is one line without secrets."""


class ApiLimitError(SyncError):
    """The org's daily API request limit is used up."""


class FieldError(SyncError):
    """A field the query names is missing or unreadable (``field``: its name)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class ApiVersionError(SyncError):
    """The org does not offer the API version calltui was told to use."""


def _error_code(exc: SalesforceError) -> tuple[str, str]:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return (str(content[0].get("errorCode", "")),
                one_line(str(content[0].get("message", ""))))
    return "", str(content)[:200]


_AT = re.compile(r"ERROR at Row:(\d+):Column:(\d+)")
_NO_SUCH_COLUMN = re.compile(r"No such column '([^']+)' on entity '([^']+)'")


def one_line(message: str) -> str:
    """Salesforce's message on one line. A query error comes as a newline, the query's
    text around the fault, a caret under it and ``ERROR at Row:R:Column:C`` before the
    message itself: that becomes the message with ``(row R, column C of the query)``."""
    lines = message.strip("\n").splitlines()
    for i, line in enumerate(lines):
        at = _AT.fullmatch(line.strip())
        if at:
            text = " ".join(part.strip() for part in lines[i + 1:] if part.strip())
            return f"{text} (row {at[1]}, column {at[2]} of the query)"
    return " ".join(part.strip() for part in lines if part.strip())


class SalesforceClient:
    """One logged-in connection; every call goes through ``_call`` and is counted."""

    def __init__(self, creds: Credentials, *, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.creds = creds
        self.session = EndpointSession(creds.login_url, timeout=timeout)
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.api_calls = 0
        self.relogins = 0
        self.sf = self._connect()

    def _connect(self) -> Salesforce:
        session_id, instance = login(self.creds, self.session)
        scheme = "https"
        return Salesforce(session_id=session_id, instance_url=f"{scheme}://{instance}",
                          session=self.session, version=self.creds.api_version)

    @property
    def usage(self) -> str | None:
        """``used/total`` from the last ``Sforce-Limit-Info`` header, if any."""
        usage = self.sf.api_usage.get("api-usage")
        return f"{usage.used}/{usage.total}" if usage is not None else None

    def _call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        attempt, relogged = 0, False
        while True:
            self.api_calls += 1
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                if self.creds.mode == "session":  # no way to log in again
                    other = self.creds.set_aside
                    raise SyncError(
                        f"{what}: Salesforce refused the session id (SF_SESSION_ID): it has "
                        "expired or was revoked; get a new one" + (
                            f", or unset SF_SESSION_ID to log in with {other} (set too; an "
                            "existing session comes first)" if other else "")) from None
                if relogged:
                    raise SyncError(f"{what}: the Salesforce session expired and a new "
                                    "login did not help") from None
                relogged = True
                self.relogins += 1
                try:
                    self.sf = self._connect()
                except AuthError as exc:
                    raise SyncError(f"{what}: session expired; {exc}") from None
            except SalesforceRefusedRequest as exc:
                code, message = _error_code(exc)
                if code == "REQUEST_LIMIT_EXCEEDED":
                    raise ApiLimitError(
                        f"{what}: Salesforce API request limit exceeded ({message}); what was "
                        "synced so far is kept, run sync again when the limit resets") from None
                raise SyncError(f"{what}: refused by Salesforce: {code} {message}") from None
            except SalesforceResourceNotFound as exc:
                code, message = _error_code(exc)
                raise ApiVersionError(
                    f"{what}: Salesforce has no such resource at API v{self.creds.api_version} "
                    f"({code or 'NOT_FOUND'}): check SF_API_VERSION, the org may not offer "
                    "that version") from None
            except SalesforceMalformedRequest as exc:
                code, message = _error_code(exc)
                raise self._bad_request(what, code, message) from None
            except (SalesforceGeneralError, requests.Timeout, requests.ConnectionError) as exc:
                status = getattr(exc, "status", None)
                if isinstance(exc, SalesforceGeneralError) and status not in RETRY_STATUSES:
                    code, message = _error_code(exc)
                    raise SyncError(f"{what}: Salesforce answered {status} {code} {message}") \
                        from None
                attempt += 1
                if attempt > self.retries:
                    raise SyncError(f"{what}: {self._failing(exc, status)} after "
                                    f"{self.retries} retries") from None
                self.sleep(self.backoff * 2 ** (attempt - 1))

    def _failing(self, exc: Exception, status: int | None) -> str:
        """Why the retries ran out: the HTTP status, or the instance that cannot be reached."""
        if isinstance(exc, SalesforceGeneralError):
            return f"Salesforce kept failing (HTTP {status})"
        return unreachable(self.session.rewrite(f"https://{self.sf.sf_instance}"), exc)

    def _bad_request(self, what: str, code: str, message: str) -> SyncError:
        column = _NO_SUCH_COLUMN.search(message)
        if code == "INVALID_FIELD" and column:  # the field's own advice: sync.field_cause
            return FieldError(f"{what}: Salesforce has no field {column[2]}.{column[1]} "
                              f"that this user can read (API v{self.creds.api_version})",
                              field=column[1])
        return SyncError(f"{what}: {code} {message}".strip())

    # --- calls -------------------------------------------------------------------

    def query_page(self, soql: str, include_deleted: bool = False) -> dict[str, Any]:
        return self._call("query", lambda sf: sf.query(soql, include_deleted=include_deleted))

    def count(self, soql: str) -> int:
        return int(self.query_page(soql)["totalSize"])

    def describe_task(self) -> dict[str, Any]:
        path = "sobjects/Task/describe"
        return dict(self._call("describe Task", lambda sf: sf.restful(path) or {}))

    def limits(self) -> dict[str, Any]:
        return dict(self._call("limits", lambda sf: sf.limits() or {}))

    def update_records(self, sobject: str, records: list[dict[str, Any]],
                       all_or_none: bool = False) -> list[dict[str, Any]]:
        """sObject Collections update (``PATCH composite/sobjects``) of at most 200 records.

        Each record is ``{"id": ..., field: value}``. Returns one result per record, in
        order: ``{id, success, errors: [{statusCode, message, fields}]}``; a rejected
        record keeps its ``id`` here even when Salesforce leaves it out. Setting the same
        values twice is harmless, so the usual retries apply.
        """
        if len(records) > 200:
            raise ValueError("sObject Collections take at most 200 records per call")
        body = {"allOrNone": all_or_none, "records": [
            {"attributes": {"type": sobject}, **record} for record in records]}

        def call(sf: Salesforce) -> list[dict[str, Any]]:
            response = sf._call_salesforce("PATCH", sf.base_url + "composite/sobjects",
                                           name="composite/sobjects", json=body)
            answer: list[dict[str, Any]] = response.json()
            return answer

        results = self._call(f"update {sobject}", call)
        if len(results) != len(records):
            raise SyncError(f"update {sobject}: Salesforce answered {len(results)} results "
                            f"for {len(records)} records")
        return [{**result, "id": result.get("id") or record["id"]}
                for record, result in zip(records, results, strict=True)]

    def iter_query(self, soql: str, include_deleted: bool = False,
                   typed: TypedTasks | None = None) -> Iterator[Page]:
        """Pages of records, following ``done`` and ``nextRecordsUrl`` only.

        The same requests as simple-salesforce's ``query``/``query_more``, but each page
        is decoded into plain dicts: simple-salesforce's ``query`` builds an OrderedDict
        per record, which doubles the cost of reading a 2,000-record page. With ``typed``,
        a page whose records all have its fields and the usual shapes comes as a
        ``TypedPage`` of structs instead (``calltui.typed_records``).
        """
        endpoint = "queryAll/" if include_deleted else "query/"
        page = self._call("query", lambda sf: _read_page(sf._call_salesforce(
            "GET", sf.base_url + endpoint, name="query", params={"q": soql}, stream=True),
            typed))
        while True:
            yield page.records
            if page.done:
                return
            if not page.next_url:
                raise SyncError("query: Salesforce said more records follow but gave no "
                                "nextRecordsUrl; nothing after the last full page was kept")
            page = self._call("query", _query_more(page.next_url, typed))

    def bulk_query(self, soql: str, include_deleted: bool = False, page_size: int = 50_000,
                   poll: float = 1.0, rows: CsvTasks | None = None) -> Iterator[Page]:
        """Bulk API 2.0 query: records parsed from CSV, checked against the counts.

        A results page of up to ``page_size`` records is handed on ``BULK_SLICE`` records
        at a time, parsed as they are handed on: a page of 50,000 parsed at once would
        hold some 200 MB. The records are dicts, as ``csv.DictReader`` gives them; with
        ``rows``, pages of the CSV rows themselves as ``rows`` makes them.
        """
        base = f"https://{self.sf.sf_instance}/services/data/v{self.creds.api_version}/jobs/query"
        operation = "queryAll" if include_deleted else "query"
        job = self._bulk("bulk create", "POST", base, json={
            "operation": operation, "query": soql, "contentType": "CSV",
            "columnDelimiter": "COMMA", "lineEnding": "LF"}).json()
        info = self._wait_bulk(f"{base}/{job['id']}", poll)
        expected, seen, locator = int(info.get("numberRecordsProcessed", 0)), 0, ""
        while True:
            params: dict[str, Any] = {"maxRecords": page_size}
            if locator:
                params["locator"] = locator
            response = self._bulk("bulk results", "GET", f"{base}/{job['id']}/results",
                                  params=params, headers={"Accept": "text/csv"})
            header, lines = _csv_rows(response.content.decode("utf-8"))
            in_page = 0
            while chunk := list(islice(lines, BULK_SLICE)):
                in_page += len(chunk)
                yield (rows.page(header, chunk) if rows is not None
                       else [csv_record(header, row) for row in chunk])
            _check_page(response, in_page)
            seen += in_page
            if "Sforce-Locator" not in response.headers:
                raise SyncError("bulk results: a page came without a Sforce-Locator header; "
                                "stopped so as not to sync short")
            locator = response.headers["Sforce-Locator"]
            if locator in ("", "null"):
                break
        if seen != expected:
            raise SyncError(f"bulk results: got {seen} records, the job processed {expected}")

    def _wait_bulk(self, url: str, poll: float) -> dict[str, Any]:
        while True:
            info: dict[str, Any] = self._bulk("bulk poll", "GET", url).json()
            state = info.get("state")
            if state == "JobComplete":
                return info
            if state in ("Failed", "Aborted"):
                raise SyncError(f"bulk job {state}: {info.get('errorMessage', '')}")
            self.sleep(poll)

    def _bulk(self, what: str, method: str, url: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> requests.Response:
        extra = headers or {}

        def call(sf: Salesforce) -> requests.Response:
            response = self.session.request(method, url, headers={
                "Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json",
                **extra}, **kwargs)
            if response.status_code >= 300:
                exception_handler(response, name=url)
            limit_info = response.headers.get("Sforce-Limit-Info")
            if limit_info:
                sf.api_usage = Salesforce.parse_api_usage(limit_info)
            return response

        return self._call(what, call)


def _check_page(response: requests.Response, count: int) -> None:
    declared = response.headers.get("Sforce-NumberOfRecords")
    if declared is not None and int(declared) != count:
        raise SyncError(f"bulk results: page declares {declared} records but holds {count}")


def _csv_rows(text: str) -> tuple[list[str], Iterator[list[str]]]:
    """The header, and the rows that are not blank (``csv.DictReader`` skips those)."""
    reader = csv.reader(_lines(text))
    header = next(reader, None)
    return header or [], filter(None, reader)


def _lines(text: str) -> Iterator[str]:
    """``io.StringIO(text, newline="")``'s lines, without its copy of the text (four bytes
    a character) when the text has no carriage return, as Bulk API's LF pages have not."""
    if "\r" in text:
        yield from io.StringIO(text, newline="")
        return
    start, find = 0, text.find
    while (end := find("\n", start)) >= 0:
        yield text[start:end + 1]
        start = end + 1
    if start < len(text):
        yield text[start:]


@dataclass(frozen=True)
class _QueryPage:
    records: Page
    done: bool
    next_url: str | None


def _read_page(response: requests.Response, typed: TypedTasks | None) -> _QueryPage:
    """A query page, its body read in one piece (asked for with ``stream=True``:
    ``response.content`` would read it in 10 KB pieces and copy them together)."""
    body = b"".join(response.iter_content(chunk_size=None))
    if typed is not None and (struct := typed.decode(body)) is not None:
        return _QueryPage(typed.page(struct.records), struct.done, struct.nextRecordsUrl)
    page = _json_page(body)
    return _QueryPage([_plain(r) for r in page.get("records", [])], page.get("done", True),
                      page.get("nextRecordsUrl"))


def _json_page(body: bytes) -> dict[str, Any]:
    """A query page's JSON as dicts."""
    try:
        page = _decode_json(body)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise SyncError(f"query: Salesforce answered a page that is not JSON ({exc})") from None
    if not isinstance(page, dict):
        raise SyncError(f"query: Salesforce answered a page that is not a JSON object "
                        f"({type(page).__name__})")
    return page


def _decode_json(body: bytes) -> Any:
    """``json.loads(body)``, by orjson when it can: a third less CPU on a query page. It
    refuses a little that json reads (NaN, integers beyond 64 bits, a lone surrogate
    escape), so json decides those, as it always did."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _query_more(next_url: str, typed: TypedTasks | None) -> Callable[[Salesforce], _QueryPage]:
    def call(sf: Salesforce) -> _QueryPage:
        url = f"https://{sf.sf_instance}{next_url}"  # as sf.query_more(identifier_is_url=True)
        return _read_page(sf._call_salesforce("GET", url, name="query_more", stream=True),
                          typed)
    return call


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """The record without ``attributes`` (in place: a decoded page belongs to no one else)."""
    record.pop("attributes", None)
    return record
