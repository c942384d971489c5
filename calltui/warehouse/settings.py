"""Connection settings for the Marketo Measure data warehouse (a Snowflake share).

They follow snowflake-connector-python's own conventions: the same parameter
names (account, user, authenticator, private_key_file, role, warehouse,
database, schema, and host/port/protocol for a custom endpoint), its
``connections.toml`` through ``connection_name``, and ``SNOWFLAKE_*``
variables. Precedence: environment, then the config's ``[warehouse]`` section,
then the named connection of ``connections.toml`` (merged by the connector).
Secrets (password, private-key passphrase, OAuth token, MFA passcode) come
only from the environment or ``connections.toml``; they are never stored and
never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_KEYS",
    "SECRET_KEYS",
    "WarehouseError",
    "WarehouseSettings",
    "connect",
    "describe_error",
    "settings_from",
]


class WarehouseError(Exception):
    """A warehouse step failed; the message is one line, without secrets."""


# Connector parameters calltui passes through, by name.
CONNECT_KEYS = ("connection_name", "connections_file_path", "account", "user", "authenticator",
                "private_key_file", "role", "warehouse", "database", "schema", "host", "port",
                "protocol")
# calltui's own settings in [warehouse].
OWN_KEYS = ("work_schema", "overlap_hours", "batch_size", "timeout_seconds")
CONFIG_KEYS = frozenset(CONNECT_KEYS + OWN_KEYS)
# Secrets: from the environment only (or connections.toml, read by the connector itself).
SECRET_KEYS = {
    "password": "SNOWFLAKE_PASSWORD",
    "private_key_file_pwd": "SNOWFLAKE_PRIVATE_KEY_FILE_PWD",
    "token": "SNOWFLAKE_TOKEN",
    "passcode": "SNOWFLAKE_PASSCODE",
}
_ENV_ALIASES = {
    "connection_name": ("SNOWFLAKE_CONNECTION_NAME", "SNOWFLAKE_DEFAULT_CONNECTION_NAME"),
    "connections_file_path": ("SNOWFLAKE_CONNECTIONS_FILE",),
    "private_key_file": ("SNOWFLAKE_PRIVATE_KEY_FILE", "SNOWFLAKE_PRIVATE_KEY_PATH"),
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _env_names(key: str) -> tuple[str, ...]:
    return _ENV_ALIASES.get(key, (f"SNOWFLAKE_{key.upper()}",))


@dataclass(frozen=True)
class WarehouseSettings:
    """Where the Marketo Measure tables are and how to log in (no secrets)."""

    params: dict[str, Any] = field(default_factory=dict)
    """Connector parameters that were set (CONNECT_KEYS only)."""
    work_schema: str | None = None
    """``DB.SCHEMA`` where ``match --in-warehouse`` may create its temporary table
    (a share is read-only); default: the connection's database and schema."""
    overlap_hours: float = 24.0
    batch_size: int = 5000
    timeout_seconds: int = 60

    @property
    def configured(self) -> bool:
        return bool(self.params)

    def label(self) -> str:
        """Where we connect, for messages: never a secret."""
        p = self.params
        where = p.get("host") or p.get("account") or p.get("connection_name") or "?"
        return f"{where} as {p.get('user', '?')} (role {p.get('role', 'default')})"

    def connect_kwargs(self, env: Mapping[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {k: v for k, v in self.params.items() if v not in (None, "")}
        for key, name in SECRET_KEYS.items():
            if env.get(name):
                kwargs[key] = env[name]
        if "port" in kwargs:
            kwargs["port"] = int(kwargs["port"])
        if "private_key_file" in kwargs:
            kwargs["private_key_file"] = str(Path(kwargs["private_key_file"]).expanduser())
        if "connections_file_path" in kwargs:
            kwargs["connections_file_path"] = Path(kwargs["connections_file_path"]).expanduser()
        kwargs["paramstyle"] = "qmark"  # values travel as bindings, never inside SQL text
        kwargs.setdefault("login_timeout", self.timeout_seconds)
        kwargs.setdefault("network_timeout", self.timeout_seconds)
        kwargs["session_parameters"] = {"TIMEZONE": "UTC", "QUOTED_IDENTIFIERS_IGNORE_CASE": False,
                                        "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}
        return kwargs


def check_section(section: Mapping[str, Any]) -> None:
    """Raise ValueError for a secret or an unknown key in ``[warehouse]``."""
    secrets = sorted(set(section) & (set(SECRET_KEYS) | {"private_key", "private_key_pwd"}))
    if secrets:
        raise ValueError(f"secrets do not belong in the config file ({', '.join(secrets)}); "
                         "set SNOWFLAKE_PASSWORD / SNOWFLAKE_PRIVATE_KEY_FILE_PWD in the "
                         "environment or keep them in Snowflake's connections.toml")
    unknown = sorted(set(section) - CONFIG_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(CONFIG_KEYS))})")
    for key in ("database", "schema", "role", "warehouse"):
        value = section.get(key)
        if value is not None and not (isinstance(value, str) and _IDENT.match(value)):
            raise ValueError(f"{key} must be a plain Snowflake identifier, got {value!r}")
    work = section.get("work_schema")
    if work is not None and not (isinstance(work, str) and _qualified(work)):
        raise ValueError(f"work_schema must be DATABASE.SCHEMA, got {work!r}")


def _qualified(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 2 and all(_IDENT.match(p) for p in parts)


def settings_from(section: Mapping[str, Any], env: Mapping[str, str] | None = None
                  ) -> WarehouseSettings:
    """The environment over ``section`` (the config's ``[warehouse]``)."""
    env = os.environ if env is None else env
    check_section(section)
    params = {k: section[k] for k in CONNECT_KEYS if section.get(k) not in (None, "")}
    for key in CONNECT_KEYS:
        for name in _env_names(key):
            if env.get(name):
                params[key] = env[name]
                break
    for key in ("database", "schema", "role", "warehouse"):
        if key in params and not _IDENT.match(str(params[key])):
            raise WarehouseError(f"{key} {params[key]!r} is not a plain Snowflake identifier")
    try:
        return WarehouseSettings(
            params=params,
            work_schema=section.get("work_schema"),
            overlap_hours=float(section.get("overlap_hours", 24.0)),
            batch_size=int(section.get("batch_size", 5000)),
            timeout_seconds=int(section.get("timeout_seconds", 60)),
        )
    except (TypeError, ValueError) as exc:
        raise WarehouseError(f"[warehouse] {exc}") from None


def connect(settings: WarehouseSettings, env: Mapping[str, str] | None = None) -> Any:
    """A snowflake-connector-python connection; one-line WarehouseError on failure."""
    env = os.environ if env is None else env
    try:
        import snowflake.connector
    except ImportError:
        raise WarehouseError("the warehouse needs snowflake-connector-python: "
                             "pip install 'calltui[snowflake]'") from None
    if not settings.configured:
        raise WarehouseError("no warehouse configured: add a [warehouse] section to the config "
                             "(account, user, role, warehouse, database, schema) or set "
                             "SNOWFLAKE_ACCOUNT / SNOWFLAKE_CONNECTION_NAME")
    try:
        return snowflake.connector.connect(**settings.connect_kwargs(env))
    except Exception as exc:  # noqa: BLE001 - every connector failure becomes one line
        raise describe_error(exc, settings) from None


_CODES: dict[int, str] = {
    390189: "role {role} does not exist or is not granted to user {user}: set role in "
            "[warehouse] or SNOWFLAKE_ROLE to one of your roles (SHOW GRANTS TO USER {user})",
    390201: "the requested warehouse, database or schema does not exist or is not "
            "authorized for role {role}",
    390100: "incorrect username or password for {user}",
    390144: "the key-pair login was refused: the public key registered for {user} does not "
            "match private_key_file",
    606: "no usable warehouse: warehouse {warehouse} does not exist or role {role} lacks "
         "USAGE on it; set warehouse in [warehouse] or SNOWFLAKE_WAREHOUSE",
    3001: "missing grant: role {role} lacks a privilege this needs",
    2043: "object does not exist or role {role} may not use it",
}


_LOGIN_TEXT = (
    ("specified in the connect string does not exist or not authorized", 390189),
    ("Incorrect username or password", 390100),
    ("JWT token is invalid", 390144),
    ("requested warehouse does not exist", 390201),
    ("No active warehouse selected", 606),
    ("Insufficient privileges", 3001),
)


def describe_error(exc: BaseException, settings: WarehouseSettings, table: str | None = None
                   ) -> WarehouseError:
    """One clear line for a connector error (its codes and messages, mapped)."""
    p = settings.params
    values = {"role": repr(p.get("role", "(default)")), "user": p.get("user", "?"),
              "warehouse": repr(p.get("warehouse", "(default)")),
              "where": f"{p.get('database', '?')}.{p.get('schema', '?')}"}
    errno = getattr(exc, "errno", None)
    raw = str(getattr(exc, "raw_msg", None) or getattr(exc, "msg", None) or exc)
    raw = " ".join(raw.split()) or type(exc).__name__
    for pattern, code in _LOGIN_TEXT:  # login failures arrive wrapped as 250001
        if pattern in raw:
            errno = code
    if errno in _CODES:
        message = _CODES[errno].format(**values)
    elif errno == 2003 or "does not exist or not authorized" in raw or (
            "Catalog Error" in raw and "does not exist" in raw):
        what = f"table {table}" if table else "an object"
        message = (f"{what} not found in {values['where']} or not readable by role "
                   f"{values['role']}: check the Marketo Measure share is mounted as that "
                   f"database (SHOW DATABASES) and that the role has IMPORTED PRIVILEGES on it "
                   f"or SELECT on the table")
    elif type(exc).__name__ in ("OperationalError", "InterfaceError") or "Failed to connect" in raw:
        message = f"cannot reach Snowflake ({settings.label()})"
    else:
        message = "Snowflake refused the request"
    detail = _scrub(raw, settings)
    return WarehouseError(f"{message} [Snowflake: {detail}]" if detail else message)


def _scrub(text: str, settings: WarehouseSettings) -> str:
    for name in SECRET_KEYS.values():
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return text[:300]


def ident(name: str) -> str:
    """A validated, unquoted identifier (Snowflake upper-cases it as it would in a query)."""
    if not _IDENT.match(name) and not _qualified(name) and not _three(name):
        raise WarehouseError(f"{name!r} is not a Snowflake identifier")
    return name


def _three(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and all(_IDENT.match(p) for p in parts)
