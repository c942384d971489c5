"""A wire-faithful fake Salesforce org on 127.0.0.1, for tests and the demo.

``FakeOrg`` holds Task records and answers the HTTP calls simple-salesforce
makes: SOAP and OAuth login, REST query/queryAll with paging, describe, limits,
Bulk API 2.0 query jobs and sObject Collections updates (composite.py). Bodies,
headers and status codes follow docs/ecosystem.md §2; ``org.faults`` switches on
the failures real orgs produce.

Typical use::

    with FakeOrg() as org:            # or org.start() / org.stop()
        org.add_tasks([{"Subject": "Call", "Type": "Call"}])
        sf = Salesforce(username=org.username, password=org.password,
                        security_token=org.security_token,
                        session=EndpointSession(org.url))

The org never logs: passwords, tokens and session ids stay in memory.
``org.requests`` records only (method, path, query parameters).
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import jwt

from calltui.fakeorg import bulk, composite, soql, wire
from calltui.fakeorg.soql import format_datetime, parse_datetime
from calltui.fakeorg.wire import (
    DataRequest,
    Response,
    error_response,
    json_response,
    method_not_allowed,
    not_found,
    xml_response,
)


@dataclass
class Faults:
    """Mutable fault switches; each one makes the org misbehave like a real org can."""

    expire_session_after_queries: int | None = None  # session dies after N good data calls
    always_invalid_session: bool = False  # every data call answers 401
    fail_5xx: list[int] = field(default_factory=list)  # next data calls answer these statuses
    delay_seconds: list[float] = field(default_factory=list)  # next data calls sleep this long
    request_limit_exceeded_after: int | None = None  # 403 REQUEST_LIMIT_EXCEEDED after N calls
    hide_field: str | None = None  # describe omits it; queries get INVALID_FIELD
    unreadable_field: str | None = None  # describe lists it; queries get INVALID_FIELD
    bulk_missing_locator: bool = False  # bulk result pages lack the Sforce-Locator header
    rest_done_without_next: bool = False  # a non-final page says done=false, no nextRecordsUrl
    # the REST page starting at this offset answers 200 with a proxy's HTML page, not JSON
    rest_html_page_at: int | None = None
    bulk_polls_in_progress: int = 0  # job polls answering InProgress before JobComplete
    # composite/sobjects updates refuse these Task Ids: Id -> (statusCode, message)
    reject_update_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Called once, right after the first page of a REST query or bulk job is built. Later
    # pages come from the snapshot taken when the query ran, so the change shows next sync.
    modify_during_query: Callable[[FakeOrg], None] | None = None


class RequestRecord(NamedTuple):
    """One request as the org saw it: path without trailing slash, decoded query params."""

    method: str
    path: str
    query: dict[str, str]


class FakeOrg:
    """An in-memory Salesforce org with Task records, served over HTTP on 127.0.0.1."""

    def __init__(
        self,
        username: str = "admin@example.test",
        password: str = "pw",
        security_token: str = "TOKEN",
        consumer_key: str = "CK",
        consumer_secret: str = "CS",
        public_key_pem: str | bytes | None = None,
        api_version: str = "59.0",
        page_size: int = 2000,
        api_limit: int = 100_000,
        clock: Callable[[], datetime] | None = None,
        compress: bool = True,
    ) -> None:
        self.username = username
        self.password = password
        self.security_token = security_token
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.public_key_pem = public_key_pem
        self.api_version = api_version
        self.page_size = page_size
        self.api_limit = api_limit
        self.clock = clock
        self.compress = compress
        self.faults = Faults()
        self.api_calls = 0
        self.logins = 0
        self.requests: list[RequestRecord] = []
        self.fields: list[wire.FieldDef] = list(wire.TASK_FIELDS)
        self.lock = threading.RLock()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.cursors: dict[str, list[dict[str, Any]]] = {}  # query locator -> result rows
        self.jobs: dict[str, bulk.BulkJob] = {}
        self._sessions: dict[str, int] = {}  # session id -> successful data calls
        self._next_number = 1
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Start serving on an ephemeral port; return the base URL ``http://127.0.0.1:PORT``."""
        if self._server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.org = self
            self._server = server
            # A short poll interval keeps stop() fast (shutdown waits for one poll).
            self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                            name="fakeorg", daemon=True)
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOrg:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOrg is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_path(self) -> str:
        """``/services/data/v{api_version}``: handy for raw calls in tests.

        The org answers the versions it offers (31.0 to 68.0, as Salesforce in December
        2026) in a URL; ``api_version`` is only this default.
        """
        return f"/services/data/v{self.api_version}"

    @property
    def origin(self) -> str:
        """What the org tells clients its instance is (simple-salesforce wants https)."""
        return f"https://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ time
    def now(self) -> datetime:
        """The org's current time: aware UTC, millisecond precision (like Salesforce)."""
        current = self.clock() if self.clock is not None else datetime.now(UTC)
        if current.tzinfo is None:
            raise ValueError("FakeOrg clock returned a naive datetime")
        current = current.astimezone(UTC)
        return current.replace(microsecond=current.microsecond // 1000 * 1000)

    def set_now(self, moment: datetime, *, running: bool = False) -> None:
        """Set the org's clock to ``moment``: frozen there, or with ``running=True`` moving
        on from it with real time, as a real org's clock does (``calltui demo-org``)."""
        if moment.tzinfo is None:
            raise ValueError("set_now needs a timezone-aware datetime")
        if not running:
            self.clock = lambda: moment
            return
        started = time.monotonic()
        self.clock = lambda: moment + timedelta(seconds=time.monotonic() - started)

    def touch(self, task: dict[str, Any]) -> None:
        """Stamp a write as Salesforce does: SystemModstamp and LastModifiedDate become
        ``now()``, kept strictly later than the record's previous stamps (a frozen clock
        moves them by a millisecond). The caller holds ``lock``."""
        stamp = self.now()
        for name in ("SystemModstamp", "LastModifiedDate"):
            if task.get(name):
                stamp = max(stamp, parse_datetime(task[name]) + timedelta(milliseconds=1))
        text = format_datetime(stamp)
        task.update({"SystemModstamp": text, "LastModifiedDate": text})

    # ------------------------------------------------------------------ records
    def field_types(self) -> dict[str, str]:
        return {f.name: f.type for f in self.fields}

    def add_field(self, name: str, field_type: str = "string", label: str | None = None) -> None:
        """Add a custom field to Task (for orgs whose call-time field differs).

        ``field_type`` uses describe's names: string, datetime, date, boolean, int, double...
        """
        with self.lock:
            if name.lower() in {f.name.lower() for f in self.fields}:
                raise ValueError(f"Task already has a field {name!r}")
            self.fields.append(wire.FieldDef(name, field_type, label or name, custom=True))

    def add_tasks(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Store Task records given in wire form; return their Ids.

        Missing Id, CreatedDate, SystemModstamp, LastModifiedDate and IsDeleted are
        filled in; field names are matched case-insensitively; unknown names raise.
        """
        ids = []
        with self.lock:
            for record in records:
                task = self._normalize(record)
                now = format_datetime(self.now())
                if not task.get("Id"):
                    task["Id"] = wire.make_id(wire.TASK_KEY_PREFIX, self._next_number)
                    self._next_number += 1
                task.setdefault("CreatedDate", now)
                task.setdefault("SystemModstamp", task["CreatedDate"])
                task.setdefault("LastModifiedDate", task["SystemModstamp"])
                task.setdefault("IsDeleted", False)
                self.tasks[task["Id"]] = task
                ids.append(task["Id"])
        return ids

    def update_task(self, task_id: str, **fields: Any) -> None:
        """Change fields of a Task; its stamps move as :meth:`touch` says unless given."""
        with self.lock:
            task = self.tasks[task_id]
            self.touch(task)
            task.update(self._normalize(fields))

    def delete_task(self, task_id: str) -> None:
        """Soft-delete: ``query`` hides the Task, ``queryAll`` shows it with IsDeleted=true.

        Like any write it stamps SystemModstamp and LastModifiedDate, so an incremental
        sync's ``queryAll`` window finds the deletion.
        """
        self.update_task(task_id, IsDeleted=True)

    def task(self, task_id: str) -> dict[str, Any]:
        """A copy of one stored Task (wire form)."""
        with self.lock:
            return copy.deepcopy(self.tasks[task_id])

    def _normalize(self, record: Mapping[str, Any]) -> dict[str, Any]:
        by_lower = {f.name.lower(): f for f in self.fields}
        task: dict[str, Any] = {}
        for name, value in record.items():
            if name == "attributes":
                continue
            field_def = by_lower.get(name.lower())
            if field_def is None:
                raise ValueError(f"Task has no field {name!r}; call org.add_field() first")
            task[field_def.name] = wire.normalize_value(value, field_def.type)
        return task

    # ------------------------------------------------------------------ sessions
    def issue_session_id(self) -> str:
        """A valid session id (the newest one, or a new one), e.g. for direct auth."""
        with self.lock:
            if self._sessions:
                return next(reversed(self._sessions))
            return self.new_session()

    def new_session(self) -> str:
        with self.lock:
            session_id = f"{wire.ORG_ID[:15]}!AQ{secrets.token_urlsafe(48)}"
            self._sessions[session_id] = 0
            return session_id

    def expire_sessions(self) -> None:
        """Invalidate every session: the next data call answers 401 INVALID_SESSION_ID."""
        with self.lock:
            self._sessions.clear()

    def session_is_valid(self, session_id: str) -> bool:
        with self.lock:
            return session_id in self._sessions

    def note_success(self, session_id: str) -> None:
        """Count a successful data call; apply ``expire_session_after_queries``."""
        with self.lock:
            if session_id not in self._sessions:
                return
            self._sessions[session_id] += 1
            limit = self.faults.expire_session_after_queries
            if limit is not None and self._sessions[session_id] >= limit:
                del self._sessions[session_id]

    # ------------------------------------------------------------------ visibility
    def visible_schema(self) -> dict[str, str]:
        """Fields a query may name: all but the hidden and the unreadable one."""
        blocked = {(self.faults.hide_field or "").lower(),
                   (self.faults.unreadable_field or "").lower()}
        return {f.name: f.type for f in self.fields if f.name.lower() not in blocked}

    def described_fields(self) -> list[wire.FieldDef]:
        hidden = (self.faults.hide_field or "").lower()
        return [f for f in self.fields if f.name.lower() != hidden]

    def run_soql(self, text: str, include_deleted: bool
                 ) -> tuple[soql.Query, list[dict[str, Any]]]:
        """Parse, check and evaluate a query; the rows are copies (a snapshot of the org).

        Raises :class:`soql.SoqlError` for anything Salesforce would answer with a 400.
        """
        parsed = soql.parse(text)
        if parsed.sobject.lower() != "task":
            raise soql.SoqlError("INVALID_TYPE", wire.invalid_type_message(parsed.sobject))
        schema = self.visible_schema()
        resolved = soql.resolve(parsed, schema)
        with self.lock:
            candidates = [task for task in self.tasks.values()
                          if include_deleted or not task.get("IsDeleted")]
            rows = [dict(row) for row in soql.execute(resolved, candidates, schema)]
        return resolved, rows

    def run_modify_hook(self) -> None:
        """Fire ``faults.modify_during_query`` once (it is cleared before it runs)."""
        with self.lock:
            hook = self.faults.modify_during_query
            self.faults.modify_during_query = None
        if hook is not None:
            hook(self)

    # ------------------------------------------------------------------ HTTP entry
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
               ) -> Response:
        """Route one HTTP request (called by the handler thread)."""
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        with self.lock:
            self.requests.append(RequestRecord(method, path, query))
        segments = [s for s in path.split("/") if s]
        if segments[:3] == ["services", "Soap", "u"] and len(segments) == 4:
            return _soap_login(self, method, segments[3], body)
        if segments == ["services", "oauth2", "token"]:
            return _oauth_token(self, method, headers, body)
        if segments[:2] == ["services", "data"] and len(segments) >= 3:
            version = segments[2][1:] if _is_version(segments[2]) else ""
            request = DataRequest(method, version, segments[3:], query, headers, body)
            return _data_call(self, request)
        return not_found()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    org: FakeOrg

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hung up (e.g. after a client-side timeout)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


# Salesforce compresses a response when the request says Accept-Encoding: gzip (requests,
# so simple-salesforce, always does); tiny answers are sent as they are.
_GZIP_FROM = 1024


def _accepts_gzip(headers: Mapping[str, str]) -> bool:
    codings = headers.get("accept-encoding", "")
    return any(c.split(";")[0].strip().lower() == "gzip" for c in codings.split(","))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Never log: request lines may carry ids, and secrets must not reach a log."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            response = self.server.org.handle(self.command, self.path, headers, body)
        except Exception as exc:  # a bug in the fake: answer like Salesforce would
            response = error_response(500, "UNKNOWN_EXCEPTION", f"fake org error: {exc!r}")
        payload = response.body
        if self.server.org.compress and _accepts_gzip(headers) and len(payload) > _GZIP_FROM:
            payload = gzip.compress(payload, 6)
            response.headers["Content-Encoding"] = "gzip"
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


# ====================================================================== login routes

_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def _local_name(tag: str) -> str:
    """``{urn:partner.soap.sforce.com}username`` -> ``username`` (namespace-agnostic XML)."""
    return tag.rsplit("}", 1)[-1]


def _soap_login(org: FakeOrg, method: str, version: str, body: bytes) -> Response:
    """``POST /services/Soap/u/{ver}``: the partner-API login of ecosystem.md §2.3."""
    if method != "POST":
        return method_not_allowed(method, "POST")
    try:
        envelope = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return xml_response(500, wire.soap_client_fault("Unable to parse the login request"))
    values = {_local_name(el.tag): (el.text or "") for el in envelope.iter()}
    if "username" not in values or "password" not in values:
        return xml_response(500, wire.soap_client_fault("No operation available for request"))
    org_scope = values.get("organizationId")
    valid = (
        values["username"].casefold() == org.username.casefold()
        and values["password"] == org.password + org.security_token
        and (org_scope is None or org_scope in (wire.ORG_ID, wire.ORG_ID[:15]))
    )
    if not valid:
        return xml_response(500, wire.soap_login_fault("INVALID_LOGIN", _INVALID_LOGIN))
    session_id = _login(org)
    return xml_response(200, wire.soap_login_success(session_id, org.origin, version,
                                                     org.username))


def _login(org: FakeOrg) -> str:
    with org.lock:
        org.logins += 1
    return org.new_session()


def _oauth_token(org: FakeOrg, method: str, headers: Mapping[str, str], body: bytes
                 ) -> Response:
    """``POST /services/oauth2/token``: password, JWT bearer and client-credentials grants."""
    if method != "POST":
        return method_not_allowed(method, "POST")
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    grant = form.get("grant_type")
    if grant == "password":
        error = _check_password_grant(org, form)
        scope = None
    elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        error = _check_jwt_grant(org, form.get("assertion", ""))
        scope = "api"
    elif grant == "client_credentials":
        error = _check_client_credentials(org, form, headers.get("authorization", ""))
        scope = "api"
    else:
        error = ("unsupported_grant_type", "grant type not supported")
        scope = None
    if error is not None:
        return json_response(400, wire.oauth_error(*error))
    session_id = _login(org)
    return json_response(200, wire.oauth_success(session_id, org.origin, org.now(), scope))


OAuthError = tuple[str, str] | None


def _check_client(org: FakeOrg, client_id: str | None, client_secret: str | None
                  ) -> OAuthError:
    if client_id != org.consumer_key:
        return ("invalid_client_id", "client identifier invalid")
    if client_secret != org.consumer_secret:
        return ("invalid_client", "invalid client credentials")
    return None


def _check_password_grant(org: FakeOrg, form: Mapping[str, str]) -> OAuthError:
    """Username-password flow. The password may omit the token: loopback is a trusted range."""
    error = _check_client(org, form.get("client_id"), form.get("client_secret"))
    if error is not None:
        return error
    user_ok = form.get("username", "").casefold() == org.username.casefold()
    password_ok = form.get("password") in (org.password, org.password + org.security_token)
    if not (user_ok and password_ok):
        return ("invalid_grant", "authentication failure")
    return None


def _check_jwt_grant(org: FakeOrg, assertion: str) -> OAuthError:
    """JWT bearer flow: RS256 signed by the key whose public half the org was given."""
    if org.public_key_pem is None:
        return ("invalid_grant", "invalid assertion")
    try:
        claims = jwt.decode(assertion, org.public_key_pem, algorithms=["RS256"],
                            options={"verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return ("invalid_grant", "invalid assertion")
    if claims.get("iss") != org.consumer_key:
        return ("invalid_client_id", "client identifier invalid")
    if str(claims.get("sub", "")).casefold() != org.username.casefold():
        return ("invalid_grant", "authentication failure")
    if not _is_salesforce_audience(claims.get("aud")):
        return ("invalid_grant", "audience is invalid")
    try:
        expires = int(claims["exp"])  # simple-salesforce sends exp as a string
    except (KeyError, TypeError, ValueError):
        return ("invalid_grant", "invalid assertion")
    if expires <= time.time():
        return ("invalid_grant", "expired authorization code")
    return None


def _is_salesforce_audience(audience: Any) -> bool:
    """``https://login.salesforce.com``, ``https://test.salesforce.com`` or a My Domain."""
    if not isinstance(audience, str):
        return False
    split = urlsplit(audience)
    host = split.hostname or ""
    return split.scheme == "https" and host.endswith(".salesforce.com")


def _check_client_credentials(org: FakeOrg, form: Mapping[str, str], authorization: str
                              ) -> OAuthError:
    """Client-credentials flow: HTTP Basic ``key:secret`` (or client_id/secret in the form)."""
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ("invalid_client", "invalid client credentials")
        client_id, _, client_secret = decoded.partition(":")
    return _check_client(org, client_id, client_secret)


# ====================================================================== data routes


def _is_version(segment: str) -> bool:
    major, dot, minor = segment[1:].partition(".")
    return segment.startswith("v") and major.isdigit() and dot == "." and minor.isdigit()


_FAULT_ERRORS = {
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId "
                               "if you contact support: 1234567890-12345 (-123456789)"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."),
}


def _session_from(headers: Mapping[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") else ""


def _data_call(org: FakeOrg, request: DataRequest) -> Response:
    """Authenticate, apply faults, route, count the call, add ``Sforce-Limit-Info``."""
    faults = org.faults
    with org.lock:
        delay = faults.delay_seconds.pop(0) if faults.delay_seconds else 0.0
    if delay:
        time.sleep(delay)
    session_id = _session_from(request.headers)
    if faults.always_invalid_session or not org.session_is_valid(session_id):
        response = error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")
    else:
        response = _counted_call(org, request, session_id)
    with org.lock:
        used = org.api_calls
    response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{org.api_limit}"
    return response


def _counted_call(org: FakeOrg, request: DataRequest, session_id: str) -> Response:
    faults = org.faults
    with org.lock:
        org.api_calls += 1
        limit = faults.request_limit_exceeded_after
        limited = limit is not None and org.api_calls > limit
        status = faults.fail_5xx.pop(0) if faults.fail_5xx and not limited else None
    if limited:
        return error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    if status is not None:
        code, message = _FAULT_ERRORS.get(status, ("UNKNOWN_EXCEPTION", "Server error"))
        return error_response(status, code, message)
    response = _route_data(org, request)
    if response.status < 300:
        org.note_success(session_id)
    return response


# The REST API versions a production org offers in December 2026: 31.0 (older ones are
# retired) to 68.0 (Winter '27). Any other answers 404 NOT_FOUND, as Salesforce does.
OLDEST_API_VERSION, NEWEST_API_VERSION = 31, 68


def _offered(version: str) -> bool:
    major, _, minor = version.partition(".")
    return (major.isdigit() and minor == "0"
            and OLDEST_API_VERSION <= int(major) <= NEWEST_API_VERSION)


def _route_data(org: FakeOrg, request: DataRequest) -> Response:
    segments, method = request.segments, request.method
    if not request.version or not _offered(request.version):  # not /services/data/vNN.N/
        return not_found()
    head = segments[0] if segments else ""
    if head in ("query", "queryAll") and len(segments) <= 2:
        if method != "GET":
            return method_not_allowed(method, "GET,HEAD")
        if len(segments) == 2:
            return _query_more(org, request, head, segments[1])
        return _query(org, request, head)
    if head == "sobjects":
        return _sobjects(org, request)
    if segments == ["limits"]:
        if method != "GET":
            return method_not_allowed(method, "GET,HEAD")
        with org.lock:
            used = org.api_calls
        return json_response(200, wire.limits_body(used, org.api_limit))
    if segments[:2] == ["jobs", "query"]:
        return bulk.route(org, request)
    if segments == ["composite", "sobjects"]:
        return composite.route(org, request)
    return not_found()


def _sobjects(org: FakeOrg, request: DataRequest) -> Response:
    """describeGlobal, Task describe and ``GET sobjects/Task/{id}``."""
    if request.method != "GET":
        return method_not_allowed(request.method, "GET,HEAD")
    rest = request.segments[1:]
    if not rest:
        return json_response(200, wire.describe_global(request.version))
    if rest[0] != "Task":
        return not_found()
    if rest[1:] == ["describe"]:
        return json_response(200, wire.describe_task(org.described_fields(), request.version))
    if len(rest) == 2:
        with org.lock:
            task = org.tasks.get(rest[1])
            if task is None:
                return not_found()
            fields = list(org.visible_schema())
            return json_response(200, wire.render_record(task, fields, request.version))
    return not_found()


# ---------------------------------------------------------------------- REST query


def _page_size(org: FakeOrg, headers: Mapping[str, str]) -> int:
    """``page_size``, further capped by ``Sforce-Query-Options: batchSize=N`` (200..2000)."""
    size = org.page_size
    for option in headers.get("sforce-query-options", "").split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            size = min(size, max(200, min(2000, int(value))))
    return size


def _query(org: FakeOrg, request: DataRequest, endpoint: str) -> Response:
    text = request.query.get("q")
    if not text:
        return error_response(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        parsed, rows = org.run_soql(text, include_deleted=endpoint == "queryAll")
    except soql.SoqlError as exc:
        return error_response(400, exc.code, exc.located(text))
    if parsed.is_count:
        return json_response(200, wire.query_page(len(rows), [], None))
    rendered = [wire.render_record(row, parsed.fields, request.version) for row in rows]
    locator = "01g" + secrets.token_hex(8)[:15].upper()
    with org.lock:
        org.cursors[locator] = rendered
    response = _query_page(org, request, endpoint, locator, 0)
    org.run_modify_hook()
    return response


def _query_more(org: FakeOrg, request: DataRequest, endpoint: str, token: str) -> Response:
    """``GET .../query/{locator}-{offset}``, the verbatim ``nextRecordsUrl``."""
    locator, _, offset = token.rpartition("-")
    with org.lock:
        known = locator in org.cursors
    if not known or not offset.isdigit():
        return error_response(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _query_page(org, request, endpoint, locator, int(offset))


def _query_page(org: FakeOrg, request: DataRequest, endpoint: str, locator: str, offset: int
                ) -> Response:
    with org.lock:
        rows = org.cursors[locator]
    end = offset + _page_size(org, request.headers)
    next_url = None
    if end < len(rows):
        next_url = f"/services/data/v{request.version}/{endpoint}/{locator}-{end}"
    if org.faults.rest_html_page_at == offset:
        return Response(200, b"<html><body>Access denied by proxy</body></html>",
                        "text/html;charset=UTF-8")
    body = wire.query_page(len(rows), rows[offset:end], next_url)
    if next_url is not None and org.faults.rest_done_without_next:
        del body["nextRecordsUrl"]
    return json_response(200, body)
