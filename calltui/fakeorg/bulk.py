"""Bulk API 2.0 query jobs of the fake org: job state, job-info JSON and CSV pages.

A job snapshots its result rows when it is created (the org runs the query at
once). Polling ``GET jobs/query/{id}`` answers ``InProgress`` for as many polls
as the ``bulk_polls_in_progress`` fault asked for, then ``JobComplete``; until
then, results answer 412 ``JOB_NOT_COMPLETE``. ``PATCH`` ``{"state": "Aborted"}``
aborts a job and ``DELETE`` removes it.

Result pages are ``text/csv`` with a header row in SELECT order and every value
double-quoted; ``None`` becomes ``""`` and datetimes use the ``...000Z`` form
(both unverified against a real org, see ecosystem.md §2.8: parse leniently).
The ``Sforce-Locator`` of a page is the base64 (no padding) of the next row
offset, e.g. ``Mw`` for 3, or the literal ``null`` on the last page.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from calltui.fakeorg import soql
from calltui.fakeorg.soql import format_datetime, parse_datetime
from calltui.fakeorg.wire import (
    USER_ID,
    DataRequest,
    Response,
    error_response,
    json_response,
    method_not_allowed,
    not_found,
)

if TYPE_CHECKING:
    from calltui.fakeorg.server import FakeOrg

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
              "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


class BulkRequestError(Exception):
    """A request the Bulk API would reject with 400 and this errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class BulkJob:
    """One Bulk 2.0 query job and its snapshot of result rows."""

    job_id: str
    operation: str  # "query" or "queryAll"
    query: str
    fields: tuple[str, ...]
    rows: Sequence[Mapping[str, Any]]
    field_types: Mapping[str, str]
    column_delimiter: str
    line_ending: str
    api_version: str
    created: datetime
    polls_in_progress: int = 0
    state: str = "UploadComplete"

    def poll(self) -> None:
        """Advance the job one poll: InProgress while polls remain, then JobComplete."""
        if self.state in ("Aborted", "JobComplete"):
            return
        if self.polls_in_progress > 0:
            self.polls_in_progress -= 1
            self.state = "InProgress"
        else:
            self.state = "JobComplete"

    def is_complete(self) -> bool:
        """Results are ready once no InProgress polls remain (even if nobody polled)."""
        if self.state != "Aborted" and self.polls_in_progress == 0:
            self.state = "JobComplete"
        return self.state == "JobComplete"

    def info(self) -> dict[str, Any]:
        """The job-info JSON of create and poll calls."""
        stamp = format_datetime(self.created)
        body: dict[str, Any] = {
            "id": self.job_id,
            "operation": self.operation,
            "object": "Task",
            "createdById": USER_ID,
            "createdDate": stamp,
            "systemModstamp": stamp,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.state == "JobComplete":
            body.update({"jobType": "V2Query", "numberRecordsProcessed": len(self.rows),
                         "retries": 0, "totalProcessingTime": 42})
        return body


def read_job_request(body: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Validate a create-job body; return (operation, query, columnDelimiter, lineEnding)."""
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        raise BulkRequestError("INVALIDJOB", f"Invalid operation: {operation}")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BulkRequestError("INVALIDJOB", "query is required for query jobs")
    delimiter = str(body.get("columnDelimiter") or "COMMA")
    line_ending = str(body.get("lineEnding") or "LF")
    if delimiter not in DELIMITERS:
        raise BulkRequestError("INVALIDJOB", f"Invalid columnDelimiter: {delimiter}")
    if line_ending not in LINE_ENDINGS:
        raise BulkRequestError("INVALIDJOB", f"Invalid lineEnding: {line_ending}")
    return operation, query, delimiter, line_ending


def encode_locator(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    padded = locator + "=" * (-len(locator) % 4)
    try:
        offset = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BulkRequestError("INVALIDLOCATOR", f"Invalid locator: {locator}") from exc
    if offset < 0:
        raise BulkRequestError("INVALIDLOCATOR", f"Invalid locator: {locator}")
    return offset


def csv_value(value: Any, field_type: str) -> str:
    """One CSV cell as the Bulk API writes it."""
    if value is None:
        return ""
    if field_type == "boolean":
        return "true" if value else "false"
    if field_type == "datetime":
        return format_datetime(parse_datetime(str(value))).replace("+0000", "Z")
    return str(value)


def render_csv(job: BulkJob, rows: Sequence[Mapping[str, Any]]) -> str:
    """A results page: header row in SELECT order, then one quoted line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[job.column_delimiter],
                        lineterminator=LINE_ENDINGS[job.line_ending], quoting=csv.QUOTE_ALL)
    writer.writerow(job.fields)
    for row in rows:
        writer.writerow([csv_value(row.get(name), job.field_types[name]) for name in job.fields])
    return buffer.getvalue()


def results_page(job: BulkJob, locator: str | None, max_records: int | None
                 ) -> tuple[str, int, str]:
    """Slice one page: return (csv text, number of records, next locator or "null")."""
    start = decode_locator(locator) if locator else 0
    if max_records is not None and max_records < 1:
        raise BulkRequestError("INVALIDJOB", "maxRecords must be a positive integer")
    end = len(job.rows) if max_records is None else min(start + max_records, len(job.rows))
    page = job.rows[start:end]
    next_locator = encode_locator(end) if end < len(job.rows) else "null"
    return render_csv(job, page), len(page), next_locator


# --------------------------------------------------------------------------- routes


def route(org: FakeOrg, request: DataRequest) -> Response:
    """``jobs/query`` (POST), ``jobs/query/{id}`` (GET, DELETE), ``.../results`` (GET)."""
    rest, method = request.segments[2:], request.method
    if not rest:
        if method != "POST":
            return method_not_allowed(method, "POST")
        return _create(org, request)
    with org.lock:
        job = org.jobs.get(rest[0])
    if job is None or len(rest) > 2 or (len(rest) == 2 and rest[1] != "results"):
        return not_found()
    if len(rest) == 2:
        if method != "GET":
            return method_not_allowed(method, "GET")
        return _results(org, job, request)
    if method == "DELETE":
        with org.lock:
            org.jobs.pop(job.job_id, None)
        return Response(204, b"")
    if method == "PATCH":
        return _abort(org, job, request)
    if method != "GET":
        return method_not_allowed(method, "GET,PATCH,DELETE")
    with org.lock:
        job.poll()
        return json_response(200, job.info())


def _abort(org: FakeOrg, job: BulkJob, request: DataRequest) -> Response:
    """``PATCH jobs/query/{id}`` with ``{"state": "Aborted"}`` (the only change allowed)."""
    try:
        wanted = json.loads(request.body or b"{}").get("state")
    except (json.JSONDecodeError, AttributeError):
        wanted = None
    if wanted != "Aborted":
        return error_response(400, "INVALIDJOBSTATE", f"Invalid job state: {wanted}")
    with org.lock:
        if job.state != "JobComplete":
            job.state = "Aborted"
        return json_response(200, job.info())


def _create(org: FakeOrg, request: DataRequest) -> Response:
    try:
        payload = json.loads(request.body or b"{}")
        if not isinstance(payload, dict):
            raise BulkRequestError("INVALIDJOB", "The job request must be a JSON object")
        operation, text, delimiter, line_ending = read_job_request(payload)
        parsed, rows = org.run_soql(text, include_deleted=operation == "queryAll")
    except json.JSONDecodeError:
        return error_response(400, "JSON_PARSER_ERROR", "Unable to parse the request body")
    except (BulkRequestError, soql.SoqlError) as exc:
        return error_response(400, exc.code, exc.message)
    if parsed.is_count:
        return error_response(400, "API_ERROR",
                              "Aggregate queries are not supported by Bulk API 2.0")
    job = BulkJob(
        job_id="750" + secrets.token_hex(8)[:15].upper(), operation=operation, query=text,
        fields=parsed.fields, rows=rows, field_types=org.field_types(),
        column_delimiter=delimiter, line_ending=line_ending, api_version=request.version,
        created=org.now(), polls_in_progress=org.faults.bulk_polls_in_progress)
    with org.lock:
        org.jobs[job.job_id] = job
    return json_response(200, job.info())


def _results(org: FakeOrg, job: BulkJob, request: DataRequest) -> Response:
    with org.lock:
        complete = job.is_complete()
    if not complete:
        return error_response(412, "JOB_NOT_COMPLETE",
                              f"Job {job.job_id} is not yet complete: state {job.state}")
    locator = request.query.get("locator") or None
    max_text = request.query.get("maxRecords")
    try:
        max_records = int(max_text) if max_text else None
        text, count, next_locator = results_page(job, locator, max_records)
    except ValueError:
        return error_response(400, "INVALIDJOB", f"Invalid maxRecords: {max_text}")
    except BulkRequestError as exc:
        return error_response(400, exc.code, exc.message)
    response = Response(200, text.encode("utf-8"), "text/csv",
                        {"Sforce-NumberOfRecords": str(count)})
    if not org.faults.bulk_missing_locator:
        response.headers["Sforce-Locator"] = next_locator
    if locator is None:
        org.run_modify_hook()
    return response
