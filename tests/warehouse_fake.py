"""A Snowflake stand-in for the warehouse tests: fakesnow's server mode over HTTP.

The real snowflake-connector-python talks to fakesnow's Starlette app (DuckDB
underneath) on 127.0.0.1. fakesnow has no roles, warehouses or grants, so a thin
ASGI layer in front of it answers the way Snowflake does when they are wrong: a
login with an unknown role gets error 390189; a session whose warehouse does not
exist gets 000606 on its queries; a table the role was not granted gets 002003
("does not exist or not authorized"); creating a table in a read-only schema
gets 003001. The error bodies have Snowflake's shape, so the connector raises
its own ProgrammingError/DatabaseError with those codes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

ROLE = "CALLTUI_READER"
WAREHOUSE = "CALLTUI_WH"


@dataclass
class Faults:
    roles: set[str] = field(default_factory=lambda: {ROLE, "PUBLIC"})
    warehouses: set[str] = field(default_factory=lambda: {WAREHOUSE})
    ungranted: set[str] = field(default_factory=set)
    read_only: bool = False
    no_warehouse_tokens: set[str] = field(default_factory=set)
    statements: list[str] = field(default_factory=list)
    bindings: list[Any] = field(default_factory=list)


def _error(code: str, sqlstate: str, message: str) -> bytes:
    return json.dumps({"data": {"errorCode": code, "sqlState": sqlstate}, "code": code,
                       "message": message, "success": False}).encode()


class FaultApp:
    """ASGI middleware in front of fakesnow's server app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.faults = Faults()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope.get("headers") or [])
        path = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        token = headers.get(b"authorization", b"").decode()[17:-1]
        if path == "/session/v1/login-request":
            role = (query.get("roleName") or [ROLE])[0].upper()
            if role not in self.faults.roles:
                await self._reply(send, _error(
                    "390189", "08004", f"Role '{role}' specified in the connect string does not "
                    "exist or not authorized. Contact your local system administrator, or "
                    "attempt to login with another role, e.g. PUBLIC."))
                return
            warehouse = (query.get("warehouse") or [WAREHOUSE])[0].upper()
            if warehouse not in self.faults.warehouses:
                await self._forward(scope, body, send, capture_token=True)
                return
        if path == "/queries/v1/query-request":
            raw = gzip.decompress(body) if headers.get(b"content-encoding") == b"gzip" else body
            request = json.loads(raw)
            sql = request.get("sqlText", "")
            self.faults.statements.append(sql)
            self.faults.bindings.append(request.get("bindings"))
            if token in self.faults.no_warehouse_tokens and sql.lstrip().upper().startswith(
                    ("SELECT", "WITH", "INSERT")):
                await self._reply(send, _error(
                    "000606", "57P03", "No active warehouse selected in the current session.  "
                    "Select an active warehouse with the 'use warehouse' command."))
                return
            for table in self.faults.ungranted:
                if re.search(rf"\b{table}\b", sql, re.IGNORECASE):
                    await self._reply(send, _error(
                        "002003", "42S02", f"SQL compilation error:\nObject '{table}' does not "
                        "exist or not authorized."))
                    return
            if self.faults.read_only and re.match(r"\s*CREATE", sql, re.IGNORECASE):
                await self._reply(send, _error(
                    "003001", "42501", "SQL access control error:\nInsufficient privileges to "
                    "operate on schema 'PUB'"))
                return
        await self._forward(scope, body, send)

    async def _forward(self, scope: dict[str, Any], body: bytes, send: Any,
                       capture_token: bool = False) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if capture_token and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        token = json.loads(b"".join(chunks))["data"]["token"]
                        self.faults.no_warehouse_tokens.add(token)
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _reply(send: Any, payload: bytes) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


@dataclass
class FakeWarehouse:
    port: int
    app: FaultApp
    fs: Any

    def settings(self, database: str, **extra: Any) -> dict[str, Any]:
        return {"account": "fakesnow", "user": "fake", "host": "127.0.0.1",
                "port": self.port, "protocol": "http", "database": database,
                "schema": "PUB", "role": ROLE, "warehouse": WAREHOUSE,
                "timeout_seconds": 5, **extra}


@contextlib.contextmanager
def fake_warehouse() -> Iterator[FakeWarehouse]:
    import fakesnow.server
    import uvicorn

    app = FaultApp(fakesnow.server.app)
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="fakesnow", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("fakesnow server did not start")
    try:
        yield FakeWarehouse(port, app, fakesnow.server.shared_fs)
    finally:
        server.should_exit = True
        thread.join(10)


# --- data ----------------------------------------------------------------------

SESSION_COLUMNS = {
    "ID": "VARCHAR", "COOKIE_ID": "VARCHAR", "VISITOR_ID": "VARCHAR",
    "EVENT_DATE": "TIMESTAMP_NTZ", "MODIFIED_DATE": "TIMESTAMP_NTZ", "CHANNEL": "VARCHAR",
    "LANDING_PAGE": "VARCHAR", "REFERRER_PAGE": "VARCHAR", "WEB_SOURCE": "VARCHAR",
    "MEDIUM": "VARCHAR", "AD_PROVIDER": "VARCHAR", "CAMPAIGN_NAME": "VARCHAR",
    "HAS_FORM": "BOOLEAN", "IS_FIRST_SESSION": "BOOLEAN", "IS_DELETED": "BOOLEAN",
    "_DELETED_DATE": "TIMESTAMP_NTZ",
}
EVENT_COLUMNS = {
    "ID": "VARCHAR", "COOKIE_ID": "VARCHAR", "VISITOR_ID": "VARCHAR", "SESSION_ID": "VARCHAR",
    "EVENT_DATE": "TIMESTAMP_NTZ", "MODIFIED_DATE": "TIMESTAMP_NTZ",
    "CURRENT_PAGE": "VARCHAR", "IS_DELETED": "BOOLEAN", "_DELETED_DATE": "TIMESTAMP_NTZ",
}
FORM_COLUMNS = {**EVENT_COLUMNS, "FORM_TYPE": "VARCHAR"}
TABLE_COLUMNS = {"BIZ_SESSIONS": SESSION_COLUMNS, "BIZ_PAGE_VIEWS": EVENT_COLUMNS,
                 "BIZ_FORM_SUBMITS": FORM_COLUMNS}


def _typed(value: Any, kind: str) -> Any:
    if value in (None, ""):
        return None
    if kind == "TIMESTAMP_NTZ":
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if kind == "BOOLEAN":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def page_views_for(sessions: list[dict[str, Any]], seed: int = 3) -> list[dict[str, Any]]:
    """0-3 page views per session, minutes after its start (for the activity anchor)."""
    rng = random.Random(seed)
    out = []
    for s in sessions:
        start = datetime.fromisoformat(s["EVENT_DATE"])
        for k in range(rng.choice([0, 1, 1, 2, 3])):
            at = start + timedelta(minutes=rng.uniform(0, 40))
            out.append({"ID": f"pv-{s['ID']}-{k}", "COOKIE_ID": s["COOKIE_ID"],
                        "VISITOR_ID": s.get("VISITOR_ID"), "SESSION_ID": s["ID"],
                        "EVENT_DATE": at.strftime("%Y-%m-%d %H:%M:%S.%f")[:23],
                        "MODIFIED_DATE": s.get("MODIFIED_DATE"), "CURRENT_PAGE": "/",
                        "IS_DELETED": "false"})
    return out


def create_tables(fake: FakeWarehouse, database: str, tables: tuple[str, ...] = (
        "BIZ_SESSIONS", "BIZ_PAGE_VIEWS", "BIZ_FORM_SUBMITS")) -> None:
    conn = fake.fs.connect(database, "PUB")
    cur = conn.cursor()
    for table in tables:
        cols = ", ".join(f"{name} {kind}" for name, kind in TABLE_COLUMNS[table].items())
        cur.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
    conn.close()


def insert_rows(fake: FakeWarehouse, database: str, table: str, rows: list[dict[str, Any]]
                ) -> None:
    """Straight into DuckDB through Arrow (seeding through SQL text row by row is slow)."""
    import pyarrow as pa

    if not rows:
        return
    columns = TABLE_COLUMNS[table]
    types = {"VARCHAR": pa.string(), "TIMESTAMP_NTZ": pa.timestamp("us"), "BOOLEAN": pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in columns.items()])
    data = {name: [_typed(r.get(name), kind) for r in rows] for name, kind in columns.items()}
    arrow_rows = pa.table(data, schema=schema)  # noqa: F841 - read by DuckDB's replacement scan
    cur = fake.fs.duck_conn.cursor()
    cur.execute(f"INSERT INTO {database}.PUB.{table} SELECT * FROM arrow_rows")
    cur.close()


def execute(fake: FakeWarehouse, database: str, sql: str) -> None:
    cur = fake.fs.duck_conn.cursor()
    cur.execute(f"USE {database}.PUB")
    cur.execute(sql)
    cur.close()
